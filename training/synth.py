"""Masked-Faces synthesiser: put a realistic covering on an unmasked face, with its exact mask.

``synthesize(rgb, landmarks, rng)`` returns (masked_rgb, mask, kind). Coverings are placed from the
468 face-mesh landmarks (``training.landmarks``) so they follow pose, jaw line and nose. Kinds:

- ``surgical``  pleated rectangle-ish mask with nose wire and ear loops (white/blue/green/black/pink)
- ``cloth``     rounded fabric mask, plain colour or a texture from ``mask_templates/textures``
- ``n95``       dome-shaped respirator (KN95/N95 look) with a centre seam and strong shading
- ``scarf``     scarf/bandana from the nose bridge down over chin and neck to the image edge
- ``template``  one of the 21 MaskTheFace RGBA templates warped by a homography from its anchors

The drawn colour layer is shaded, given a soft contact shadow on the skin, slightly blurred, and the
whole image is then noised and JPEG-compressed so the result looks photographed. Occasional imperfect
fits (nose uncovered, mask low under the chin) are part of the distribution.
"""
from __future__ import annotations

import configparser
import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from training.paths import DATA

KINDS = ("surgical", "cloth", "n95", "scarf", "template")
# Kinds only the segmenter's data draws (``SegmentSet``): what real photos showed it missing. Kept out of
# ``KINDS`` so the inpainter's holes (``covering_mask``) stay the distribution it was trained on.
SEG_EXTRA_KINDS = ("gaiter", "sport", "respirator", "chin")
SEG_KINDS = KINDS + SEG_EXTRA_KINDS

# Face-mesh indices. Jaw contour from the image-left cheek down over the chin to the image-right cheek.
JAW = [234, 93, 132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288, 361, 323, 454]
NOSE_BRIDGE = [168, 6, 197, 195, 5, 4, 1]  # top (between the eyes) to the tip
UNDER_NOSE = 2
CHIN = 152
LEFT_CHEEK, RIGHT_CHEEK = 234, 454
MOUTH = (13, 14)

TEMPLATE_DIR = DATA / "mask_templates"


