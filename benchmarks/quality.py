"""Inpainting quality: the full evaluation (training.evaluate) where torch is installed, else pairs_dev only.

    python -m benchmarks.quality [--n 500] [--out benchmarks/out] [--contact-sheet PATH] [--pairs-only]

The pairs_dev part (evaluation/pairs.py) needs only the app's dependencies plus scikit-image,
scipy and (for the identity metric, optional) dlib + face_recognition_models.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluation import pairs as pe


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=500, help="synthetic validation faces (needs torch)")
    ap.add_argument("--out", type=Path, default=pe.REPO / "benchmarks" / "out")
    ap.add_argument("--contact-sheet", type=Path, metavar="PATH")
    ap.add_argument("--pairs-limit", type=int, default=None)
    ap.add_argument("--pairs-only", action="store_true", help="skip the synthetic set even if torch is there")
    args = ap.parse_args(argv)
    if not args.pairs_only:
        try:
            from training import evaluate
        except ImportError as e:
            if getattr(e, "name", None) != "torch":
                raise
            print("torch is not installed: evaluating pairs_dev only")
        else:
            return evaluate.main([a for a in argv if a != "--pairs-only"])
    pe.run_pairs_only(args.out, args.contact_sheet, args.pairs_limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
