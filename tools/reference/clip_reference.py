#!/usr/bin/env python3
"""Fixtures for the CLIP tokenizer, the CLIP text and vision transformers and the CLIP score, from our
own code written from the published descriptions (Radford et al. 2021; the layout of Hugging Face's
CLIPModel folders: config.json with text_config/vision_config, model.safetensors, vocab.json,
merges.txt, preprocessor_config.json):

- tokenizer: OpenAI's byte-level BPE — text cleaned (HTML entities unescaped twice, whitespace
  collapsed), lower-cased, split by the pattern below, each piece's UTF-8 bytes mapped to printable
  characters, '</w>' on the last, merged by rank; <|startoftext|> … <|endoftext|>, cut/padded to 77.
  The vocabulary is trained here on a small corpus (the real one has 49408 entries, built the same way).
- text: token + position embeddings, pre-LN layers (causal self-attention, quick-GELU MLP), a final
  LayerNorm; pooled = the state at the first <|endoftext|>; text_projection without bias.
- vision: 14×14 patches (conv without bias), a class token, position embeddings, pre_layrnorm, the same
  layers, post_layernorm on the class token, visual_projection without bias.
- preprocessing as CLIPImageProcessor does it with PIL: shortest side to 224 (bicubic), centre crop
  224, /255, normalised by CLIP's mean and std.
- CLIP score (torchmetrics): 100 · max(cos(image, text), 0), averaged over the pairs.

Run:  /usr/bin/python3 tools/reference/clip_reference.py   (Debian's PyTorch, PIL and python3-regex)
Writes dit-model/src/test/resources/fixtures/tiny_clip/ (a CLIPModel folder) and clip.safetensors there:
  ids [P,77] for the prompts below; text_last, text_penultimate [P,77,32]; text_pooled [P,32];
  text_embeds [P,16]; pixels_rows_96_128 [2,3,32,224] (rows 96..127 of the preprocessed images);
  image_embeds [2,16]; cos [2,P]; best [2] (each image's best prompt); clip_score [1] (of those pairs)
"""
import html
import json
import os
import sys

