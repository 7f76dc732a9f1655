"""Find every face in a photo, including small ones and faces behind masks, and align each to the crop
the models were trained on.

Two detectors, because each alone misses faces (``benchmarks/detection.py``, measured on real photos
of masked people): MediaPipe's BlazeFace models (short- and full-range on the whole photo, the
short-range one also on overlapping tiles) find close-ups and large faces; CenterFace
(``centerface.py``), built for small faces, finds the 15-40 px faces of crowds and wide scenes and
turned heads, run on the photo at two sizes. Boxes are merged by non-maximum suppression. A
CenterFace box that scores below CF_SURE and that BlazeFace did not also find is kept only if the
face mesh finds a face in it (textures and painted mouths get no face). For each face, the
468-point face mesh on a crop around the box gives landmarks (it still works behind a mask, within a
few pixels), and a similarity transform maps them onto the template from ``contract.json``; where the
mesh fails (profiles, faces cut by the frame, tiny faces) the detector's eye, nose and mouth points
align the face instead.
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

import cv2
import numpy as np

from unmask_studio.core.centerface import CenterFace
from unmask_studio.core.onnx_models import contract

DETECT_SIDE = 1024  # longest side of the copy the whole-image detectors see
TILE_SIDE = 640  # tiles for the small-face pass
MESH_SIDE = 256  # face crop size for the face mesh
MESH_CONTEXT = (1.8, 1.35, 2.6)  # crop side / face box side, tried in turn
CF_SIDES = (320, 640)  # CenterFace runs on the photo resized to these longest sides (320: large
# faces, which it misses at higher resolution; 640: faces down to ~15 px in a 1024 px photo)
FRAME_PAD = 0.35  # border added around a photo where no face was found, as a share of its longest side
# A photo where nothing was found may itself be a masked close-up cut at the brow and chin: the face
# mesh is tried on the photo framed as a face whose forehead (and chin) run past the frame. Boxes as
# shares of the photo's width and height (x0, y0, x1, y1), tried in turn; the mesh must confirm one.
CLOSE_UP_BOXES = ((0, 0, 1, 1), (0, -0.3, 1, 1.1), (-0.15, -0.5, 1.15, 1.2), (0.1, -0.2, 0.9, 0.9))
CLOSE_UP_SCORE = 0.5  # the score such a face is given (no detector scored it)
CF_MIN = 0.4  # CenterFace score to consider a box at all
CF_SURE = 0.7  # ... and to keep it without the face mesh or BlazeFace confirming it
LONE_SCORE = 0.6  # a BlazeFace box below this score that CenterFace did not find is "lone"
CONFIRMED_SCORE = 0.75  # a face a detector scored this high counts as confirmed like one with a mesh
HEAD_SIDE_MAX_SIZE = 0.5  # a face without a mesh at most this share of the size of one with a mesh,
HEAD_SIDE_EAR_REACH = 0.4  # its middle within this share of that face's size from the mesh's ear point
EAR_BAND = (0.2, 0.7)  # and within this band of that face's box height (ears measured 0.28-0.62), is an ear
EAR_MESH_POINTS = (234, 454)  # face mesh: the outline at ear height, left and right
TOP_CHIN_MESH_POINTS = (10, 152)  # the outline's top and the chin
EAR_TEMPLATE_POINTS = ((34.08, 104.92), (219.67, 105.58))  # the same points in the crop template
TOP_CHIN_TEMPLATE_POINTS = ((127.5, 15.22), (128.0, 237.5))


class Detection(NamedTuple):
    box: np.ndarray  # x0, y0, x1, y1 in image pixels
    score: float
    keypoints: np.ndarray  # 4x2: right eye, left eye (the subject's), nose tip, mouth centre
    sure: bool  # False: keep only if the face mesh confirms it
    lone: bool = False  # True: BlazeFace alone found it, with a low score (see FaceFinder.find)


@dataclass
class Face:
    """One face: where it is, its landmarks and the image -> aligned-crop transform."""

    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in image pixels
    score: float
    landmarks: np.ndarray  # Kx2 image pixels: mesh points (K=468) or the 6 detector keypoints
    matrix: np.ndarray = field(default_factory=lambda: np.eye(2, 3))  # 2x3 image -> crop
    manual: bool = False  # added by hand in the editor

    @property
    def size(self) -> int:
        return int(max(self.box[2] - self.box[0], self.box[3] - self.box[1]))


@contextlib.contextmanager
def _quiet_native_stderr():
    """Point file descriptor 2 at /dev/null for the duration (native code writes there directly).
    Process-wide, so it is used exactly once, by ``_native_graphs`` at start-up: never per call."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
        null = os.open(os.devnull, os.O_WRONLY)
    except OSError:  # no usable stderr (e.g. a windowed app): nothing to silence
        yield
        return
    os.dup2(null, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


class _Graphs:
    """MediaPipe's graphs, built once per process and shared by every FaceFinder under one lock.

    Each graph MediaPipe builds logs natively to fd 2 (TFLite, absl "feedback manager" warnings), and
    the face mesh logs once more the first time it finds a face; none of it can be switched off from
    Python. Silencing fd 2 per call or per lane raced between threads (issue 14: fd 2 left on
    /dev/null, the batch's last lines lost), so it is done once here, before any lane exists, and
    the graphs are shared: no later call creates a graph, so none logs."""

    def __init__(self, min_score: float):
        os.environ.setdefault("GLOG_minloglevel", "2")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import mediapipe as mp

        fd = mp.solutions.face_detection
        self.lock = threading.Lock()
        with _quiet_native_stderr():
            self.short = fd.FaceDetection(model_selection=0, min_detection_confidence=min_score)
            self.full = fd.FaceDetection(model_selection=1, min_detection_confidence=min_score)
            self.mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1,
                                                        refine_landmarks=False, min_detection_confidence=0.3)
            face = drawn_face()  # every graph logs on its first frame, the mesh on its first face
            for graph in (self.short, self.full, self.mesh):
                graph.process(face)


