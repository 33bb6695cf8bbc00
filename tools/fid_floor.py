#!/usr/bin/env python3
"""Scale for the demo model's FID: real digits scored the way `dit bench compare` scores generated ones.

FID on the evaluation CNN's 128-wide penultimate features against the statistics of the 1000 held-out digits
(models/demo/fid_stats.safetensors holds the same mean and covariance). Prints the FID of 1000 random training
digits (three draws: the floor at n = 1000), and of sets with little variety (10 and 1 distinct digits per
class, repeated to 100 each), which shows how FID punishes samples that vary little.

  /usr/bin/python3 tools/fid_floor.py          # needs tools/data/ from `train_demo.py fetch`
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_demo  # noqa: E402
from safetensors_io import read_safetensors  # noqa: E402


def fid(f, mu2, s2):
    f = f.double()
    mu1, s1 = f.mean(0), torch.cov(f.T)
    e, v = torch.linalg.eigh(s1)
    root = v @ torch.diag(e.clamp(min=0).sqrt()) @ v.T  # √Σ₁, so √(√Σ₁ Σ₂ √Σ₁) is symmetric
    cross = torch.linalg.eigvalsh(root @ s2 @ root).clamp(min=0).sqrt().sum()
    return float(((mu1 - mu2) ** 2).sum() + torch.trace(s1) + torch.trace(s2) - 2 * cross)


def main():
    torch.manual_seed(1)
    net = train_demo.Classifier()
    net.load_state_dict(read_safetensors(os.path.join(train_demo.OUT, "classifier.safetensors")))
    x, y, hx, _ = train_demo.load_digits()
    with torch.no_grad():
        held = net.features(hx).double()
        mu2, s2 = held.mean(0), torch.cov(held.T)
        for draw in range(3):
            idx = torch.randperm(len(x))[:1000]
            print(f"1000 random training digits (draw {draw + 1}): FID {fid(net.features(x[idx]), mu2, s2):.2f}")
        for distinct in (10, 1):
            idx = torch.cat([torch.nonzero(y == d)[:distinct, 0].repeat(100 // distinct) for d in range(10)])
            print(f"{distinct} distinct digits per class, each repeated to 100: FID {fid(net.features(x[idx]), mu2, s2):.2f}")


if __name__ == "__main__":
    main()
