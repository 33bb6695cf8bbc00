#!/usr/bin/env python3
"""An SD 1.5 generation end to end, for the pipeline test (pipeline/Sd15PipelineTest): our own code, written
from StableDiffusionPipeline's description, over tiny random parts in the diffusers repository layout:

- text_encoder / tokenizer: CLIP-L's text model (the "l." encoder of sd3_pipeline_reference.py), 77 tokens,
  its final-LayerNorm states (no projection); the negative prompt "" encoded the same way;
- unet: the tiny U-Net of unet_reference.py (cross-attention width 16); guidance 7.5 on ε;
- PNDM as diffusers' PNDMScheduler with skip_prk_steps (latents_pndm); DPM-Solver++(2M) as
  DPMSolverMultistepScheduler.from_config (linspace, latents_dpmpp);
- DDIM as diffusers' DDIMScheduler with SD 1.5's scheduler config: scaled_linear β (√0.00085 … √0.012 squared,
  float32), leading spacing with steps_offset 1, set_alpha_to_one false (the last step ends at ᾱ_0), η 0;
- vae: z / 0.18215, the tiny decoder of vae_reference.py.
With Δ-Cache over the U-Net's blocks [1, 7) (down0.l0's output to up1.l0's input), every second step cached,
and DeepCache over the same span (branch 0: cached steps run down0.l0 and continue from the kept state).

Run:  /usr/bin/python3 tools/reference/sd15_pipeline_reference.py   (after sd3_pipeline_reference.py)
Writes dit-model/src/test/resources/fixtures/tiny_sd15_pipeline.safetensors: noise [2,4,8,8], text [4,77,16],
latents [2,4,8,8] (4 steps), latents_delta_cache, latents_deepcache, latents_pndm (4 steps: 5 evaluations),
timesteps_pndm [5], image [2,3,16,16], timesteps [4].
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clip_reference as cr  # noqa: E402
import unet_reference as ur  # noqa: E402
import vae_reference as vr  # noqa: E402
from sd3_pipeline_reference import read  # noqa: E402
from safetensors_io import write_safetensors  # noqa: E402

FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "dit-model", "src", "test", "resources", "fixtures")
PROMPTS = ["a photo of a cat", "the sea at night"]
STEPS, GUIDANCE = 4, 7.5


def alphas_cumprod():
    betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float32) ** 2
    return torch.cumprod(1.0 - betas, dim=0)


def unet_states(net, x, t, ctx):
    """The U-Net as blocks in execution order: returns the callables and the final layer, sharing a skip list."""
    half = ur.BLOCKS[0] // 2
    freq = torch.exp(-torch.log(torch.tensor(10000.0)) * torch.arange(half, dtype=torch.float32) / half)
    arg = t[:, None].float() * freq[None]
    temb = net.time_embedding.linear_2(F.silu(net.time_embedding.linear_1(torch.cat([arg.cos(), arg.sin()], 1))))
    skips = []
    blocks = []
    for i, blk in enumerate(net.down_blocks):
        for j, r in enumerate(blk.resnets):
            def f(h, r=r, a=(blk.attentions[j] if hasattr(blk, "attentions") else None)):
                h = r(h, temb)
                h = a(h, ctx) if a is not None else h
                skips.append(h)
                return h
            blocks.append(f)
        if hasattr(blk, "downsamplers"):
            def d(h, c=blk.downsamplers[0].conv):
                h = c(h)
                skips.append(h)
                return h
            blocks.append(d)
    blocks.append(lambda h: net.mid_block.resnets[1](net.mid_block.attentions[0](net.mid_block.resnets[0](h, temb), ctx), temb))
    for i, blk in enumerate(net.up_blocks):
        for j, r in enumerate(blk.resnets):
            def u(h, r=r, a=(blk.attentions[j] if hasattr(blk, "attentions") else None)):
                h = r(torch.cat([h, skips.pop()], 1), temb)
                return a(h, ctx) if a is not None else h
            blocks.append(u)
        if hasattr(blk, "upsamplers"):
            blocks.append(lambda h, c=blk.upsamplers[0].conv: c(F.interpolate(h, scale_factor=2.0, mode="nearest")))

    def embed(x):
        skips.clear()
        h = net.conv_in(x)
        skips.append(h)
        return h

    final = lambda h: net.conv_out(F.silu(net.conv_norm_out(h)))  # noqa: E731
    return embed, blocks, final


def sample(net, noise, text, span=None, deep=False):
    ac = alphas_cumprod()
    ratio = 1000 // STEPS
    ts = [(STEPS - 1 - i) * ratio + 1 for i in range(STEPS)]
    x, store = noise.clone(), {}
    for i, t in enumerate(ts):
        xx, tt = torch.cat([x, x]), torch.full((2 * x.shape[0],), float(t))
        embed, blocks, final = unet_states(net, xx, tt, text)
        with torch.no_grad():
            h = embed(xx)
            cached = span is not None and i % 2 == 1
            for k, blk in enumerate(blocks):
                if cached and span[0] <= k < span[1]:
                    if k == span[0]:
                        h = store["deep"] if deep else h + store["delta"]
                    continue
                if span is not None and not cached and k == span[0]:
                    h_from = h
                h = blk(h)
                if span is not None and not cached and k == span[1] - 1:
                    store["delta"], store["deep"] = h - h_from, h
            eps = final(h)
        c, u = eps[: x.shape[0]], eps[x.shape[0]:]
        eps = u + GUIDANCE * (c - u)
        a = ac[t]
        prev = ac[t - ratio] if t - ratio >= 0 else ac[0]
        x0 = (x - (1 - a).sqrt() * eps) / a.sqrt()
        x = prev.sqrt() * x0 + (1 - prev).sqrt() * eps
    return x, torch.tensor([float(t) for t in ts])


def guided_eps(net, x, t, text):
    """ε of the U-Net run uncached on [x; x] at timestep t, mixed with guidance 7.5."""
    xx, tt = torch.cat([x, x]).float(), torch.full((2 * x.shape[0],), float(t))
    embed, blocks, final = unet_states(net, xx, tt, text)
    with torch.no_grad():
        h = embed(xx)
        for blk in blocks:
            h = blk(h)
        e = final(h)
    c, u = e[: x.shape[0]], e[x.shape[0]:]
    return u + GUIDANCE * (c - u)


def pndm(net, noise, text):
    """PNDM with skip_prk_steps, as diffusers' PNDMScheduler: N + 1 evaluations, the second timestep twice,
    a Heun-like start, then PLMS of orders 2-4; formula (9) of the PNDM paper for every update."""
    ac = alphas_cumprod()
    ratio = 1000 // STEPS
    base = [k * ratio + 1 for k in range(STEPS)]
    ts = (base[:-1] + base[-2:-1] + base[-1:])[::-1]
    x, ets, cur, counter = noise.clone(), [], None, 0
    for t0 in ts:
        e = guided_eps(net, x, t0, text)
        t, prev = t0, t0 - ratio
        if counter != 1:
            ets.append(e)
        else:
            prev, t = t, t + ratio
        sample = x
        if len(ets) == 1 and counter == 0:
            cur = x
        elif len(ets) == 1 and counter == 1:
            e = (e + ets[-1]) / 2
            sample, cur = cur, None
        elif len(ets) == 2:
            e = (3 * ets[-1] - ets[-2]) / 2
        elif len(ets) == 3:
            e = (23 * ets[-1] - 16 * ets[-2] + 5 * ets[-3]) / 12
        else:
            e = (1 / 24) * (55 * ets[-1] - 59 * ets[-2] + 37 * ets[-3] - 9 * ets[-4])
        a, ap = ac[t], (ac[prev] if prev >= 0 else ac[0])
        coeff = (ap / a) ** 0.5
        denom = a * (1 - ap) ** 0.5 + (a * (1 - a) * ap) ** 0.5
        x = coeff * sample - (ap - a) * e / denom
        counter += 1
    return x, torch.tensor([float(t) for t in ts])


def dpmpp(net, noise, text):
    """DPM-Solver++(2M) as diffusers' DPMSolverMultistepScheduler from SD 1.5's config: linspace timesteps
    (N + 1 points, the last dropped), σ from the scaled_linear ᾱ, first order first and last, final σ 0."""
    import math
    ac = alphas_cumprod()
    ts = [int(v) for v in torch.linspace(0, 999, STEPS + 1, dtype=torch.float64).round().flip(0)[:-1]]
    sig = [math.sqrt((1 - float(ac[t])) / float(ac[t])) for t in ts] + [0.0]
    alpha = lambda s: 1 / math.sqrt(1 + s * s)  # noqa: E731
    lam = lambda s: math.log(alpha(s)) - math.log(s * alpha(s))  # noqa: E731
    x, prev_x0 = noise.double(), None
    for i, t in enumerate(ts):
        eps = guided_eps(net, x, t, text).double()
        s0, st = sig[i], sig[i + 1]
        x0 = (x - s0 * alpha(s0) * eps) / alpha(s0)
        if st == 0:
            x = x0
        else:
            hh = lam(st) - lam(s0)
            phi = math.expm1(-hh)
            at, vt, v0 = alpha(st), st * alpha(st), s0 * alpha(s0)
            last = i == STEPS - 1
            if prev_x0 is None or last:
                x = vt / v0 * x - at * phi * x0
            else:
                r0 = (lam(s0) - lam(sig[i - 1])) / hh
                x = vt / v0 * x - at * phi * x0 - 0.5 * at * phi * (x0 - prev_x0) / r0
        prev_x0 = x0.float().double()
        x = x.float().double()
    return x.float(), torch.tensor([float(t) for t in ts])


def main():
    vocab = json.load(open(os.path.join(FIX, "tiny_clip", "vocab.json"), encoding="utf-8"))
    merges = [tuple(l.split()) for l in open(os.path.join(FIX, "tiny_clip", "merges.txt"), encoding="utf-8").read().splitlines()[1:] if l]
    ranks = {m: i for i, m in enumerate(merges)}
    clip = cr.Clip(570, d=16, heads=2, layers=2, inner=32, proj=16)
    clip.load_state_dict({k: v for k, v in read(os.path.join(FIX, "tiny_sd3_text.safetensors"), "l.").items()}, strict=False)
    net = ur.UNet().eval()
    net.load_state_dict(read(os.path.join(FIX, "tiny_unet.safetensors"), "w."))
    with torch.no_grad():
        ids = torch.tensor([cr.tokenize(t, vocab, ranks) for t in PROMPTS + ["", ""]])
        last, _, _, _ = clip.text(ids, vocab["<|endoftext|>"])
        noise = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(5))
        latents, ts = sample(net, noise, last)
        cached, _ = sample(net, noise, last, span=(1, 7))
        deep, _ = sample(net, noise, last, span=(1, 7), deep=True)
        plms, plms_ts = pndm(net, noise, last)
        dpm, dpm_ts = dpmpp(net, noise, last)
        image = vr.decode(read(os.path.join(FIX, "tiny_vae.safetensors"), "w."), latents, (16, 32), 1)
    write_safetensors(os.path.join(FIX, "tiny_sd15_pipeline.safetensors"), {
        "noise": noise, "text": last, "latents": latents, "latents_delta_cache": cached, "latents_deepcache": deep, "latents_pndm": plms, "timesteps_pndm": plms_ts, "latents_dpmpp": dpm, "timesteps_dpmpp": dpm_ts, "image": image, "timesteps": ts})
    print("latents", float(latents.abs().max()), "cache moves", float((cached - latents).abs().max()), "timesteps", ts.tolist())


if __name__ == "__main__":
    main()
