#!/usr/bin/env python3
"""The AutoencoderKL decoder in plain PyTorch, written from shared/reference/model-formats.md §3 (not
copied from diffusers), and the fixture the Java decoder is tested against.

Run with Debian's PyTorch:  /usr/bin/python3 tools/reference/vae_reference.py
Writes dit-model/src/test/resources/fixtures/tiny_vae.safetensors: a tiny random decoder
(block_out_channels [16, 32], layers_per_block 1, 8 groups, 4 latent and 3 image channels) under its
diffusers key names (w.*, new attention names), a latent z [2,4,6,6] and the decoded image [2,3,12,12]
(decode(z / 0.18215), before clamping).
"""
import os

import torch
import torch.nn.functional as F

from safetensors_io import write_safetensors

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "dit-model", "src", "test", "resources", "fixtures")
GROUPS, EPS = 8, 1e-6


def resnet(w, p, x):
    h = F.conv2d(F.silu(F.group_norm(x, GROUPS, w[p + "norm1.weight"], w[p + "norm1.bias"], EPS)), w[p + "conv1.weight"], w[p + "conv1.bias"], padding=1)
    h = F.conv2d(F.silu(F.group_norm(h, GROUPS, w[p + "norm2.weight"], w[p + "norm2.bias"], EPS)), w[p + "conv2.weight"], w[p + "conv2.bias"], padding=1)
    if p + "conv_shortcut.weight" in w:
        x = F.conv2d(x, w[p + "conv_shortcut.weight"], w[p + "conv_shortcut.bias"])
    return x + h


def attention(w, p, x):
    b, c, hh, ww = x.shape
    h = F.group_norm(x, GROUPS, w[p + "group_norm.weight"], w[p + "group_norm.bias"], EPS).reshape(b, c, hh * ww).transpose(1, 2)
    q, k, v = (F.linear(h, w[p + n + ".weight"], w[p + n + ".bias"]) for n in ("to_q", "to_k", "to_v"))
    a = torch.softmax(q @ k.transpose(1, 2) / c ** 0.5, dim=-1) @ v
    o = F.linear(a, w[p + "to_out.0.weight"], w[p + "to_out.0.bias"])
    return x + o.transpose(1, 2).reshape(b, c, hh, ww)


def decode(w, z, blocks, layers):
    x = F.conv2d(z / 0.18215, w["post_quant_conv.weight"], w["post_quant_conv.bias"])
    x = F.conv2d(x, w["decoder.conv_in.weight"], w["decoder.conv_in.bias"], padding=1)
    x = resnet(w, "decoder.mid_block.resnets.0.", x)
    x = attention(w, "decoder.mid_block.attentions.0.", x)
    x = resnet(w, "decoder.mid_block.resnets.1.", x)
    for i in range(len(blocks)):
        for j in range(layers + 1):
            x = resnet(w, f"decoder.up_blocks.{i}.resnets.{j}.", x)
        if i < len(blocks) - 1:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
            x = F.conv2d(x, w[f"decoder.up_blocks.{i}.upsamplers.0.conv.weight"], w[f"decoder.up_blocks.{i}.upsamplers.0.conv.bias"], padding=1)
    x = F.silu(F.group_norm(x, GROUPS, w["decoder.conv_norm_out.weight"], w["decoder.conv_norm_out.bias"], EPS))
    return F.conv2d(x, w["decoder.conv_out.weight"], w["decoder.conv_out.bias"], padding=1)


def tiny_decoder(blocks=(16, 32), layers=1, latent=4, out=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s, scale=0.15: torch.randn(*s, generator=g) * scale
    w = {}

    def res(p, cin, cout):
        w.update({p + "norm1.weight": 1 + r(cin), p + "norm1.bias": r(cin), p + "conv1.weight": r(cout, cin, 3, 3), p + "conv1.bias": r(cout),
                  p + "norm2.weight": 1 + r(cout), p + "norm2.bias": r(cout), p + "conv2.weight": r(cout, cout, 3, 3), p + "conv2.bias": r(cout)})
        if cin != cout:
            w.update({p + "conv_shortcut.weight": r(cout, cin, 1, 1), p + "conv_shortcut.bias": r(cout)})

    top = blocks[-1]
    w["post_quant_conv.weight"], w["post_quant_conv.bias"] = r(latent, latent, 1, 1, scale=0.5), r(latent)
    w["decoder.conv_in.weight"], w["decoder.conv_in.bias"] = r(top, latent, 3, 3), r(top)
    res("decoder.mid_block.resnets.0.", top, top)
    a = "decoder.mid_block.attentions.0."
    w.update({a + "group_norm.weight": 1 + r(top), a + "group_norm.bias": r(top)})
    for n in ("to_q", "to_k", "to_v", "to_out.0"):
        w[a + n + ".weight"], w[a + n + ".bias"] = r(top, top, scale=0.3), r(top)
    res("decoder.mid_block.resnets.1.", top, top)
    rev = list(reversed(blocks))
    cout = rev[0]
    for i in range(len(blocks)):
        cin, cout = cout, rev[i]
        for j in range(layers + 1):
            res(f"decoder.up_blocks.{i}.resnets.{j}.", cin if j == 0 else cout, cout)
        if i < len(blocks) - 1:
            w[f"decoder.up_blocks.{i}.upsamplers.0.conv.weight"], w[f"decoder.up_blocks.{i}.upsamplers.0.conv.bias"] = r(cout, cout, 3, 3), r(cout)
    w["decoder.conv_norm_out.weight"], w["decoder.conv_norm_out.bias"] = 1 + r(blocks[0]), r(blocks[0])
    w["decoder.conv_out.weight"], w["decoder.conv_out.bias"] = r(out, blocks[0], 3, 3), r(out)
    return w


def main():
    os.makedirs(OUT, exist_ok=True)
    w = tiny_decoder()
    z = torch.randn(2, 4, 6, 6, generator=torch.Generator().manual_seed(3)) * 0.18215 * 2
    with torch.no_grad():
        img = decode(w, z, (16, 32), 1)
    out = {"w." + k: v for k, v in w.items()}
    out.update(z=z, image=img)
    write_safetensors(os.path.join(OUT, "tiny_vae.safetensors"), out)
    print("wrote", os.path.normpath(os.path.join(OUT, "tiny_vae.safetensors")), "image range", float(img.min()), float(img.max()))


if __name__ == "__main__":
    main()
