#!/usr/bin/env python3
"""Fixtures for Stable Diffusion 3's MMDiT (dit-model Sd3Model.java), from our own PyTorch code written
from the architecture (paper App. B; SD3Transformer2DModel's layout and key names):

- patch embedding: conv p×p stride p with bias; the 2-D sin-cos table of pos_embed_max_size² positions
  (stored as the persistent buffer pos_embed), the centre crop of the run's grid added;
- conditioning: the timestep's 256 sinusoid (cos first, frequencies /128) → linear_1, SiLU, linear_2, plus
  the pooled text → linear_1, SiLU, linear_2; the context projected by context_embedder;
- each joint block: per stream adaLN-Zero (SiLU → linear → shift, scale, gate, shift, scale, gate over a
  LayerNorm without affine, eps 1e-6); q/k/v per stream (to_q…, add_q_proj…), attention over the image
  tokens followed by the text tokens; to_out.0 / to_add_out; gated residuals; per stream GELU-tanh MLP.
  The last block's text stream (context_pre_only) is normalised by a continuous adaLN (scale, shift) and
  only gives keys and values;
- output: continuous adaLN (scale first, then shift) over a LayerNorm without affine, proj_out, unpatchify.

Run:  /usr/bin/python3 tools/reference/sd3_reference.py
Writes dit-model/src/test/resources/fixtures/tiny_sd3.safetensors: w.* (diffusers keys), x [2,4,8,8],
t [2], pooled [2,32], context [2,5,32], after_block{i}_x [2,16,32], after_block{i}_c [2,5,32] (i < 2),
after_block2_x, out [2,4,8,8]; guided flow-matching samples (shift 3, 4 steps, guidance 3) from noise [2,4,8,8]
with pooled_guided [4,32] / context_guided [4,5,32] (conditional rows, then unconditional): flow_timesteps [4],
sample_full, sample_delta_dit (N 2, b 2, N_c 2), sample_delta_cache ([1, 3)); and tiny_sd3_config.json.
"""
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import write_safetensors  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "dit-model", "src", "test", "resources", "fixtures")
D, HEADS, DEPTH, P, IN, SAMPLE, POS_MAX, JOINT, POOLED = 32, 2, 3, 2, 4, 8, 12, 32, 32


def sincos_table(d, grid, base):
    q = d // 4
    omega = 1.0 / 10000 ** (torch.arange(q, dtype=torch.float64) / q)
    pos = torch.arange(grid, dtype=torch.float64) / (grid / base)
    y, x = torch.meshgrid(pos, pos, indexing="ij")
    ex, ey = x.reshape(-1, 1) * omega, y.reshape(-1, 1) * omega
    return torch.cat([ex.sin(), ex.cos(), ey.sin(), ey.cos()], 1).float()


def timestep_sinusoid(t, dim=256):
    half = dim // 2
    freq = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
    arg = t[:, None].float() * freq[None]
    return torch.cat([arg.cos(), arg.sin()], 1)


def mlp2(i, o):
    m = nn.Module()
    m.linear_1, m.linear_2 = nn.Linear(i, o), nn.Linear(o, o)
    return m


def ln(x):
    return F.layer_norm(x, (x.shape[-1],), eps=1e-6)


