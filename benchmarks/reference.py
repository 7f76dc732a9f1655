"""Reference-guided restoration on held-out people: does another photo make the fill *theirs*?

    python -m benchmarks.reference [--n 60] [--model inpainter_reference.onnx] [--baseline OLD.onnx] [--sheet PNG]

Held-out LFW people (every 10th person by name, never trained on: ``training.ref_data``): the first
photo aligned to the inpainter's crop gets a synthetic covering; the second photo, aligned the same way,
is the reference. All methods fill the same hole, measured in the same run:

- ``no reference (baseline)``: the ``--baseline`` inpainter (default: the model shipped before the
  reference stage, from git), no reference;
- ``no reference``: the ``--model`` inpainter with its reference input empty;
- ``naive copy``: the aligned reference pasted into the hole, colour-matched to a ring around it;
- ``poisson``: that copy Poisson-cloned (cv2.seamlessClone) into our no-reference fill;
- ``low + high``: our fill's low frequencies (Gaussian σ 6 px) + the reference's high frequencies;
- ``with reference``: the ``--model`` inpainter with the reference.

Metrics on the 256² crop against the true face: PSNR, SSIM, l1, and the dlib 128-D identity distance
(face-recognition-models, lower = more the same person; 0.6 is dlib's "same person" threshold).
Writes reference.json and reference.md; ``--sheet`` draws masked | reference | no ref | with ref | truth.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np
import onnxruntime as ort

from evaluation.pairs import id_distance, make_identity, metrics

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "unmask_studio" / "resources" / "models" / "inpainter_reference.onnx"  # the model that takes one
PRE_REFERENCE_COMMIT = "589b8c1"  # the last commit whose shipped inpainter has no reference input
METHODS = ("no reference (baseline)", "no reference", "naive copy", "poisson", "low + high", "with reference")


class Inpainter:
    def __init__(self, path: Path):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 2
        self.sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.sess.get_inputs()}

    def __call__(self, img, mask, ref=None, valid=None) -> np.ndarray:
        """uint8 HxWx3 in, composited uint8 out."""
        x = img.astype(np.float32).transpose(2, 0, 1)[None] / 255
        m = mask.astype(np.float32)[None, None]
        feed = {"image": x * (1 - m), "mask": m}
        if "reference" in self.inputs:
            r = np.zeros_like(x) if ref is None else ref.astype(np.float32).transpose(2, 0, 1)[None] / 255
            v = np.zeros_like(m) if valid is None else valid.astype(np.float32)[None, None]
            feed.update(reference=r * v, reference_mask=v)
        out = self.sess.run(None, feed)[0]
        comp = x * (1 - m) + out * m
        return np.clip(np.round(comp[0].transpose(1, 2, 0) * 255), 0, 255).astype(np.uint8)


def ring_of(mask: np.ndarray, px: int = 8) -> np.ndarray:
    return (cv2.dilate(mask, np.ones((2 * px + 1, 2 * px + 1), np.uint8)) > 0) & ~(mask > 0)


def naive_copy(img, mask, ref, valid) -> np.ndarray:
    """The reference's pixels in the hole, per-channel mean/std matched to the ring, feathered."""
    ring = ring_of(mask) & (valid > 0)
    r = ref.astype(np.float32)
    t = img.astype(np.float32)
    if ring.sum() > 20:
        r = (r - r[ring].mean(0)) / (r[ring].std(0) + 1e-3) * t[ring].std(0) + t[ring].mean(0)
    a = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 2) * (mask > 0)
    a = np.maximum(a, mask.astype(np.float32) * (valid > 0))[..., None]
    out = t * (1 - a) + r * a
    return np.clip(out, 0, 255).astype(np.uint8)