@dataclass
class Frame:
    """Face-aligned frame: origin between the eyes, u along the eye line, v down the face."""

    origin: np.ndarray
    u: np.ndarray
    v: np.ndarray
    scale: float  # eye-to-chin distance in pixels

    @classmethod
    def from_landmarks(cls, lm: np.ndarray) -> "Frame":
        eye_r = lm[[33, 133]].mean(0)
        eye_l = lm[[362, 263]].mean(0)
        u = eye_l - eye_r
        u = u / (np.linalg.norm(u) + 1e-6)
        v = np.array([-u[1], u[0]])
        origin = (eye_r + eye_l) / 2
        scale = float(np.linalg.norm(lm[CHIN] - origin)) + 1e-6
        return cls(origin, u, v, scale)

    def coords(self, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-pixel (u, v) face coordinates in units of ``scale``."""
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        dx, dy = xs - self.origin[0], ys - self.origin[1]
        return ((dx * self.u[0] + dy * self.u[1]) / self.scale,
                (dx * self.v[0] + dy * self.v[1]) / self.scale)


# ----------------------------------------------------------------------------------------- shapes

def _bezier(p0, p1, p2, n=12):
    t = np.linspace(0, 1, n)[:, None]
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t ** 2 * p2


def _fill(poly: np.ndarray, h: int, w: int) -> np.ndarray:
    """Anti-aliased polygon fill at 4x sub-pixel precision -> float mask in [0, 1]."""
    m = np.zeros((h, w), np.uint8)
    cv2.fillPoly(m, [np.round(poly * 16).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=4)
    return m.astype(np.float32) / 255.0


def _mask_polygon(lm: np.ndarray, fr: Frame, rng, kind: str) -> np.ndarray:
    """Outline of a face covering: top edge over the nose, sides and bottom following the jaw."""
    # How high on the nose the top edge sits: 0 = between the eyes .. 1 = nose tip. A small share
    # of masks is worn under the nose (imperfect fit).
    if rng.random() < 0.08 and kind != "scarf":
        nose_top = lm[UNDER_NOSE] + fr.v * fr.scale * rng.uniform(-0.02, 0.06)
    else:
        t = rng.uniform(0.25, 0.6)
        idx = t * (len(NOSE_BRIDGE) - 1)
        i0 = int(idx)
        nose_top = lm[NOSE_BRIDGE[i0]] * (1 - (idx - i0)) + lm[NOSE_BRIDGE[min(i0 + 1, 6)]] * (idx - i0)
    jaw = lm[JAW].astype(np.float64)
    centre = jaw.mean(0)
    # Coverings stand off the face a little and hang below the chin.
    spread = rng.uniform(1.02, 1.10) if kind != "n95" else rng.uniform(1.05, 1.14)
    jaw = centre + (jaw - centre) * spread
    drop = rng.uniform(0.02, 0.12) if rng.random() > 0.1 else rng.uniform(0.12, 0.25)
    w = np.sin(np.linspace(0, np.pi, len(jaw)))[:, None]  # most drop at the chin
    jaw = jaw + w * fr.v * fr.scale * drop
    # The side corners sit at the height where the top edge meets the cheeks.
    lift = rng.uniform(-0.05, 0.08) * fr.scale
    left, right = jaw[0] - fr.v * lift, jaw[-1] - fr.v * lift
    arch = fr.v * fr.scale * rng.uniform(-0.10, 0.02)  # nose wire lifts the edge over the cheekbones
    top_l = _bezier(left, (left + nose_top) / 2 + arch, nose_top)
    top_r = _bezier(nose_top, (right + nose_top) / 2 + arch, right)
    if kind == "n95":  # a dome: pointier at the top, rounder chin
        jaw = jaw + w * fr.v * fr.scale * 0.05
    return np.concatenate([top_l, top_r[1:], jaw[::-1][1:-1]])


PROFILE_POINTS = [1, 2, 98, 327, 61, 291, 0, 17, 152, 164]  # nose tip, nostrils, lips, chin


def _shape_alpha(poly: np.ndarray, lm: np.ndarray, fr: Frame, h: int, w: int) -> np.ndarray:
    """Fill the outline, united with a hull over nose tip, lips and chin pushed slightly outwards: on a
    turned head the jaw contour hides behind the cheek and the covering must reach the profile."""
    pts = lm[PROFILE_POINTS].astype(np.float64)
    c = lm[[1, 152]].mean(0)
    pts = c + (pts - c) * 1.12
    pts = np.concatenate([pts, poly[len(poly) // 4:len(poly) // 4 + 1], poly[3 * len(poly) // 8:3 * len(poly) // 8 + 1]])
    hull = cv2.convexHull(pts.astype(np.float32))[:, 0]
    return np.maximum(_fill(poly, h, w), _fill(hull, h, w))


def _scarf_polygon(lm, fr: Frame, h: int, w: int, rng) -> np.ndarray:
    """A scarf: from the nose down to the image edge, wider than the face, widening downwards."""
    poly = _mask_polygon(lm, fr, rng, "scarf")
    centre = poly.mean(0)
    far = fr.v * max(h, w) * 2.0  # well past the image edge
    half = np.linalg.norm(lm[RIGHT_CHEEK] - lm[LEFT_CHEEK]) / 2 * rng.uniform(1.1, 1.6)
    n_top = len(poly) // 2 + 6
    top = poly[:n_top]
    top = centre + (top - centre) * np.array([1.0, 1.0])
    left_low = top[0] - fr.u * half * 0.2 + far - fr.u * half * rng.uniform(0.3, 1.0)
    right_low = top[-1] + fr.u * half * 0.2 + far + fr.u * half * rng.uniform(0.3, 1.0)
    return np.concatenate([top, [right_low, left_low]])


# ----------------------------------------------------------------------------------------- looks

SURGICAL_COLOURS = [(200, 225, 245), (235, 240, 245), (175, 215, 235), (180, 225, 200),
                    (40, 40, 45), (240, 200, 215), (120, 170, 215)]
CLOTH_COLOURS = [(25, 25, 30), (60, 60, 70), (30, 45, 90), (150, 30, 40), (200, 200, 200),
                 (90, 110, 70), (230, 230, 225), (120, 80, 60), (60, 120, 150)]


@lru_cache(maxsize=None)
def _textures() -> tuple[np.ndarray, ...]:
    files = sorted((TEMPLATE_DIR / "textures").glob("*/*.jpg"))
    return tuple(np.asarray(Image.open(f).convert("RGB"), np.float32) for f in files)


def texture_layer(h, w, rng) -> np.ndarray:
    tex = _textures()[rng.integers(len(_textures()))]
    s = rng.uniform(0.3, 0.9)
    tex = cv2.resize(tex, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    reps = (h // tex.shape[0] + 2, w // tex.shape[1] + 2, 1)
    tiled = np.tile(tex, reps)
    oy, ox = rng.integers(tex.shape[0]), rng.integers(tex.shape[1])
    tiled = tiled[oy:oy + h, ox:ox + w]
    if rng.random() < 0.5:  # a texture in a new colourway
        tiled = tiled[..., rng.permutation(3)]
    return tiled


def _colour_layer(kind, h, w, rng) -> np.ndarray:
    if kind == "surgical":
        c = SURGICAL_COLOURS[rng.integers(len(SURGICAL_COLOURS))]
    elif kind == "n95":
        c = [(235, 235, 230), (245, 245, 245), (40, 40, 45), (225, 215, 200)][rng.integers(4)]
    else:
        if rng.random() < 0.45:
            return texture_layer(h, w, rng)
        c = CLOTH_COLOURS[rng.integers(len(CLOTH_COLOURS))]
    c = np.clip(np.array(c, np.float32) + rng.normal(0, 10, 3), 0, 255)
    layer = np.empty((h, w, 3), np.float32)
    layer[:] = c
    return layer


def _shading(kind, fr: Frame, h, w, mask, rng) -> np.ndarray:
    """Multiplicative light: rounded body, directional light, pleats or folds by kind."""
    uu, vv = fr.coords(h, w)
    inside = mask > 0.5
    cu = float(uu[inside].mean()) if inside.any() else 0.0
    width = float(np.abs(uu[inside] - cu).max()) + 1e-3 if inside.any() else 1.0
    x = (uu - cu) / width  # -1..1 across the covering
    body = 1.0 - 0.25 * x ** 2 if kind != "n95" else 1.0 - 0.45 * x ** 2
    angle = rng.uniform(0, 2 * np.pi)
    light = 1.0 + rng.uniform(0.0, 0.18) * (np.cos(angle) * x + np.sin(angle) * (vv - 0.9) * 2)
    shade = body * light
    if kind == "surgical":  # three pleats, horizontal in face space
        phase = rng.uniform(0, 1)
        period = rng.uniform(0.13, 0.18)
        p = ((vv - 0.55) / period + phase) % 1.0
        shade = shade * (1.0 - 0.13 * np.exp(-((p - 0.85) / 0.06) ** 2)) * (0.97 + 0.06 * p)
    elif kind == "n95":  # centre seam
        shade = shade * (1.0 - 0.15 * np.exp(-(x / 0.03) ** 2))
    elif kind in ("cloth", "scarf"):  # soft folds
        f = rng.uniform(6, 14)
        shade = shade * (1.0 + 0.06 * np.sin(vv * f + x * rng.uniform(-3, 3) + rng.uniform(0, 6)))
    return np.clip(shade, 0.05, 2.0).astype(np.float32)


def _ear_loops(canvas: np.ndarray, label: np.ndarray, poly: np.ndarray, lm: np.ndarray, fr: Frame, colour,
               rng) -> None:
    """A surgical mask's elastic loops, drawn whole (see ``_loop_round_ear``); they belong to the mask:
    the label gets them too, so the segmenter learns to remove them."""
    thick = max(1, int(round(fr.scale * rng.uniform(0.009, 0.016))))
    _draw_loops(canvas, label, poly, lm, fr, colour, rng, thick)


def _lower_corners(poly: np.ndarray, lm: np.ndarray, fr: Frame) -> tuple[np.ndarray, np.ndarray]:
    """The outline's outermost points below the mouth on each side (where a loop's lower strand leaves)."""
    along, down = (poly - fr.origin) @ fr.u, (poly - fr.origin) @ fr.v
    low = down > (lm[MOUTH[0]] - fr.origin) @ fr.v
    if low.sum() < 2:
        low = down >= np.median(down)
    idx = np.flatnonzero(low)
    return poly[idx[int(np.argmin(along[idx]))]], poly[idx[int(np.argmax(along[idx]))]]


def _visible_sides(poly, lm, fr: Frame):
    """Per side of the face where a strap can be seen: (upper corner, lower corner, cheek point, sign
    -1 image-left / 1 image-right, turn = how far that side is turned away). The far side of a turned
    head is left out: its strap runs behind the head, unseen."""
    upper, lower = _corners(poly, fr), _lower_corners(poly, lm, fr)
    yaw = _yaw(lm, fr)
    for k, (cheek, sign) in enumerate(((lm[LEFT_CHEEK], -1), (lm[RIGHT_CHEEK], 1))):
        if sign * yaw <= 0.3:
            yield upper[k], lower[k], cheek, sign, sign * yaw


def _draw_loops(canvas, label, poly, lm, fr: Frame, colour, rng, thick: int) -> None:
    for upper, lower, cheek, sign, turn in _visible_sides(poly, lm, fr):
        _loop_round_ear(canvas, label, upper, lower, cheek, sign, turn, fr, colour, rng, thick)


def _loop_round_ear(canvas, label, upper, lower, cheek, sign, turn, fr: Frame, colour, rng, thick) -> None:
    """One ear loop as real photos show it: from the covering's upper corner over the cheek to the top of
    the ear, round the back of the ear (over hair or background, most visible on the near side of a
    turned head) and down past the lobe back to the covering's lower corner. Earlier data drew only the
    first strand, stopping on the cheek, and the shipped segmenter left the rest on photos
    (real_masked/010, 108, 185, 192)."""
    out = fr.u * sign  # away from the face, in the photo
    root = cheek + out * fr.scale * rng.uniform(0.02, 0.10)  # where the ear joins the head
    ear_top = root - fr.v * fr.scale * rng.uniform(0.0, 0.15)
    lobe = root + fr.v * fr.scale * rng.uniform(0.32, 0.50) + out * fr.scale * rng.uniform(0.0, 0.06)
    behind = (ear_top + lobe) / 2 + out * fr.scale * rng.uniform(0.18, 0.32)  # the ear's back rim
    strands = [_bezier(upper, (upper + ear_top) / 2 - fr.v * fr.scale * rng.uniform(0.0, 0.06), ear_top, 12)]
    if turn < 0.1 and rng.random() < 0.75:  # the part behind the ear: hidden by the head when turned away
        strands.append(_bezier(ear_top, behind - fr.v * fr.scale * 0.1, lobe, 14))
    if rng.random() < 0.85:
        strands.append(_bezier(lobe, (lobe + lower) / 2 + fr.v * fr.scale * rng.uniform(-0.02, 0.05), lower, 12))
    col = tuple(float(c) for c in np.clip(np.asarray(colour, np.float64) * rng.uniform(0.85, 1.08), 0, 255))
    for pts in strands:
        line = [np.round(pts * 16).astype(np.int32)]
        cv2.polylines(canvas, line, False, col, thick, cv2.LINE_AA, shift=4)
        cv2.polylines(label, line, False, 1.0, thick + 1, cv2.LINE_AA, shift=4)


# -------------------------------------------------------------------------------------- templates

@dataclass(frozen=True)
class Template:
    name: str
    rgba: np.ndarray
    anchors: np.ndarray  # 6x2: a..f


@lru_cache(maxsize=None)
def templates() -> tuple[Template, ...]:
    cfg = configparser.ConfigParser()
    cfg.read(TEMPLATE_DIR / "masks.cfg")
    out = []
    for name in cfg.sections():
        if "template" not in cfg[name] or name.startswith("gas"):  # gas masks: not a face covering we remove
            continue
        f = TEMPLATE_DIR / "templates" / Path(cfg[name]["template"]).name
        if not f.exists():
            continue
        pts = [[float(x) for x in cfg[name][f"mask_{k}"].split(",")] for k in "abcdef"]
        out.append(Template(name, np.asarray(Image.open(f).convert("RGBA")), np.array(pts, np.float32)))
    return tuple(out)


def _yaw(lm, fr: Frame) -> float:
    """Signed head turn: nose tip offset from the eye midpoint along the eye line, ~-1..1."""
    eye_dist = np.linalg.norm(lm[[362, 263]].mean(0) - lm[[33, 133]].mean(0))
    return float((lm[1] - fr.origin) @ fr.u / (eye_dist + 1e-6))


def _template_layer(lm, fr: Frame, h, w, rng):
    yaw = _yaw(lm, fr)
    view = "" if abs(yaw) < 0.18 else ("_left" if yaw < 0 else "_right")
    pool = [t for t in templates() if t.name.endswith(view) or (view == "" and not
            (t.name.endswith("_left") or t.name.endswith("_right")))]
    t = pool[rng.integers(len(pool))]
    nose = lm[NOSE_BRIDGE[2]] * 0.6 + lm[NOSE_BRIDGE[3]] * 0.4
    drop = fr.v * fr.scale * rng.uniform(0.0, 0.08)
    dst = np.array([lm[LEFT_CHEEK], nose, lm[RIGHT_CHEEK], lm[172] + drop * 0.5, lm[CHIN] + drop,
                    lm[397] + drop * 0.5], np.float32)
    dst += rng.normal(0, fr.scale * 0.01, dst.shape).astype(np.float32)
    H, _ = cv2.findHomography(t.anchors, dst)
    warped = cv2.warpPerspective(t.rgba, H, (w, h), flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=0).astype(np.float32)
    rgb, alpha = warped[..., :3], warped[..., 3] / 255.0
    if "cloth" in t.name and rng.random() < 0.5:  # recolour the plain cloth template with a fabric
        grey = rgb.mean(-1, keepdims=True) / 255.0
        rgb = texture_layer(h, w, rng) * (0.4 + 0.8 * grey)
    return rgb, alpha


# ------------------------------------------------------------------------------------------ main

def covering_mask(lm: np.ndarray, h: int, w: int, rng, kind: str | None = None) -> tuple[np.ndarray, str]:
    """Just the soft covering shape (float 0..1) — all the inpainter needs, and cheap."""
    kind = kind or KINDS[rng.integers(len(KINDS))]
    fr = Frame.from_landmarks(lm)
    if kind == "scarf":
        return _fill(_scarf_polygon(lm, fr, h, w, rng), h, w), kind
    if kind == "template":
        return _template_layer(lm, fr, h, w, rng)[1], kind
    return _shape_alpha(_mask_polygon(lm, fr, rng, kind), lm, fr, h, w), kind


def synthesize(rgb: np.ndarray, lm: np.ndarray, rng: np.random.Generator, kind: str | None = None,
               photographic: bool = True, parts: dict | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """Render a covering on ``rgb`` (HxWx3 uint8). Returns (masked uint8, binary mask uint8, kind).
    ``parts``, when given, also gets the mask's two parts as bool arrays: ``"covering"`` (the
    covering's body) and ``"straps"`` (its loops and straps), for the strap model (train_straps)."""
    h, w = rgb.shape[:2]
    kind = kind or KINDS[rng.integers(len(KINDS))]
    fr = Frame.from_landmarks(lm)
    img = np.ascontiguousarray(rgb, dtype=np.float32)  # drawn on with OpenCV: must be C-contiguous
    loops = np.zeros((h, w), np.float32)
    if kind == "template":
        layer, alpha = _template_layer(lm, fr, h, w, rng)
        shade = np.clip(_shading("cloth", fr, h, w, alpha, rng), 0.05, None) ** 0.5
        layer = layer * shade[..., None]
    elif kind in SEG_EXTRA_KINDS:
        layer, alpha = _extra_layer(kind, img, loops, lm, fr, h, w, rng)
    else:
        if kind == "scarf":
            poly = _scarf_polygon(lm, fr, h, w, rng)
            alpha = _fill(poly, h, w)
        else:
            poly = _mask_polygon(lm, fr, rng, kind)
            alpha = _shape_alpha(poly, lm, fr, h, w)
        layer = _colour_layer(kind, h, w, rng) * _shading(kind, fr, h, w, alpha, rng)[..., None]
        if kind == "surgical" and rng.random() < 0.8:
            _ear_loops(img, loops, poly, lm, fr, np.array(layer[alpha > 0.5].mean(0) if (alpha > 0.5).any()
                                                   else (230, 230, 230)) * 1.05, rng)
    # Contact shadow: skin just outside the covering is darker (blurred mask minus mask).
    k = max(3, int(fr.scale * rng.uniform(0.04, 0.10)) | 1)
    halo = np.clip(cv2.GaussianBlur(alpha, (k, k), 0) - alpha, 0, 1)
    img *= 1.0 - rng.uniform(0.2, 0.55) * halo[..., None]
    soft = cv2.GaussianBlur(alpha, (0, 0), rng.uniform(0.3, 0.9)) if photographic else alpha
    out = img * (1 - soft[..., None]) + np.clip(layer, 0, 255) * soft[..., None]
    occluder = np.zeros((h, w), np.float32)
    if rng.random() < OCCLUDER_RATE:
        occluder = (_hand if rng.random() < 0.5 else _hair_strands)(out, rgb, lm, fr, alpha, rng)
    if photographic:
        out += rng.normal(0, rng.uniform(0.5, 3.0), out.shape)
    out = np.clip(out, 0, 255).astype(np.uint8)
    if photographic and rng.random() < 0.8:
        out = jpeg(out, int(rng.integers(55, 96)))
    # What lies over the covering (a hand, strands of hair) is not part of it.
    mask = ((np.maximum(np.maximum(alpha, soft), loops) > 0.5) & (occluder < 0.5)).astype(np.uint8)
    if parts is not None:
        parts["covering"] = (np.maximum(alpha, soft) > 0.5) & (occluder < 0.5)
        parts["straps"] = (loops > 0.5) & (occluder < 0.5)
    return out, mask, kind


