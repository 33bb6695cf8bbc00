#!/usr/bin/env python3
"""A T5 (v1.1) encoder forward pass in plain PyTorch, written from shared/reference/model-formats.md §4 (not
copied from any repository), and the fixture the Java encoder is tested against.

Run with Debian's PyTorch:  /usr/bin/python3 tools/reference/t5_reference.py
Writes dit-model/src/test/resources/fixtures/tiny_t5_encoder.safetensors holding
  <Hugging Face key>  a tiny random T5EncoderModel (vocab 96: room for the tiny tokenizer, d_model 32, 4 heads × d_kv 8, d_ff 48, 2 layers,
                      32 buckets, max distance 128), relative bias on block 0 only
  ids [2,40] (I64), mask [2,40]   two prompts: 40 tokens, and 9 tokens (EOS included) + 31 pads
  hidden [2,40,32]   last_hidden_state (after the final RMSNorm), every position
  buckets [261]      relative-position bucket of rel = −130..130 (key − query), bidirectional, 32 buckets
"""
import math
import os

import torch
import torch.nn.functional as F

from safetensors_io import write_safetensors

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "dit-model", "src", "test", "resources", "fixtures")


def bucket(rel, num_buckets=32, max_distance=128):
    """Bidirectional: half the buckets for keys after the query; exact below 8, logarithmic to max_distance (float32 math)."""
    nb = num_buckets // 2
    out = (rel > 0).long() * nb
    r = rel.abs()
    exact = nb // 2
    large = exact + (torch.log(r.float() / exact) / math.log(max_distance / exact) * (nb - exact)).long()
    large = torch.minimum(large, torch.full_like(large, nb - 1))
    return out + torch.where(r < exact, r, large)


def rms(x, w, eps=1e-6):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def encode(w, ids, mask, layers, heads, dkv):
    b, n = ids.shape
    h = w["shared.weight"][ids]
    pos = torch.arange(n)
    table = w["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"]   # [buckets, heads]
    bias = table[bucket(pos[None, :] - pos[:, None])].permute(2, 0, 1)[None]           # [1, H, query, key]
    bias = bias + (1 - mask[:, None, None, :]) * torch.finfo(torch.float32).min
    for i in range(layers):
        p = f"encoder.block.{i}.layer."
        x = rms(h, w[p + "0.layer_norm.weight"])
        q, k, v = (F.linear(x, w[p + f"0.SelfAttention.{m}.weight"]).reshape(b, n, heads, dkv).transpose(1, 2) for m in "qkv")
        att = torch.softmax(q @ k.transpose(-2, -1) + bias, dim=-1) @ v                    # no 1/sqrt(d) scaling
        h = h + F.linear(att.transpose(1, 2).reshape(b, n, heads * dkv), w[p + "0.SelfAttention.o.weight"])
        x = rms(h, w[p + "1.layer_norm.weight"])
        g = F.gelu(F.linear(x, w[p + "1.DenseReluDense.wi_0.weight"]), approximate="tanh") * F.linear(x, w[p + "1.DenseReluDense.wi_1.weight"])
        h = h + F.linear(g, w[p + "1.DenseReluDense.wo.weight"])
    return rms(h, w["encoder.final_layer_norm.weight"])


def main():
    os.makedirs(OUT, exist_ok=True)
    vocab, d, heads, dkv, dff, layers, n = 96, 32, 4, 8, 48, 2, 40
    g = torch.Generator().manual_seed(3)
    r = lambda *s, scale=0.3: torch.randn(*s, generator=g) * scale
    w = {"shared.weight": r(vocab, d, scale=1.0),
         "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight": r(32, heads, scale=1.0),
         "encoder.final_layer_norm.weight": 1 + r(d, scale=0.1)}
    for i in range(layers):
        p = f"encoder.block.{i}.layer."
        for m in "qkv":
            w[p + f"0.SelfAttention.{m}.weight"] = r(heads * dkv, d)
        w[p + "0.SelfAttention.o.weight"] = r(d, heads * dkv)
        w[p + "0.layer_norm.weight"] = 1 + r(d, scale=0.1)
        w[p + "1.DenseReluDense.wi_0.weight"] = r(dff, d)
        w[p + "1.DenseReluDense.wi_1.weight"] = r(dff, d)
        w[p + "1.DenseReluDense.wo.weight"] = r(d, dff)
        w[p + "1.layer_norm.weight"] = 1 + r(d, scale=0.1)
    ids = torch.randint(3, vocab, (2, n), generator=g)
    ids[0, -1] = 1
    ids[1, 8] = 1
    ids[1, 9:] = 0
    mask = (torch.arange(n)[None] < torch.tensor([[n], [9]])).float()
    with torch.no_grad():
        hidden = encode(w, ids, mask, layers, heads, dkv)
    out = dict(w)
    out.update(ids=ids, mask=mask, hidden=hidden, buckets=bucket(torch.arange(-130, 131)))
    write_safetensors(os.path.join(OUT, "tiny_t5_encoder.safetensors"), out)
    print("wrote", os.path.normpath(os.path.join(OUT, "tiny_t5_encoder.safetensors")))


if __name__ == "__main__":
    main()
