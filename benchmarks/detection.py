"""Face detection recall on real photos of masked people (no ground-truth boxes: every photo in
``real_masked`` shows at least one masked face, so 'photos with >= 1 face found' is the recall proxy).

    python benchmarks/detection.py [--limit N] [--out benchmarks/out]

Compares the shipped strategy (short + full range models, tiles for small faces, NMS) with each
MediaPipe model alone, in the same run; also how often the face mesh (landmarks) succeeds.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from unmask_studio.core.faces import FaceFinder, nms
from unmask_studio.core.io import load_image

REPO = Path(__file__).resolve().parents[1]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "real_masked"))
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "out"))
    args = ap.parse_args(argv)
    files = sorted(Path(args.data).glob("*.webp"))
    if args.limit:
        files = files[:args.limit]
    finder = FaceFinder()
    rows = {"short-range only": [], "full-range only": [], "shipped (both + tiles)": []}
    mesh_ok = mesh_total = 0
    t_ship = []
    for f in files:
        rgb = load_image(f).rgb
        with finder._lock:
            rows["short-range only"].append(len(nms(finder._run(finder._short, rgb, 0, 0, 1.0))))
            rows["full-range only"].append(len(nms(finder._run(finder._full, rgb, 0, 0, 1.0))))
        t0 = time.perf_counter()
        dets = finder.detect(rgb)
        t_ship.append(time.perf_counter() - t0)
        rows["shipped (both + tiles)"].append(len(dets))
        for box, _, _ in dets:
            mesh_total += 1
            mesh_ok += finder.landmarks(rgb, box) is not None
    result = {name: {"photos": len(v), "recall_photos_with_face": float(np.mean(np.array(v) > 0)),
                     "faces_found": int(np.sum(v))} for name, v in rows.items()}
    result["mesh_success"] = mesh_ok / max(1, mesh_total)
    result["shipped_ms_per_photo_median"] = 1000 * float(np.median(t_ship))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "detection.json").write_text(json.dumps(result, indent=1))
    lines = ["| detector | photos with ≥1 face | faces found |", "|---|---|---|"]
    lines += [f"| {k} | {v['recall_photos_with_face']:.1%} | {v['faces_found']} |" for k, v in result.items()
              if isinstance(v, dict)]
    lines.append(f"\nFace mesh landmarks found for {result['mesh_success']:.1%} of detected faces; "
                 f"shipped detection {result['shipped_ms_per_photo_median']:.0f} ms/photo (median), "
                 f"{len(files)} photos.")
    (out / "detection.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