OCCLUDER_RATE = 0.25


def _edge_point(alpha: np.ndarray, rng, lower: bool) -> np.ndarray | None:
    edge = (alpha > 0.5).astype(np.uint8) - cv2.erode((alpha > 0.5).astype(np.uint8), np.ones((3, 3), np.uint8))
    ys, xs = np.nonzero(edge)
    if not len(ys):
        return None
    sel = ys > np.median(ys) if lower else ys < np.percentile(ys, 30)
    if sel.any():
        ys, xs = ys[sel], xs[sel]
    i = rng.integers(len(ys))
    return np.array([xs[i], ys[i]], np.float64)


def _paint(out: np.ndarray, shape: np.ndarray, colour: np.ndarray, shade: np.ndarray | float = 1.0) -> None:
    out *= 1 - shape[..., None]
    out += (colour * np.atleast_3d(shade)) * shape[..., None]


def _hand(out, rgb, lm, fr: Frame, alpha, rng) -> np.ndarray:
    """A hand resting on the covering's lower edge, in the face's skin tone."""
    h, w = alpha.shape
    p = _edge_point(alpha, rng, lower=True)
    if p is None:
        return np.zeros((h, w), np.float32)
    skin = np.median(rgb[np.clip(lm[[10, 151, 50, 280], 1].astype(int), 0, h - 1),
                         np.clip(lm[[10, 151, 50, 280], 0].astype(int), 0, w - 1)], axis=0).astype(np.float32)
    shape = np.zeros((h, w), np.float32)
    s = fr.scale * rng.uniform(0.25, 0.4)
    angle = rng.uniform(-60, 60) - 90  # fingers point roughly upwards
    palm = p + fr.v * s * 0.9
    cv2.ellipse(shape, (int(palm[0]), int(palm[1])), (int(s * 0.6), int(s * 0.8)), angle + 90, 0, 360, 1.0, -1,
                cv2.LINE_AA)
    rad = np.deg2rad(angle)
    d = np.array([np.cos(rad), np.sin(rad)])
    n = np.array([-d[1], d[0]])
    for k in range(4):
        base = palm + n * s * (k - 1.5) * 0.32
        tip = base + d * s * rng.uniform(1.2, 1.6)
        cv2.line(shape, tuple(int(v) for v in base), tuple(int(v) for v in tip), 1.0,
                 max(2, int(s * 0.26)), cv2.LINE_AA)
    shape = cv2.GaussianBlur(shape, (0, 0), 0.7)
    yy = np.linspace(0.85, 1.1, h, dtype=np.float32)[:, None, None]
    _paint(out, shape, skin * rng.uniform(0.9, 1.1), yy)
    return shape


