#!/usr/bin/env python3
"""A PixArt-α transformer forward pass in plain PyTorch, written from shared/reference/model-formats.md §2
(not copied from any repository), and the fixtures the Java model is tested against.

Run with Debian's PyTorch:  /usr/bin/python3 tools/reference/pixart_reference.py
Writes dit-model/src/test/resources/fixtures/tiny_pixart_forward.safetensors holding
  w.<original key>   a tiny random PixArt-MS (depth 3, hidden 48, 4 heads, patch 2, 4 channels, native latent 8,
                     caption channels 32 (the tiny T5 width), 6 caption tokens, learned sigma, interpolation scale 2), incl. y_embedding
  x [2,4,8,8], t [2], caption [2,6,32], mask [2,6]   inputs: t = 999 and 421; row 0 has 4 tokens, row 1 has 2
  size [2]           the micro-conditions: height 64 px, width 48 px (aspect ratio 4/3)
  ms.h{i}, ms.out    hidden state entering block i (h{depth} leaves the last) and the output, MS model
  plain.out          the output of the same weights without the size embedders (a 512-style model)
  null.out           the MS output with the learned null caption y_embedding under the row's mask
and tiny_pixart_diffusers.safetensors: the same MS weights under diffusers names (q/k/v split, …);
and cache/src/test/resources/fixtures/tiny_pixart_sampling.safetensors (weights w.*, noise [2,4,8,8], caption, mask, size):
  lcm4               LCM, 4 steps (999, 759, 499, 259), no guidance, fresh noise lcm_z [3,2,4,8,8] for steps 1..3
  dpmpp6_none        DPM-Solver++(2M) 6 steps, guidance 4.5 on all 8 channels, the null caption under the prompt's mask
  dpmpp6_deltadit    the same with Δ-DiT b=3, N=2, N_c=2 (rear [1,3) while s ≤ 3, front [0,2) after)
  dpmpp6_tgate       the same with T-GATE, gate step 3 (steps 4..6: one unguided branch, cross-attention kept from step 3)
Padding is handled as the original code does: padded tokens are removed before cross-attention.
"""
import math
import os

import torch
import torch.nn.functional as F

from safetensors_io import write_safetensors
from dit_reference import modulate, timestep_embedding

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "dit-model", "src", "test", "resources", "fixtures")


