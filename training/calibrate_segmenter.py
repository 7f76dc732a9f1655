"""Calibrate the segmenter's decision on *training* faces: how a logit offset trades bare-face false
positives against masked-face recall, and optionally write a checkpoint with the offset folded into
the output layer's bias (the app keeps its 0.5 threshold).

    python -m training.calibrate_segmenter --run segment_real2 [--offset -0.8 --write segment_real2_cal]

Measured on data never used for evaluation: 1,000 bare ``celeba/train`` faces (fed as the benchmark
feeds ``celeba/val``: the 256² face straight to the segmenter) and the training part of
``mask_presence`` (the app's covering-found test: cleaned mask touching the mouth). The held-out sets
(``celeba/val``, every fifth ``mask_presence`` photo) are left for ``benchmarks/segmenter.py``.
"""
from __future__ import annotations

import argparse
import shutil

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from training import presence, weak
from training.checkpoint import atomic_save, load_state, to_float
from training.models import SegmenterNet
from training.paths import RUNS, celeba_files

OFFSETS = (0.0, -0.25, -0.5, -0.75, -1.0, -1.5, -2.0)


@torch.no_grad()
def logits(net, x: torch.Tensor, batch: int = 100) -> torch.Tensor:
    return torch.cat([net(x[i:i + batch]) for i in range(0, len(x), batch)])


def to_crop_probs(logit: torch.Tensor, offset: float) -> np.ndarray:
    return F.interpolate(torch.sigmoid(logit + offset), size=256, mode="bilinear", align_corners=False)[:, 0].numpy()


def main(argv=None):
    from unmask_studio.core import maskops

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--run", required=True)
    ap.add_argument("--offset", type=float, default=None, help="logit offset to fold into the output bias")
    ap.add_argument("--write", help="run name for the calibrated checkpoint")
    ap.add_argument("--bare", type=int, default=1000)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    state = load_state(RUNS / args.run)
    net = SegmenterNet()
    net.load_state_dict(to_float(state["net"]))
    net.eval()

    files = celeba_files("train")
    files = [files[int(i)] for i in np.linspace(0, len(files) - 1, args.bare).round()]
    bare = torch.from_numpy(np.stack([np.asarray(Image.open(f).convert("RGB").resize((256, 256), Image.BICUBIC))
                                      for f in files])).permute(0, 3, 1, 2).float() / 255
    bare_logit = logits(net, F.interpolate(bare, size=128, mode="area"))
    d = presence.load("train")
    pres_logit = logits(net, torch.from_numpy(d["images"]).permute(0, 3, 1, 2).float() / 255)
    w, wo = d["labels"] == 1, d["labels"] == 0
    print("| logit offset | celeba/train bare FP | mask_presence train recall | mask_presence train FP |")
    print("|---|---|---|---|")
    for off in OFFSETS if args.offset is None else (0.0, args.offset):
        fp = np.mean([maskops.clean(p, 0.5).any() for p in to_crop_probs(bare_logit, off)])
        found = weak.covering_found(to_crop_probs(pres_logit, off))
        print(f"| {off:+.2f} | {fp:.2%} | {found[w].mean():.2%} | {found[wo].mean():.2%} |")
    if args.write and args.offset is not None:
        out = RUNS / args.write
        out.mkdir(parents=True, exist_ok=True)
        sd = {k: v.clone() for k, v in to_float(state["net"]).items()}
        sd["head.bias"] += args.offset
        atomic_save({"net": {k: v.half() if v.is_floating_point() else v for k, v in sd.items()},
                     "step": state["step"], "epoch": state["epoch"], "pos": state["pos"],
                     "calibration": {"from_run": args.run, "logit_offset": args.offset}}, out / "ckpt_compact.pt")
        if (RUNS / args.run / "log.jsonl").exists():
            shutil.copy(RUNS / args.run / "log.jsonl", out / "log.jsonl")
        print(f"wrote {out / 'ckpt_compact.pt'} (step {state['step']}, logit offset {args.offset:+.2f})")


if __name__ == "__main__":
    main()