def _hair_strands(out, rgb, lm, fr: Frame, alpha, rng) -> np.ndarray:
    """Loose strands of hair falling across the covering's upper edge."""
    h, w = alpha.shape
    shape = np.zeros((h, w), np.float32)
    colour = np.array([(25, 20, 18), (60, 40, 25), (120, 90, 50), (200, 170, 120)][rng.integers(4)], np.float32)
    for _ in range(int(rng.integers(3, 12))):
        p = _edge_point(alpha, rng, lower=False)
        if p is None:
            break
        a = p - fr.v * fr.scale * rng.uniform(0.2, 0.5) + fr.u * fr.scale * rng.normal(0, 0.1)
        b = p + fr.v * fr.scale * rng.uniform(0.1, 0.5) + fr.u * fr.scale * rng.normal(0, 0.15)
        pts = _bezier(a, (a + b) / 2 + fr.u * fr.scale * rng.normal(0, 0.1), b, 16)
        cv2.polylines(shape, [np.round(pts * 16).astype(np.int32)], False, 1.0, int(rng.integers(1, 3)),
                      cv2.LINE_AA, shift=4)
    _paint(out, shape, colour * rng.uniform(0.8, 1.2))
    return shape


def jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(buf).convert("RGB"))


# ------------------------------------------------------------------ coverings real photos showed missing

