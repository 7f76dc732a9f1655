"""Reference photos: another, unmasked photo of the same person, so the fill can be *theirs*.

A reference enters the engine as one more input to the inpaint stage: its face is found and aligned to
the same crop template as the masked face (face-mesh similarity fit on eyes, brows, nose, cheeks, chin,
lips), and the inpainter receives the aligned crop plus where it holds photo pixels. The model takes
lips, nose, beard and skin texture from it while it keeps the target's pose and light.

    ref = reference_from_file("uncle_2019.jpg", engine.finder, engine.crop_size)
    engine.run(rgb, references={face_index: ref})

Errors are ``ReferenceError`` with a one-line message meant for the user; the caller processes the
photo without the reference.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import cv2
import numpy as np

from unmask_studio.core import blend
from unmask_studio.core.faces import Face, FaceFinder
from unmask_studio.core.io import ImageLoadError, load_image

# A second face at least this large (relative to the largest) makes a reference ambiguous: which of
# the two is the person? Smaller faces in the background are ignored.
AMBIGUOUS_SECOND_FACE = 0.6
MIN_REFERENCE_FACE_PX = 40  # below this the reference holds too little detail to help


class ReferenceError(ValueError):
    """The reference photo cannot be used (no face, several faces, unreadable); one line for the user."""


@dataclass(frozen=True)
class Reference:
    crop: np.ndarray  # crop_size² x 3 uint8: the reference face aligned to the inpainter's crop
    valid: np.ndarray  # crop_size² float32: 1 where the crop holds photo pixels, 0 beyond its edge
    box: tuple[int, int, int, int]  # the face in the reference photo
    source: str = ""  # file name, for messages

    def thumbnail(self, side: int = 64) -> np.ndarray:
        return cv2.resize(self.crop, (side, side), interpolation=cv2.INTER_AREA)


def pick_reference_face(faces: list[Face], source: str = "the reference photo") -> Face:
    """The one face a reference photo shows; refuse none or two people of similar size."""
    if not faces:
        raise ReferenceError(f"No face found in {source}; choose a photo where the face is clearly visible.")
    faces = sorted(faces, key=lambda f: f.size, reverse=True)
    if len(faces) > 1 and faces[1].size >= AMBIGUOUS_SECOND_FACE * faces[0].size:
        raise ReferenceError(f"{source} shows {len(faces)} faces; crop it to the one person.")
    face = faces[0]
    if face.size < MIN_REFERENCE_FACE_PX:
        raise ReferenceError(f"The face in {source} is too small ({face.size} px); use a closer photo.")
    if len(face.landmarks) != 468:
        raise ReferenceError(f"The face in {source} is too turned or hidden to align; use a more frontal photo.")
    return face


def reference_from_image(rgb: np.ndarray, finder: FaceFinder, crop_size: int, source: str = "") -> Reference:
    face = pick_reference_face(finder.find(rgb), source or "the reference photo")
    crop = blend.to_crop(rgb, face.matrix, crop_size)
    # Beyond the photo's edge there is no face to borrow from: mark it invalid instead of mirroring.
    valid = cv2.warpAffine(np.ones(rgb.shape[:2], np.uint8), face.matrix, (crop_size, crop_size),
                           flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    crop = crop * valid[..., None]
    return Reference(np.ascontiguousarray(crop), valid.astype(np.float32), face.box, source)


def reference_from_file(path: str | os.PathLike, finder: FaceFinder, crop_size: int) -> Reference:
    name = os.path.basename(os.fspath(path))
    try:
        loaded = load_image(path)
    except ImageLoadError as e:
        raise ReferenceError(f"Cannot use {name} as a reference: {e}") from e
    except OSError as e:
        raise ReferenceError(f"Cannot read the reference {name}: {e.strerror or e}") from e
    return reference_from_image(loaded.rgb, finder, crop_size, name)


def model_inputs(references: list[Reference | None], crop_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Batched (reference N x 3 x S x S in [0,1], reference_mask N x 1 x S x S); zeros where absent."""
    n, S = len(references), crop_size
    ref = np.zeros((n, 3, S, S), np.float32)
    valid = np.zeros((n, 1, S, S), np.float32)
    for k, r in enumerate(references):
        if r is not None:
            ref[k] = r.crop.transpose(2, 0, 1).astype(np.float32) / 255
            valid[k, 0] = r.valid
    return ref, valid
