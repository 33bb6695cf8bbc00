#!/usr/bin/env python3
"""Short guided sampling runs of the tiny DiT (dit_reference.py), written from the formulas in
shared/reference/model-formats.md §5 (not copied from any repository): the fixture the Java samplers
are tested against.

Run with Debian's PyTorch:  /usr/bin/python3 tools/reference/sampler_reference.py
Writes cache/src/test/resources/fixtures/tiny_dit_sampling.safetensors with the tiny DiT weights
(w.*), noise [2,4,8,8], labels y [2], and the final latents of
  ddim5      DDIM (eta 0), DiT respacing "5" (timesteps 999, 749, 500, 250, 0), guidance 4 on all channels
  dpmpp5     DPM-Solver++(2M), linspace (999, 799, 599, 400, 200), final step to sigma 0, guidance 4
  ddim5_g3   as ddim5 with only the first 3 latent channels guided (the official sample script)
and, with cache policies applied to the 3-block model (DESIGN.md §5; each batch row keeps its own cache):
  ddim6_deltadit, dpmpp6_deltadit   Δ-DiT b=3, N=2, N_c=2 (rear range [1,3) while s ≤ 3, front [0,2) after)
  dpmpp6_reverse                    the same reversed (front early, rear late)
  ddim6_deltacache, dpmpp6_deltacache   Δ-Cache on [1,2), N=2
  ddim6_faster, dpmpp6_faster           Faster-Diffusion feature reuse, I=2, N=2
  ddim6_skip, dpmpp6_skip               skipping [0,2) without compensation, N=3
  ddim6_none                        no cache (to show each policy changes the result)
and cache/src/test/resources/fixtures/tiny_dit_thresholding.safetensors with ddim5 and dpmpp5 again, each
predicted x0 dynamically thresholded (Imagen; diffusers' thresholding, ratio 0.9, sample_max_value 30: this random model's x0 reaches hundreds), and the
per-step thresholds s of the DPM-Solver++ run (dpmpp5_thr_s [5, 2]) to show the upper bound and the quantile under it
"""
import math
import os

import torch

from dit_reference import block, condition, dit_forward, embed, final, tiny_weights
from safetensors_io import write_safetensors

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "cache", "src", "test", "resources", "fixtures")
NULL = 10


def alphas_cumprod():
    betas = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64)
    return torch.cumprod(1 - betas, 0)


def dit_kept(steps):
    stride, cur, kept = 999 / (steps - 1), 0.0, []
    for _ in range(steps):
        kept.append(round(cur))  # Python rounds half to even, like IDDPM's space_timesteps
        cur += stride
    return kept


def plan_step(policy, s, steps, depth):
    kind, n = policy["kind"], policy.get("N", 1)
    if kind == "none" or (s - 1) % n == 0:
        return ("full",)
    if kind == "delta-dit":
        rear = (s <= policy["b"]) != policy.get("reverse", False)
        nc = policy["Nc"]
        return ("delta", depth - nc, depth) if rear else ("delta", 0, nc)
    if kind == "delta-cache":
        return ("delta",) + tuple(policy["range"])
    if kind == "faster":
        return ("reuse", policy["I"])
    return ("skip",) + tuple(policy["range"])


def cached_model(w, y, scale, guided, policy, steps, depth=3, heads=4, patch=2):
    """Guided ε with a cache policy: full steps store every Δ / h the policy can use, cached steps replace their range."""
    store = {}

    def eps(x, t, s):
        xx, yy = torch.cat([x, x]), torch.cat([y, torch.full_like(y, NULL)])
        cond = condition(w, torch.full((xx.shape[0],), float(t)), yy)
        p = plan_step(policy, s, steps, depth)
        with torch.no_grad():
            if p[0] == "full":
                hs = [embed(w, xx, patch)]
                for i in range(depth):
                    hs.append(block(w, i, hs[-1], cond, heads))
                for k in range(depth + 1):
                    for j in range(k + 1, depth + 1):
                        store[("delta", k, j)] = hs[j] - hs[k]
                    store[("reuse", k)] = hs[k]
                h = hs[-1]
            elif p[0] == "reuse":
                h = store[p]
                for i in range(p[1], depth):
                    h = block(w, i, h, cond, heads)
            else:
                h = embed(w, xx, patch)
                for i in range(0, p[1]):
                    h = block(w, i, h, cond, heads)
                if p[0] == "delta":
                    h = h + store[p]
                for i in range(p[2], depth):
                    h = block(w, i, h, cond, heads)
            out = final(w, h, cond, patch, x.shape[-1])
        cond_o, unc = out[: x.shape[0]], out[x.shape[0]:]
        mixed = cond_o.clone()
        mixed[:, :guided] = unc[:, :guided] + scale * (cond_o[:, :guided] - unc[:, :guided])
        return mixed[:, : x.shape[1]].double()
    return eps


def guided_eps(w, x, t, y, scale, guided):
    xx = torch.cat([x, x])
    yy = torch.cat([y, torch.full_like(y, NULL)])
    tt = torch.full((xx.shape[0],), float(t))
    with torch.no_grad():
        _, out = dit_forward(w, xx, tt, yy, depth=3, heads=4, patch=2)
    cond, unc = out[: x.shape[0]], out[x.shape[0]:]
    mixed = cond.clone()
    mixed[:, :guided] = unc[:, :guided] + scale * (cond[:, :guided] - unc[:, :guided])
    return mixed[:, : x.shape[1]].double()


