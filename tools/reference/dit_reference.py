#!/usr/bin/env python3
"""A DiT forward pass in plain PyTorch, written from the architecture facts in
shared/reference/model-formats.md §1 (not copied from any repository), and the fixture the Java
model is tested against.

Run with Debian's PyTorch:  /usr/bin/python3 tools/reference/dit_reference.py
Writes dit-model/src/test/resources/fixtures/tiny_dit_forward.safetensors holding
  w.<official key>   a tiny random DiT (depth 3, hidden 32, 4 heads, patch 2, 4 channels, input 8,
                     10 classes, learned sigma); every weight non-zero, adaLN and final layer included
  x [2,4,8,8], t [2], y [2]                          the inputs (t = 999 and 421; y = 3 and 10, the null class)
  official.h{i} [2,16,32]  hidden state entering block i (h{depth} leaves the last block)
  official.out [2,8,8,8]   the model output (eps and variance channels)
  diffusers.h{i}, diffusers.out   the same with diffusers numerics (timestep frequencies /127, MLP LN eps 1e-5)
"""
import math
import os

import torch
import torch.nn.functional as F

from safetensors_io import write_safetensors

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "dit-model", "src", "test", "resources", "fixtures")


def timestep_embedding(t, dim=256, shift=0):
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / (half - shift))
    args = t[:, None].float() * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def modulate(x, shift, scale):
    return x * (1 + scale[:, None]) + shift[:, None]


def embed(w, x, patch):
    h = F.conv2d(x, w["x_embedder.proj.weight"], w["x_embedder.proj.bias"], stride=patch).flatten(2).transpose(1, 2)
    return h + w["pos_embed"]


def condition(w, t, y, diffusers=False):
    temb = timestep_embedding(t, shift=1 if diffusers else 0)
    temb = F.linear(F.silu(F.linear(temb, w["t_embedder.mlp.0.weight"], w["t_embedder.mlp.0.bias"])), w["t_embedder.mlp.2.weight"], w["t_embedder.mlp.2.bias"])
    return temb + w["y_embedder.embedding_table.weight"][y]


