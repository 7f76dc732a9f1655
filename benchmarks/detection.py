"""Face detection on real photos of masked people, and no faces where there are none.

    python benchmarks/detection.py [--limit N] [--out benchmarks/out]

No ground-truth boxes exist for the real sets: every photo in ``wild_dev`` and ``real_masked`` shows at
least one face, so "photos with >= 1 face found" is the recall proxy and faces per photo shows how
much of a crowd is found. False positives: ``celeba/val`` (one face per photo: more is spurious) and
the MaskTheFace fabric textures (no face at all). Compares, in the same run, the previous detector
(MediaPipe BlazeFace short + full range, tiles; "BlazeFace") with the shipped one (the same plus
CenterFace at two sizes, weak boxes confirmed by the face mesh), on the same photos; time is the
whole ``FaceFinder.find`` (detection + face mesh) per photo.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from unmask_studio.core.faces import FaceFinder
from unmask_studio.core.io import load_image

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
SETS = {"wild_dev": "wild_dev", "real_masked": "real_masked", "celeba/val (1 face each)": "celeba/val",
        "textures (no face)": "mask_templates/textures"}


def photos(folder: Path, limit: int) -> list[Path]:
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".webp", ".jpg", ".jpeg", ".png"))
    return files[::max(1, len(files) // limit)][:limit] if limit else files


def measure(finder: FaceFinder, files: list[Path]) -> dict:
    n, ms, mesh = [], [], []
    for f in files:
        rgb = load_image(f).rgb
        t0 = time.perf_counter()
        faces = finder.find(rgb)
        ms.append(1000 * (time.perf_counter() - t0))
        n.append(len(faces))
        mesh += [len(x.landmarks) == 468 for x in faces]
    n = np.array(n)
    return {"photos": len(files), "photos_with_face": float(np.mean(n > 0)), "photos_with_2plus": float(np.mean(n > 1)),
            "faces_per_photo": float(n.mean()), "faces": int(n.sum()),
            "mesh_landmarks": float(np.mean(mesh)) if mesh else None,
            "ms_per_photo_median": float(np.median(ms)), "ms_per_photo_mean": float(np.mean(ms))}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=0, help="photos per set (spread evenly); 0 = all")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "out"))
    args = ap.parse_args(argv)
    finders = {"BlazeFace (before)": FaceFinder(cf_sides=()), "BlazeFace + CenterFace (shipped)": FaceFinder()}
    result = {}
    for label, sub in SETS.items():
        files = photos(DATA / sub, args.limit if "celeba" not in sub else (args.limit or 300))
        if files:
            result[label] = {name: measure(f, files) for name, f in finders.items()}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "detection.json").write_text(json.dumps(result, indent=1))
    lines = ["| set | detector | photos | ≥1 face | ≥2 faces | faces/photo | mesh landmarks | ms/photo (median) |",
             "|---|---|---|---|---|---|---|---|"]
    for label, rows in result.items():
        for name, r in rows.items():
            mesh = f"{r['mesh_landmarks']:.0%}" if r["mesh_landmarks"] is not None else "–"
            lines.append(f"| {label} | {name} | {r['photos']} | {r['photos_with_face']:.1%} | {r['photos_with_2plus']:.1%} "
                         f"| {r['faces_per_photo']:.2f} | {mesh} | {r['ms_per_photo_median']:.0f} |")
    (out / "detection.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
