"""Hard bare faces for the segmenter: the CelebA *training* faces on which a model finds a covering.

Bare faces that fooled the weakly supervised segmenter (run ``segment_real2``) were not random: turned
heads (a cheek read as a mask), microphones, phones and hands in front of the mouth, dark collars under
the chin. A random 35 % of bare synthetic faces rarely shows those, so the fine-tune draws part of its
bare faces from this list (``SegmentSet(hard_bare=...)``). Mining runs on ``celeba/train`` only; the
validation faces stay a held-out measure.

    python -m training.hard_negatives --run segment_real2   # writes training/.cache/hard_bare_<run>.npz
"""
from __future__ import annotations

import argparse
import sys

import cv2
import numpy as np
import torch

from training.checkpoint import load_state, to_float
from training.data import SOURCE_SIZE, landmarks, load_face
from training.framing import tight_to_loose
from training.paths import CACHE, RUNS

NET_SIZE = 128
# Lower than the app's 0.5: faces the model is *nearly* fooled by are as worth seeing again.
MINING_THRESHOLD = 0.3


def bare_crop(path, size: int = NET_SIZE) -> np.ndarray:
    """The bare face in the segmenter's loose framing, as ``SegmentSet`` renders it (no augmentation)."""
    big = 256
    A = tight_to_loose(big)
    img = cv2.warpAffine(load_face(path, big), A, (big, big), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT101)
    return cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)


def cache_file(run: str):
    return CACHE / f"hard_bare_{run}.npz"


@torch.no_grad()
def mine(net, files, batch: int = 64, threshold: float = MINING_THRESHOLD) -> tuple[np.ndarray, np.ndarray]:
    """Indices into ``files`` where ``net`` keeps a covering after the app's clean-up, and the peak
    probability of every face."""
    from training.weak import covering_found, teacher_probs

    hits, peaks = [], []
    for i in range(0, len(files), batch):
        crops = np.stack([bare_crop(f) for f in files[i:i + batch]])
        probs = teacher_probs(net, crops, batch=batch, flip=False).astype(np.float32)
        peaks.append(probs.reshape(len(probs), -1).max(1))
        hits += [i + k for k in np.flatnonzero(covering_found(probs, threshold))]
        if (i // batch) % 40 == 0:
            print(f"mined {i + len(crops)}/{len(files)}: {len(hits)} hard bare faces", flush=True)
    return np.array(hits, np.int64), np.concatenate(peaks)


def load(run: str) -> np.ndarray | None:
    """Indices into ``landmarks('train')`` files, or None if not mined for ``run``."""
    f = cache_file(run)
    return np.load(f)["indices"] if f.exists() else None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="segmenter run under training/runs whose checkpoint mines")
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    from training.models import SegmenterNet

    state = load_state(RUNS / args.run)
    if not state:
        print(f"no checkpoint in {RUNS / args.run}", file=sys.stderr)
        return 2
    net = SegmenterNet()
    net.load_state_dict(to_float(state["net"]))
    files, _ = landmarks("train")
    idx, peaks = mine(net, files)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(cache_file(args.run), indices=idx, peaks=peaks.astype(np.float16), step=state["step"])
    print(f"{len(idx)} of {len(files)} bare training faces ({len(idx) / len(files):.1%}) fool step {state['step']}")
    return 0


assert SOURCE_SIZE == 192  # bare_crop renders like SegmentSet, which assumes CelebA's 192² crops

if __name__ == "__main__":
    sys.exit(main())