def block(w, i, h, cond, heads, diffusers=False):
    b, d = h.shape[0], h.shape[-1]
    p = f"blocks.{i}."
    mods = F.linear(F.silu(cond), w[p + "adaLN_modulation.1.weight"], w[p + "adaLN_modulation.1.bias"])
    sh1, sc1, g1, sh2, sc2, g2 = mods.chunk(6, dim=1)
    a = modulate(F.layer_norm(h, (d,), eps=1e-6), sh1, sc1)
    q, k, v = F.linear(a, w[p + "attn.qkv.weight"], w[p + "attn.qkv.bias"]).reshape(b, -1, 3, heads, d // heads).permute(2, 0, 3, 1, 4)
    att = torch.softmax(q @ k.transpose(-2, -1) * (d // heads) ** -0.5, dim=-1) @ v
    h = h + g1[:, None] * F.linear(att.transpose(1, 2).reshape(b, -1, d), w[p + "attn.proj.weight"], w[p + "attn.proj.bias"])
    m = modulate(F.layer_norm(h, (d,), eps=1e-5 if diffusers else 1e-6), sh2, sc2)
    m = F.linear(F.gelu(F.linear(m, w[p + "mlp.fc1.weight"], w[p + "mlp.fc1.bias"]), approximate="tanh"), w[p + "mlp.fc2.weight"], w[p + "mlp.fc2.bias"])
    return h + g2[:, None] * m


def final(w, h, cond, patch, size):
    d = h.shape[-1]
    b = h.shape[0]
    shift, scale = F.linear(F.silu(cond), w["final_layer.adaLN_modulation.1.weight"], w["final_layer.adaLN_modulation.1.bias"]).chunk(2, dim=1)
    o = F.linear(modulate(F.layer_norm(h, (d,), eps=1e-6), shift, scale), w["final_layer.linear.weight"], w["final_layer.linear.bias"])
    g, oc = size // patch, o.shape[-1] // (patch * patch)
    return o.reshape(b, g, g, patch, patch, oc).permute(0, 5, 1, 3, 2, 4).reshape(b, oc, size, size)  # (p, q, c), c fastest


def dit_forward(w, x, t, y, depth, heads, patch, diffusers=False):
    """Returns the hidden state entering each block, the one leaving the last, and the output."""
    cond = condition(w, t, y, diffusers)
    h = embed(w, x, patch)
    hs = [h]
    for i in range(depth):
        h = block(w, i, h, cond, heads, diffusers)
        hs.append(h)
    return hs, final(w, h, cond, patch, x.shape[-1])


def sincos_pos_embed(d, grid):
    """2-D sin-cos table: first half encodes the column, second half the row; sin before cos."""
    def emb_1d(pos, dim):
        omega = 1.0 / 10000 ** (torch.arange(dim // 2, dtype=torch.float64) / (dim / 2.0))
        out = pos.reshape(-1)[:, None].double() * omega[None]
        return torch.cat([torch.sin(out), torch.cos(out)], dim=1)
    ys, xs = torch.meshgrid(torch.arange(grid, dtype=torch.float64), torch.arange(grid, dtype=torch.float64), indexing="ij")
    return torch.cat([emb_1d(xs, d // 2), emb_1d(ys, d // 2)], dim=1).float()[None]


def tiny_weights(depth, d, patch, cin, classes, seed=0):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s, scale=0.2: torch.randn(*s, generator=g) * scale
    cout = 2 * cin
    w = {"pos_embed": sincos_pos_embed(d, 4),
         "x_embedder.proj.weight": r(d, cin, patch, patch), "x_embedder.proj.bias": r(d),
         "t_embedder.mlp.0.weight": r(d, 256, scale=0.1), "t_embedder.mlp.0.bias": r(d),
         "t_embedder.mlp.2.weight": r(d, d), "t_embedder.mlp.2.bias": r(d),
         "y_embedder.embedding_table.weight": r(classes + 1, d, scale=1.0)}
    for i in range(depth):
        p = f"blocks.{i}."
        w.update({p + "attn.qkv.weight": r(3 * d, d), p + "attn.qkv.bias": r(3 * d), p + "attn.proj.weight": r(d, d), p + "attn.proj.bias": r(d),
                  p + "mlp.fc1.weight": r(4 * d, d), p + "mlp.fc1.bias": r(4 * d), p + "mlp.fc2.weight": r(d, 4 * d), p + "mlp.fc2.bias": r(d),
                  p + "adaLN_modulation.1.weight": r(6 * d, d), p + "adaLN_modulation.1.bias": r(6 * d)})
    w.update({"final_layer.adaLN_modulation.1.weight": r(2 * d, d), "final_layer.adaLN_modulation.1.bias": r(2 * d),
              "final_layer.linear.weight": r(patch * patch * cout, d), "final_layer.linear.bias": r(patch * patch * cout)})
    return w


def main():
    os.makedirs(OUT, exist_ok=True)
    depth, d, heads, patch, cin, classes = 3, 32, 4, 2, 4, 10
    w = tiny_weights(depth, d, patch, cin, classes)
    assert all((v != 0).all() for k, v in w.items() if k != "pos_embed")
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, cin, 8, 8, generator=g)
    t = torch.tensor([999, 421])
    y = torch.tensor([3, classes])
    out = {"w." + k: v for k, v in w.items()}
    out.update(x=x, t=t.float(), y=y)
    for name, diff in (("official", False), ("diffusers", True)):
        with torch.no_grad():
            hs, img = dit_forward(w, x, t, y, depth, heads, patch, diffusers=diff)
        for i, h in enumerate(hs):
            out[f"{name}.h{i}"] = h
        out[f"{name}.out"] = img
    write_safetensors(os.path.join(OUT, "tiny_dit_forward.safetensors"), out)
    print("wrote", os.path.normpath(os.path.join(OUT, "tiny_dit_forward.safetensors")))


if __name__ == "__main__":
    main()