def poisson(fill, copy, mask) -> np.ndarray:
    m = (cv2.dilate(mask, np.ones((5, 5), np.uint8)) * 255).astype(np.uint8)
    ys, xs = np.nonzero(m)
    if len(ys) == 0:
        return fill
    centre = (int((xs.min() + xs.max() + 1) // 2), int((ys.min() + ys.max() + 1) // 2))
    try:
        return cv2.seamlessClone(copy, fill, m, centre, cv2.NORMAL_CLONE)
    except cv2.error:
        return fill


def low_high(fill, copy, mask, sigma: float = 6.0) -> np.ndarray:
    f, c = fill.astype(np.float32), copy.astype(np.float32)
    out = cv2.GaussianBlur(f, (0, 0), sigma) + (c - cv2.GaussianBlur(c, (0, 0), sigma))
    m = mask[..., None] > 0
    return np.where(m, np.clip(out, 0, 255), f).astype(np.uint8)


def baseline_model(path: Path | None) -> Path:
    if path:
        return path
    tmp = Path(tempfile.mkdtemp()) / "inpainter_noref.onnx"
    blob = subprocess.run(["git", "show", f"{PRE_REFERENCE_COMMIT}:unmask_studio/resources/models/inpainter.onnx"],
                          cwd=REPO, capture_output=True, check=True).stdout
    tmp.write_bytes(blob)
    return tmp


def to_u8(t) -> np.ndarray:
    a = t.numpy()
    return (np.round(a.transpose(1, 2, 0) * 255)).astype(np.uint8) if a.shape[0] == 3 else a[0]


def main(argv=None) -> int:
    from training.ref_data import LfwPairSet

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--model", type=Path, default=MODEL)
    ap.add_argument("--baseline", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out")
    ap.add_argument("--sheet", type=Path, default=None, help="contact sheet PNG of the first 16 people")
    args = ap.parse_args(argv)
    model, base = Inpainter(args.model), Inpainter(baseline_model(args.baseline))
    identity = make_identity()
    pairs = LfwPairSet("val", limit=args.n)
    rows, sheet = [], []
    for i in range(len(pairs)):
        img, mask, ref, valid = (to_u8(t) for t in pairs[i])
        mask = (mask > 0).astype(np.uint8)
        outs = {"no reference (baseline)": base(img, mask), "no reference": model(img, mask)}
        copy = naive_copy(img, mask, ref, valid)
        outs["naive copy"] = copy
        outs["poisson"] = poisson(outs["no reference"], copy, mask)
        outs["low + high"] = low_high(outs["no reference"], copy, mask)
        if "reference" in model.inputs:
            outs["with reference"] = model(img, mask, ref, valid)
        row = {m: metrics(o, img) for m, o in outs.items()}
        if identity is not None:
            truth = identity(img)
            for m, o in outs.items():
                row[m].update(id_distance(identity(o), truth))
        rows.append(row)
        if len(sheet) < 16:
            masked = img * (1 - mask[..., None])
            sheet.append(np.concatenate([masked, ref, outs["no reference"], outs.get("with reference", copy), img], 1))
    summary = {}
    for m in METHODS:
        vals = [r[m] for r in rows if m in r]
        if vals:
            summary[m] = {k: float(np.mean([v[k] for v in vals])) for k in vals[0]} | {"n": len(vals)}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "reference.json").write_text(json.dumps({"summary": summary, "model": str(args.model)}, indent=1))
    keys = [k for k in ("id_euclid", "psnr", "ssim", "l1") if k in next(iter(summary.values()))]
    lines = ["| method | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    for m, s in summary.items():
        lines.append(f"| {m} | " + " | ".join(f"{s[k]:.4f}" if k in ("ssim", "l1") else f"{s[k]:.3f}" if k == "id_euclid"
                                              else f"{s[k]:.2f}" for k in keys) + " |")
    md = (f"Reference-guided restoration, {len(rows)} held-out LFW people (identity: dlib distance to the "
          f"true face, lower is better)\n\n" + "\n".join(lines))
    (args.out / "reference.md").write_text(md + "\n")
    print(md)
    if args.sheet and sheet:
        grid = np.concatenate([np.concatenate(sheet[k:k + 2], 1) for k in range(0, len(sheet) - 1, 2)], 0)
        cv2.imwrite(str(args.sheet), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
    return 0


if __name__ == "__main__":
    sys.exit(main())
