#!/usr/bin/env python3
"""Fixtures for the quality metrics of `dit bench compare`, from our own PyTorch code:
the demo classifier's architecture (tools/train_demo.py) with random weights on fixed inputs, and
PSNR/SSIM (Wang et al. 2004: 11×11 Gaussian window, σ 1.5, K1 0.01, K2 0.03, data range 1, valid
windows only) on fixed image pairs.

Run with Debian's PyTorch:  /usr/bin/python3 tools/reference/quality_reference.py
Writes eval/src/test/resources/fixtures/quality.safetensors:
  w.*           classifier weights;  digits [4,1,32,32] in [−1, 1];  features [4,128];  logits [4,10]
  a, b [3,1,32,32] image pairs in [−1, 1];  psnr [3];  ssim [3]
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from train_demo import Classifier  # noqa: E402
from safetensors_io import write_safetensors  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "src", "test", "resources", "fixtures")


def to_unit(x):
    return ((x + 1) / 2).clamp(0, 1)


def psnr(a, b):
    mse = ((to_unit(a) - to_unit(b)) ** 2).mean().double()
    return 10 * torch.log10(1 / mse)


def ssim(a, b):
    a, b = to_unit(a).double(), to_unit(b).double()
    g = torch.exp(-((torch.arange(11, dtype=torch.float64) - 5) ** 2) / (2 * 1.5 ** 2))
    g = g / g.sum()
    win = (g[:, None] * g[None, :])[None, None]
    mu_a, mu_b = F.conv2d(a, win), F.conv2d(b, win)
    saa = F.conv2d(a * a, win) - mu_a ** 2
    sbb = F.conv2d(b * b, win) - mu_b ** 2
    sab = F.conv2d(a * b, win) - mu_a * mu_b
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    m = ((2 * mu_a * mu_b + c1) * (2 * sab + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (saa + sbb + c2))
    return m.mean()


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    net = Classifier()
    g = torch.Generator().manual_seed(1)
    digits = torch.rand(4, 1, 32, 32, generator=g) * 2 - 1
    with torch.no_grad():
        feats, logits = net.features(digits), net(digits)
    a = torch.rand(3, 1, 32, 32, generator=g) * 2 - 1
    b = torch.stack([a[0] + 0.1 * torch.randn(1, 32, 32, generator=g), a[1].flip(-1), -a[2]])
    out = {"w." + k: v for k, v in net.state_dict().items()}
    out.update(digits=digits, features=feats, logits=logits, a=a, b=b,
               psnr=torch.stack([psnr(a[i], b[i]) for i in range(3)]).float(), ssim=torch.stack([ssim(a[i:i + 1], b[i:i + 1]) for i in range(3)]).float())
    write_safetensors(os.path.join(OUT, "quality.safetensors"), out)
    print("wrote", os.path.normpath(os.path.join(OUT, "quality.safetensors")), out["psnr"].tolist(), out["ssim"].tolist())


if __name__ == "__main__":
    main()