DARK_COLOURS = [(18, 18, 20), (30, 30, 34), (45, 45, 50), (25, 30, 55), (70, 70, 75), (110, 110, 115)]
NEON_COLOURS = [(230, 60, 60), (60, 200, 90), (250, 200, 40), (240, 110, 30), (60, 140, 240), (230, 80, 180)]


def print_layer(h, w, rng) -> np.ndarray:
    """A procedural print: stripes, polka dots, plaid or camouflage in two to three colours."""
    cols = [np.array(CLOTH_COLOURS[i] if rng.random() < 0.6 else NEON_COLOURS[i % len(NEON_COLOURS)], np.float32)
            for i in rng.choice(len(CLOTH_COLOURS), 3, replace=False)]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    a = rng.uniform(0, np.pi)
    t = xs * np.cos(a) + ys * np.sin(a)
    period = rng.uniform(6, 24)
    style = rng.integers(4)
    if style == 0:  # stripes
        sel = ((t / period) % 1.0 < rng.uniform(0.3, 0.6)).astype(np.float32)
    elif style == 1:  # polka dots
        r = period * rng.uniform(0.15, 0.35)
        sel = ((((xs % period) - period / 2) ** 2 + ((ys % period) - period / 2) ** 2) < r * r).astype(np.float32)
    elif style == 2:  # plaid
        u = xs * np.cos(a + np.pi / 2) + ys * np.sin(a + np.pi / 2)
        sel = 0.5 * ((t / period) % 1.0 < 0.35) + 0.5 * ((u / period) % 1.0 < 0.35)
    else:  # camouflage: thresholded smooth noise
        n = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), period / 2)
        sel = (n > np.percentile(n, 45)).astype(np.float32) + (n > np.percentile(n, 80))
        sel = sel / 2
    sel = np.clip(sel, 0, 1)[..., None]
    return cols[0] * (1 - sel) + cols[1] * sel