_GRAPHS: _Graphs | None = None
_GRAPHS_LOCK = threading.Lock()


def _native_graphs(min_score: float = 0.5) -> _Graphs:
    global _GRAPHS
    with _GRAPHS_LOCK:
        if _GRAPHS is None:
            _GRAPHS = _Graphs(min_score)
        return _GRAPHS


def drawn_face(side: int = 192) -> np.ndarray:
    """A plain drawn face (RGB) that MediaPipe's detector and mesh accept: used to warm the graphs up
    at start-up so their first-face log lines are written while fd 2 is silenced."""
    img = np.full((side, side, 3), (200, 200, 205), np.uint8)
    c, s = side // 2, side / 192
    def p(v):
        return int(round(v * s))
    cv2.ellipse(img, (c, p(82)), (p(63), p(69)), 0, 180, 360, (60, 40, 30), -1)  # hair
    cv2.ellipse(img, (c, p(101)), (p(52), p(69)), 0, 0, 360, (205, 160, 135), -1)  # skin
    for sx in (-1, 1):
        ex, ey = c + sx * p(21), p(88)
        cv2.ellipse(img, (ex, ey - p(10)), (p(12), p(3)), 0, 0, 360, (80, 55, 40), -1)  # brow
        cv2.ellipse(img, (ex, ey), (p(10), p(4)), 0, 0, 360, (240, 240, 240), -1)  # eye
        cv2.circle(img, (ex, ey), p(3.5), (60, 40, 30), -1)  # iris
    cv2.line(img, (c, p(96)), (c - p(4), p(115)), (170, 120, 100), 2)  # nose
    cv2.ellipse(img, (c, p(119)), (p(7), p(3)), 0, 0, 360, (160, 110, 95), -1)
    cv2.ellipse(img, (c, p(136)), (p(15), p(5)), 0, 0, 360, (170, 80, 80), -1)  # mouth
    return cv2.GaussianBlur(img, (0, 0), 1.5 * s)


