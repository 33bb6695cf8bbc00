#!/usr/bin/env python3
"""Fixtures for the FID/IS Inception-v3 of `eval` (InceptionV3.java), from our own PyTorch code written
from the architecture of the FID Inception (the TF-ported network of the 2015-12-05 weights, as the
PyTorch FID port arranges it): BasicConv2d = conv without bias + BatchNorm(eps 0.001) + ReLU; blocks
Mixed_5b..7c; the FID variants' average pools leave padding out of the count; Mixed_7c pools by max;
bilinear resize to 299×299 (align_corners False), then 2x − 1.

The network is tiny (every width divided by 16, at least 2) with random weights and batch-norm
statistics, but has the real key names and the real 1008-way classifier.

Run with Debian's PyTorch:  /usr/bin/python3 tools/reference/inception_reference.py
Writes eval/src/test/resources/fixtures/
  tiny_pt_inception.pth            the state dict, saved by torch.save (as the published .pth is)
  tiny_fid_stats.npz               mu [128] float32, sigma [128,128] float64, as numpy.savez_compressed writes them
  inception.safetensors            images [2,3,28,36] in [0,1]; stem, mixed_5b, mixed_6a, mixed_6e,
                                   mixed_7a, mixed_7c (block outputs); pool [2,128]; logits [2,1008]
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import write_safetensors  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "eval", "src", "test", "resources", "fixtures")


def w(c):
    return max(2, c // 16)


class Conv(nn.Module):
    def __init__(self, cin, cout, k, stride=1, pad=0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride=stride, padding=pad, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


def avg3(x):
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class A(nn.Module):
    def __init__(self, cin, pool):
        super().__init__()
        self.branch1x1 = Conv(cin, w(64), 1)
        self.branch5x5_1 = Conv(cin, w(48), 1)
        self.branch5x5_2 = Conv(w(48), w(64), 5, pad=2)
        self.branch3x3dbl_1 = Conv(cin, w(64), 1)
        self.branch3x3dbl_2 = Conv(w(64), w(96), 3, pad=1)
        self.branch3x3dbl_3 = Conv(w(96), w(96), 3, pad=1)
        self.branch_pool = Conv(cin, pool, 1)

    def forward(self, x):
        return torch.cat([self.branch1x1(x), self.branch5x5_2(self.branch5x5_1(x)),
                          self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))), self.branch_pool(avg3(x))], 1)


class B(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.branch3x3 = Conv(cin, w(384), 3, stride=2)
        self.branch3x3dbl_1 = Conv(cin, w(64), 1)
        self.branch3x3dbl_2 = Conv(w(64), w(96), 3, pad=1)
        self.branch3x3dbl_3 = Conv(w(96), w(96), 3, stride=2)

    def forward(self, x):
        return torch.cat([self.branch3x3(x), self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))), F.max_pool2d(x, 3, stride=2)], 1)


class C(nn.Module):
    def __init__(self, cin, c7):
        super().__init__()
        self.branch1x1 = Conv(cin, w(192), 1)
        self.branch7x7_1 = Conv(cin, c7, 1)
        self.branch7x7_2 = Conv(c7, c7, (1, 7), pad=(0, 3))
        self.branch7x7_3 = Conv(c7, w(192), (7, 1), pad=(3, 0))
        self.branch7x7dbl_1 = Conv(cin, c7, 1)
        self.branch7x7dbl_2 = Conv(c7, c7, (7, 1), pad=(3, 0))
        self.branch7x7dbl_3 = Conv(c7, c7, (1, 7), pad=(0, 3))
        self.branch7x7dbl_4 = Conv(c7, c7, (7, 1), pad=(3, 0))
        self.branch7x7dbl_5 = Conv(c7, w(192), (1, 7), pad=(0, 3))
        self.branch_pool = Conv(cin, w(192), 1)

    def forward(self, x):
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = x
        for m in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            d = m(d)
        return torch.cat([self.branch1x1(x), b7, d, self.branch_pool(avg3(x))], 1)


class D(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.branch3x3_1 = Conv(cin, w(192), 1)
        self.branch3x3_2 = Conv(w(192), w(320), 3, stride=2)
        self.branch7x7x3_1 = Conv(cin, w(192), 1)
        self.branch7x7x3_2 = Conv(w(192), w(192), (1, 7), pad=(0, 3))
        self.branch7x7x3_3 = Conv(w(192), w(192), (7, 1), pad=(3, 0))
        self.branch7x7x3_4 = Conv(w(192), w(192), 3, stride=2)

    def forward(self, x):
        b = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), b, F.max_pool2d(x, 3, stride=2)], 1)


class E(nn.Module):
    def __init__(self, cin, max_pool):
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = Conv(cin, w(320), 1)
        self.branch3x3_1 = Conv(cin, w(384), 1)
        self.branch3x3_2a = Conv(w(384), w(384), (1, 3), pad=(0, 1))
        self.branch3x3_2b = Conv(w(384), w(384), (3, 1), pad=(1, 0))
        self.branch3x3dbl_1 = Conv(cin, w(448), 1)
        self.branch3x3dbl_2 = Conv(w(448), w(384), 3, pad=1)
        self.branch3x3dbl_3a = Conv(w(384), w(384), (1, 3), pad=(0, 1))
        self.branch3x3dbl_3b = Conv(w(384), w(384), (3, 1), pad=(1, 0))
        self.branch_pool = Conv(cin, w(192), 1)

    def forward(self, x):
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        d = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
        p = F.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool else avg3(x)
        return torch.cat([self.branch1x1(x), b3, d, self.branch_pool(p)], 1)


class Inception(nn.Module):
    def __init__(self):
        super().__init__()
        self.Conv2d_1a_3x3 = Conv(3, w(32), 3, stride=2)
        self.Conv2d_2a_3x3 = Conv(w(32), w(32), 3)
        self.Conv2d_2b_3x3 = Conv(w(32), w(64), 3, pad=1)
        self.Conv2d_3b_1x1 = Conv(w(64), w(80), 1)
        self.Conv2d_4a_3x3 = Conv(w(80), w(192), 3)
        a_out = lambda pool: w(64) + w(64) + w(96) + pool  # noqa: E731
        self.Mixed_5b = A(w(192), w(32))
        self.Mixed_5c = A(a_out(w(32)), w(64))
        self.Mixed_5d = A(a_out(w(64)), w(64))
        c6 = w(384) + w(96) + a_out(w(64))
        self.Mixed_6a = B(a_out(w(64)))
        self.Mixed_6b = C(c6, w(128))
        self.Mixed_6c = C(4 * w(192), w(160))
        self.Mixed_6d = C(4 * w(192), w(160))
        self.Mixed_6e = C(4 * w(192), w(192))
        self.Mixed_7a = D(4 * w(192))
        c7 = w(320) + w(192) + 4 * w(192)
        self.Mixed_7b = E(c7, False)
        e_out = w(320) + 4 * w(384) + w(192)
        self.Mixed_7c = E(e_out, True)
        self.fc = nn.Linear(e_out, 1008)

    def forward(self, x):
        out = {}
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        x = 2 * x - 1
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, 3, stride=2)
        x = F.max_pool2d(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x)), 3, stride=2)
        out["stem"] = x
        for name in ("Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c"):
            x = getattr(self, name)(x)
            out[name.lower()] = x
        pool = F.adaptive_avg_pool2d(x, 1).flatten(1)
        out["pool"] = pool
        out["logits"] = self.fc(pool)
        return out


def main():
    torch.manual_seed(0)
    net = Inception().eval()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.normal_(0, (2.0 / fan_in) ** 0.5)
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
                m.running_mean.normal_(0, 0.2)
                m.running_var.uniform_(0.5, 2.0)
        net.fc.weight.normal_(0, 0.05)
        net.fc.bias.normal_(0, 0.05)
        images = torch.rand(2, 3, 28, 36)
        out = net(images)
    os.makedirs(OUT, exist_ok=True)
    sd = {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save(sd, os.path.join(OUT, "tiny_pt_inception.pth"))
    tensors = {"images": images}
    for k in ("stem", "mixed_5b", "mixed_6a", "mixed_6e", "mixed_7a", "mixed_7c", "pool", "logits"):
        tensors[k] = out[k].contiguous()
    write_safetensors(os.path.join(OUT, "inception.safetensors"), tensors)
    # FID statistics as NumPy writes them (float32 mu, float64 sigma, deflated), for the .npz reader
    import numpy as np
    feats = out["pool"].double().numpy()
    rng = np.random.default_rng(0)
    extra = feats.mean(0) + rng.standard_normal((6, feats.shape[1])) * 0.1
    np.savez_compressed(os.path.join(OUT, "tiny_fid_stats.npz"), mu=extra.mean(0).astype(np.float32), sigma=np.cov(extra, rowvar=False))
    print("wrote", OUT, {k: list(v.shape) for k, v in tensors.items()})


if __name__ == "__main__":
    main()
