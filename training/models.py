"""Networks: the region-attentive inpainter (gated-conv U-Net + M-CSAM), its discriminators, and the
small mask segmenter.

The inpainter follows Yang (2024), sized for a laptop CPU: the 256² input is folded to 128² with a
lossless space-to-depth (pixel unshuffle) and unfolded by pixel shuffle at the end, so the U-Net does
the work of a 128² network while reading and writing every 256² pixel. CelebA detail is ~140 px, so
little is lost and inference is ~4x cheaper.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import spectral_norm


class GatedConv(nn.Module):
    """Gated convolution (Yu et al. 2019): features * sigmoid(gate), the gate learns where the hole is."""

    def __init__(self, cin, cout, k=3, stride=1, dilation=1, act=True):
        super().__init__()
        pad = dilation * (k - 1) // 2
        self.conv = nn.Conv2d(cin, 2 * cout, k, stride, pad, dilation=dilation)
        self.act = act

    def forward(self, x):
        f, g = self.conv(x).chunk(2, dim=1)
        if self.act:
            f = F.elu(f)
        return f * torch.sigmoid(g)


class MCSAM(nn.Module):
    """Multi-scale Channel-Spatial Attention Module.

    Four parallel dilated 3x3 convs (d = 1, 2, 4, 8) see growing context; their concatenation is
    weighted by an attention volume from a 3-D convolution over (channel, height, width), and added
    back residually with a learnable gamma that starts at 0 (the block starts as identity).
    """

    def __init__(self, c):
        super().__init__()
        assert c % 4 == 0
        self.branches = nn.ModuleList(
            nn.Sequential(nn.Conv2d(c, c // 4, 3, padding=d, dilation=d), nn.ELU()) for d in (1, 2, 4, 8))
        self.fuse = nn.Conv2d(c, c, 1)
        self.att3d = nn.Conv3d(1, 1, kernel_size=3, padding=1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        feats = self.fuse(torch.cat([b(x) for b in self.branches], dim=1))
        att = torch.sigmoid(self.att3d(feats.unsqueeze(1))).squeeze(1)
        return x + self.gamma * (att * feats)


class PlainBlock(nn.Module):
    """Same budget as MCSAM without attention (for the ablation)."""

    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, padding=2, dilation=2), nn.ELU(), nn.Conv2d(c, c, 1))
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return x + self.gamma * self.body(x)


class InpaintGenerator(nn.Module):
    """Input: image in [0,1] with the hole zeroed, mask (1 = hole). Output: RGB in [0,1]."""

    def __init__(self, widths=(64, 128, 192, 256), n_attention=3, attention=True):
        super().__init__()
        w0, w1, w2, w3 = widths
        self.inp = GatedConv(4 * 4, w0, 5)
        self.down = nn.ModuleList([GatedConv(w0, w1, 3, 2), GatedConv(w1, w2, 3, 2), GatedConv(w2, w3, 3, 2)])
        self.enc = nn.ModuleList([GatedConv(w1, w1), GatedConv(w2, w2), GatedConv(w3, w3)])
        block = MCSAM if attention else PlainBlock
        self.middle = nn.Sequential(*[nn.Sequential(GatedConv(w3, w3, dilation=d), block(w3))
                                      for d in (2, 4, 8)[:n_attention]])
        self.up = nn.ModuleList([GatedConv(w3 + w2, w2), GatedConv(w2 + w1, w1), GatedConv(w1 + w0, w0)])
        self.refine = GatedConv(w0, w0)
        self.out = nn.Conv2d(w0, 3 * 4, 3, padding=1)

    def forward(self, image, mask):
        x = torch.cat([image * (1 - mask) * 2 - 1, mask], dim=1)
        x = F.pixel_unshuffle(x, 2)
        skips = [self.inp(x)]
        h = skips[0]
        for down, enc in zip(self.down, self.enc):
            h = enc(down(h))
            skips.append(h)
        h = self.middle(skips.pop())
        for up in self.up:
            h = F.interpolate(h, scale_factor=2, mode="nearest")
            h = up(torch.cat([h, skips.pop()], dim=1))
        h = self.out(self.refine(h))
        return torch.sigmoid(F.pixel_shuffle(h, 2))


class PatchDiscriminator(nn.Module):
    """Spectral-norm PatchGAN; returns the logits map and the intermediate features (for matching)."""

    def __init__(self, cin=4, width=64, n_layers=4):
        super().__init__()
        layers, c = [], cin
        for i in range(n_layers):
            cout = width * min(2 ** i, 4)
            layers.append(nn.Sequential(spectral_norm(nn.Conv2d(c, cout, 4, 2, 1)), nn.LeakyReLU(0.2)))
            c = cout
        self.layers = nn.ModuleList(layers)
        self.head = spectral_norm(nn.Conv2d(c, 1, 3, 1, 1))

    def forward(self, x):
        feats = []
        for layer in self.layers:
            x = layer(x)
            feats.append(x)
        return self.head(x), feats


class SegmenterNet(nn.Module):
    """Small U-Net: 128² RGB in, 128² mask logit out. Real-time on a CPU core."""

    def __init__(self, widths=(16, 32, 64, 96), in_channels: int = 3):
        super().__init__()

        def block(cin, cout):
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                                 nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

        self.enc = nn.ModuleList()
        c = in_channels
        for w in widths:
            self.enc.append(block(c, w))
            c = w
        self.dec = nn.ModuleList(block(widths[i + 1] + widths[i], widths[i]) for i in reversed(range(len(widths) - 1)))
        self.head = nn.Conv2d(widths[0], 1, 1)

    def forward(self, x):
        x = x * 2 - 1
        skips = []
        for i, enc in enumerate(self.enc):
            x = enc(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        x = skips.pop()
        for dec in self.dec:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            x = dec(torch.cat([x, skips.pop()], dim=1))
        return self.head(x)


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())