class FF(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.ModuleList([nn.Module(), nn.Identity(), nn.Linear(4 * D, D)])
        self.net[0].proj = nn.Linear(D, 4 * D)

    def forward(self, x):
        return self.net[2](F.gelu(self.net[0].proj(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, last):
        super().__init__()
        self.last = last
        self.norm1 = nn.Module()
        self.norm1.linear = nn.Linear(D, 6 * D)
        self.norm1_context = nn.Module()
        self.norm1_context.linear = nn.Linear(D, (2 if last else 6) * D)
        a = self.attn = nn.Module()
        for n in ("to_q", "to_k", "to_v", "add_q_proj", "add_k_proj", "add_v_proj"):
            setattr(a, n, nn.Linear(D, D))
        a.to_out = nn.ModuleList([nn.Linear(D, D)])
        if not last:
            a.to_add_out = nn.Linear(D, D)
            self.ff_context = FF()
        self.ff = FF()

    def forward(self, x, c, temb):
        e = self.norm1.linear(F.silu(temb))
        sh, sc, g, sh2, sc2, g2 = e.chunk(6, 1)
        nx = ln(x) * (1 + sc[:, None]) + sh[:, None]
        ec = self.norm1_context.linear(F.silu(temb))
        if self.last:
            csc, csh = ec.chunk(2, 1)
            nc = ln(c) * (1 + csc[:, None]) + csh[:, None]
        else:
            csh, csc, cg, csh2, csc2, cg2 = ec.chunk(6, 1)
            nc = ln(c) * (1 + csc[:, None]) + csh[:, None]
        a = self.attn
        b, n, m = x.shape[0], x.shape[1], c.shape[1]
        heads = lambda t: t.view(b, -1, HEADS, D // HEADS).transpose(1, 2)  # noqa: E731
        q = torch.cat([heads(a.to_q(nx)), heads(a.add_q_proj(nc))], 2)
        k = torch.cat([heads(a.to_k(nx)), heads(a.add_k_proj(nc))], 2)
        v = torch.cat([heads(a.to_v(nx)), heads(a.add_v_proj(nc))], 2)
        o = ((q @ k.transpose(-1, -2)) * (D // HEADS) ** -0.5).softmax(-1) @ v
        o = o.transpose(1, 2).reshape(b, n + m, D)
        ox, oc = o[:, :n], o[:, n:]
        x = x + g[:, None] * a.to_out[0](ox)
        x = x + g2[:, None] * self.ff(ln(x) * (1 + sc2[:, None]) + sh2[:, None])
        if self.last:
            return x, c
        c = c + cg[:, None] * a.to_add_out(oc)
        c = c + cg2[:, None] * self.ff_context(ln(c) * (1 + csc2[:, None]) + csh2[:, None])
        return x, c


class MMDiT(nn.Module):
    def __init__(self):
        super().__init__()
        self.pos_embed = nn.Module()
        self.pos_embed.proj = nn.Conv2d(IN, D, P, stride=P)
        self.pos_embed.register_buffer("pos_embed", sincos_table(D, POS_MAX, SAMPLE // P)[None])
        self.time_text_embed = nn.Module()
        self.time_text_embed.timestep_embedder = mlp2(256, D)
        self.time_text_embed.text_embedder = mlp2(POOLED, D)
        self.context_embedder = nn.Linear(JOINT, D)
        self.transformer_blocks = nn.ModuleList([Block(i == DEPTH - 1) for i in range(DEPTH)])
        self.norm_out = nn.Module()
        self.norm_out.linear = nn.Linear(D, 2 * D)
        self.proj_out = nn.Linear(D, P * P * IN)

    def forward(self, x, t, pooled, context, trace):
        b, _, h, w = x.shape
        gh, gw = h // P, w // P
        tok = self.pos_embed.proj(x).flatten(2).transpose(1, 2)
        top, left = (POS_MAX - gh) // 2, (POS_MAX - gw) // 2
        table = self.pos_embed.pos_embed.reshape(1, POS_MAX, POS_MAX, D)[:, top:top + gh, left:left + gw].reshape(1, -1, D)
        hx = tok + table
        te, txt = self.time_text_embed.timestep_embedder, self.time_text_embed.text_embedder
        temb = te.linear_2(F.silu(te.linear_1(timestep_sinusoid(t)))) + txt.linear_2(F.silu(txt.linear_1(pooled)))
        c = self.context_embedder(context)
        for i, blk in enumerate(self.transformer_blocks):
            hx, c = blk(hx, c, temb)
            trace["after_block%d_x" % i] = hx
            if i < DEPTH - 1:
                trace["after_block%d_c" % i] = c
        sc, sh = self.norm_out.linear(F.silu(temb)).chunk(2, 1)
        hx = self.proj_out(ln(hx) * (1 + sc[:, None]) + sh[:, None])
        hx = hx.reshape(b, gh, gw, P, P, IN).permute(0, 5, 1, 3, 2, 4).reshape(b, IN, h, w)
        return hx


def flow_match_sigmas(steps, shift=3.0, n=1000):
    """FlowMatchEulerDiscreteScheduler (shift, no dynamic shifting): the training sigmas shifted once give
    σ_max and σ_min; inference steps are a linspace between them ×1000, divided back and shifted again."""
    import numpy as np
    t = np.linspace(1, n, n, dtype=np.float32)[::-1].copy()
    s = torch.from_numpy(t) / n
    s = shift * s / (1 + (shift - 1) * s)
    smax, smin = s[0].item(), s[-1].item()
    sig = np.linspace(smax * n, smin * n, steps) / n
    sig = shift * sig / (1 + (shift - 1) * sig)
    sig = torch.from_numpy(sig).to(torch.float32)
    return sig * n, torch.cat([sig, torch.zeros(1)])


def sample(net, noise, t_cond, steps, scale, policy=None):
    """Flow-matching Euler with classifier-free guidance (rows: conditional, then unconditional);
    with a policy, cached steps run the plan of sampler_reference.plan_step over the joint state."""
    from sampler_reference import plan_step
    pooled, context = t_cond
    timesteps, sigmas = flow_match_sigmas(steps)
    x, store = noise.clone(), {}
    for i in range(steps):
        xx = torch.cat([x, x])
        tt = torch.full((xx.shape[0],), float(timesteps[i]))
        with torch.no_grad():
            v = velocity(net, xx, tt, pooled, context, plan_step(policy, i + 1, steps, DEPTH) if policy else ("full",), store)
        c, u = v[: x.shape[0]], v[x.shape[0]:]
        v = u + scale * (c - u)
        x = x + (sigmas[i + 1] - sigmas[i]) * v
    return x, timesteps


def velocity(net, x, t, pooled, context, p, store):
    b, _, h, w = x.shape
    gh, gw = h // P, w // P
    tok = net.pos_embed.proj(x).flatten(2).transpose(1, 2)
    top, left = (POS_MAX - gh) // 2, (POS_MAX - gw) // 2
    table = net.pos_embed.pos_embed.reshape(1, POS_MAX, POS_MAX, D)[:, top:top + gh, left:left + gw].reshape(1, -1, D)
    te, txt = net.time_text_embed.timestep_embedder, net.time_text_embed.text_embedder
    temb = te.linear_2(F.silu(te.linear_1(timestep_sinusoid(t)))) + txt.linear_2(F.silu(txt.linear_1(pooled)))
    n = tok.shape[1]
    state = torch.cat([tok + table, net.context_embedder(context)], 1)

    def run(hs, a, b_):
        for i in range(a, b_):
            hx, hc = net.transformer_blocks[i](hs[:, :n], hs[:, n:], temb)
            hs = torch.cat([hx, hc], 1)
        return hs
    if p[0] == "full":
        hs = [state]
        for i in range(DEPTH):
            hs.append(run(hs[-1], i, i + 1))
        for k in range(DEPTH + 1):
            for j in range(k + 1, DEPTH + 1):
                store[("delta", k, j)] = hs[j] - hs[k]
        state = hs[-1]
    else:
        state = run(state, 0, p[1]) + store[p]
        state = run(state, p[2], DEPTH)
    sc, sh = net.norm_out.linear(F.silu(temb)).chunk(2, 1)
    hx = net.proj_out(ln(state[:, :n]) * (1 + sc[:, None]) + sh[:, None])
    return hx.reshape(b, gh, gw, P, P, IN).permute(0, 5, 1, 3, 2, 4).reshape(b, IN, h, w)


def main():
    torch.manual_seed(0)
    net = MMDiT().eval()
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.normal_(0, 0.12 if "norm" in name or "linear" in name else 0.06)
        x = torch.randn(2, IN, SAMPLE, SAMPLE)
        t = torch.tensor([500.0, 250.5])
        pooled, context = torch.randn(2, POOLED), torch.randn(2, 5, JOINT)
        trace = {}
        out = net(x, t, pooled, context, trace)
        # guided flow-matching trajectories, 4 steps, guidance 3: uncached, Δ-DiT (N 2, b 2, N_c 2 of 3), Δ-Cache [1, 3)
        noise = torch.randn(2, IN, SAMPLE, SAMPLE)
        cond = (torch.cat([pooled, torch.randn(2, POOLED)]), torch.cat([context, torch.randn(2, 5, JOINT)]))
        full, ts = sample(net, noise, cond, 4, 3.0)
        ddit, _ = sample(net, noise, cond, 4, 3.0, {"kind": "delta-dit", "N": 2, "b": 2, "Nc": 2})
        dcache, _ = sample(net, noise, cond, 4, 3.0, {"kind": "delta-cache", "N": 2, "range": (1, 3)})
    tensors = {"w." + k: v.contiguous() for k, v in net.state_dict().items()}
    tensors.update({"noise": noise, "pooled_guided": cond[0], "context_guided": cond[1], "flow_timesteps": ts, "sample_full": full,
                    "sample_delta_dit": ddit, "sample_delta_cache": dcache})
    tensors.update({"x": x, "t": t, "pooled": pooled, "context": context, "out": out})
    tensors.update({k: v.contiguous() for k, v in trace.items()})
    write_safetensors(os.path.join(OUT, "tiny_sd3.safetensors"), tensors)
    with open(os.path.join(OUT, "tiny_sd3_config.json"), "w") as f:
        json.dump({"_class_name": "SD3Transformer2DModel", "sample_size": SAMPLE, "patch_size": P, "in_channels": IN, "out_channels": IN,
                   "num_layers": DEPTH, "attention_head_dim": D // HEADS, "num_attention_heads": HEADS, "joint_attention_dim": JOINT,
                   "caption_projection_dim": D, "pooled_projection_dim": POOLED, "pos_embed_max_size": POS_MAX}, f, indent=1)
    print("out", out.shape, float(out.abs().max()))


if __name__ == "__main__":
    main()