def _fabric(h, w, rng, dark_bias: float) -> np.ndarray:
    """Black/dark cloth (what real photos show most and the synthesiser drew least), prints, textures."""
    r = rng.random()
    if r < dark_bias:
        c = np.array(DARK_COLOURS[rng.integers(len(DARK_COLOURS))], np.float32) + rng.normal(0, 5, 3)
        layer = np.empty((h, w, 3), np.float32)
        layer[:] = np.clip(c, 0, 255)
        return layer
    if r < dark_bias + 0.2:
        return print_layer(h, w, rng)
    if r < dark_bias + 0.35:
        return texture_layer(h, w, rng)
    layer = np.empty((h, w, 3), np.float32)
    layer[:] = np.array((CLOTH_COLOURS + NEON_COLOURS)[rng.integers(len(CLOTH_COLOURS) + len(NEON_COLOURS))],
                        np.float32)
    return layer


def _nose_top(lm, t: float) -> np.ndarray:
    idx = t * (len(NOSE_BRIDGE) - 1)
    i0 = int(idx)
    return lm[NOSE_BRIDGE[i0]] * (1 - (idx - i0)) + lm[NOSE_BRIDGE[min(i0 + 1, 6)]] * (idx - i0)


def _gaiter_polygon(lm, fr: Frame, h, w, rng) -> np.ndarray:
    """A neck gaiter or tube: from the nose down past the image edge, about as wide as the face, with
    nearly straight sides (a tube around the neck), its top edge curving over the cheeks."""
    top = _nose_top(lm, rng.uniform(0.2, 0.75))
    half = np.linalg.norm(lm[RIGHT_CHEEK] - lm[LEFT_CHEEK]) / 2 * rng.uniform(1.0, 1.2)
    yaw_shift = fr.u * half * 0.3 * _yaw(lm, fr)
    left = top - fr.u * half + fr.v * fr.scale * rng.uniform(0.05, 0.25) + yaw_shift
    right = top + fr.u * half + fr.v * fr.scale * rng.uniform(0.05, 0.25) + yaw_shift
    far = fr.v * max(h, w) * 2.0
    flare = fr.u * half * rng.uniform(-0.1, 0.25)
    return np.concatenate([_bezier(left, (left + top) / 2 - fr.v * fr.scale * 0.05, top),
                           _bezier(top, (right + top) / 2 - fr.v * fr.scale * 0.05, right)[1:],
                           [right + far + flare, left + far - flare]])