def threshold(x0, ratio, max_value, seen=None):
    """Per image: s = the ratio quantile of |x0| (linear interpolation), held to [1, max_value]; clamp(x0, -s, s) / s."""
    flat = x0.reshape(x0.shape[0], -1)
    s = torch.quantile(flat.abs(), ratio, dim=1).clamp(min=1, max=max_value)[:, None]
    if seen is not None:
        seen.append(s[:, 0].clone())
    return (torch.maximum(torch.minimum(flat, s), -s) / s).reshape(x0.shape)


def ddim(w, noise, y, steps, scale, guided, eps_fn=None, limit=None):
    ab = alphas_cumprod()
    ts = list(reversed(dit_kept(steps)))
    x = noise.double()
    for i, t in enumerate(ts):
        eps = guided_eps(w, x.float(), t, y, scale, guided) if eps_fn is None else eps_fn(x.float(), t, i + 1)
        a, prev = ab[t], (ab[ts[i + 1]] if i + 1 < len(ts) else torch.tensor(1.0, dtype=torch.float64))
        x0 = torch.sqrt(1 / a) * x - torch.sqrt(1 / a - 1) * eps
        if limit is not None:
            x0 = limit(x0)
        e = (torch.sqrt(1 / a) * x - x0) / torch.sqrt(1 / a - 1)
        x = (torch.sqrt(prev) * x0 + torch.sqrt(1 - prev) * e).float().double()
    return x.float()


def dpmpp(w, noise, y, steps, scale, guided, eps_fn=None, limit=None):
    ab = alphas_cumprod()
    ts = [int(v) for v in torch.linspace(0, 999, steps + 1, dtype=torch.float64).round().flip(0)[:-1]]
    sig = [math.sqrt((1 - ab[t]) / ab[t]) for t in ts] + [0.0]
    alpha = lambda s: 1 / math.sqrt(1 + s * s)
    lam = lambda s: math.log(alpha(s)) - math.log(s * alpha(s))
    x, prev_x0 = noise.double(), None
    for i, t in enumerate(ts):
        eps = guided_eps(w, x.float(), t, y, scale, guided) if eps_fn is None else eps_fn(x.float(), t, i + 1)
        s0, st = sig[i], sig[i + 1]
        x0 = (x - s0 * alpha(s0) * eps) / alpha(s0)
        if limit is not None:
            x0 = limit(x0)
        if st == 0:
            x = x0
        else:
            h = lam(st) - lam(s0)
            phi = math.expm1(-h)
            at, vt, v0 = alpha(st), st * alpha(st), s0 * alpha(s0)
            if prev_x0 is None:
                x = vt / v0 * x - at * phi * x0
            else:
                r0 = (lam(s0) - lam(sig[i - 1])) / h
                x = vt / v0 * x - at * phi * x0 - 0.5 * at * phi * (x0 - prev_x0) / r0
        prev_x0 = x0.float().double()
        x = x.float().double()
    return x.float()


def main():
    os.makedirs(OUT, exist_ok=True)
    w = tiny_weights(3, 32, 2, 4, 10)
    noise = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(5))
    y = torch.tensor([3, 7])
    out = {"w." + k: v for k, v in w.items()}
    out.update(noise=noise, y=y)
    out["ddim5"] = ddim(w, noise, y, 5, 4.0, 4)
    out["dpmpp5"] = dpmpp(w, noise, y, 5, 4.0, 4)
    out["ddim5_g3"] = ddim(w, noise, y, 5, 4.0, 3)
    runs = {"ddim6_deltadit": (ddim, {"kind": "delta-dit", "b": 3, "N": 2, "Nc": 2}),
            "dpmpp6_deltadit": (dpmpp, {"kind": "delta-dit", "b": 3, "N": 2, "Nc": 2}),
            "dpmpp6_reverse": (dpmpp, {"kind": "delta-dit", "b": 3, "N": 2, "Nc": 2, "reverse": True}),
            "ddim6_deltacache": (ddim, {"kind": "delta-cache", "range": (1, 2), "N": 2}),
            "dpmpp6_faster": (dpmpp, {"kind": "faster", "I": 2, "N": 2}),
            "ddim6_skip": (ddim, {"kind": "skip", "range": (0, 2), "N": 3}),
            "dpmpp6_deltacache": (dpmpp, {"kind": "delta-cache", "range": (1, 2), "N": 2}),
            "ddim6_faster": (ddim, {"kind": "faster", "I": 2, "N": 2}),
            "dpmpp6_skip": (dpmpp, {"kind": "skip", "range": (0, 2), "N": 3}),
            "ddim6_none": (ddim, {"kind": "none"})}
    for name, (solver, policy) in runs.items():
        out[name] = solver(w, noise, y, 6, 4.0, 4, eps_fn=cached_model(w, y, 4.0, 4, policy, 6))
    write_safetensors(os.path.join(OUT, "tiny_dit_sampling.safetensors"), out)
    print("wrote", os.path.normpath(os.path.join(OUT, "tiny_dit_sampling.safetensors")))
    seen = []
    thr = {"ddim5_thr": ddim(w, noise, y, 5, 4.0, 4, limit=lambda x0: threshold(x0, 0.9, 30.0)),
           "dpmpp5_thr": dpmpp(w, noise, y, 5, 4.0, 4, limit=lambda x0: threshold(x0, 0.9, 30.0, seen))}
    thr["dpmpp5_thr_s"] = torch.stack(seen).float()
    print("dpmpp5_thr thresholds per step:", thr["dpmpp5_thr_s"].tolist())
    write_safetensors(os.path.join(OUT, "tiny_dit_thresholding.safetensors"), thr)
    print("wrote", os.path.normpath(os.path.join(OUT, "tiny_dit_thresholding.safetensors")))


if __name__ == "__main__":
    main()
