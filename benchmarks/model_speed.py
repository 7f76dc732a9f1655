"""Per-face latency of the shipped ONNX models in onnxruntime (CPU), at the contract's 256² crop.

    python -m benchmarks.model_speed [--repeats 30] [--models-dir unmask_studio/resources/models] [--compare OTHER.onnx ...]

For each model: median and p90 milliseconds per call for one face (batch 1) and per face in a batch of
4, with onnxruntime on 1 thread and on all cores, interleaved (so background load hits all alike).
``--compare`` adds other inpainter files (e.g. an int8 or bare-generator export) as rows measured in
the same run; ``inpainter_reference.onnx`` (faces with a reference photo) is measured when present. Target
for the inpainter (issue #5): <= 150 ms per face at 256² on 2 cores.
Writes model_speed.json and model_speed.md to --out.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def session(path: Path, threads: int):
    import onnxruntime as ort

    o = ort.SessionOptions()
    o.intra_op_num_threads = threads
    o.log_severity_level = 3
    o.add_session_config_entry("session.intra_op.allow_spinning", "0")  # as the app runs them
    return ort.InferenceSession(str(path), o, providers=["CPUExecutionProvider"])


def feed(name: str, n: int, size: int, inputs=("image", "mask")) -> dict:
    rng = np.random.default_rng(0)
    img = rng.random((n, 3, size, size), dtype=np.float32)
    if name == "segmenter":
        return {"image": img}
    mask = np.zeros((n, 1, size, size), np.float32)
    mask[:, :, size // 2:, size // 5:size * 4 // 5] = 1  # a covering-shaped hole, ~30 % of the crop
    x = {"image": img * (1 - mask), "mask": mask}
    if "reference" in inputs:  # timed with a reference photo present: the slower case
        x["reference"] = rng.random((n, 3, size, size), dtype=np.float32)
        x["reference_mask"] = np.ones((n, 1, size, size), np.float32)
    return x


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--models-dir", type=Path, default=REPO / "unmask_studio" / "resources" / "models")
    ap.add_argument("--compare", type=Path, nargs="*", default=[])
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out")
    args = ap.parse_args(argv)

    size = json.loads((args.models_dir / "contract.json").read_text())["crop_size"]
    cores = os.cpu_count() or 1
    files = {"segmenter": args.models_dir / "segmenter.onnx", "inpainter": args.models_dir / "inpainter.onnx"}
    if (args.models_dir / "inpainter_reference.onnx").exists():  # faces given a reference photo
        files["inpainter (reference)"] = args.models_dir / "inpainter_reference.onnx"
    files.update({f"inpainter ({p.name})": p for p in args.compare})
    cases = []
    for label, path in files.items():
        kind = "segmenter" if label == "segmenter" else "inpainter"
        for threads in sorted({1, cores}):
            s = session(path, threads)
            for n in (1, 4):
                x = feed(kind, n, size, [i.name for i in s.get_inputs()])
                s.run(None, x)  # first call allocates
                cases.append({"model": label, "file": path.name, "threads": threads, "batch": n, "sess": s, "feed": x,
                              "ms": []})
    for _ in range(args.repeats):  # interleaved rounds
        for c in cases:
            t0 = time.perf_counter()
            c["sess"].run(None, c["feed"])
            c["ms"].append((time.perf_counter() - t0) * 1000 / c["batch"])
    rows = []
    for c in cases:
        ms = sorted(c["ms"])
        rows.append({k: c[k] for k in ("model", "file", "threads", "batch")} |
                    {"median_ms_per_face": round(statistics.median(ms), 1),
                     "p90_ms_per_face": round(ms[int(0.9 * (len(ms) - 1))], 1)})
    result = {"cpu_count": cores, "load_average": os.getloadavg(), "size": size, "repeats": args.repeats,
              "rows": rows}
    lines = [f"## Model latency (onnxruntime CPU, {size}² crop, {cores} cores, load {os.getloadavg()[0]:.2f})", "",
             "| model | threads | batch | median ms / face | p90 ms / face |", "|---|---|---|---|---|"]
    lines += [f"| {r['model']} | {r['threads']} | {r['batch']} | {r['median_ms_per_face']} | {r['p90_ms_per_face']} |"
              for r in rows]
    md = "\n".join(lines) + "\n"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "model_speed.json").write_text(json.dumps(result, indent=1))
    (args.out / "model_speed.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