import numpy as np
import regex as re
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import write_safetensors  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "dit-model", "src", "test", "resources", "fixtures", "tiny_clip")
PAT = re.compile(r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""", re.IGNORECASE)

PROMPTS = [
    "a photo of a cat",
    "A PHOTO of  two   dogs, running!",
    "it's 3 o'clock &amp; we're late",
    "café crème brûlée 🍰 naïve",
    "the the the the the the the the the the the the the the the the the the the the the the the the the "
    "the the the the the the the the the the the the the the the the the the the the the the the the the "
    "the the the the the the the the the the the the the the the the the the the the the the the the the end",
    "",
]
CORPUS = "a photo of a cat. a photo of a dog. two dogs running in the park. the cat sat on the mat. " * 4 + \
         "it's late; we're running. photos of cats and dogs, a painting of the sea. café crème"


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


BYTE = bytes_to_unicode()


def clean(text):
    text = html.unescape(html.unescape(text)).strip()
    return re.sub(r"\s+", " ", text).strip().lower()


def words(text):
    return ["".join(BYTE[b] for b in tok.encode("utf-8")) for tok in PAT.findall(clean(text))]


def train_merges(n):
    seqs = [tuple(w[:-1]) + (w[-1] + "</w>",) for w in words(CORPUS)]
    merges = []
    for _ in range(n):
        counts = {}
        for s in seqs:
            for a, b in zip(s, s[1:]):
                counts[(a, b)] = counts.get((a, b), 0) + 1
        if not counts:
            break
        best = max(counts, key=lambda p: (counts[p], p))
        merges.append(best)
        new = []
        for s in seqs:
            out, i = [], 0
            while i < len(s):
                if i < len(s) - 1 and (s[i], s[i + 1]) == best:
                    out.append(s[i] + s[i + 1])
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            new.append(tuple(out))
        seqs = new
    return merges


def bpe(token, ranks):
    word = tuple(token[:-1]) + (token[-1] + "</w>",)
    while len(word) > 1:
        pairs = set(zip(word, word[1:]))
        best = min(pairs, key=lambda p: ranks.get(p, float("inf")))
        if best not in ranks:
            break
        out, i = [], 0
        while i < len(word):
            if i < len(word) - 1 and (word[i], word[i + 1]) == best:
                out.append(word[i] + word[i + 1])
                i += 2
            else:
                out.append(word[i])
                i += 1
        word = tuple(out)
    return word


def tokenize(text, vocab, ranks, pad=None):
    ids = [vocab["<|startoftext|>"]]
    for w in words(text):
        ids += [vocab[t] for t in bpe(w, ranks)]
    ids = ids[:76] + [vocab["<|endoftext|>"]]
    return ids + [vocab["<|endoftext|>"] if pad is None else pad] * (77 - len(ids))


def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


class Layer(nn.Module):
    def __init__(self, d, heads, inner, act=quick_gelu):
        super().__init__()
        self.heads, self.act = heads, act
        self.layer_norm1 = nn.LayerNorm(d, eps=1e-5)
        self.layer_norm2 = nn.LayerNorm(d, eps=1e-5)
        self.self_attn = nn.Module()
        for n in ("q_proj", "k_proj", "v_proj", "out_proj"):
            setattr(self.self_attn, n, nn.Linear(d, d))
        self.mlp = nn.Module()
        self.mlp.fc1 = nn.Linear(d, inner)
        self.mlp.fc2 = nn.Linear(inner, d)

    def forward(self, x, causal):
        b, l, d = x.shape
        h = self.layer_norm1(x)
        a = self.self_attn
        q, k, v = (m(h).view(b, l, self.heads, d // self.heads).transpose(1, 2) for m in (a.q_proj, a.k_proj, a.v_proj))
        s = q @ k.transpose(-1, -2) * (d // self.heads) ** -0.5
        if causal:
            s = s + torch.full((l, l), float("-inf")).triu(1)
        o = (s.softmax(-1) @ v).transpose(1, 2).reshape(b, l, d)
        x = x + a.out_proj(o)
        return x + self.mlp.fc2(self.act(self.mlp.fc1(self.layer_norm2(x))))


class Clip(nn.Module):
    def __init__(self, vocab_size, d=32, heads=4, layers=2, inner=64, proj=16, image=224, patch=14):
        super().__init__()
        t = self.text_model = nn.Module()
        t.embeddings = nn.Module()
        t.embeddings.token_embedding = nn.Embedding(vocab_size, d)
        t.embeddings.position_embedding = nn.Embedding(77, d)
        t.encoder = nn.Module()
        t.encoder.layers = nn.ModuleList([Layer(d, heads, inner) for _ in range(layers)])
        t.final_layer_norm = nn.LayerNorm(d, eps=1e-5)
        v = self.vision_model = nn.Module()
        v.embeddings = nn.Module()
        v.embeddings.class_embedding = nn.Parameter(torch.randn(d))
        v.embeddings.patch_embedding = nn.Conv2d(3, d, patch, stride=patch, bias=False)
        v.embeddings.position_embedding = nn.Embedding((image // patch) ** 2 + 1, d)
        v.pre_layrnorm = nn.LayerNorm(d, eps=1e-5)
        v.encoder = nn.Module()
        v.encoder.layers = nn.ModuleList([Layer(d, heads, inner) for _ in range(layers)])
        v.post_layernorm = nn.LayerNorm(d, eps=1e-5)
        self.text_projection = nn.Linear(d, proj, bias=False)
        self.visual_projection = nn.Linear(d, proj, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(2.6592))

    def text(self, ids, eos):
        t = self.text_model
        x = t.embeddings.token_embedding(ids) + t.embeddings.position_embedding.weight[: ids.shape[1]]
        states = [x]
        for layer in t.encoder.layers:
            x = layer(x, True)
            states.append(x)
        last = t.final_layer_norm(x)
        at = (ids == eos).int().argmax(1)
        pooled = last[torch.arange(ids.shape[0]), at]
        return last, states[-2], pooled, self.text_projection(pooled)

    def image(self, pixels):
        v = self.vision_model
        p = v.embeddings.patch_embedding(pixels).flatten(2).transpose(1, 2)
        x = torch.cat([v.embeddings.class_embedding.expand(p.shape[0], 1, -1), p], 1) + v.embeddings.position_embedding.weight
        x = v.pre_layrnorm(x)
        for layer in v.encoder.layers:
            x = layer(x, False)
        return self.visual_projection(v.post_layernorm(x[:, 0]))


MEAN = [0.48145466, 0.4578275, 0.40821073]
STD = [0.26862954, 0.26130258, 0.27577711]


def preprocess(img):
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_long = int(224 * long / short)
    size = (224, new_long) if w <= h else (new_long, 224)
    img = img.resize(size, Image.BICUBIC)
    w, h = img.size
    top, left = (h - 224) // 2, (w - 224) // 2
    a = np.asarray(img.crop((left, top, left + 224, top + 224)), dtype=np.float32) / 255.0
    a = (a - np.array(MEAN, dtype=np.float32)) / np.array(STD, dtype=np.float32)
    return torch.from_numpy(a.transpose(2, 0, 1).copy())


def main():
    torch.manual_seed(0)
    merges = train_merges(80)
    vocab_list = list(BYTE.values())
    vocab_list += [v + "</w>" for v in vocab_list]
    vocab_list += ["".join(m) for m in merges]
    vocab_list += ["<|startoftext|>", "<|endoftext|>"]
    vocab = {t: i for i, t in enumerate(vocab_list)}
    ranks = {m: i for i, m in enumerate(merges)}
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(OUT, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n")
    ids = torch.tensor([tokenize(p, vocab, ranks) for p in PROMPTS])

    net = Clip(len(vocab)).eval()
    with torch.no_grad():
        for p in net.parameters():
            if p.dim() >= 1:
                p.normal_(0, 0.2)
        for m in net.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.normal_(1, 0.1)
        last, pen, pooled, text_embeds = net.text(ids, vocab["<|endoftext|>"])
        rng = np.random.default_rng(0)
        def smooth(h, w):  # gradients with a little noise: compressible, and every filter tap matters
            y, x = np.mgrid[0:h, 0:w]
            a = np.stack([x * 255 / w, y * 255 / h, (x + y) * 127 / (w + h) + 60 * np.sin(x / 3.0)], -1)
            return np.clip(a + rng.normal(0, 8, a.shape), 0, 255).astype(np.uint8)
        imgs = [Image.fromarray(smooth(64, 80)),     # upscaled: 64 → 224
                Image.fromarray(smooth(300, 260))]   # downscaled: 260 → 224
        for i, im in enumerate(imgs):
            im.save(os.path.join(OUT, "image%d.png" % i))
        pixels = torch.stack([preprocess(im) for im in imgs])
        image_embeds = net.image(pixels)
        # the score of image i with prompt i (torchmetrics: 100·max(cos, 0), the mean over pairs)
        cos = F.normalize(image_embeds, dim=-1) @ F.normalize(text_embeds, dim=-1).T   # [2, P]
        best = cos.argmax(1)                                                            # a positive pair per image
        score = (100 * cos[torch.arange(2), best]).clamp(min=0).mean()
    sd = {k: v.contiguous() for k, v in net.state_dict().items()}
    write_safetensors(os.path.join(OUT, "model.safetensors"), sd)
    cfg = {"architectures": ["CLIPModel"], "projection_dim": 16,
           "text_config": {"hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 4, "num_hidden_layers": 2,
                           "max_position_embeddings": 77, "vocab_size": len(vocab), "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5},
           "vision_config": {"hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 4, "num_hidden_layers": 2,
                             "image_size": 224, "patch_size": 14, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5}}
    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    with open(os.path.join(OUT, "preprocessor_config.json"), "w") as f:
        json.dump({"crop_size": {"height": 224, "width": 224}, "size": {"shortest_edge": 224}, "do_center_crop": True,
                   "image_mean": MEAN, "image_std": STD, "resample": 3, "rescale_factor": 1 / 255}, f, indent=1)
    write_safetensors(os.path.join(OUT, "..", "clip.safetensors"), {
        "ids": ids.int(), "text_last": last, "text_penultimate": pen, "text_pooled": pooled, "text_embeds": text_embeds,
        "pixels_rows_96_128": pixels[:, :, 96:128, :].contiguous(), "image_embeds": image_embeds, "cos": cos,
        "best": best.int(), "clip_score": score.reshape(1)})
    print("vocab", len(vocab), "ids", ids[:4, :12].tolist(), "cos", cos.tolist(), "score", float(score))


if __name__ == "__main__":
    main()