class FaceFinder:
    """Detector + landmarker. MediaPipe's graphs are shared per process and serialised by a lock;
    a FaceFinder itself is cheap."""

    def __init__(self, min_score: float = 0.5, tiles: bool = True, cf_sides: tuple[int, ...] = CF_SIDES):
        g = _native_graphs(min_score)
        self._short, self._full, self._mesh = g.short, g.full, g.mesh
        self.tiles = tiles
        self.cf_sides = cf_sides  # () = BlazeFace alone (the benchmark's baseline)
        self._lock = g.lock
        c = contract()
        self.crop_size = int(c["crop_size"])
        self._tmpl_idx = np.array(c["template"]["mesh_indices"])
        self._tmpl_pts = np.array(c["template"]["points"], np.float64)
        kp = c["template_keypoints"]
        self._kp_tmpl = np.array([kp["right_eye"], kp["left_eye"], kp["nose_tip"], kp["mouth"]], np.float64)

    # ------------------------------------------------------------------------------- detection
    def detect(self, rgb: np.ndarray) -> list[Detection]:
        """Faces in the photo, best first (``sure`` False: to be confirmed by the face mesh)."""
        h, w = rgb.shape[:2]
        found: list[Detection] = []
        # One area-averaged reduction feeds the tiles; the whole-image pass reduces that further.
        # (Resizing each tile from the full photo cost more than the detectors on a 12 MP photo.)
        tiled = self.tiles and max(h, w) > TILE_SIDE * 1.2
        tile_scale = min(1.0, TILE_SIDE / self._tile_side(h, w)) if tiled else 1.0
        base = _shrink(rgb, tile_scale)
        scale = min(1.0, DETECT_SIDE / max(h, w))
        small = _shrink(base, scale / tile_scale)
        with self._lock:
            for det in (self._short, self._full):
                found += self._run(det, small, 0, 0, 1 / scale)
            if tiled:
                found += self._tiled(base, 1 / tile_scale)
        blaze = [d.box for d in found]
        cf: list[Detection] = []
        for side in self.cf_sides:
            cf += self._centerface(small if side <= max(small.shape[:2]) else rgb, side, max(h, w), blaze)
        found = [d._replace(lone=d.score < LONE_SCORE and not any(iou(d.box, c.box) > 0.3 for c in cf))
                 for d in nms(found + cf)]
        if not any(d.sure for d in found):
            # Nothing sure: maybe a face that overflows the frame. What the grey-bordered look finds is
            # added; where both detectors agree there on a box the first look had as weak, it is sure.
            for d in self._framed_out(small, 1 / scale):
                same = [k for k, f in enumerate(found) if iou(f.box, d.box) > 0.3]
                if not same:
                    found.append(d)
                elif d.sure:  # keep the first look's box (the mesh was tried on it), now confirmed
                    found[same[0]] = found[same[0]]._replace(sure=True)
        return found

    def _framed_out(self, small: np.ndarray, to_image: float) -> list[Detection]:
        """Faces that fill or overflow the frame (a masked close-up cut at the brow and chin): the
        detectors expect a face with some surroundings, so look again with a plain border around the
        photo. Only run when nothing sure was found, so ordinary photos pay nothing."""
        h, w = small.shape[:2]
        pad = int(round(max(h, w) * FRAME_PAD))
        grey = [int(v) for v in small.reshape(-1, small.shape[-1]).mean(0)]
        framed = cv2.copyMakeBorder(small, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=grey)
        found: list[Detection] = []
        with self._lock:
            for det in (self._short, self._full):
                found += self._run(det, framed, 0, 0, 1.0)
        blaze = [d.box for d in found]
        agreed = []
        for side in self.cf_sides:  # small close-ups are enlarged, as CenterFace wants faces of 20+ px
            cf = self._centerface(framed, side, max(framed.shape[:2]), [])
            agreed += [d._replace(sure=any(iou(d.box, b) > 0.3 for b in blaze)) for d in cf]
        shift = np.array([pad, pad, pad, pad], np.float64)
        # A flat border makes fabric prints look like faces to BlazeFace alone (and a strong CenterFace
        # score alone is not enough here either), so a box is sure only where both detectors agree;
        # the face mesh must confirm every other box found this way.
        unsure = [d._replace(sure=False) for d in found]
        return nms([Detection((d.box - shift) * to_image, d.score, (d.keypoints - pad) * to_image, d.sure)
                    for d in agreed + unsure])

    def _centerface(self, rgb: np.ndarray, side: int, image_side: int, blaze: list) -> list[Detection]:
        """CenterFace on ``rgb`` resized to ``side`` (its longest side); boxes in photo pixels."""
        s = side / max(rgb.shape[:2])
        img = _shrink(rgb, s) if s < 1 else cv2.resize(rgb, None, fx=s, fy=s, interpolation=cv2.INTER_LINEAR)
        boxes, scores, pts = centerface()(img, CF_MIN)
        to_image = image_side / max(img.shape[:2])
        out = []
        for box, score, p in zip(boxes * to_image, scores, pts * to_image):
            kps = np.array([p[0], p[1], p[2], (p[3] + p[4]) / 2])
            sure = score >= CF_SURE or any(iou(box, b) > 0.3 for b in blaze)
            out.append(Detection(box, float(score), kps, bool(sure)))
        return out

    @staticmethod
    def _tile_side(h: int, w: int) -> int:
        return min(max(h, w), max(TILE_SIDE, max(h, w) // 3))

    def _tiled(self, base: np.ndarray, to_image: float):
        """Short-range model on overlapping tiles of the reduced photo, where small faces become
        close-ups. ``to_image`` maps reduced pixels back to the photo's."""
        h, w = base.shape[:2]
        side = min(max(h, w), TILE_SIDE)
        step = int(side * 0.7)
        out = []
        for y in range(0, max(1, h - side + step), step):
            for x in range(0, max(1, w - side + step), step):
                y0, x0 = min(y, max(0, h - side)), min(x, max(0, w - side))
                tile = base[y0:y0 + side, x0:x0 + side]
                out += self._run(self._short, tile, x0 * to_image, y0 * to_image, to_image)
        return out

    @staticmethod
    def _run(det, rgb, ox, oy, scale):
        res = det.process(np.ascontiguousarray(rgb))
        h, w = rgb.shape[:2]
        out = []
        for d in res.detections or []:
            bb = d.location_data.relative_bounding_box
            box = np.array([bb.xmin * w, bb.ymin * h, (bb.xmin + bb.width) * w, (bb.ymin + bb.height) * h])
            kps = np.array([(k.x * w, k.y * h) for k in d.location_data.relative_keypoints])
            out.append(Detection(box * scale + [ox, oy, ox, oy], float(d.score[0]), kps[:4] * scale + [ox, oy], True))
        return out

    # ------------------------------------------------------------------------------- landmarks
    def landmarks(self, rgb: np.ndarray, box: np.ndarray) -> np.ndarray | None:
        """468 face-mesh points for the face in ``box``, or None when the mesh does not find it.

        The mesh runs its own detector on the crop, which a dark mask can defeat at one framing and
        not at another, so a second, different framing is tried before giving up. A face that fills
        or overflows the frame is tried once more with flat grey beyond the photo: the edge smeared
        outwards (hair, mask) hides it from the mesh's detector."""
        h, w = rgb.shape[:2]
        x0, y0, x1, y1 = box
        at_edge = min(x0, y0, w - x1, h - y1) < 0.15 * max(x1 - x0, y1 - y0)
        borders = [None]  # None: the photo's edge smeared outwards (BORDER_REPLICATE)
        if at_edge:  # then flat grey: the photo's mean colour, computed once for every framing
            borders.append([float(v) for v in rgb.reshape(-1, rgb.shape[-1]).mean(0)])
        for grey in borders:
            for context in MESH_CONTEXT:
                pts = self._mesh_at(rgb, box, context, grey)
                if pts is not None:
                    return pts
        return None

    def _mesh_at(self, rgb: np.ndarray, box: np.ndarray, context: float,
                 grey: list[float] | None = None) -> np.ndarray | None:
        x0, y0, x1, y1 = box
        cx, cy, side = (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0) * context
        s = MESH_SIDE / side
        M = np.array([[s, 0, MESH_SIDE / 2 - s * cx], [0, s, MESH_SIDE / 2 - s * cy]])
        border = dict(borderMode=cv2.BORDER_REPLICATE) if grey is None else \
            dict(borderMode=cv2.BORDER_CONSTANT, borderValue=grey)
        crop = cv2.warpAffine(rgb, M, (MESH_SIDE, MESH_SIDE), flags=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR,
                              **border)
        with self._lock:
            res = self._mesh.process(crop)
        if not res.multi_face_landmarks:
            return None
        pts = np.array([(p.x * MESH_SIDE, p.y * MESH_SIDE) for p in res.multi_face_landmarks[0].landmark])
        pts = (pts - M[:, 2]) / s
        # The mesh may lock onto a neighbouring face in a crowd: it must agree with the box.
        mc = pts.mean(0)
        if abs(mc[0] - cx) > (x1 - x0) * 0.6 or abs(mc[1] - cy) > (y1 - y0) * 0.6:
            return None
        return pts

    def align(self, landmarks: np.ndarray) -> np.ndarray:
        """Least-squares similarity from image landmarks to the template crop (2x3)."""
        if len(landmarks) == 468:
            src, dst = landmarks[self._tmpl_idx], self._tmpl_pts
        else:  # detector keypoints: right eye, left eye, nose tip, mouth centre (ears are unreliable)
            src, dst = landmarks[:4], self._kp_tmpl
        return similarity(src, dst)

    def find(self, rgb: np.ndarray) -> list[Face]:
        faces, lone = [], []
        for det in self.detect(rgb):
            lm = self.landmarks(rgb, det.box)
            if lm is None and not det.sure:
                continue  # a weak CenterFace box nothing else confirms: a texture, not a face
            faces.append(self.face_from(det.box, det.score, lm if lm is not None else det.keypoints))
            lone.append(det.lone and lm is None)
        # A box only BlazeFace found, at a low score, that the mesh cannot confirm, in a photo with a
        # face the mesh confirmed or a detector was sure of: on the dev photos 10 of 14 such boxes that
        # got a covering were background, a coat or a mask's print beside the real face (a blob filled
        # on the background beside real_masked/013's head, 087's hair, 195's bokeh); the real ones were
        # close-ups, the photo's only face.
        if any(len(f.landmarks) == 468 or f.score >= CONFIRMED_SCORE for f in faces):
            faces = [f for f, drop in zip(faces, lone) if not drop]
        faces = [f for f in faces if not _beside_a_head(f, faces)]
        return faces or self.close_up(rgb)

    def close_up(self, rgb: np.ndarray) -> list[Face]:
        """The photo as one masked close-up cut at the brow and chin (mask_presence: 65 of 1,505 such
        photos had no face found, even with the grey border of ``_framed_out``): the detectors need
        the whole head, but the face mesh, shown the photo with its forehead continuing past the top,
        finds the eyes and the face's outline. [] unless the mesh confirms one framing."""
        h, w = rgb.shape[:2]
        for fx0, fy0, fx1, fy1 in CLOSE_UP_BOXES:
            lm = self.landmarks(rgb, np.array([fx0 * w, fy0 * h, fx1 * w, fy1 * h], np.float64))
            if lm is not None:
                (x0, y0), (x1, y1) = lm.min(0), lm.max(0)
                box = (max(0.0, x0), max(0.0, y0), min(float(w), x1), min(float(h), y1))
                return [self.face_from(box, CLOSE_UP_SCORE, lm)]
        return []

    def face_from(self, box, score, landmarks, manual=False) -> Face:
        return Face(tuple(int(round(v)) for v in box), score, landmarks, self.align(landmarks), manual)

    def face_in_box(self, rgb: np.ndarray, box) -> Face:
        """A face the user boxed by hand: landmarks from the mesh, or the box itself as a last resort."""
        box = np.asarray(box, np.float64)
        lm = self.landmarks(rgb, box)
        if lm is None:
            x0, y0, x1, y1 = box
            w, h = x1 - x0, y1 - y0  # typical keypoint positions inside a BlazeFace box
            lm = np.array([[x0 + .32 * w, y0 + .38 * h], [x0 + .68 * w, y0 + .38 * h],
                           [x0 + .5 * w, y0 + .6 * h], [x0 + .5 * w, y0 + .78 * h]])
        return self.face_from(box, 1.0, lm, manual=True)


def _shrink(rgb: np.ndarray, scale: float) -> np.ndarray:
    """Area-average by exact halvings (fast), then a final linear step (small, so no aliasing)."""
    if scale >= 1.0:
        return rgb
    h, w = rgb.shape[:2]
    out, s = rgb, 1.0
    while s * 0.5 >= scale:
        out = cv2.resize(out, (max(1, out.shape[1] // 2), max(1, out.shape[0] // 2)), interpolation=cv2.INTER_AREA)
        s *= 0.5
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return out if out.shape[1::-1] == size else cv2.resize(out, size, interpolation=cv2.INTER_LINEAR)


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity transform (Umeyama, no reflection) mapping src onto dst, as 2x3."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    ms, md = src.mean(0), dst.mean(0)
    s0, d0 = src - ms, dst - md
    cov = d0.T @ s0 / len(src)
    U, S, Vt = np.linalg.svd(cov)
    D = np.diag([1.0, np.sign(np.linalg.det(U @ Vt))])
    R = U @ D @ Vt
    scale = np.trace(np.diag(S) @ D) / (s0 ** 2).sum(1).mean()
    t = md - scale * R @ ms
    return np.hstack([scale * R, t[:, None]])


def iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def nms(found, thresh: float = 0.3):
    """Keep the best-scoring of overlapping boxes; a box mostly inside a kept one is a duplicate too.
    A kept Detection that a duplicate was sure of becomes sure: two detections agreed on it."""
    keep = []
    for cand in sorted(found, key=lambda f: -f[1]):
        box = cand[0]
        area = max(1e-6, (box[2] - box[0]) * (box[3] - box[1]))
        dup = None
        for j, k in enumerate(keep):
            kb = k[0]
            ix = max(0.0, min(box[2], kb[2]) - max(box[0], kb[0]))
            iy = max(0.0, min(box[3], kb[3]) - max(box[1], kb[1]))
            if iou(box, kb) > thresh or ix * iy / area > 0.6:
                dup = j
                break
        if dup is None:
            keep.append(cand)
        elif isinstance(cand, Detection) and cand.sure and not keep[dup].sure:
            keep[dup] = keep[dup]._replace(sure=True)
    return [k for k in keep if not any(_centre_inside(k[0], o[0]) for o in keep if o is not k)]


def _centre_inside(box, other) -> bool:
    """True when ``box`` is the smaller and its centre lies inside ``other``: a face whose middle is
    covered by another face's box cannot be seen; it is a part of that face taken for a face (the
    goggles over a respirator, real_masked/035: a second face at the first one's eye, 59 % inside it)."""
    area = (box[2] - box[0]) * (box[3] - box[1])
    if area >= (other[2] - other[0]) * (other[3] - other[1]):
        return False
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return bool(other[0] < cx < other[2] and other[1] < cy < other[3])


def from_template(face: Face, points, matrix: np.ndarray | None = None) -> np.ndarray:
    """Points of the face crop's template (N x 2) where they fall on ``face`` (placed by its
    alignment), in the pixels of ``matrix``'s target (2x3 from the photo; None: the photo's own)."""
    back = cv2.invertAffineTransform(face.matrix)
    if matrix is not None:
        back = matrix @ np.vstack([back, [0, 0, 1]])
    return np.asarray(points, np.float64) @ back[:, :2].T + back[:, 2]


def _beside_a_head(face: Face, faces: list[Face]) -> bool:
    """True for a face the mesh did not confirm that sits on the ear of a much larger face: an ear
    with a loop round it, taken for a face by both detectors (real_masked/010: a 107 px "face" on the
    ear of a 351 px one got a covering and a mouth painted on the ear). The larger face's ears are its
    mesh's, or the template's placed by its keypoints where the mesh missed it too (a turned head)."""
    if len(face.landmarks) == 468:
        return False
    c = np.array([(face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2])
    for other in faces:
        if other is face or face.size > HEAD_SIDE_MAX_SIZE * other.size:
            continue
        if len(other.landmarks) == 468:
            lm = other.landmarks
            ears, top_chin = lm[list(EAR_MESH_POINTS)], lm[list(TOP_CHIN_MESH_POINTS)]
        else:  # a turned face the mesh missed too: the template's ears, placed by its keypoints
            ears, top_chin = from_template(other, EAR_TEMPLATE_POINTS), from_template(other, TOP_CHIN_TEMPLATE_POINTS)
        size = max(np.linalg.norm(ears[0] - ears[1]), np.linalg.norm(top_chin[0] - top_chin[1]))
        near_ear = min(np.linalg.norm(e - c) for e in ears) < HEAD_SIDE_EAR_REACH * size
        y0, y1 = other.box[1], other.box[3]
        if near_ear and y0 + EAR_BAND[0] * (y1 - y0) < c[1] < y0 + EAR_BAND[1] * (y1 - y0):
            return True
    return False


@lru_cache(maxsize=1)
def centerface() -> CenterFace:
    """One CenterFace session per process, shared by every lane (onnxruntime sessions are thread-safe)."""
    return CenterFace()


@lru_cache(maxsize=1)
def shared_finder() -> FaceFinder:
    return FaceFinder()
