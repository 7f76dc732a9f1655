"""Detail at the photo's own resolution: the person's skin texture, carried into the fill.

The inpainter paints a 256² crop; a face 1,500 px wide in a 12 MP photo gets that fill enlarged ~6x,
so the restored mouth and chin are smooth next to the pores, stubble and sensor grain of the cheeks
above them (measured: 0.28 of the skin's fine detail, ``benchmarks/detail.py``). White noise matched
in strength fixes the flatness but not the look: skin texture has structure (pores, stubble, JPEG
blocks) that noise does not.

So the fine band is taken from the person's own skin: patches of the photo's high-pass band (photo
minus its Gaussian blur) from the visible skin around the hole — the calmer ones, so eyebrows,
nostrils, hair and the mask's edge are skipped — give the texture's power spectrum, radially averaged
(grain size and strength; not direction, which carried JPEG's 8 px block grid), and a random-phase
texture with that spectrum is laid over the hole (copying the patches themselves repeated their dots
visibly). It is scaled so the fill's median fine detail matches the skin's and added to the fill only.
Deterministic for a given seed. The engine uses it only where a fill is enlarged (``Engine.
_needs_grain``): around a small face the "skin" ring is mostly hair, hands and background.
"""
from __future__ import annotations

import cv2
import numpy as np

from unmask_studio.core.maskops import bbox

BAND_SIGMA = 1.2  # the fine band: what a σ≈1 px Laplacian of Gaussian sees
PATCH = 24  # px at the photo's resolution: several pores/stubble hairs, small enough to vary
MAX_ADD = 10.0  # grey levels (mean |band|) at most: beyond that the "skin" is texture of something else
CALM_QUANTILE = 0.8  # drop the busiest 20 % of candidate patches (brows, nostrils, hair, edges), and the
# flattest 20 % (plain background)
CLIPPED = 12  # grey levels from black or white: a patch this dark or bright on average is not skin


def _grey(img: np.ndarray) -> np.ndarray:
    return cv2.transform(img.astype(np.float32), np.full((1, 3), 1 / 3, np.float32))


def fine_detail(grey: np.ndarray) -> np.ndarray:
    """|Laplacian of Gaussian (σ = 1 px)|: the finest detail a photo shows (pores, grain, stubble)."""
    return np.abs(cv2.Laplacian(cv2.GaussianBlur(grey, (0, 0), 1.0), cv2.CV_32F))


def high_band(grey: np.ndarray) -> np.ndarray:
    return grey - cv2.GaussianBlur(grey, (0, 0), BAND_SIGMA)


def skin_ring(alpha: np.ndarray, width: int) -> np.ndarray:
    """Pixels within ``width`` of the blended region but outside it: the visible skin next to the fill.
    A distance transform, not a dilation: the ring is ~100 px wide on a 12 MP face, and dilating with
    a kernel that size took 2 s a photo (benchmarks/batch_speed.py)."""
    outside = (alpha <= 0).astype(np.uint8)
    dist = cv2.distanceTransform(outside, cv2.DIST_L2, 3)
    return (outside > 0) & (dist <= width)


def _candidate_patches(band: np.ndarray, ring: np.ndarray, rng, n: int = 64,
                       grey: np.ndarray | None = None) -> list[np.ndarray]:
    """Up to ``n`` PATCH² windows of the band that lie (almost) wholly on the ring: neither the
    busiest (brows, nostrils, hair, edges) nor the flattest (a blown-out or plain background beside a
    turned face: sampled as "skin" it gave the texture a coarse mesh), nor near-white or near-black
    ones (``grey``, when given)."""
    h, w = band.shape
    if h < PATCH or w < PATCH:
        return []
    cover = cv2.boxFilter(ring.astype(np.float32), -1, (PATCH, PATCH), normalize=True,
                          borderType=cv2.BORDER_CONSTANT)
    half = PATCH // 2
    ys, xs = np.nonzero(cover[half:h - half + 1, half:w - half + 1] > 0.9)
    if len(ys) == 0:
        return []
    pick = rng.choice(len(ys), min(len(ys), 4 * n), replace=False)
    if grey is not None:  # clipped highlights and shadows carry no texture
        level = np.array([grey[ys[i]:ys[i] + PATCH, xs[i]:xs[i] + PATCH].mean() for i in pick])
        lit = (level > CLIPPED) & (level < 255 - CLIPPED)
        if lit.any():
            pick = pick[lit]
    patches = [band[ys[i]:ys[i] + PATCH, xs[i]:xs[i] + PATCH] for i in pick]
    energy = np.array([np.abs(p).mean() for p in patches])
    order = np.argsort(energy)
    lo, hi = int(len(order) * (1 - CALM_QUANTILE)), max(1, int(len(order) * CALM_QUANTILE))
    keep = order[lo:hi] if hi > lo else order[:1]
    return [patches[i] for i in keep[np.linspace(0, len(keep) - 1, min(n, len(keep))).astype(int)]]