def _chin_polygon(lm, fr: Frame, rng) -> np.ndarray:
    """A mask pulled down under the mouth or onto the neck: top edge at the lower lip or the chin."""
    top = lm[17] + fr.v * fr.scale * rng.uniform(0.0, 0.25)
    jaw = lm[JAW[3:-3]].astype(np.float64)
    centre = jaw.mean(0)
    jaw = centre + (jaw - centre) * rng.uniform(1.0, 1.1)
    w_ = np.sin(np.linspace(0, np.pi, len(jaw)))[:, None]
    jaw = jaw + fr.v * fr.scale * (0.15 + w_ * rng.uniform(0.15, 0.35))
    left, right = jaw[0], jaw[-1]
    pts = np.concatenate([_bezier(left, (left + top) / 2 - fr.v * fr.scale * 0.03, top),
                          _bezier(top, (right + top) / 2 - fr.v * fr.scale * 0.03, right)[1:], jaw[::-1][1:-1]])
    # Convex: on a turned head the far jaw points fold back over the near ones.
    return cv2.convexHull(pts.astype(np.float32))[:, 0].astype(np.float64)


def _valve(img_layer, alpha, lm, fr: Frame, rng) -> None:
    """An exhalation valve on one side of a respirator, drawn into the covering's colour layer."""
    side = -1 if rng.random() < 0.5 else 1
    c = lm[[61, 291][side > 0]] * 0.5 + lm[[234, 454][side > 0]] * 0.3 + lm[152] * 0.2
    r = fr.scale * rng.uniform(0.09, 0.15)
    colour = [(235, 235, 235), (40, 40, 45), (230, 120, 30), (120, 120, 125), (60, 120, 200)][rng.integers(5)]
    disc = np.zeros(alpha.shape, np.float32)
    cv2.circle(disc, (int(round(c[0] * 16)), int(round(c[1] * 16))), int(round(r * 16)), 1.0, -1, cv2.LINE_AA,
               shift=4)
    ring = disc - cv2.erode(disc, np.ones((3, 3), np.uint8))
    shade = np.float32(rng.uniform(0.75, 1.0))
    col = np.array(colour, np.float32)
    img_layer[:] = img_layer * (1 - disc[..., None]) + col * disc[..., None] * shade
    img_layer[:] *= 1 - 0.4 * ring[..., None]
    np.maximum(alpha, disc, out=alpha)


