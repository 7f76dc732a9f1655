"""Torch-free pieces of the quality evaluation: metrics, baselines, identity and the pairs_dev set.

Shared by ``training/evaluate.py`` (which adds the synthetic CelebA validation set) and
``benchmarks/quality.py`` (which runs without torch). Metrics follow Yang 2024 (face mask removal):
SSIM with an 11-tap Gaussian window (sigma 1.5), PSNR, and l1 of the channel-averaged images / 255,
on the whole composite image; plus an identity distance from dlib's face-recognition ResNet.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path

os.environ.setdefault("UNMASK_FORCE_CPU", "1")  # evaluate the shipped model on CPUExecutionProvider

import cv2
import numpy as np
from PIL import Image
from scipy import ndimage as ndi
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from unmask_studio.core import blend, maskops

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("UNMASK_DATA", REPO.parent / "shared" / "data"))
PAIRS = DATA / "pairs_dev"
METHODS = ("ours", "telea", "ns", "input")
LABELS = {"ours": "ours (inpainter.onnx)", "telea": "cv2 Telea r=5", "ns": "cv2 Navier-Stokes r=5",
          "input": "input, no fill"}
SAME_PERSON = 0.6  # dlib's euclidean threshold


# ----------------------------------------------------------------------------------------- metrics
def metrics(pred: np.ndarray, gt: np.ndarray) -> dict:
    """SSIM / PSNR / l1 of two HxWx3 uint8 images."""
    return {"ssim": float(structural_similarity(gt, pred, gaussian_weights=True, sigma=1.5,
                                                use_sample_covariance=False, channel_axis=-1, data_range=255)),
            "psnr": float(peak_signal_noise_ratio(gt, pred, data_range=255)),
            "l1": float(np.abs(pred.mean(-1) - gt.mean(-1)).mean() / 255)}


def baseline(img: np.ndarray, hole: np.ndarray, method: str) -> np.ndarray:
    """Classical fill of ``hole`` (nonzero = fill) in an RGB uint8 image; 'input' leaves it as is."""
    if method == "input":
        return img
    flag = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}[method]
    return cv2.inpaint(np.ascontiguousarray(img), (hole > 0).astype(np.uint8), 5, flag)


class Identity:
    """dlib ResNet face descriptors (from face_recognition_models), 5-point alignment."""

    def __init__(self):
        import dlib

        self.dlib = dlib
        self.shape = dlib.shape_predictor(_frm_file("shape_predictor_5_face_landmarks.dat"))
        self.net = dlib.face_recognition_model_v1(_frm_file("dlib_face_recognition_resnet_model_v1.dat"))

    def __call__(self, rgb: np.ndarray, box=None) -> np.ndarray:
        """128-d descriptor of the face in ``box`` (x0, y0, x1, y1); default the whole image."""
        h, w = rgb.shape[:2]
        x0, y0, x1, y1 = box if box is not None else (0, 0, w, h)
        rect = self.dlib.rectangle(int(max(0, x0)), int(max(0, y0)), int(min(w, x1)) - 1, int(min(h, y1)) - 1)
        rgb = np.ascontiguousarray(rgb)
        return np.asarray(self.net.compute_face_descriptor(rgb, self.shape(rgb, rect)))


def _frm_file(name: str) -> str:
    """A model file of face_recognition_models; its own helpers need pkg_resources, gone from setuptools>=81."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("face_recognition_models is not installed")
    return str(Path(list(spec.submodule_search_locations)[0]) / "models" / name)


def make_identity() -> Identity | None:
    try:
        return Identity()
    except (ImportError, RuntimeError) as e:
        print(f"identity metric skipped: {e}")
        return None


def id_distance(a: np.ndarray, b: np.ndarray) -> dict:
    return {"id_cos": float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12)),
            "id_euclid": float(np.linalg.norm(a - b))}


def score(outputs: dict, gt: np.ndarray, identity: Identity | None, box=None) -> dict:
    """Metrics (and identity distances to ``gt``) for every method's output image."""
    res = {m: metrics(out, gt) for m, out in outputs.items()}
    if identity is not None:
        ref = identity(gt, box)
        for m, out in outputs.items():
            res[m].update(id_distance(identity(out, box), ref))
    return res