def _spectral_texture(patches: list[np.ndarray], h: int, w: int, rng) -> np.ndarray:
    """Random-phase texture with the skin patches' mean power spectrum (Galerne et al. 2011):
    white noise filtered by the spectrum's square root. Stationary like skin, with its grain size
    and direction, and no copied dot or blemish that would repeat across the fill."""
    win = np.outer(np.hanning(PATCH), np.hanning(PATCH)).astype(np.float32)
    power = np.mean([np.abs(np.fft.fft2((p - p.mean()) * win)) ** 2 for p in patches], axis=0)
    # Keep only how power falls with frequency (radial average), not its direction: JPEG's 8 px block
    # grid and fabric weave are sharp peaks in the 2-D spectrum and came out as a visible grid.
    f = np.fft.fftfreq(PATCH)
    radius = np.sqrt(f[:, None] ** 2 + f[None, :] ** 2)
    bins = np.minimum((radius * 2 * (PATCH // 2)).round().astype(int), PATCH // 2)
    radial = np.bincount(bins.ravel(), power.ravel()) / np.maximum(np.bincount(bins.ravel()), 1)
    power = radial[bins]
    kernel = np.fft.fftshift(np.real(np.fft.ifft2(np.sqrt(power))))
    noise = rng.standard_normal((h, w)).astype(np.float32)
    return cv2.filter2D(noise, -1, kernel.astype(np.float32), borderType=cv2.BORDER_REFLECT)


def ring_width(hole: np.ndarray) -> int:
    """How far around the hole skin is sampled: 12 % of the hole's size, at least two patches."""
    (y0, y1), (x0, x1) = bbox(hole)
    return max(2 * PATCH, int(0.12 * max(y1 - y0, x1 - x0)))


def transfer_detail(orig: np.ndarray, filled: np.ndarray, alpha: np.ndarray, seed: int,
                    ring_px: int | None = None) -> np.ndarray:
    """``filled`` (float32 HxWx3, the enlarged fill composited over ``orig``) with the skin's fine
    texture from around ``alpha`` (HxW 0..1 blend weight) added where ``alpha`` > 0."""
    hole = alpha > 0.99
    if hole.sum() < 64:
        return filled
    (y0, y1), (x0, x1) = bbox(alpha > 0)
    ring = skin_ring(alpha, ring_px or ring_width(alpha > 0))
    # The face's own skin is above the covering's middle (cheeks, nose); below it are neck and
    # clothes, whose texture does not belong on lips and chin.
    upper = ring.copy()
    upper[(y0 + y1) // 2:] = False
    if upper.sum() >= 4 * PATCH * PATCH:
        ring = upper
    grey_o = _grey(orig)
    band_o = high_band(grey_o)
    rng = np.random.default_rng(seed)
    patches = _candidate_patches(band_o, ring, rng, grey=grey_o)
    if not patches:
        return filled
    # Strength: the fine detail a σ = 1 px Laplacian of Gaussian sees (the measure of
    # benchmarks/detail.py) on the skin against the fill's;
    # independent textures add in quadrature, so the texture brings the difference.
    # Medians: hair, brows, an ear or a strap in the ring must not count as skin texture.
    e_skin = float(np.median(fine_detail(grey_o)[ring]))
    e_fill = float(np.median(fine_detail(_grey(filled))[hole]))
    want = np.sqrt(max(0.0, e_skin ** 2 - e_fill ** 2))
    if want < 0.05:
        return filled
    tex = _spectral_texture(patches, y1 - y0, x1 - x0, rng)
    e_tex = float(np.median(fine_detail(tex)))
    if e_tex < 1e-4:
        return filled
    tex *= want / e_tex
    # Never more than MAX_ADD grey levels of texture on average: beyond it the "skin" is something else.
    tex *= min(1.0, MAX_ADD / max(float(np.abs(tex).mean()), 1e-6))
    out = filled.copy()
    out[y0:y1, x0:x1] += (tex * alpha[y0:y1, x0:x1])[..., None]
    return out