def sincos(d, grid, base, scale):
    """model-formats §1.4 with PixArt's interpolation: pos = index / (grid / base) / scale."""
    def emb_1d(pos, dim):
        omega = 1.0 / 10000 ** (torch.arange(dim // 2, dtype=torch.float64) / (dim / 2.0))
        out = pos.reshape(-1)[:, None] * omega[None]
        return torch.cat([torch.sin(out), torch.cos(out)], dim=1)
    coords = torch.arange(grid, dtype=torch.float64) / (grid / base) / scale
    ys, xs = torch.meshgrid(coords, coords, indexing="ij")
    return torch.cat([emb_1d(xs, d // 2), emb_1d(ys, d // 2)], dim=1).float()[None]


def mlp2(w, name, x, act):
    return F.linear(act(F.linear(x, w[name + ".0.weight"], w[name + ".0.bias"])), w[name + ".2.weight"], w[name + ".2.bias"])


def condition(w, t, size_hw, d):
    temb = mlp2(w, "t_embedder.mlp", timestep_embedding(t), F.silu)
    if "csize_embedder.mlp.0.weight" in w:
        b = t.shape[0]
        hw = torch.tensor([size_hw] * b, dtype=torch.float32)
        cs = mlp2(w, "csize_embedder.mlp", timestep_embedding(hw.flatten()), F.silu).reshape(b, -1)
        ar = mlp2(w, "ar_embedder.mlp", timestep_embedding(hw[:, 0] / hw[:, 1]), F.silu)
        temb = temb + torch.cat([cs, ar], dim=1)
    t0 = F.linear(F.silu(temb), w["t_block.1.weight"], w["t_block.1.bias"])
    return temb, t0


def caption_proj(w, y):
    h = F.gelu(F.linear(y, w["y_embedder.y_proj.fc1.weight"], w["y_embedder.y_proj.fc1.bias"]), approximate="tanh")
    return F.linear(h, w["y_embedder.y_proj.fc2.weight"], w["y_embedder.y_proj.fc2.bias"])


def attention(q, k, v):
    return torch.softmax(q @ k.transpose(-2, -1) * q.shape[-1] ** -0.5, dim=-1) @ v


def block(w, i, x, t0, y, mask, heads, cross=None, keep=None):
    """One block; cross (if given) replaces the cross-attention output, keep (a list) receives it (T-GATE)."""
    b, n, d = x.shape
    dh = d // heads
    p = f"blocks.{i}."
    sh1, sc1, g1, sh2, sc2, g2 = (w[p + "scale_shift_table"][None] + t0.reshape(b, 6, d)).chunk(6, dim=1)
    a = F.layer_norm(x, (d,), eps=1e-6) * (1 + sc1) + sh1
    q, k, v = F.linear(a, w[p + "attn.qkv.weight"], w[p + "attn.qkv.bias"]).reshape(b, n, 3, heads, dh).permute(2, 0, 3, 1, 4)
    x = x + g1 * F.linear(attention(q, k, v).transpose(1, 2).reshape(b, n, d), w[p + "attn.proj.weight"], w[p + "attn.proj.bias"])
    if cross is None:
        # cross-attention, one sample at a time over its valid caption tokens only (the original removes padding)
        rows = []
        for s in range(b):
            valid = mask[s].bool()
            q = F.linear(x[s], w[p + "cross_attn.q_linear.weight"], w[p + "cross_attn.q_linear.bias"]).reshape(n, heads, dh).transpose(0, 1)
            kv = F.linear(y[s][valid], w[p + "cross_attn.kv_linear.weight"], w[p + "cross_attn.kv_linear.bias"]).reshape(-1, 2, heads, dh)
            k, v = kv[:, 0].transpose(0, 1), kv[:, 1].transpose(0, 1)
            rows.append(F.linear(attention(q, k, v).transpose(0, 1).reshape(n, d), w[p + "cross_attn.proj.weight"], w[p + "cross_attn.proj.bias"]))
        cross = torch.stack(rows)
    if keep is not None:
        keep.append(cross)
    x = x + cross
    m = F.layer_norm(x, (d,), eps=1e-6) * (1 + sc2) + sh2
    m = F.linear(F.gelu(F.linear(m, w[p + "mlp.fc1.weight"], w[p + "mlp.fc1.bias"]), approximate="tanh"), w[p + "mlp.fc2.weight"], w[p + "mlp.fc2.bias"])
    return x + g2 * m


def final_layer(w, h, temb, patch, size):
    """shift, scale = table + raw t embedding; projection; unpatchify in (p, q, c) order."""
    b, d = h.shape[0], h.shape[-1]
    shift, sc = (w["final_layer.scale_shift_table"][None] + temb[:, None]).chunk(2, dim=1)
    o = F.linear(F.layer_norm(h, (d,), eps=1e-6) * (1 + sc) + shift, w["final_layer.linear.weight"], w["final_layer.linear.bias"])
    g, oc = size // patch, o.shape[-1] // (patch * patch)
    return o.reshape(b, g, g, patch, patch, oc).permute(0, 5, 1, 3, 2, 4).reshape(b, oc, size, size)


def inputs(w, x, t, caption, size_hw, patch, native, scale):
    """Everything before the blocks: t embedding and t0, the projected caption, patch tokens plus positions."""
    d = w["x_embedder.proj.weight"].shape[0]
    temb, t0 = condition(w, t, size_hw, d)
    y = caption_proj(w, caption)
    h = F.conv2d(x, w["x_embedder.proj.weight"], w["x_embedder.proj.bias"], stride=patch).flatten(2).transpose(1, 2)
    return temb, t0, y, h + sincos(d, x.shape[-1] // patch, native // patch, scale)


def forward(w, x, t, caption, mask, size_hw, depth, heads, patch, native, scale):
    s = x.shape[-1]
    temb, t0, y, h = inputs(w, x, t, caption, size_hw, patch, native, scale)
    hs = [h]
    for i in range(depth):
        h = block(w, i, h, t0, y, mask, heads)
        hs.append(h)
    return hs, final_layer(w, h, temb, patch, s)


def tiny_weights(depth, d, patch, cin, cap, tokens, seed=0):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s, scale=0.2: torch.randn(*s, generator=g) * scale
    e = d // 3
    w = {"x_embedder.proj.weight": r(d, cin, patch, patch), "x_embedder.proj.bias": r(d),
         "t_embedder.mlp.0.weight": r(d, 256, scale=0.1), "t_embedder.mlp.0.bias": r(d),
         "t_embedder.mlp.2.weight": r(d, d), "t_embedder.mlp.2.bias": r(d),
         "t_block.1.weight": r(6 * d, d), "t_block.1.bias": r(6 * d),
         "y_embedder.y_proj.fc1.weight": r(d, cap), "y_embedder.y_proj.fc1.bias": r(d),
         "y_embedder.y_proj.fc2.weight": r(d, d), "y_embedder.y_proj.fc2.bias": r(d),
         "y_embedder.y_embedding": r(tokens, cap, scale=1.0),
         "csize_embedder.mlp.0.weight": r(e, 256, scale=0.1), "csize_embedder.mlp.0.bias": r(e),
         "csize_embedder.mlp.2.weight": r(e, e), "csize_embedder.mlp.2.bias": r(e),
         "ar_embedder.mlp.0.weight": r(e, 256, scale=0.1), "ar_embedder.mlp.0.bias": r(e),
         "ar_embedder.mlp.2.weight": r(e, e), "ar_embedder.mlp.2.bias": r(e)}
    for i in range(depth):
        p = f"blocks.{i}."
        w.update({p + "scale_shift_table": r(6, d, scale=0.5),
                  p + "attn.qkv.weight": r(3 * d, d), p + "attn.qkv.bias": r(3 * d), p + "attn.proj.weight": r(d, d), p + "attn.proj.bias": r(d),
                  p + "cross_attn.q_linear.weight": r(d, d), p + "cross_attn.q_linear.bias": r(d),
                  p + "cross_attn.kv_linear.weight": r(2 * d, d), p + "cross_attn.kv_linear.bias": r(2 * d),
                  p + "cross_attn.proj.weight": r(d, d), p + "cross_attn.proj.bias": r(d),
                  p + "mlp.fc1.weight": r(4 * d, d), p + "mlp.fc1.bias": r(4 * d), p + "mlp.fc2.weight": r(d, 4 * d), p + "mlp.fc2.bias": r(d)})
    w.update({"final_layer.scale_shift_table": r(2, d, scale=0.5),
              "final_layer.linear.weight": r(patch * patch * 2 * cin, d), "final_layer.linear.bias": r(patch * patch * 2 * cin)})
    return w


def to_diffusers(w, depth):
    """The diffusers PixArtTransformer2DModel names (model-formats.md §2.3); y_embedding is dropped as the converter does."""
    dw = {}
    ren = {"x_embedder.proj": "pos_embed.proj", "y_embedder.y_proj.fc1": "caption_projection.linear_1",
           "y_embedder.y_proj.fc2": "caption_projection.linear_2", "t_embedder.mlp.0": "adaln_single.emb.timestep_embedder.linear_1",
           "t_embedder.mlp.2": "adaln_single.emb.timestep_embedder.linear_2", "csize_embedder.mlp.0": "adaln_single.emb.resolution_embedder.linear_1",
           "csize_embedder.mlp.2": "adaln_single.emb.resolution_embedder.linear_2", "ar_embedder.mlp.0": "adaln_single.emb.aspect_ratio_embedder.linear_1",
           "ar_embedder.mlp.2": "adaln_single.emb.aspect_ratio_embedder.linear_2", "t_block.1": "adaln_single.linear", "final_layer.linear": "proj_out"}
    for a, b in ren.items():
        for s in ("weight", "bias"):
            dw[f"{b}.{s}"] = w[f"{a}.{s}"]
    dw["scale_shift_table"] = w["final_layer.scale_shift_table"]
    for i in range(depth):
        p, q = f"blocks.{i}.", f"transformer_blocks.{i}."
        dw[q + "scale_shift_table"] = w[p + "scale_shift_table"]
        for s in ("weight", "bias"):
            for name, part in zip(("to_q", "to_k", "to_v"), w[p + f"attn.qkv.{s}"].chunk(3, 0)):
                dw[q + f"attn1.{name}.{s}"] = part.contiguous()
            dw[q + f"attn1.to_out.0.{s}"] = w[p + f"attn.proj.{s}"]
            dw[q + f"attn2.to_q.{s}"] = w[p + f"cross_attn.q_linear.{s}"]
            k, v = w[p + f"cross_attn.kv_linear.{s}"].chunk(2, 0)
            dw[q + f"attn2.to_k.{s}"], dw[q + f"attn2.to_v.{s}"] = k.contiguous(), v.contiguous()
            dw[q + f"attn2.to_out.0.{s}"] = w[p + f"cross_attn.proj.{s}"]
            dw[q + f"ff.net.0.proj.{s}"] = w[p + f"mlp.fc1.{s}"]
            dw[q + f"ff.net.2.{s}"] = w[p + f"mlp.fc2.{s}"]
    return dw


def pixart_eps(w, caption, mask, size_hw, scale, policy=None, depth=3, heads=4, patch=2, native=8, lscale=2.0):
    """ε(x, t, s) with guidance [cond; null caption] on all channels, and an optional Δ-DiT plan (sampler_reference.plan_step)."""
    from sampler_reference import plan_step
    cache = {}
    null = w["y_embedder.y_embedding"][None].expand(caption.shape[0], -1, -1)

    def eps(x, t, s):
        xx = torch.cat([x, x]) if scale > 1 else x
        cap = torch.cat([caption, null]) if scale > 1 else caption
        mm = torch.cat([mask, mask]) if scale > 1 else mask
        tt = torch.full((xx.shape[0],), int(t))
        with torch.no_grad():
            temb, t0, y, h = inputs(w, xx, tt, cap, size_hw, patch, native, lscale)
            step = plan_step(policy, s, 0, depth) if policy else ("full",)
            if step[0] == "full":
                hs = [h]
                for i in range(depth):
                    h = block(w, i, h, t0, y, mask=mm, heads=heads)
                    hs.append(h)
                cache["hs"] = hs
            else:
                _, a, b = step
                for i in range(a):
                    h = block(w, i, h, t0, y, mm, heads)
                h = h + (cache["hs"][b] - cache["hs"][a])
                for i in range(b, depth):
                    h = block(w, i, h, t0, y, mm, heads)
            out = final_layer(w, h, temb, patch, xx.shape[-1])
        if scale > 1:
            c, u = out.chunk(2)
            out = u + scale * (c - u)
        return out[:, : x.shape[1]].double()
    return eps


def tgate_eps(w, caption, mask, size_hw, scale, gate, depth=3, heads=4, patch=2, native=8, lscale=2.0):
    """T-GATE: steps ≤ gate guided as usual, the gate step keeps each block's cross-attention output
    averaged over the two branches; later steps run the unconditional branch alone with the kept outputs."""
    kept = {}
    null = w["y_embedder.y_embedding"][None].expand(caption.shape[0], -1, -1)

    def eps(x, t, s):
        after = s > gate
        xx = x if after else torch.cat([x, x])
        cap = null if after else torch.cat([caption, null])
        mm = mask if after else torch.cat([mask, mask])
        tt = torch.full((xx.shape[0],), int(t))
        with torch.no_grad():
            temb, t0, y, h = inputs(w, xx, tt, cap, size_hw, patch, native, lscale)
            for i in range(depth):
                got = []
                h = block(w, i, h, t0, y, mm, heads, cross=kept.get(i) if after else None, keep=got)
                if s == gate:
                    c, u = got[0].chunk(2)
                    kept[i] = (c + u) / 2
            out = final_layer(w, h, temb, patch, xx.shape[-1])
        if not after:
            c, u = out.chunk(2)
            out = u + scale * (c - u)
        return out[:, : x.shape[1]].double()
    return eps


def lcm(eps_fn, noise, zs):
    from sampler_reference import alphas_cumprod
    ab = alphas_cumprod()
    ts = [999, 759, 499, 259]
    x = noise.double()
    for i, t in enumerate(ts):
        e = eps_fn(x.float(), t, i + 1)
        a = ab[t]
        x0 = (x - torch.sqrt(1 - a) * e) / torch.sqrt(a)
        st = 10.0 * t
        denoised = st / math.sqrt(st * st + 0.25) * x0 + 0.25 / (st * st + 0.25) * x
        x = denoised if i == len(ts) - 1 else torch.sqrt(ab[ts[i + 1]]) * denoised + torch.sqrt(1 - ab[ts[i + 1]]) * zs[i].double()
        x = x.float().double()
    return x.float()


def sampling_fixture(w, caption, mask, size_hw):
    from sampler_reference import dpmpp
    g = torch.Generator().manual_seed(7)
    noise = torch.randn(2, 4, 8, 8, generator=g)
    zs = torch.randn(3, 2, 4, 8, 8, generator=g)
    out = {"w." + k: v for k, v in w.items()}
    out.update(noise=noise, lcm_z=zs, caption=caption, mask=mask, size=torch.tensor(size_hw))
    out["lcm4"] = lcm(pixart_eps(w, caption, mask, size_hw, 0), noise, zs)
    out["dpmpp6_none"] = dpmpp(None, noise, None, 6, None, None, eps_fn=pixart_eps(w, caption, mask, size_hw, 4.5))
    policy = {"kind": "delta-dit", "b": 3, "N": 2, "Nc": 2}
    out["dpmpp6_deltadit"] = dpmpp(None, noise, None, 6, None, None, eps_fn=pixart_eps(w, caption, mask, size_hw, 4.5, policy))
    out["dpmpp6_tgate"] = dpmpp(None, noise, None, 6, None, None, eps_fn=tgate_eps(w, caption, mask, size_hw, 4.5, 3))
    where = os.path.join(OUT, "..", "..", "..", "..", "..", "cache", "src", "test", "resources", "fixtures", "tiny_pixart_sampling.safetensors")
    write_safetensors(where, out)
    print("wrote", os.path.normpath(where))


def main():
    os.makedirs(OUT, exist_ok=True)
    depth, d, heads, patch, cin, cap, tokens, native, scale = 3, 48, 4, 2, 4, 32, 6, 8, 2.0
    w = tiny_weights(depth, d, patch, cin, cap, tokens)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, cin, native, native, generator=g)
    t = torch.tensor([999, 421])
    caption = torch.randn(2, tokens, cap, generator=g)
    mask = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 0, 0]], dtype=torch.float32)
    size_hw = (64.0, 48.0)
    out = {"w." + k: v for k, v in w.items()}
    out.update(x=x, t=t.float(), caption=caption, mask=mask, size=torch.tensor(size_hw))
    with torch.no_grad():
        hs, img = forward(w, x, t, caption, mask, size_hw, depth, heads, patch, native, scale)
        for i, h in enumerate(hs):
            out[f"ms.h{i}"] = h
        out["ms.out"] = img
        plain = {k: v for k, v in w.items() if not k.startswith(("csize_embedder", "ar_embedder"))}
        out["plain.out"] = forward(plain, x, t, caption, mask, size_hw, depth, heads, patch, native, scale)[1]
        null = w["y_embedder.y_embedding"][None].expand(2, -1, -1)
        out["null.out"] = forward(w, x, t, null, mask, size_hw, depth, heads, patch, native, scale)[1]
    write_safetensors(os.path.join(OUT, "tiny_pixart_forward.safetensors"), out)
    write_safetensors(os.path.join(OUT, "tiny_pixart_diffusers.safetensors"), to_diffusers(w, depth))
    print("wrote", os.path.normpath(os.path.join(OUT, "tiny_pixart_forward.safetensors")), "and tiny_pixart_diffusers.safetensors")
    sampling_fixture(w, caption, mask, size_hw)


if __name__ == "__main__":
    main()
