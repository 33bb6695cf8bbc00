#!/usr/bin/env python3
"""Writes a DiT or PixArt-α checkpoint of random weights with the official key names (facebookresearch/DiT's and
PixArt-alpha/PixArt-alpha's layouts), as safetensors, so that memory and `dit quantize`/`dit convert` can be measured
on a mapped file as a real checkpoint is loaded (`--random-weights` builds its weights in memory instead). Sizes:
DiT-XL/2 (28 blocks, 1152 wide, 16 heads, 1000 classes) or PixArt-XL/2 (the same stack with cross-attention to
120 T5-XXL tokens of 4096, no micro-conditions, as the 256 and 512 px checkpoints), 256 px latents of 32 x 32.
    /usr/bin/python3 tools/bench/random_dit_checkpoint.py --dtype bf16 --out /tmp/dit-xl2-bf16.safetensors
    /usr/bin/python3 tools/bench/random_dit_checkpoint.py --arch pixart --dtype bf16 --out /tmp/pixart-xl2-bf16.safetensors
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "reference"))
from safetensors_io import write_safetensors  # noqa: E402


def dit_state(depth, hidden, patch, in_ch, classes, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    out_ch = 2 * in_ch  # learned sigma

    def r(*shape):
        return (torch.randn(*shape, generator=g) * 0.02).to(dtype)

    sd = {"x_embedder.proj.weight": r(hidden, in_ch, patch, patch), "x_embedder.proj.bias": r(hidden),
          "t_embedder.mlp.0.weight": r(hidden, 256), "t_embedder.mlp.0.bias": r(hidden),
          "t_embedder.mlp.2.weight": r(hidden, hidden), "t_embedder.mlp.2.bias": r(hidden),
          "y_embedder.embedding_table.weight": r(classes + 1, hidden)}
    for i in range(depth):
        b = f"blocks.{i}."
        for name, (o, n) in {"attn.qkv": (3 * hidden, hidden), "attn.proj": (hidden, hidden), "mlp.fc1": (4 * hidden, hidden),
                             "mlp.fc2": (hidden, 4 * hidden), "adaLN_modulation.1": (6 * hidden, hidden)}.items():
            sd[b + name + ".weight"], sd[b + name + ".bias"] = r(o, n), r(o)
    sd["final_layer.linear.weight"], sd["final_layer.linear.bias"] = r(patch * patch * out_ch, hidden), r(patch * patch * out_ch)
    sd["final_layer.adaLN_modulation.1.weight"], sd["final_layer.adaLN_modulation.1.bias"] = r(2 * hidden, hidden), r(2 * hidden)
    return sd


def pixart_state(depth, hidden, patch, in_ch, caption, tokens, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    out_ch = 2 * in_ch  # learned sigma

    def r(*shape):
        return (torch.randn(*shape, generator=g) * 0.02).to(dtype)

    sd = {"x_embedder.proj.weight": r(hidden, in_ch, patch, patch), "x_embedder.proj.bias": r(hidden),
          "y_embedder.y_embedding": r(tokens, caption)}
    for name, (o, n) in {"t_embedder.mlp.0": (hidden, 256), "t_embedder.mlp.2": (hidden, hidden), "t_block.1": (6 * hidden, hidden),
                         "y_embedder.y_proj.fc1": (hidden, caption), "y_embedder.y_proj.fc2": (hidden, hidden)}.items():
        sd[name + ".weight"], sd[name + ".bias"] = r(o, n), r(o)
    for i in range(depth):
        b = f"blocks.{i}."
        sd[b + "scale_shift_table"] = r(6, hidden)
        for name, (o, n) in {"attn.qkv": (3 * hidden, hidden), "attn.proj": (hidden, hidden), "cross_attn.q_linear": (hidden, hidden),
                             "cross_attn.kv_linear": (2 * hidden, hidden), "cross_attn.proj": (hidden, hidden),
                             "mlp.fc1": (4 * hidden, hidden), "mlp.fc2": (hidden, 4 * hidden)}.items():
            sd[b + name + ".weight"], sd[b + name + ".bias"] = r(o, n), r(o)
    sd["final_layer.scale_shift_table"] = r(2, hidden)
    sd["final_layer.linear.weight"], sd["final_layer.linear.bias"] = r(patch * patch * out_ch, hidden), r(patch * patch * out_ch)
    return sd


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", choices=["dit", "pixart"], default="dit")
    ap.add_argument("--dtype", choices=["f32", "bf16", "f16"], default="bf16")
    ap.add_argument("--depth", type=int, default=28)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    dtype = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}[a.dtype]
    if a.arch == "dit":
        sd = dit_state(a.depth, 1152, 2, 4, 1000, dtype, a.seed)
    else:
        sd = pixart_state(a.depth, 1152, 2, 4, 4096, 120, dtype, a.seed)
    write_safetensors(a.out, sd)
    print(f"{a.out}: {sum(t.numel() for t in sd.values()) / 1e6:.1f} M parameters, {os.path.getsize(a.out) / 1e9:.2f} GB")


if __name__ == "__main__":
    main()
