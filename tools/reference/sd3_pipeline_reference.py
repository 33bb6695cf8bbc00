#!/usr/bin/env python3
"""An SD3 generation end to end, for the pipeline test (pipeline/Sd3PipelineTest): our own code, written
from StableDiffusion3Pipeline's description, over tiny random parts in the diffusers repository layout:

- text_encoder / tokenizer: CLIP-L (CLIPTextModelWithProjection: quick-GELU, pad <|endoftext|>);
  text_encoder_2 / tokenizer_2: OpenCLIP bigG (GELU, pads with "!"); both 77 tokens: their states before the
  last layer, concatenated along the width and zero-padded to the joint width, and their projected pooled
  outputs concatenated;
- text_encoder_3 / tokenizer_3: T5 v1.1 (the tiny T5 of t5_reference.py with tiny_spiece.model), 256 tokens,
  the prompt's case kept, no attention mask (SD3 passes none); its states follow the 77 CLIP tokens;
- the negative prompt "" encoded the same way; guidance on the velocity; flow-matching Euler, shift 3;
- vae: z / scaling_factor + shift_factor, then the tiny decoder of vae_reference.py.

Run:  /usr/bin/python3 tools/reference/sd3_pipeline_reference.py   (after sd3_reference.py and clip_reference.py)
Writes dit-model/src/test/resources/fixtures/tiny_sd3_text.safetensors (l.* and g.*: the two CLIP text
encoders) and tiny_sd3_pipeline.safetensors: noise [2,4,8,8], context [4,333,32], pooled [4,32] (prompts then
negatives), latents [2,4,8,8] (3 steps, guidance 4), image [2,3,16,16] in [−1, 1].
"""
import json
import os
import struct
import sys

import sentencepiece as spm
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clip_reference as cr  # noqa: E402
import sd3_reference as s3  # noqa: E402
import t5_reference as t5r  # noqa: E402
import vae_reference as vr  # noqa: E402
from safetensors_io import write_safetensors  # noqa: E402

FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "dit-model", "src", "test", "resources", "fixtures")
PROMPTS = ["a photo of a Cat", "the sea at night"]
SCALING, SHIFT_FACTOR, STEPS, GUIDANCE = 1.5305, 0.0609, 3, 4.0


def read(path, prefix="", strip=True):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for k, e in header.items():
        if k == "__metadata__" or not k.startswith(prefix):
            continue
        a, b = e["data_offsets"]
        dt = {"F32": torch.float32, "I32": torch.int32, "I64": torch.int64}[e["dtype"]]
        t = torch.frombuffer(bytearray(raw[8 + n + a:8 + n + b]), dtype=dt).reshape(e["shape"])
        out[k[len(prefix):] if strip else k] = t
    return out


def tiny_text(act, seed):
    torch.manual_seed(seed)
    m = cr.Clip(570, d=16, heads=2, layers=2, inner=32, proj=16)
    for layer in m.text_model.encoder.layers:
        layer.act = act
    with torch.no_grad():
        for p in m.parameters():
            p.normal_(0, 0.2)
        for mod in m.modules():
            if isinstance(mod, torch.nn.LayerNorm):
                mod.weight.normal_(1, 0.1)
    return m


def main():
    vocab = json.load(open(os.path.join(FIX, "tiny_clip", "vocab.json"), encoding="utf-8"))
    merges = [tuple(l.split()) for l in open(os.path.join(FIX, "tiny_clip", "merges.txt"), encoding="utf-8").read().splitlines()[1:] if l]
    ranks = {m: i for i, m in enumerate(merges)}
    clip_l, clip_g = tiny_text(cr.quick_gelu, 1), tiny_text(lambda x: F.gelu(x), 2)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(FIX, "tiny_spiece.model"))
    t5w = read(os.path.join(FIX, "tiny_t5_encoder.safetensors"))
    t5w = {k: v for k, v in t5w.items() if k.startswith("shared.") or k.startswith("encoder.")}
    texts = PROMPTS + ["", ""]
    eos = vocab["<|endoftext|>"]
    with torch.no_grad():
        ids_l = torch.tensor([cr.tokenize(t, vocab, ranks) for t in texts])
        ids_g = torch.tensor([cr.tokenize(t, vocab, ranks, pad=vocab["!"]) for t in texts])
        _, pen_l, _, pooled_l = clip_l.text(ids_l, eos)
        _, pen_g, _, pooled_g = clip_g.text(ids_g, eos)
        clip = torch.cat([pen_l, pen_g], -1)
        clip = F.pad(clip, (0, s3.JOINT - clip.shape[-1]))
        t5ids = []
        for t in texts:
            ids = sp.encode(t)[:255] + [1]
            t5ids.append(ids + [0] * (256 - len(ids)))
        t5ids = torch.tensor(t5ids)
        t5 = t5r.encode(t5w, t5ids, torch.ones(t5ids.shape), 2, 4, 8)
        context = torch.cat([clip, t5], 1)
        pooled = torch.cat([pooled_l, pooled_g], -1)

        torch.manual_seed(0)
        net = s3.MMDiT().eval()
        sd = read(os.path.join(FIX, "tiny_sd3.safetensors"), "w.")
        net.load_state_dict(sd)
        noise = torch.randn(2, s3.IN, s3.SAMPLE, s3.SAMPLE, generator=torch.Generator().manual_seed(11))
        latents, _ = s3.sample(net, noise, (pooled, context), STEPS, GUIDANCE)
        vw = read(os.path.join(FIX, "tiny_vae.safetensors"), "w.")
        z = (latents / SCALING + SHIFT_FACTOR) * 0.18215  # vae_reference.decode divides by SD's 0.18215
        image = vr.decode(vw, z, (16, 32), 1)
    text = {"l." + k: v.contiguous() for k, v in clip_l.state_dict().items() if k.startswith("text_")}
    text.update({"g." + k: v.contiguous() for k, v in clip_g.state_dict().items() if k.startswith("text_")})
    write_safetensors(os.path.join(FIX, "tiny_sd3_text.safetensors"), text)
    write_safetensors(os.path.join(FIX, "tiny_sd3_pipeline.safetensors"), {
        "noise": noise, "context": context, "pooled": pooled, "latents": latents, "image": image,
        "ids_l": ids_l.int(), "ids_g": ids_g.int(), "ids_t5": t5ids.int()})
    print("latents", float(latents.abs().max()), "image", float(image.min()), float(image.max()))


if __name__ == "__main__":
    main()
