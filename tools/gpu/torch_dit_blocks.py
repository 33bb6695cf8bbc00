#!/usr/bin/env python3
"""PyTorch eager figures on the GPU for the same block stack `dit bench forward` times: DiT-XL/2's 28 blocks
(adaLN-Zero, 16 heads, hidden 1152, MLP 4x with tanh GELU) on random weights, batch 2 (one image with
guidance), 256 tokens (256 px). Prints one JSON line per precision: median seconds of the stack, CUDA-synchronised.
Usage: torch_dit_blocks.py [--seconds S] [--depth 28] [--hidden 1152] [--heads 16] [--tokens 256] [--batch 2]
"""
import argparse, json, statistics, time
import torch
import torch.nn.functional as F


def stack(depth, d, device, dtype, gen):
    def w(o, i):
        return ((torch.rand(o, i, generator=gen, device=device) - 0.5) * 0.07).to(dtype)
    return [dict(ada=(w(6 * d, d), torch.zeros(6 * d, device=device, dtype=dtype)), qkv=(w(3 * d, d), torch.zeros(3 * d, device=device, dtype=dtype)),
                 proj=(w(d, d), torch.zeros(d, device=device, dtype=dtype)), fc1=(w(4 * d, d), torch.zeros(4 * d, device=device, dtype=dtype)),
                 fc2=(w(d, 4 * d), torch.zeros(d, device=device, dtype=dtype))) for _ in range(depth)]


def block(p, x, c, heads):
    b, n, d = x.shape
    mod = F.linear(F.silu(c), *p["ada"])
    shift1, scale1, gate1, shift2, scale2, gate2 = mod.chunk(6, dim=1)
    h = F.layer_norm(x, (d,), eps=1e-6) * (1 + scale1[:, None]) + shift1[:, None]
    q, k, v = F.linear(h, *p["qkv"]).view(b, n, 3, heads, d // heads).permute(2, 0, 3, 1, 4)
    a = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n, d)
    x = x + gate1[:, None] * F.linear(a, *p["proj"])
    h = F.layer_norm(x, (d,), eps=1e-6) * (1 + scale2[:, None]) + shift2[:, None]
    return x + gate2[:, None] * F.linear(F.gelu(F.linear(h, *p["fc1"]), approximate="tanh"), *p["fc2"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--depth", type=int, default=28)
    ap.add_argument("--hidden", type=int, default=1152)
    ap.add_argument("--heads", type=int, default=16)
    ap.add_argument("--tokens", type=int, default=256)
    ap.add_argument("--batch", type=int, default=2)
    a = ap.parse_args()
    dev = torch.device("cuda")
    for name, dtype, tf32 in [("bf16", torch.bfloat16, False), ("tf32", torch.float32, True), ("fp32", torch.float32, False)]:
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        gen = torch.Generator(device=dev).manual_seed(0)
        params = stack(a.depth, a.hidden, dev, dtype, gen)
        x = torch.randn(a.batch, a.tokens, a.hidden, device=dev, generator=gen).to(dtype)
        c = torch.randn(a.batch, a.hidden, device=dev, generator=gen).to(dtype)

        @torch.no_grad()
        def run():
            h = x
            for p in params:
                h = block(p, h, c, a.heads)
            return h

        for _ in range(3):
            run()
        torch.cuda.synchronize()
        times, end = [], time.perf_counter() + a.seconds
        while time.perf_counter() < end or len(times) < 5:
            t0 = time.perf_counter()
            run()
            torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
        print(json.dumps({"what": "torch-eager-blocks", "precision": name, "depth": a.depth, "hidden": a.hidden, "tokens": a.tokens, "batch": a.batch,
                          "blocks_seconds_median": statistics.median(times), "blocks_seconds_min": min(times), "runs": len(times),
                          "torch": torch.__version__, "gpu": torch.cuda.get_device_name(0)}), flush=True)
        del params


if __name__ == "__main__":
    main()
