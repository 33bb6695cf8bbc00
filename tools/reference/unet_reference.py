#!/usr/bin/env python3
"""Fixtures for SD1.5's U-Net (dit-model UNetModel.java), from our own PyTorch code written from the
architecture of UNet2DConditionModel as SD 1.5 configures it (diffusers key names), scaled down:

- time: the block_out[0]-wide sinusoid (cos first, frequencies /half) → linear_1 → SiLU → linear_2 (4×);
- conv_in 3×3; down blocks of (ResNet, spatial transformer) pairs and a stride-2 conv (CrossAttnDownBlock2D),
  the last one ResNets only (DownBlock2D); every output kept for the skips; a mid block ResNet, transformer,
  ResNet; up blocks of layers+1 ResNets over [h, skip] (UpBlock2D first, then CrossAttnUpBlock2D) and a
  nearest ×2 + 3×3 conv between; GroupNorm, SiLU, conv_out;
- ResNet: GroupNorm (eps 1e-5), SiLU, conv 3×3, + time_emb_proj(SiLU(temb)), GroupNorm, SiLU, conv 3×3, + (1×1
  conv_shortcut when the width changes);
- spatial transformer: GroupNorm (eps 1e-6), proj_in 1×1, one block — LN, self-attention (q/k/v without bias),
  LN, cross-attention to the text states, LN, GEGLU feed-forward (gate = the second half, exact GELU) — proj_out
  1×1, plus the input.

Run:  /usr/bin/python3 tools/reference/unet_reference.py
Writes dit-model/src/test/resources/fixtures/tiny_unet.safetensors (w.*, x [2,4,8,8], t [2], text [2,7,16],
down{i} (each down block's last output), mid, up{i}, out) and tiny_unet_config.json.
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
BLOCKS, LAYERS, GROUPS, HEADS, CROSS, IN = (16, 16), 1, 8, 2, 16, 4


class Resnet(nn.Module):
    def __init__(self, cin, cout, temb):
        super().__init__()
        self.norm1, self.norm2 = nn.GroupNorm(GROUPS, cin, eps=1e-5), nn.GroupNorm(GROUPS, cout, eps=1e-5)
        self.conv1, self.conv2 = nn.Conv2d(cin, cout, 3, padding=1), nn.Conv2d(cout, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb, cout)
        if cin != cout:
            self.conv_shortcut = nn.Conv2d(cin, cout, 1)

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.conv_shortcut(x) if hasattr(self, "conv_shortcut") else x) + h


class Attention(nn.Module):
    def __init__(self, d, kv):
        super().__init__()
        self.to_q, self.to_k, self.to_v = nn.Linear(d, d, bias=False), nn.Linear(kv, d, bias=False), nn.Linear(kv, d, bias=False)
        self.to_out = nn.ModuleList([nn.Linear(d, d)])

    def forward(self, x, ctx):
        b, n, d = x.shape
        q = self.to_q(x).view(b, n, HEADS, -1).transpose(1, 2)
        k = self.to_k(ctx).view(b, ctx.shape[1], HEADS, -1).transpose(1, 2)
        v = self.to_v(ctx).view(b, ctx.shape[1], HEADS, -1).transpose(1, 2)
        o = ((q @ k.transpose(-1, -2)) * q.shape[-1] ** -0.5).softmax(-1) @ v
        return self.to_out[0](o.transpose(1, 2).reshape(b, n, d))


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn1, self.attn2 = Attention(d, d), Attention(d, CROSS)
        self.ff = nn.Module()
        self.ff.net = nn.ModuleList([nn.Module(), nn.Identity(), nn.Linear(4 * d, d)])
        self.ff.net[0].proj = nn.Linear(d, 8 * d)

    def forward(self, x, ctx):
        h = self.norm1(x)
        x = x + self.attn1(h, h)
        x = x + self.attn2(self.norm2(x), ctx)
        a, gate = self.ff.net[0].proj(self.norm3(x)).chunk(2, -1)
        return x + self.ff.net[2](a * F.gelu(gate))


class Transformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm = nn.GroupNorm(GROUPS, c, eps=1e-6)
        self.proj_in, self.proj_out = nn.Conv2d(c, c, 1), nn.Conv2d(c, c, 1)
        self.transformer_blocks = nn.ModuleList([Block(c)])

    def forward(self, x, ctx):
        b, c, h, w = x.shape
        t = self.proj_in(self.norm(x)).permute(0, 2, 3, 1).reshape(b, h * w, c)
        t = self.transformer_blocks[0](t, ctx)
        return self.proj_out(t.reshape(b, h, w, c).permute(0, 3, 1, 2)) + x


class UNet(nn.Module):
    def __init__(self):
        super().__init__()
        temb = 4 * BLOCKS[0]
        self.time_embedding = nn.Module()
        self.time_embedding.linear_1, self.time_embedding.linear_2 = nn.Linear(BLOCKS[0], temb), nn.Linear(temb, temb)
        self.conv_in = nn.Conv2d(IN, BLOCKS[0], 3, padding=1)
        self.down_blocks = nn.ModuleList()
        c = BLOCKS[0]
        for i, out in enumerate(BLOCKS):
            blk = nn.Module()
            last = i == len(BLOCKS) - 1
            blk.resnets = nn.ModuleList([Resnet(c if j == 0 else out, out, temb) for j in range(LAYERS)])
            if not last:
                blk.attentions = nn.ModuleList([Transformer(out) for _ in range(LAYERS)])
                blk.downsamplers = nn.ModuleList([nn.Module()])
                blk.downsamplers[0].conv = nn.Conv2d(out, out, 3, stride=2, padding=1)
            self.down_blocks.append(blk)
            c = out
        self.mid_block = nn.Module()
        self.mid_block.resnets = nn.ModuleList([Resnet(c, c, temb), Resnet(c, c, temb)])
        self.mid_block.attentions = nn.ModuleList([Transformer(c)])
        self.up_blocks = nn.ModuleList()
        rev = list(reversed(BLOCKS))
        prev = rev[0]
        for i, out in enumerate(rev):
            blk = nn.Module()
            last = i == len(rev) - 1
            cin = rev[min(i + 1, len(rev) - 1)]
            blk.resnets = nn.ModuleList([Resnet((prev if j == 0 else out) + (cin if j == LAYERS else out), out, temb) for j in range(LAYERS + 1)])
            if i > 0:
                blk.attentions = nn.ModuleList([Transformer(out) for _ in range(LAYERS + 1)])
            if not last:
                blk.upsamplers = nn.ModuleList([nn.Module()])
                blk.upsamplers[0].conv = nn.Conv2d(out, out, 3, padding=1)
            self.up_blocks.append(blk)
            prev = out
        self.conv_norm_out = nn.GroupNorm(GROUPS, BLOCKS[0], eps=1e-5)
        self.conv_out = nn.Conv2d(BLOCKS[0], IN, 3, padding=1)

    def forward(self, x, t, ctx, trace):
        half = BLOCKS[0] // 2
        freq = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
        arg = t[:, None].float() * freq[None]
        temb = self.time_embedding.linear_2(F.silu(self.time_embedding.linear_1(torch.cat([arg.cos(), arg.sin()], 1))))
        h = self.conv_in(x)
        skips = [h]
        for i, blk in enumerate(self.down_blocks):
            for j, r in enumerate(blk.resnets):
                h = r(h, temb)
                if hasattr(blk, "attentions"):
                    h = blk.attentions[j](h, ctx)
                skips.append(h)
            if hasattr(blk, "downsamplers"):
                h = blk.downsamplers[0].conv(h)
                skips.append(h)
            trace["down%d" % i] = h
        h = self.mid_block.resnets[0](h, temb)
        h = self.mid_block.attentions[0](h, ctx)
        h = self.mid_block.resnets[1](h, temb)
        trace["mid"] = h
        for i, blk in enumerate(self.up_blocks):
            for j, r in enumerate(blk.resnets):
                h = r(torch.cat([h, skips.pop()], 1), temb)
                if hasattr(blk, "attentions"):
                    h = blk.attentions[j](h, ctx)
            if hasattr(blk, "upsamplers"):
                h = blk.upsamplers[0].conv(F.interpolate(h, scale_factor=2.0, mode="nearest"))
            trace["up%d" % i] = h
        return self.conv_out(F.silu(self.conv_norm_out(h)))


def main():
    torch.manual_seed(0)
    net = UNet().eval()
    with torch.no_grad():
        for name, p in net.named_parameters():
            if "norm" in name and name.endswith("weight"):
                p.normal_(1, 0.1)
            else:
                p.normal_(0, 0.08)
        x, t, ctx = torch.randn(2, IN, 8, 8), torch.tensor([981.0, 1.0]), torch.randn(2, 7, CROSS)
        trace = {}
        out = net(x, t, ctx, trace)
    tensors = {"w." + k: v.contiguous() for k, v in net.state_dict().items()}
    tensors.update({"x": x, "t": t, "text": ctx, "out": out})
    tensors.update({k: v.contiguous() for k, v in trace.items()})
    write_safetensors(os.path.join(OUT, "tiny_unet.safetensors"), tensors)
    with open(os.path.join(OUT, "tiny_unet_config.json"), "w") as f:
        json.dump({"_class_name": "UNet2DConditionModel", "sample_size": 8, "in_channels": IN, "out_channels": IN, "block_out_channels": list(BLOCKS),
                   "layers_per_block": LAYERS, "norm_num_groups": GROUPS, "attention_head_dim": HEADS, "cross_attention_dim": CROSS,
                   "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"], "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"]}, f, indent=1)
    print("out", out.shape, float(out.abs().max()), {k: list(v.shape) for k, v in trace.items()})


if __name__ == "__main__":
    main()