def _straps(canvas, label, poly, lm, fr: Frame, colour, rng, head: bool) -> None:
    """Straps from the covering's side corners: ear loops round the ears (``_draw_loops``), or
    (respirators) two bands running back past the ear, one over it towards the crown and one under it
    round the neck (real_masked/199). They belong to the covering: the label gets them too."""
    if not head:
        _draw_loops(canvas, label, poly, lm, fr, colour, rng,
                    thick=max(1, int(round(fr.scale * rng.uniform(0.012, 0.02)))))
        return
    thick = max(1, int(round(fr.scale * rng.uniform(0.02, 0.035))))
    for upper, lower, cheek, sign, _ in _visible_sides(poly, lm, fr):
        out = fr.u * sign
        ends = ((upper, cheek + out * fr.scale * rng.uniform(0.4, 0.8) - fr.v * fr.scale * rng.uniform(0.1, 0.4)),
                (lower, cheek + out * fr.scale * rng.uniform(0.3, 0.7) + fr.v * fr.scale * rng.uniform(0.6, 1.0)))
        for start, end in ends:
            pts = _bezier(start, (start + end) / 2 - fr.v * fr.scale * 0.04, end, 12)
            line = [np.round(pts * 16).astype(np.int32)]
            cv2.polylines(canvas, line, False, tuple(float(c) for c in colour), thick, cv2.LINE_AA, shift=4)
            cv2.polylines(label, line, False, 1.0, thick + 1, cv2.LINE_AA, shift=4)


def _corners(poly: np.ndarray, fr: Frame) -> tuple[np.ndarray, np.ndarray]:
    """The outline's extreme points across the face (where straps attach)."""
    along = (poly - fr.origin) @ fr.u
    return poly[int(np.argmin(along))], poly[int(np.argmax(along))]


def _extra_layer(kind, img, loops, lm, fr: Frame, h, w, rng):
    """Colour layer and alpha of a gaiter, sport mask, valved respirator or a mask pulled under the chin;
    straps are drawn straight into ``img`` and ``loops`` (the label)."""
    if kind == "gaiter":
        alpha = _fill(_gaiter_polygon(lm, fr, h, w, rng), h, w)
        layer = _fabric(h, w, rng, dark_bias=0.4)
        uu, vv = fr.coords(h, w)
        folds = 1.0 + 0.12 * np.sin(vv * rng.uniform(8, 18) + rng.uniform(0, 6)) * np.clip(vv - 0.6, 0, 1)
        shade = _shading("cloth", fr, h, w, alpha, rng) * folds
        return layer * shade[..., None], alpha
    if kind == "chin":
        poly = _chin_polygon(lm, fr, rng)
        alpha = _fill(poly, h, w)
        sub = "surgical" if rng.random() < 0.6 else "cloth"
        layer = _colour_layer(sub, h, w, rng) * _shading(sub, fr, h, w, alpha, rng)[..., None]
        if rng.random() < 0.7:
            _straps(img, loops, poly, lm, fr, layer[alpha > 0.5].mean(0) if (alpha > 0.5).any()
                    else (225, 225, 225), rng, head=False)
        return layer, alpha
    # sport / respirator: a mask shape set higher on the nose
    sub = "n95" if kind == "respirator" else "cloth"
    poly = _mask_polygon(lm, fr, rng, sub)
    top = _nose_top(lm, rng.uniform(0.15, 0.45))
    poly[len(poly) // 4 - 2:len(poly) // 4 + 3] = poly[len(poly) // 4 - 2:len(poly) // 4 + 3] * 0.5 + top * 0.5
    alpha = _shape_alpha(poly, lm, fr, h, w)
    if kind == "sport":
        layer = _fabric(h, w, rng, dark_bias=0.55)
        shade = _shading("n95", fr, h, w, alpha, rng)
        layer = layer * shade[..., None]
        if rng.random() < 0.5:  # breathing valves / filter caps on the sides
            _valve(layer, alpha, lm, fr, rng)
        strap_colour = layer[alpha > 0.5].mean(0) if (alpha > 0.5).any() else (30, 30, 30)
        if rng.random() < 0.7:
            _straps(img, loops, poly, lm, fr, strap_colour, rng, head=False)
        return layer, alpha
    colour = [(235, 235, 230), (245, 245, 245), (40, 40, 45), (225, 215, 200), (120, 170, 215)][rng.integers(5)]
    layer = np.empty((h, w, 3), np.float32)
    layer[:] = np.array(colour, np.float32) + rng.normal(0, 6, 3)
    layer = layer * _shading("n95", fr, h, w, alpha, rng)[..., None]
    if rng.random() < 0.75:
        _valve(layer, alpha, lm, fr, rng)
    if rng.random() < 0.8:
        band = [(240, 240, 240), (30, 30, 30), (60, 110, 200), (230, 200, 60)][rng.integers(4)]
        _straps(img, loops, poly, lm, fr, band, rng, head=True)
    return layer, alpha