def summarize(rows: list[dict]) -> dict:
    """Mean of every metric per method over ``rows`` (each {method: {metric: value}})."""
    out = {}
    for m in METHODS:
        vals = [r[m] for r in rows if m in r]
        if not vals:
            continue
        keys = dict.fromkeys(k for v in vals for k in v)  # rows without a face have no identity
        s = {k: float(np.mean([v[k] for v in vals if k in v])) for k in keys}
        ids = [v["id_euclid"] for v in vals if "id_euclid" in v]
        if ids:
            s["id_same"] = float(np.mean(np.array(ids) < SAME_PERSON))
        out[m] = {**s, "n": len(vals), "n_id": len(ids)}
    return out


# ----------------------------------------------------------------------------------------- pairs_dev
def load_rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def derive_mask(masked: np.ndarray, clean: np.ndarray, thr: float = 12, blur: float = 1.0,
                close_px: int = 5, grow_px: int = 2, min_part: float = 0.05) -> np.ndarray:
    """The covered region of a pair (uint8 0/1), from the pixel difference.

    Both images carry independent JPEG noise, so the difference is taken after a light blur
    (sigma ``blur``), then thresholded (max channel > ``thr``), closed, small enclosed holes (pleat
    lines) filled, specks under ``min_part`` of the largest part dropped, and grown by ``grow_px``.
    Regions enclosed by an ear loop stay open (they are skin, not mask).
    """
    a, b = (cv2.GaussianBlur(x.astype(np.float32), (0, 0), blur) for x in (masked, clean))
    m = np.abs(a - b).max(-1) > thr
    m = cv2.morphologyEx(m.astype(np.uint8), cv2.MORPH_CLOSE,
                         cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (close_px, close_px))).astype(bool)
    holes, n = ndi.label(ndi.binary_fill_holes(m) & ~m)
    if n:
        m |= np.r_[False, ndi.sum(np.ones_like(holes), holes, range(1, n + 1)) < 0.03 * m.sum()][holes]
    parts, n = ndi.label(m, structure=np.ones((3, 3)))
    if n:
        area = ndi.sum(np.ones_like(parts), parts, range(1, n + 1))
        m = np.r_[False, area >= min_part * area.max()][parts]
    return maskops.grow(m.astype(np.uint8), grow_px)


def crop_hole(mask01: np.ndarray, face, size: int) -> np.ndarray:
    """The hole the app hands the inpainter for ``face`` (same steps as Engine.inpaint)."""
    m = blend.to_crop(mask01 * 255, face.matrix, size, border=cv2.BORDER_CONSTANT)
    return maskops.grow((m > 64).astype(np.uint8), 1)


def evaluate_pairs(engine, identity: Identity | None, folder: Path = PAIRS, n_examples: int = 4,
                   limit: int | None = None, log=print) -> dict:
    """Full-resolution and aligned-crop metrics on the masked/clean pairs of ``folder``."""
    S = engine.crop_size
    names = sorted(p.name for p in (folder / "masked").iterdir() if p.suffix.lower() in (".png", ".jpg", ".webp"))
    names = names[:limit] if limit else names
    full_rows, crop_rows, per_image, examples = [], [], [], []
    no_face = []
    for k, name in enumerate(names):
        masked, clean = load_rgb(folder / "masked" / name), load_rgb(folder / "clean" / name)
        mask = derive_mask(masked, clean)
        faces = engine.detect(masked)
        # The face the covering is on: the one whose aligned crop holds most of the hole.
        holes = [crop_hole(mask, f, S) for f in faces]
        main = int(np.argmax([h.sum() for h in holes])) if faces else -1
        if faces:
            ours, results = engine.inpaint(masked, faces, mask * 255)
        else:  # what the app returns when it finds no face: the photo unchanged
            ours, results = masked, []
            no_face.append(name)
        outs = {"ours": ours, **{m: baseline(masked, mask, m) for m in ("telea", "ns", "input")}}
        box = faces[main].box if faces else None
        full = score(outs, clean, identity if box is not None else None, box)
        row = {"name": name, "size": list(masked.shape[1::-1]), "hole_fraction": float(mask.mean()),
               "faces": len(faces), "full": full}
        full_rows.append(full)
        if faces and holes[main].any():
            face, hole = faces[main], holes[main]
            c_in = results[main].crop_input
            c_gt = blend.to_crop(clean, face.matrix, S)
            c_outs = {"ours": results[main].crop_output,
                      **{m: baseline(c_in, hole, m) for m in ("telea", "ns", "input")}}
            row["crop"] = score(c_outs, c_gt, identity)
            row["crop_hole_fraction"] = float(hole.mean())
            crop_rows.append(row["crop"])
            if len(examples) < n_examples:  # the full-res results, seen through the face's crop
                examples.append((f"pairs {name}", [blend.to_crop(x, face.matrix, S) for x in
                                                   (masked, ours, outs["telea"], clean)]))
        per_image.append(row)
        log(f"pairs_dev {k + 1}/{len(names)} {name}: {len(faces)} face(s), hole {mask.mean():.1%}, "
            f"ssim ours {full['ours']['ssim']:.4f} telea {full['telea']['ssim']:.4f}")
    return {"n": len(names), "no_face": no_face, "n_crop": len(crop_rows),
            "hole_fraction": float(np.mean([r["hole_fraction"] for r in per_image])),
            "full": summarize(full_rows), "crop": summarize(crop_rows), "per_image": per_image,
            "examples": examples}


