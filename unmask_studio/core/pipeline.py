"""The one engine API used by the editor, the batch runner and the CLI.

    engine = Engine()
    result = engine.run(rgb)                  # detect -> segment -> inpaint -> paste back
    result.image, result.mask, result.faces   # output photo, full-res removal mask, per-face data

Each stage is also callable alone (the editor re-inpaints after the user edits the mask):
``detect``, ``segment`` (-> full-resolution removal mask), ``inpaint`` (photo + removal mask ->
output). Masks handed between stages are full-resolution uint8 (0..255): what the user paints on.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import cv2
import numpy as np

from unmask_studio.core import blend, covering_colour, mask_refine, maskops, straps
from unmask_studio.core.faces import (EAR_MESH_POINTS, EAR_TEMPLATE_POINTS, Face, FaceFinder, from_template,
                                      shared_finder)
from unmask_studio.core.onnx_models import ModelError, OnnxModel, contract
from unmask_studio.core.reference import Reference
from unmask_studio.core.reference import model_inputs as reference_inputs
from unmask_studio.core.variants import vary_face, vary_reference

ProgressFn = Callable[[float, str], None]
CancelFn = Callable[[], bool]


GRAIN_BELOW_SCALE = 0.67  # add grain when the crop is enlarged 1.5x or more to paste it back
# A covering that runs past the inpainter's crop (neck gaiter, balaclava, a mask on a low or turned
# face) gets a second, wider pass: the face's own crop is restored first (the model draws the mouth
# where its template puts it, so a zoomed-out crop alone would draw a second mouth on the neck), then
# a crop widened to take the whole covering in (up to 1/MIN_ZOOM times the face's crop, in a window
# reaching lower than the face) fills the rest around the restored face, and the face's crop fades
# into it over its border band. Anything beyond even that is filled by diffusion and cross-faded the
# same way (blend.fill_outside_crop): no straight seam, box or colour step at a crop's edge.
MIN_ZOOM = 0.5
REACH_SHIFT = 0.25  # the window's centre sits this many crop sides below the face's crop centre
FRAME_MARGIN = 10  # crop pixels kept between the covering and the widened crop's edge
WIDE_FADE = 36  # crop pixels over which a face's crop fades into its wide pass (blend.EDGE_RAMP elsewhere)
STRAP_ZOOM = 2  # straps are traced at this many times the segmenter crop's resolution
STRAP_REACH = 1.4  # in a crop this many times the segmenter crop's width: on a turned face the near ear
# sits at that crop's edge and the loop's run behind the ear or a respirator's band past it lies outside
FLIP_RIM_PX, FLIP_MIN_BEYOND_PX = 2, 12  # segmenter-crop px: what the mirror image adds must reach this far
# (the second) past a rim this wide (the first) around the covering found
EYE_CONTOUR_MESH_POINTS = ((33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246),
                           (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466))
EYE_OUTER_MESH_POINTS = (33, 263)  # face mesh: the right and left eyes' outer corners
EYE_LINE_REACH = 0.5  # "above the eyes" reaches this share of the eyes' distance past each eye
EYE_LINE_RAISE = 0.3  # and starts this share of their distance above their line (about the brows)
EYE_MARGIN = 0.02  # the eyes' contours grow by this share of the face's size, at most 2 px (the lashes): on
# a 38 px face 2 px reached into the mask's top below the eyes and left it as two white dots (wild_dev/0010_0013)
GREY_SPREAD = 4 / 255  # a crop whose visible pixels' channels differ by at most this (95 %) is grey
MIN_COLOUR_FACE_PX = 40  # smaller faces keep the segmenter's covering: too few pixels to tell
MIN_STRAP_FACE_PX = 60  # narrower faces (image pixels) are not searched: their loops are under a pixel (at 80,
# the loops of 7 dev photos' faces of 60-80 px were left, wild_dev/0008_0103, real_masked/158)
MIN_STRAP_MODEL_FACE_PX = 40  # the strap model looks at smaller faces too: it was trained on blurry ones
EYE_CORNER_MESH_POINTS = ((33, 133), (362, 263))  # face mesh: each eye's outer and inner corner
OWN_ZONE = (80, 134, 176, 219)  # face-crop box around the nose tip, mouth and chin: a covering that
# touches it is this face's own (in a crowd, a neighbour's mask may run into the face's crop too)


class Cancelled(Exception):
    """The caller asked to stop; nothing was changed."""


@dataclass
class Options:
    threshold: float = 0.5  # segmenter probability that counts as covering
    grow_px: float = 3.0  # grow (or shrink, negative) the detected covering, in crop pixels (of 256)
    snap_edges: bool = True  # move the found edge onto the covering's colour edge at full resolution
    find_straps: bool = True  # remove ear loops and straps beside a found covering (core/straps.py)
    strap_model: bool = False  # with the strap model too (where contract.json has one), not the tracer only.
    # Off by default: it takes loops the tracer leaves (wild_dev/0003_0017, real_masked/120, 186) but also
    # marked hair, ears and background beside 11 of 82 MaskedFace-Net faces, whose pasted masks have no
    # loops, and scarves and hair on real photos (benchmarks/straps.py --stage strap_model; model card)
    flip_segment: bool = True  # segment the mirrored crop too: where it extends the covering, it counts
    complete_by_colour: bool = True  # the rest of a found covering by its colours (core/covering_colour.py)
    feather_px: float = 3.0  # soft edge outside the mask, in crop pixels
    min_face_px: int = 8  # faces smaller than this are left alone (wild_dev, 256 px web photos: 20 px
    # left 14 % of photos with no face, 12 px 6.0 %, 8 px 4.5 %; a 9 px rider's mask is removed cleanly,
    # and a false 8 px "face" (a poster) gets no covering, so nothing changes there)
    grain: bool = True  # add the photo's grain to the filled region where the face was enlarged
    skin_detail: bool = True  # the skin's own texture spectrum (core/detail.py) instead of white-noise grain
    batch_faces: int = 8  # faces per model call
    threads: int | None = None  # onnxruntime threads per model (None: all cores)


@dataclass
class FaceResult:
    face: Face
    crop_mask: np.ndarray | None = None  # float32 0..1 in the segmenter's crop: what it found
    crop_input: np.ndarray | None = None  # crop-size uint8 RGB: the aligned face
    crop_output: np.ndarray | None = None  # crop-size uint8 RGB: the restored face (composited)
    crop_matrix: np.ndarray | None = None  # image -> the inpainter's crop (face.matrix unless widened)

    @property
    def has_covering(self) -> bool:
        return self.crop_mask is not None and bool(self.crop_mask.any())


@dataclass
class Result:
    image: np.ndarray  # a new array; when no face was found, a read-only view of the input photo itself
    mask: np.ndarray
    faces: list[FaceResult]
    timings: dict[str, float] = field(default_factory=dict)


# Where each phase of run() starts on the progress bar, and the model's share of inpaint(), from the
# time each took on a 12 MP photo with two faces (detect 0.3 s, segment 0.2 s, restore 0.2 s, paste
# back 0.55 s): the bar moves at a steady pace instead of sitting at 100 % during the paste-back.
PHASES = {"detect": 0.0, "segment": 0.25, "inpaint": 0.4}
MODEL_SHARE = 0.3


def _noop_progress(_f: float, _m: str) -> None:
    pass


def _never() -> bool:
    return False


class Engine:
    """Holds the detector and the ONNX sessions (loaded once, reused for every photo)."""

    def __init__(self, options: Options | None = None, finder: FaceFinder | None = None,
                 models_dir: str | None = None):
        self.options = options or Options()
        self._finder = finder
        self._models_dir = models_dir
        self._segmenter: OnnxModel | None = None
        self._inpainter: OnnxModel | None = None
        self._reference_inpainter: OnnxModel | None = None
        self._strap_model: OnnxModel | None = None
        self._lane_of: Engine | None = None
        # Read once: the crop's template and framing are looked up for every face (it was re-read and
        # parsed from disk each time).
        self._contract = contract(models_dir)
        self.crop_size = int(self._contract["crop_size"])

    # Lazy: the CLI's --help and the editor's start-up should not pay for model loading.
    @property
    def finder(self) -> FaceFinder:
        if self._finder is None:
            self._finder = shared_finder()
        return self._finder

    @property
    def segmenter(self) -> OnnxModel:
        if self._segmenter is None:
            self._segmenter = OnnxModel("segmenter", self._models_dir, self.options.threads)
        return self._segmenter

    @property
    def inpainter(self) -> OnnxModel:
        if self._inpainter is None:
            self._inpainter = OnnxModel("inpainter", self._models_dir, self.options.threads)
        return self._inpainter

    @property
    def reference_inpainter(self) -> OnnxModel | None:
        """The model for faces that have a reference photo: the inpainter itself when it takes one,
        else the separate ``reference_inpainter`` of contract.json (a 256² two-stage model that is
        softer than the shipped inpainter without a reference, so it only fills faces with one),
        else None (references are then ignored)."""
        if "reference" in self.inpainter.spec["inputs"]:
            return self.inpainter
        if self._lane_of is not None:
            return self._lane_of.reference_inpainter
        if self._reference_inpainter is None and "reference_inpainter" in self._contract:
            self._reference_inpainter = OnnxModel("reference_inpainter", self._models_dir, self.options.threads)
        return self._reference_inpainter

    @property
    def strap_model(self) -> OnnxModel | None:
        """The strap model (training/train_straps.py), or None where contract.json has none (then only
        the tracer finds straps)."""
        if self._lane_of is not None:
            return self._lane_of.strap_model
        if self._strap_model is None and "straps" in self._contract:
            model = OnnxModel("straps", self._models_dir, self.options.threads)
            if model.spec["framing"]["reach"] != STRAP_REACH:
                raise ModelError(f"{model.path.name} was trained on another strap crop "
                                 f"(reach {model.spec['framing']['reach']}, the app's is {STRAP_REACH})")
            self._strap_model = model
        return self._strap_model

    @property
    def takes_references(self) -> bool:
        """Whether a reference photo changes a face's fill."""
        return self.reference_inpainter is not None

    def lane(self) -> "Engine":
        """An engine for a second batch lane: its own face finder (which shares the process's MediaPipe
        graphs under their lock, see faces._Graphs) and the same ONNX sessions (thread-safe)."""
        twin = Engine(self.options, FaceFinder(), self._models_dir)
        twin._segmenter, twin._inpainter = self.segmenter, self.inpainter
        twin._lane_of = self  # the reference model too, loaded by whichever lane first needs it
        return twin

    def warm_up(self) -> None:
        """Load the detector and both models now (about a second) instead of on the first photo."""
        _ = self.finder, self.segmenter, self.inpainter
        if self.options.strap_model:
            _ = self.strap_model

    # ------------------------------------------------------------------------------------ stages
    def detect(self, rgb: np.ndarray) -> list[Face]:
        faces = self.finder.find(rgb)
        return [f for f in faces if f.size >= self.options.min_face_px]

    def face_in_box(self, rgb: np.ndarray, box) -> Face:
        return self.finder.face_in_box(rgb, box)

    def crops(self, rgb: np.ndarray, faces: list[Face]) -> list[np.ndarray]:
        return [blend.to_crop(rgb, f.matrix, self.crop_size) for f in faces]

    def _tight_to_loose(self) -> np.ndarray:
        """3x3: inpainter-crop pixels -> segmenter-crop pixels. The segmenter looks at a looser
        framing so that a mask hanging below the chin is seen whole (``framing`` in contract.json)."""
        fr = self._contract["segmenter"].get("framing", {"zoom": 1.0, "shift": 0.0})
        S, z = self.crop_size, fr["zoom"]
        cx, cy = S / 2, S / 2 + fr["shift"] * S
        return np.array([[z, 0, S / 2 - z * cx], [0, z, S / 2 - z * cy], [0, 0, 1]])

    def segment_matrix(self, face: Face) -> np.ndarray:
        """Image -> segmenter crop (2x3)."""
        return (self._tight_to_loose() @ np.vstack([face.matrix, [0, 0, 1]]))[:2]

    def _in_segment_crop(self, x: float, y: float) -> tuple[float, float]:
        """A point of the face crop's template, in segmenter-crop pixels."""
        lx, ly, _ = self._tight_to_loose() @ np.array([x, y, 1.0])
        return float(lx), float(ly)

    def _mouth_in_segment_crop(self) -> tuple[float, float]:
        return self._in_segment_crop(*self._contract["template_keypoints"]["mouth"])

    def segment(self, rgb: np.ndarray, faces: list[Face],
                cancel: CancelFn = _never) -> tuple[np.ndarray, list[np.ndarray]]:
        """Full-resolution removal mask (uint8) and each face's mask in its segmenter crop (float)."""
        o, S = self.options, self.crop_size
        matrices = [self.segment_matrix(f) for f in faces]
        crop_masks, network_masks = [], []
        for i in range(0, len(faces), o.batch_faces):
            if cancel():
                raise Cancelled()
            x = np.stack([blend.to_crop(rgb, M, S) for M in matrices[i:i + o.batch_faces]])
            probs, mirrored = self._covering_probability(x)
            for j, prob in enumerate(probs):
                face, M = faces[i + j], matrices[i + j]
                m = maskops.keep_touching(maskops.clean(prob, o.threshold), self._mouth_in_segment_crop(), S * 0.12)
                m = self._not_on_the_eyes(m, face, M)
                own = maskops.grow(m, int(round(o.grow_px)))
                network_masks.append(own)
                zone = self._lower_face_zone(face, M, m) if m.any() else None
                found = m
                if mirrored is not None and zone is not None:
                    extended = self._extended_by_mirror(m, prob, mirrored[j], zone)
                    if (extended != m).any():  # the zone is built around the covering: build it again
                        m, zone = extended, self._lower_face_zone(face, M, extended)
                if o.complete_by_colour and zone is not None:
                    # Up to the found top's upper hull (a dip the segmenter left in it, real_masked/152,
                    # 019), or only to the found top where that would take so much it is refused as a
                    # leak (046, whose missed side panel the narrower zone still completes).
                    wide = self._lower_face_zone(face, M, m, hull=True)
                    m = covering_colour.complete_by_colour(x[j], m > 0.5, wide, fallback=zone).astype(m.dtype)
                crop_masks.append(own if np.array_equal(m, found) else maskops.grow(m, int(round(o.grow_px))))
        full = np.zeros(rgb.shape[:2], np.uint8)
        for face, M, m, own in zip(faces, matrices, crop_masks, network_masks):
            self.add_mask_to_image(full, m, M)
            if o.find_straps and own.any():  # traced from the network's own edge, as they were tuned:
                self._add_straps(full, rgb, face, M, own)  # a corner the mirror adds can hide a loop's root
            if o.snap_edges and m.any():  # the 128² view leaves rims of fabric at full resolution
                x0, y0, x1, y1 = blend.crop_roi(M, S, full.shape)
                before = full[y0:y1, x0:x1]
                snapped = mask_refine.snap_to_covering(rgb[y0:y1, x0:x1], before,
                                                       mask_refine.band_for_face(blend.crop_scale(M)))
                # Not up into the eyes: above a mask's top edge the lower lids and lashes are the
                # nearest colour edge (real_masked/173: the edge rose 12 px and the eyes were repainted).
                # The edge is the found top's upper hull: its dips are fabric the segmenter left (a
                # mask's top rim, 047, 064, 106; a respirator's middle under sunglasses, 152).
                ex0, ex1 = self._eye_corners_x(face) - x0
                full[y0:y1, x0:x1] = np.where(covering_colour.below_covering_top(before > 127, ex0, ex1, hull=True),
                                              snapped, before)
            if m.any() and len(face.landmarks) == 468:  # growing and snapping may have reached the eyes
                self._clear_the_eyes(full, face, M)  # (not by a face without a mesh: its eyes are a guess,
                # and the cut would take another face's covering: a false "face" on a mask's print, 088)
        return full, crop_masks

    def _eye_corners_x(self, face: Face) -> np.ndarray:
        """The image columns of the face's outer eye corners (mesh, or the template's by its keypoints)."""
        if len(face.landmarks) == 468:
            return face.landmarks[list(EYE_OUTER_MESH_POINTS), 0]
        t = self._contract["template"]
        corners = [t["points"][t["mesh_indices"].index(i)] for i in EYE_OUTER_MESH_POINTS]
        return from_template(face, corners)[:, 0]

    def _on_the_eyes(self, face: Face, matrix: np.ndarray):
        """A test ``(ys, xs) -> bool`` for where a covering we remove never reaches, in the pixels of
        ``matrix``'s target: above the eyes (their line raised by EYE_LINE_RAISE of their distance, from
        half their distance before the one eye to as far past the other) and the eyes themselves (mesh
        contours, grown by 2 px, less on faces under 100 px); and the lowest row it can be true on.
        What is taken there is repainted as a new, wrong pair of eyes: a sport mask on a face cut by
        the frame's top (real_masked/069) was taken with the whole upper face, and snapping a mask's
        top edge climbed over the lower lids (173)."""
        contours = []
        if len(face.landmarks) == 468:
            pts = face.landmarks @ matrix[:, :2].T + matrix[:, 2]
            right, left = (pts[list(pair)].mean(0) for pair in EYE_CORNER_MESH_POINTS)
            contours = [pts[list(c)] for c in EYE_CONTOUR_MESH_POINTS]
        else:
            kp = self._contract["template_keypoints"]
            right, left = from_template(face, [kp["right_eye"], kp["left_eye"]], matrix)
        d = left - right
        if contours:
            (bx0, by0) = np.floor(np.min(contours, axis=(0, 1))) - 3  # the eyes' box, with room to grow
            (bx1, by1) = np.ceil(np.max(contours, axis=(0, 1))) + 3
            eyes = np.zeros((int(by1 - by0) + 1, int(bx1 - bx0) + 1), np.uint8)
            for c in contours:
                cv2.fillPoly(eyes, [np.round(c - (bx0, by0)).astype(np.int32)], 1)
            margin = min(2, int(face.size * blend.crop_scale(matrix) * EYE_MARGIN))
            eyes = maskops.grow(eyes, margin) > 0  # a margin of 0 leaves them as they are

        def test(ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
            ys, xs = ys.astype(np.float64), xs.astype(np.float64)
            # above the eyes' line, raised by EYE_LINE_RAISE of their distance (a mask worn high reaches
            # the eyes' level on the nose's bridge between them: real_masked/067's nose clip)
            above = (d[0] * (ys - right[1]) - d[1] * (xs - right[0])) < -EYE_LINE_RAISE * float(d @ d)
            along = ((xs - right[0]) * d[0] + (ys - right[1]) * d[1]) / max(float(d @ d), 1e-6)
            out = above & (along > -EYE_LINE_REACH) & (along < 1 + EYE_LINE_REACH)
            if contours:
                iy, ix = (ys - by0).astype(np.int64), (xs - bx0).astype(np.int64)
                inside = (iy >= 0) & (iy < eyes.shape[0]) & (ix >= 0) & (ix < eyes.shape[1])
                out[inside] |= eyes[iy[inside], ix[inside]]
            return out

        lowest = max(right[1], left[1]) + (1 + 2 * EYE_LINE_REACH) * abs(float(d[1])) + 1
        if contours:
            lowest = max(lowest, float(by1))
        return test, lowest

    def _not_on_the_eyes(self, m: np.ndarray, face: Face, matrix: np.ndarray) -> np.ndarray:
        """The segmenter's covering (float, its crop; ``matrix``: image -> that crop) less the eyes'
        region (``_on_the_eyes``)."""
        test, _ = self._on_the_eyes(face, matrix)
        ys, xs = np.nonzero(m > 0)
        hit = test(ys, xs)
        out = m.copy()
        out[ys[hit], xs[hit]] = 0
        return out

    def _clear_the_eyes(self, full: np.ndarray, face: Face, matrix: np.ndarray) -> None:
        """``full`` (uint8, the photo) less the eyes' region of ``face``, within its segmenter crop's
        box (``matrix``: image -> that crop). Only the mask's pixels are tested: a 12 MP face's box
        holds millions of pixels."""
        x0, y0, x1, y1 = blend.crop_roi(matrix, self.crop_size, full.shape)
        test, lowest = self._on_the_eyes(face, np.array([[1.0, 0, 0], [0, 1.0, 0]]))
        y1 = min(y1, int(np.ceil(lowest)) + 1)
        if x1 <= x0 or y1 <= y0:
            return
        ys, xs = np.nonzero(full[y0:y1, x0:x1])
        ys, xs = ys + y0, xs + x0
        hit = test(ys, xs)
        full[ys[hit], xs[hit]] = 0

    def _covering_probability(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The segmenter's probability maps for a batch of crops (N x S x S), and with ``flip_segment``
        those of the crops' mirror images, mirrored back (else None)."""
        x = crops.astype(np.float32).transpose(0, 3, 1, 2) / 255
        if not self.options.flip_segment:
            return self.segmenter(image=x)[:, 0], None
        p = self.segmenter(image=np.concatenate([x, x[..., ::-1]]))[:, 0]
        n = len(crops)
        return p[:n], p[n:, :, ::-1]

    def _extended_by_mirror(self, found: np.ndarray, prob: np.ndarray, mirrored: np.ndarray,
                            zone: np.ndarray | None) -> np.ndarray:
        """``found`` (the covering in a segmenter crop, float 0/1) plus what the segmenter found on the
        crop's mirror image (``mirrored``: its probabilities, mirrored back) that extends it well past
        its edge inside the lower face (``zone``; nothing without one). The network stops short on
        one side of a turned face (a mask's far side, its lower part on a profile) and finds it on
        the mirror image. Only extensions count, so a bare face stays bare and a covering's edge does
        not creep (MaskedFace-Net: the larger of the two maps everywhere added 138 px a face at the
        edges, 83 % of them off the labelled mask); only the lower face and not above the covering's
        top, as the mirror image also calls bits of cheek beside the eyes covering (real_masked/002)."""
        if zone is None:
            return found
        both = (maskops.clean(np.maximum(prob, mirrored), self.options.threshold) > 0.5) & (zone | (found > 0.5))
        both[:int(np.argmax((found > 0.5).any(1)))] = False  # nor above its top: the eyes are there
        joined = maskops.joined_to(both, found > 0.5)
        more = maskops.pieces_beyond_rim(found > 0.5, joined, FLIP_RIM_PX, FLIP_MIN_BEYOND_PX)
        return np.maximum(found, more.astype(found.dtype))

    def _lower_face_zone(self, face: Face, matrix: np.ndarray, found: np.ndarray,
                         hull: bool = False) -> np.ndarray | None:
        """Where the covering ``found`` in the segmenter crop (``matrix``: image -> that crop) may be
        extended (core/covering_colour.lower_face_zone); None without a face mesh, or on a face too
        small to tell."""
        if len(face.landmarks) != 468 or face.size < MIN_COLOUR_FACE_PX:
            return None
        mesh = face.landmarks @ matrix[:, :2].T + matrix[:, 2]
        return covering_colour.lower_face_zone(found.shape, mesh, found > 0.5, hull=hull)

    def _add_straps(self, full: np.ndarray, rgb: np.ndarray, face: Face, matrix: np.ndarray,
                    crop_mask: np.ndarray) -> None:
        """Trace the covering's ear loops and straps (core/straps.py) at twice the segmenter crop's
        resolution, add what the strap model marks beside the covering (training/train_straps.py:
        loops round or behind the ear, faint ones, head straps down the neck, which the tracer's
        rules leave) and add both to ``full``."""
        S, k = self.crop_size, STRAP_ZOOM
        pad = int(round(S * k * (STRAP_REACH - 1) / 2))  # strap-crop pixels added on every side
        loose = self._tight_to_loose()
        width = loose[0, 0] * abs(EAR_TEMPLATE_POINTS[1][0] - EAR_TEMPLATE_POINTS[0][0])  # segmenter crop px
        face_px = width / blend.crop_scale(matrix)
        use_model = self.options.strap_model and self.strap_model is not None
        if face_px < (MIN_STRAP_MODEL_FACE_PX if use_model else MIN_STRAP_FACE_PX):
            return
        M = matrix * k
        M[:, 2] += pad
        crop = blend.to_crop(rgb, M, S * k + 2 * pad)
        covering = np.pad(cv2.resize(crop_mask.astype(np.float32), (S * k, S * k),
                                     interpolation=cv2.INTER_LINEAR) > 0.5, pad)
        if len(face.landmarks) == 468:  # the mesh's points at the sides of the face, ear height; the eyes
            in_crop = lambda i: M[:, :2] @ face.landmarks[i] + M[:, 2]  # noqa: E731
            ears = sorted(tuple(in_crop(i)) for i in EAR_MESH_POINTS)
            eyes = [tuple((in_crop(a) + in_crop(b)) / 2) for a, b in EYE_CORNER_MESH_POINTS]
        else:  # the template's, placed by the face's alignment
            kp = self._contract["template_keypoints"]
            ears = [tuple(p) for p in from_template(face, EAR_TEMPLATE_POINTS, M)]
            eyes = [tuple(p) for p in from_template(face, [kp["right_eye"], kp["left_eye"]], M)]
        found = straps.find_straps(crop, covering, ears, eyes, k * width) if face_px >= MIN_STRAP_FACE_PX \
            else np.zeros(covering.shape, bool)
        if use_model:  # what the tracer found links the model's pieces to the covering too (a loop's
            # far end by the ear, beyond a gap where the model's probability dips)
            found |= straps.from_probability(self._strap_probability(crop, covering), covering | found, eyes,
                                             k * width)
        if found.any():
            self.add_mask_to_image(full, found.astype(np.float32), M, S * k + 2 * pad)

    def _strap_probability(self, crop: np.ndarray, covering: np.ndarray) -> np.ndarray:
        """The strap model's probability over the strap crop (``crop``, RGB uint8, and the covering in
        it): it sees the crop at the contract's ``canvas``² (half the tracing resolution), padded to
        its input size by repeating the last row and column, as it was trained."""
        spec = self.strap_model.spec
        n, size = spec["framing"]["canvas"], spec["inputs"]["image"]["shape"][-1]
        side = crop.shape[0]
        rgb = cv2.resize(crop, (n, n), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
        cov = cv2.resize(covering.astype(np.float32), (n, n), interpolation=cv2.INTER_AREA) > 0.5
        pad = ((0, size - n), (0, size - n))
        rgb = np.pad(rgb, pad + ((0, 0),), mode="edge").transpose(2, 0, 1)[None]
        cov = np.pad(cov.astype(np.float32), pad, mode="edge")[None, None]
        prob = self.strap_model(image=rgb, covering=cov)[0, 0, :n, :n]
        return cv2.resize(prob, (side, side), interpolation=cv2.INTER_LINEAR)

    def add_mask_to_image(self, full: np.ndarray, crop_mask: np.ndarray, matrix: np.ndarray,
                          size: int | None = None) -> None:
        """Render a crop-space mask (crop given by ``matrix``, ``size``² pixels: the crop size unless
        given) into the full-resolution uint8 ``full``, keeping the maximum with what is there."""
        x0, y0, x1, y1 = blend.crop_roi(matrix, size or self.crop_size, full.shape)
        if x1 <= x0 or y1 <= y0:
            return
        inv = cv2.invertAffineTransform(matrix)
        inv[:, 2] -= [x0, y0]
        m = cv2.warpAffine((crop_mask * 255).astype(np.uint8), inv, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT)
        np.maximum(full[y0:y1, x0:x1], m, out=full[y0:y1, x0:x1])

    def inpaint(self, rgb: np.ndarray, faces: list[Face], mask: np.ndarray,
                progress: ProgressFn = _noop_progress, cancel: CancelFn = _never,
                crops: list[np.ndarray] | None = None,
                references: dict[int, Reference] | None = None,
                variants: dict[int, int] | None = None) -> tuple[np.ndarray, list[FaceResult]]:
        """Fill ``mask`` (full-res uint8) on every face and paste the results back. ``references``
        maps a face's index in ``faces`` to another photo of that person (``core.reference``);
        ``variants`` maps a face's index to an alternative fill (``core.variants``; 0: the usual one)."""
        o, S = self.options, self.crop_size
        given = faces
        varied = {i: n for i, n in (variants or {}).items() if vary_face(faces[i], n, S) is not faces[i]}
        if varied:  # those faces are seen (cropped, filled, pasted back) through their varied crop
            faces = [vary_face(f, varied.get(i, 0), S) for i, f in enumerate(faces)]
            references = {i: vary_reference(r, varied.get(i, 0), S) for i, r in (references or {}).items()} or None
            if crops is not None:
                crops = [blend.to_crop(rgb, f.matrix, S) if i in varied else c
                         for i, (f, c) in enumerate(zip(faces, crops))]
        crops = crops if crops is not None else self.crops(rgb, faces)
        holes = [self._hole(mask, f.matrix) for f in faces]
        results = [FaceResult(f, crop_input=c) for f, c in zip(faces, crops)]
        todo = [i for i, h in enumerate(holes) if h.any()]
        self._restore(results, todo, crops, holes, references, progress, cancel, MODEL_SHARE * 0.85)
        # Second pass, for coverings that run past a face's crop.
        wide = {i: self.frame(mask, faces[i]) for i in todo}
        wide = {i: W for i, W in wide.items() if W is not faces[i].matrix}
        wide_out: dict[int, np.ndarray] = {}
        if wide:
            idx = list(wide)
            w_crops, w_holes, w_own = [], [], {}
            for i in idx:
                c, h, w_own[i] = self._around_restored(rgb, mask, faces[i].matrix, wide[i], results[i].crop_output)
                w_crops.append(c)
                w_holes.append(h)
            w_results = [FaceResult(faces[i]) for i in idx]
            self._restore(w_results, [k for k, h in enumerate(w_holes) if h.any()], w_crops, w_holes,
                          None, lambda f, m: None, cancel, 0)
            wide_out = {i: r.crop_output for i, r in zip(idx, w_results) if r.crop_output is not None}
        progress(MODEL_SHARE, f"Restored {len(todo)} faces")
        # Paste back, face by face: each face only changes pixels under its own part of the mask. Mask
        # beyond the crops (and in the band where a crop fades out) is first filled by diffusion from
        # its surroundings, at the face's scale, then the wide crop, then the face's own crop on top,
        # each fading into what is under it.
        out = rgb.copy()
        for i, face in enumerate(faces):
            outer = wide.get(i, face.matrix) if i in wide_out else face.matrix
            blend.fill_outside_crop(out, mask, outer, self.reach_matrix(face), S, o.feather_px,
                                    grain_seed=100 + i if self._needs_grain(face.matrix) else None)
        for n, i in enumerate(todo):
            if cancel():
                raise Cancelled()
            progress(MODEL_SHARE + (1 - MODEL_SHARE) * n / len(todo), f"Pasting back face {n + 1} of {len(todo)}")
            # Over a wide pass the face's crop fades out over WIDE_FADE: both sides of the band are the
            # model's fills of the same region, and a short fade showed where they differ as a
            # straight band (a gaiter running off the photo under the chin, real_masked/160).
            layers = [(wide[i], wide_out[i], w_own[i], None)] if i in wide_out else []
            own_fade = WIDE_FADE if i in wide_out else None
            for M, crop, only, fade in layers + [(faces[i].matrix, results[i].crop_output, None, own_fade)]:
                roi = blend.crop_roi(M, S, mask.shape)
                blend.paste_back(out, crop, M, self._alpha(mask, M, roi, only), roi,
                                 grain_seed=i if self._needs_grain(M) else None,
                                 skin_detail=self.options.skin_detail, ramp=fade)
            results[i].crop_matrix = wide.get(i) if i in wide_out else (faces[i].matrix if i in varied else None)
        for r, f in zip(results, given):
            r.face = f  # the caller's face, not its varied view
        return out, results

    def _hole(self, mask: np.ndarray, matrix: np.ndarray) -> np.ndarray:
        # Beyond the photo's edge the crop mirrors the photo in (to_crop), so it mirrors the mask
        # too: a covering reflected there would otherwise be context the model copies from.
        m = blend.to_crop(mask, matrix, self.crop_size, border=cv2.BORDER_REFLECT101)
        # The model must not see remnants of the covering at the hole's edge: round up.
        return maskops.grow((m > 64).astype(np.float32), 1)

    def _restore(self, results, todo, crops, holes, references, progress, cancel, share) -> None:
        """Run the inpainter on crops ``todo`` in batches; composited crops into ``results``. Faces with a
        reference go to ``reference_inpainter`` (a separate call when that is another model)."""
        o, S = self.options, self.crop_size
        for i0 in range(0, len(todo), o.batch_faces):
            if cancel():
                raise Cancelled()
            batch = todo[i0:i0 + o.batch_faces]
            with_ref = [i for i in batch if (references or {}).get(i) is not None]
            model_ref = self.reference_inpainter if with_ref else None
            groups = [(self.inpainter, batch)] if model_ref is None or model_ref is self.inpainter else \
                [(self.inpainter, [i for i in batch if i not in with_ref]), (model_ref, with_ref)]
            for model, idx in groups:
                if not idx:
                    continue
                x = np.stack([crops[i] for i in idx]).astype(np.float32).transpose(0, 3, 1, 2) / 255
                m = np.stack([holes[i] for i in idx])[:, None]
                feed = {"image": x * (1 - m), "mask": m}
                if "reference" in model.spec["inputs"]:  # models before the reference stage lack it
                    feed["reference"], feed["reference_mask"] = reference_inputs(
                        [(references or {}).get(i) for i in idx], S)
                comp = x * (1 - m) + _grey_where_photo_is(model(**feed), x, m) * m
                for k, i in enumerate(idx):
                    results[i].crop_output = np.clip(np.round(comp[k].transpose(1, 2, 0) * 255), 0,
                                                     255).astype(np.uint8)
            if share:
                done = i0 + len(batch)
                progress(share * done / max(1, len(todo)), f"Restored {done} of {len(todo)} faces")

    def _around_restored(self, rgb, mask, tight, wide, restored) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The wide crop with the face's restored crop already in it; its hole: the face's own covering
        outside the face crop's fully weighted core (its WIDE_FADE band included, so that the two fills
        overlap where one fades into the other); and the face's own covering in the wide crop (what
        the wide crop may paste over)."""
        S = self.crop_size
        crop = blend.to_crop(rgb, wide, S)
        T = (np.vstack([wide, [0, 0, 1]]) @ np.vstack([cv2.invertAffineTransform(tight), [0, 0, 1]]))[:2]
        core = cv2.warpAffine(blend.edge_ramp(S, WIDE_FADE), T, (S, S), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT) > 0.999
        own = _touching(self._hole(mask, wide) > 0, _box_in(T, OWN_ZONE))
        face = cv2.warpAffine(restored, T, (S, S), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        crop[core & own] = face[core & own]
        return crop, (own & ~core).astype(np.float32), own.astype(np.float32)

    def reach_matrix(self, face: Face) -> np.ndarray:
        """Image -> the widest window the face's crop may grow to (2x3): a covering found there, touching
        the face, is restored with the face."""
        S, z = self.crop_size, MIN_ZOOM
        cx, cy = S / 2, S / 2 + REACH_SHIFT * S
        T = np.array([[z, 0, S / 2 - z * cx], [0, z, S / 2 - z * cy], [0, 0, 1]])
        return (T @ np.vstack([face.matrix, [0, 0, 1]]))[:2]

    def frame(self, mask: np.ndarray, face: Face) -> np.ndarray:
        """The inpainter's crop for ``face`` (2x3 image -> crop): the face's aligned crop, or, when the
        covering on it runs past that crop, a wider crop (same centre line, smaller scale) that takes
        the whole covering in, within the reach window. Returns ``face.matrix`` itself when unchanged."""
        S = self.crop_size
        R = self.reach_matrix(face)
        m = blend.to_crop(mask, R, S, interp=cv2.INTER_NEAREST, border=cv2.BORDER_CONSTANT) > 127
        if not m.any():
            return face.matrix
        # Reach-window pixel -> face-crop pixel: the inverse of the window's zoom about its centre.
        z, cy = MIN_ZOOM, S / 2 + REACH_SHIFT * S
        to_face = lambda x, y: ((x - S / 2) / z + S / 2, (y - S / 2) / z + cy)  # noqa: E731
        # Only the face's own covering counts (not a neighbour's mask running into its crop).
        T = np.array([[z, 0, S / 2 - z * S / 2], [0, z, S / 2 - z * cy]])  # face crop -> window
        own = _touching(m, _box_in(T, OWN_ZONE))
        if not own.any():
            return face.matrix
        x, y, w, h = cv2.boundingRect(own.astype(np.uint8))
        (mx0, my0), (mx1, my1) = to_face(x, y), to_face(x + w, y + h)
        if mx0 >= FRAME_MARGIN and my0 >= FRAME_MARGIN and mx1 <= S - FRAME_MARGIN and my1 <= S - FRAME_MARGIN:
            return face.matrix  # the covering fits the face's crop (the usual case)
        # Zoom out about the mouth: the model draws a mouth where its template puts one, so the wide
        # crop keeps the (already restored) mouth there and sees the rest of the covering as chin,
        # neck and cheeks. The scale is the largest that takes the covering in, within MIN_ZOOM.
        px, py = self._contract["template_keypoints"]["mouth"]
        m = FRAME_MARGIN
        limits = [px / max(1e-6, px - mx0 + m), (S - px) / max(1e-6, mx1 + m - px),
                  py / max(1e-6, py - my0 + m), (S - py) / max(1e-6, my1 + m - py)]
        k = float(np.clip(min(limits), MIN_ZOOM, 1.0))
        T = np.array([[k, 0, px - k * px], [0, k, py - k * py], [0, 0, 1]])
        return (T @ np.vstack([face.matrix, [0, 0, 1]]))[:2]

    def _needs_grain(self, matrix: np.ndarray) -> bool:
        """Texture only where a 256² result (``matrix``: image -> that crop) is enlarged noticeably (a
        face much larger than the crop, or the wide pass zoomed out around a tall covering): there the
        fill is smoother than the photo. At about the crop's size the model's own
        texture matches, and the skin ring around a small face is mostly hair, hands and background,
        whose texture does not belong on a face (it came out as heavy speckle)."""
        return self.options.grain and blend.crop_scale(matrix) < GRAIN_BELOW_SCALE

    def _alpha(self, mask: np.ndarray, matrix: np.ndarray, roi, only: np.ndarray | None = None) -> np.ndarray:
        """Blend weight over a crop's region: the mask (where crop-space ``only`` allows, if given),
        feathered outwards by a crop-relative width."""
        scale = blend.crop_scale(matrix)
        x0, y0, x1, y1 = roi
        sub = mask[y0:y1, x0:x1].astype(np.float32) / 255
        if only is not None:
            inv = cv2.invertAffineTransform(matrix)
            inv[:, 2] -= [x0, y0]
            sub *= cv2.warpAffine(only, inv, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        return maskops.feather_outward(sub, self.options.feather_px / max(scale, 1e-6))

    # -------------------------------------------------------------------------------- all at once
    def run(self, rgb: np.ndarray, mask: np.ndarray | None = None, faces: list[Face] | None = None,
            progress: ProgressFn = _noop_progress, cancel: CancelFn = _never,
            references: dict[int, Reference] | None = None, variants: dict[int, int] | None = None) -> Result:
        """``references``: face index (in ``faces``, or in what ``detect`` returns for this photo) ->
        another photo of that person; faces without one are filled as before. ``variants``: face index
        -> alternative fill (see ``inpaint``)."""
        t = {}
        t0 = time.perf_counter()
        progress(0.0, "Finding faces")
        if faces is None:
            faces = self.detect(rgb)
        t["detect"] = time.perf_counter() - t0
        if cancel():
            raise Cancelled()
        if not faces:  # nothing to change: the photo itself, not a copy (+3 B/px, the peak of a 169 MP photo)
            return Result(_read_only(rgb), np.zeros(rgb.shape[:2], np.uint8) if mask is None else mask, [], t)
        crops = self.crops(rgb, faces)
        crop_masks = [None] * len(faces)
        if mask is None:
            progress(PHASES["segment"], f"Finding masks on {len(faces)} face(s)")
            t1 = time.perf_counter()
            mask, crop_masks = self.segment(rgb, faces, cancel)
            t["segment"] = time.perf_counter() - t1
        progress(PHASES["inpaint"], "Restoring faces")
        t2 = time.perf_counter()
        start = PHASES["inpaint"]
        out, results = self.inpaint(rgb, faces, mask, lambda f, m: progress(start + (1 - start) * f, m), cancel, crops,
                                    references, **({"variants": variants} if variants else {}))
        t["inpaint"] = time.perf_counter() - t2
        for r, cm in zip(results, crop_masks):
            r.crop_mask = cm
        t["total"] = time.perf_counter() - t0
        progress(1.0, "Done")
        return Result(out, mask, results, t)


def _grey_where_photo_is(pred: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """The model's fills (N x 3 x S x S, 0..1), made grey for crops whose visible pixels (``x`` where
    the hole ``m`` is 0) are grey: a black-and-white photo. The model only knows colour faces and
    painted pink lips and orange skin on them (real_masked/062, 121; 7 of 399 dev photos are grey)."""
    out = pred.copy()
    for k in range(len(pred)):
        seen = x[k][:, m[k, 0] < 0.5]
        if seen.size and np.percentile(seen.max(0) - seen.min(0), 95) <= GREY_SPREAD:
            out[k] = pred[k].mean(0, keepdims=True)
    return out


def _read_only(a: np.ndarray) -> np.ndarray:
    """A view of ``a`` that cannot be written through: a Result that shares the caller's photo must never
    change it (no caller writes into Result.image; this makes one that tried fail loudly)."""
    view = a.view()
    view.flags.writeable = False
    return view


def _box_in(T: np.ndarray, box) -> tuple[int, int, int, int]:
    """``box`` (x0, y0, x1, y1) mapped by the scale-and-shift 2x3 ``T``, as integer pixel bounds."""
    (x0, y0), (x1, y1) = T[:, :2] @ np.array(box[:2], float) + T[:, 2], T[:, :2] @ np.array(box[2:], float) + T[:, 2]
    return int(np.floor(min(x0, x1))), int(np.floor(min(y0, y1))), int(np.ceil(max(x0, x1))), int(np.ceil(max(y0, y1)))


def _touching(binary: np.ndarray, box) -> np.ndarray:
    """The connected parts of ``binary`` (bool) that reach into ``box`` (clipped to the array)."""
    n, lab = cv2.connectedComponents(binary.astype(np.uint8), connectivity=8)
    h, w = binary.shape
    x0, y0, x1, y1 = max(0, box[0]), max(0, box[1]), min(w, box[2]), min(h, box[3])
    ids = np.unique(lab[y0:y1, x0:x1]) if x1 > x0 and y1 > y0 else np.zeros(0, int)
    ids = ids[ids > 0]
    return np.isin(lab, ids) if len(ids) else np.zeros_like(binary, bool)
