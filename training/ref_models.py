"""The 256² refinement stage with an optional reference face (issues: sharper fills, reference-guided).

One generator serves both cases. The shipped coarse inpainter (gated-conv U-Net + M-CSAM, trained at
128²) paints the structure; this stage works at the crop's full 256² on the masked photo, the coarse
fill and — when the user gives one — another photo of the same person aligned to the same crop:

- target encoder: gated convs on (masked photo, mask, coarse fill), folded to 64², then 32²;
- reference encoder: plain convs on (reference, valid), 64² → 32²; its 64² features are added into the
  decoder where the crop is already roughly aligned (lips, nose, beard sit near the same place after
  the similarity fit), and at 32² a cross-attention from target to reference positions (learned
  positional embedding on both sides, plus a learned "nothing" slot) takes what moved with pose or
  expression;
- decoder: gated convs back to 64², unfolded to 256²; output = coarse + residual, the residual conv
  initialised to zero, so
  at step 0 the stage returns the coarse fill exactly and training can only add.

Without a reference (``valid`` all zero) every reference path is multiplied by 0 and the attention
sees only the "nothing" slot: the output is a function of the target alone.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from training.models import GatedConv


def conv(cin, cout, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.ELU())


class RefAttention(nn.Module):
    """Cross-attention from target tokens (32²) to reference tokens (16²), with a learned null slot."""

    def __init__(self, c, heads=4, grid=32, dim=64):
        super().__init__()
        self.heads, self.dim = heads, dim
        self.pos = nn.Parameter(torch.randn(1, c, grid, grid) * 0.02)
        self.q = nn.Conv2d(c, heads * dim, 1)
        self.k = nn.Conv2d(c, heads * dim, 1)
        self.v = nn.Conv2d(c, heads * dim, 1)
        self.null_k = nn.Parameter(torch.zeros(1, heads, 1, dim))
        self.null_v = nn.Parameter(torch.zeros(1, heads, 1, dim))
        self.out = nn.Conv2d(heads * dim, c, 1)

    def forward(self, t, r, valid):
        b, c, h, w = t.shape
        n, d = self.heads, self.dim
        q = self.q(t + self.pos).view(b, n, d, h * w).transpose(2, 3)          # b n hw d
        # Keys and values at half the resolution (16²): 4x less attention for a CPU; exact positions
        # come through the aligned 64² path, this one fetches what moved.
        r, pos, valid = F.avg_pool2d(r, 2), F.avg_pool2d(self.pos, 2), F.max_pool2d(valid, 2)
        m = r.shape[-2] * r.shape[-1]
        k = self.k(r + pos).view(b, n, d, m).transpose(2, 3)
        v = self.v(r).view(b, n, d, m).transpose(2, 3)
        k = torch.cat([self.null_k.expand(b, -1, -1, -1), k], dim=2)
        v = torch.cat([self.null_v.expand(b, -1, -1, -1), v], dim=2)
        keep = torch.cat([torch.ones(b, 1, device=t.device), valid.flatten(1)], dim=1)  # b, 1+m
        bias = torch.log(keep.clamp_min(1e-4))[:, None, None, :]
        att = torch.softmax(q @ k.transpose(2, 3) / d ** 0.5 + bias, dim=-1)
        o = (att @ v).transpose(2, 3).reshape(b, n * d, h, w)
        return self.out(o)


class RefineNet(nn.Module):
    """(image, mask, coarse, reference, valid) at 256² -> refined RGB in [0,1].

    The 256² inputs are folded 4x4 into channels (lossless pixel-unshuffle) so the convolutions run at
    64² and 32²; the output unfolds 4x4 again, so every 256² pixel is still painted (fine texture is a
    per-cell 4x4 pattern). That keeps the stage at ~1.7 GMAC a face, within the CPU time budget."""

    def __init__(self, widths=(32, 96, 48), heads=4, head_dim=24):
        super().__init__()
        w0, w1, wr = widths
        self.t0 = GatedConv(7 * 16, w0)                     # 64²
        self.t1 = GatedConv(w0, w1, 3, 2)                   # 32²
        self.r0 = conv(4 * 16, wr)                          # 64²
        self.r1 = nn.Sequential(conv(wr, w1, 2), conv(w1, w1))  # 32²
        self.attend = RefAttention(w1, heads=heads, dim=head_dim)
        self.mid = nn.Sequential(GatedConv(2 * w1, w1, dilation=2), GatedConv(w1, w1, dilation=4))
        self.ref_skip = nn.Conv2d(wr, w1 + w0, 1)           # aligned reference detail into the 64² decoder
        self.u0 = GatedConv(w1 + w0, w0)
        self.out = nn.Conv2d(w0, 3 * 16, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, image, mask, coarse, reference, valid):
        has_ref = (valid.flatten(1).amax(1) > 0).float()[:, None, None, None]
        x = torch.cat([image * (1 - mask) * 2 - 1, mask, coarse * 2 - 1], dim=1)
        s0 = self.t0(F.pixel_unshuffle(x, 4))
        s1 = self.t1(s0)
        r0 = self.r0(F.pixel_unshuffle(torch.cat([(reference * 2 - 1) * valid, valid], dim=1), 4)) * has_ref
        r1 = self.r1(r0) * has_ref
        v1 = F.max_pool2d(valid, 8) * has_ref  # 256² -> the 32² token grid (a constant: ONNX needs it)
        h = self.mid(torch.cat([s1, self.attend(s1, r1, v1)], dim=1))
        h = torch.cat([F.interpolate(h, scale_factor=2, mode="nearest"), s0], dim=1) + self.ref_skip(r0)
        h = self.u0(h)
        return (coarse + F.pixel_shuffle(self.out(h), 4)).clamp(0, 1)


class CoarseAt128(nn.Module):
    """The shipped generator inside the 256² crop: area-downsample, fill at 128², bicubic-upsample."""

    def __init__(self, G):
        super().__init__()
        self.G = G

    def forward(self, image, mask):
        small_mask = (F.max_pool2d(mask, 2) > 0).float()
        out = self.G(F.avg_pool2d(image, 2), small_mask)
        return F.interpolate(out, scale_factor=2, mode="bicubic", align_corners=False).clamp(0, 1)


class TwoStage(nn.Module):
    """Coarse (frozen unless asked) + refinement: the whole 256² inpainter with an optional reference."""

    def __init__(self, coarse: nn.Module, refine: RefineNet):
        super().__init__()
        self.coarse, self.refine = coarse, refine

    def forward(self, image, mask, reference, valid):
        c = self.coarse(image, mask)
        # The refinement sees the coarse fill composited into the photo (what the app would show).
        c = image * (1 - mask) + c * mask
        return self.refine(image, mask, c, reference, valid)