# ----------------------------------------------------------------------------------------- output
def model_info(models_dir: Path | None = None) -> dict:
    from unmask_studio.core.resources import models_dir as default_dir

    p = Path(models_dir or default_dir()) / "inpainter.onnx"
    return {"file": str(p), "sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
            "bytes": p.stat().st_size, "mtime": p.stat().st_mtime}


def table(title: str, summary: dict, note: str = "") -> str:
    has_id = any("id_euclid" in s for s in summary.values())
    cols = ["SSIM ↑", "PSNR dB ↑", "l1 ↓"] + (["id cos ↑", "id euclid ↓", "same person ↑"] if has_id else [])
    lines = [f"### {title}", "", note, ""] if note else [f"### {title}", ""]
    lines += ["| method | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for m, s in summary.items():
        vals = [f"{s['ssim']:.4f}", f"{s['psnr']:.2f}", f"{s['l1']:.4f}"]
        if has_id:
            vals += [f"{s['id_cos']:.4f}", f"{s['id_euclid']:.4f}", f"{s['id_same']:.0%}"]
        lines.append(f"| {LABELS[m]} | " + " | ".join(vals) + " |")
    return "\n".join(lines) + "\n"


def pairs_tables(p: dict) -> str:
    miss = f"; no face found in {len(p['no_face'])} ({', '.join(p['no_face'])}), left unchanged by ours" \
        if p["no_face"] else ""
    return (table("pairs_dev, full photo at its own resolution", p["full"],
                  f"{p['n']} pairs, mean hole {p['hole_fraction']:.1%} of the photo{miss}. "
                  "Ours = Engine.inpaint on the derived hole (aligned crop, paste-back, feather, grain); "
                  "identity on the detected face box.")
            + "\n" + table("pairs_dev, aligned 256² face crop", p["crop"],
                           f"{p['n_crop']} faces: the crop the inpainter sees, composite inside the hole; "
                           "identity on the whole crop."))


def write(out_dir: Path, results: dict, markdown: str) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    clean = {k: ({kk: vv for kk, vv in v.items() if kk != "examples"} if isinstance(v, dict) else v)
             for k, v in results.items()}
    (out_dir / "quality.json").write_text(json.dumps(clean, indent=1) + "\n")
    (out_dir / "quality.md").write_text(markdown)
    print(f"wrote {out_dir / 'quality.json'} and {out_dir / 'quality.md'}")


def contact_sheet(examples: list, path: Path, cell: int = 192) -> None:
    """PNG grid, one row per example: input | ours | Telea | ground truth."""
    head = np.full((28, cell * 4, 3), 255, np.uint8)
    for i, t in enumerate(("input", "ours", "Telea", "ground truth")):
        cv2.putText(head, t, (i * cell + 6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    rows = [head]
    for label, imgs in examples:
        row = np.hstack([cv2.resize(x, (cell, cell), interpolation=cv2.INTER_AREA) for x in imgs])
        cv2.putText(row, label, (5, cell - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(row, label, (5, cell - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
        rows.append(row)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.vstack(rows)).save(path)
    print(f"wrote {path}")


def run_pairs_only(out_dir: Path, contact: Path | None = None, limit: int | None = None) -> dict:
    """The torch-free evaluation: pairs_dev only."""
    from unmask_studio.core.pipeline import Engine

    engine = Engine()
    model = model_info()  # hashed right before loading: training may re-export it meanwhile
    engine.inpainter  # noqa: B018 - load the session now
    p = evaluate_pairs(engine, make_identity(), limit=limit)
    results = {"model": model, "provider": engine.inpainter.provider, "pairs_dev": p}
    md = (f"## Inpainting quality of inpainter.onnx on pairs_dev only (sha256 {model['sha256'][:12]}, "
          f"{results['provider']})\n\n" + pairs_tables(p))
    write(out_dir, results, md)
    if contact:
        contact_sheet(p["examples"], contact)
    print(md)
    return results
