"""Alternative fills ("Try another"): the same face, seen by the inpainter through a slightly different crop.

The inpainter is deterministic: the same crop always gives the same fill. A variant changes the crop
itself, by a small transform in crop space composed with the face's image -> crop matrix, and the
paste-back undoes it exactly (it warps through the same, varied, matrix). Each view is one the model
was trained on, so the fill stays plausible, but the model paints it differently:

- mirrored left-right: the network's learned filters are not symmetric (it was trained on faces
  flipped at random, so a mirrored face is an ordinary input), so the mirror image of the context
  gives a fill that is not the mirror image of the first one;
- zoomed in or out a few per cent and shifted a few per cent: the face alignment is never exact
  (training jittered it too), and a convolutional network with strided down-sampling is neither
  scale- nor shift-equivariant, so the same context on a slightly different grid fills differently.

Variant 0 is the identity: the fill as it always was, bit for bit.
"""
from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from unmask_studio.core.reference import Reference

# (mirrored, zoom, shift right, shift down): shifts in crop sides. Kept within ±6 % zoom and ±3 % shift
# (benchmarks/alternatives.py: every variant within 1 dB of variant 0 on the 40 pairs_dev faces).
VARIANTS = (
    (False, 1.0, 0.0, 0.0),
    (True, 1.0, 0.0, 0.0),
    (False, 1.06, -0.03, 0.0),
    (True, 0.94, 0.03, -0.03),
)
COUNT = len(VARIANTS)


def variant_transform(n: int, size: int) -> np.ndarray:
    """3x3 crop pixel -> varied crop pixel for variant ``n`` (taken modulo COUNT)."""
    mirror, zoom, dx, dy = VARIANTS[n % COUNT]
    c = (size - 1) / 2  # the crop's centre in pixel coordinates: mirroring maps pixel x to size-1-x exactly
    T = np.array([[zoom, 0, (1 - zoom) * c + dx * size], [0, zoom, (1 - zoom) * c + dy * size], [0, 0, 1]])
    if mirror:
        T = np.array([[-1, 0, size - 1], [0, 1, 0], [0, 0, 1]], float) @ T
    return T


def variant_matrix(matrix: np.ndarray, n: int, size: int) -> np.ndarray:
    """The image -> crop matrix (2x3) of variant ``n`` of a face whose crop is ``matrix``."""
    if n % COUNT == 0:
        return matrix
    return (variant_transform(n, size) @ np.vstack([matrix, [0, 0, 1]]))[:2]


def vary_face(face, n: int, size: int):
    """A copy of ``face`` (core.faces.Face) seen through variant ``n``; the face itself when n is 0."""
    return face if n % COUNT == 0 else replace(face, matrix=variant_matrix(face.matrix, n, size))


def vary_reference(ref: Reference | None, n: int, size: int) -> Reference | None:
    """The reference crop moved with the face's crop, so the two stay aligned."""
    if ref is None or n % COUNT == 0:
        return ref
    T = variant_transform(n, size)[:2]
    crop = cv2.warpAffine(ref.crop, T, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
    valid = cv2.warpAffine(ref.valid.astype(np.float32), T, (size, size), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT)
    return replace(ref, crop=crop, valid=valid)
