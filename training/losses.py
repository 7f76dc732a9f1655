"""Losses that need no downloaded weights: hole L1, SSIM, relativistic LSGAN, feature matching, Gram."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def _gauss(window=11, sigma=1.5, device=None):
    x = torch.arange(window, dtype=torch.float32, device=device) - window // 2
    g = torch.exp(-(x ** 2) / (2 * sigma ** 2))
    g = g / g.sum()
    return (g[:, None] * g[None, :])[None, None]


def ssim(a: torch.Tensor, b: torch.Tensor, window=11) -> torch.Tensor:
    """Mean SSIM over the image (inputs in [0,1], Gaussian window as in Wang et al. 2004)."""
    c = a.shape[1]
    w = _gauss(window, device=a.device).expand(c, 1, window, window)
    mu_a = F.conv2d(a, w, groups=c)
    mu_b = F.conv2d(b, w, groups=c)
    saa = F.conv2d(a * a, w, groups=c) - mu_a ** 2
    sbb = F.conv2d(b * b, w, groups=c) - mu_b ** 2
    sab = F.conv2d(a * b, w, groups=c) - mu_a * mu_b
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    s = ((2 * mu_a * mu_b + c1) * (2 * sab + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (saa + sbb + c2))
    return s.mean()


def hole_l1(pred, target, mask):
    """L1 averaged over the hole only, so small and large holes weigh the same."""
    return ((pred - target).abs() * mask).sum() / (mask.sum() * pred.shape[1] + 1e-6)


def rals_d(real_logits, fake_logits):
    """Relativistic average LSGAN, discriminator side."""
    return (((real_logits - fake_logits.mean() - 1) ** 2).mean()
            + ((fake_logits - real_logits.mean() + 1) ** 2).mean()) / 2


def rals_g(real_logits, fake_logits):
    return (((real_logits - fake_logits.mean() + 1) ** 2).mean()
            + ((fake_logits - real_logits.mean() - 1) ** 2).mean()) / 2


def feature_matching(real_feats, fake_feats):
    return sum(F.l1_loss(f, r.detach()) for r, f in zip(real_feats, fake_feats)) / len(real_feats)


def gram(x):
    b, c, h, w = x.shape
    f = x.reshape(b, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


def style(real_feats, fake_feats):
    return sum(F.l1_loss(gram(f), gram(r.detach())) for r, f in zip(real_feats, fake_feats)) / len(real_feats)
