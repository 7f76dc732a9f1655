"""Batch speed and memory: sequential vs pipelined run_batch, seconds per 12 MP photo, peak RSS on 24 MP.

    python -m benchmarks.batch_speed [--photos 8] [--rounds 2] [--memory-photos 100] [--no-memory]

Test photos: real masked faces from pairs_dev/masked, scaled so the face is 600-900 px wide and pasted
with a soft edge onto a 4000x3000 textured background (gradient + mid-scale colour noise + grain), saved
as JPEG q92; every photo is checked to give exactly one face. Then, in the same run and interleaved
(round-robin, so the background load hits every configuration alike):

* ``run_batch(..., pipelined=False)`` (the plain sequential path) and ``pipelined=True``, each with
  onnxruntime on all cores (``Options(threads=None)``) and on one thread (``threads=1``): photos/min,
  process CPU seconds, the ratio pipelined / sequential;
* seconds per photo, load + process + save: the sequential path's per-file time and the pipelined
  path's wall time per photo; a breakdown (decode, detect, segment, inpaint + paste-back, encode) and the
  top functions of a cProfile of one photo;
* peak memory of a 100-photo batch of 24 MP (6000x4000) JPEGs, in a subprocess (``ru_maxrss``, plus
  VmRSS sampled every 0.5 s to show it does not grow with the number of photos).

Writes batch_speed.json and batch_speed.md into --out (default benchmarks/out).
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("UNMASK_FORCE_CPU", "1")
os.environ.setdefault("GLOG_minloglevel", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("UNMASK_DATA", REPO.parent / "shared" / "data"))
SIZE_12MP, SIZE_24MP = (4000, 3000), (6000, 4000)


# ------------------------------------------------------------------------------------------ photos
def background(size, seed):
    w, h = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h:8, 0:w:8].astype(np.float32)
    hs, ws = yy.shape
    base = np.dstack([110 + 50 * xx / w, 120 + 40 * yy / h, 140 - 40 * xx / w])
    noise = cv2.GaussianBlur(rng.normal(0, 1, (hs, ws, 3)).astype(np.float32), (0, 0), 6)
    small = base + 14 * noise / (noise.std() + 1e-6)
    big = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    big += rng.normal(0, 3.0, (h, w, 1)).astype(np.float32)  # sensor-like grain
    return big


def masked_sources(engine):
    """(rgb, face box) for the pairs_dev masked photos with exactly one face."""
    out = []
    for p in sorted((DATA / "pairs_dev" / "masked").glob("*.png")):
        rgb = np.asarray(Image.open(p).convert("RGB"))
        faces = engine.detect(rgb)
        if len(faces) == 1 and min(rgb.shape[:2]) >= 200:
            out.append((p.name, rgb, faces[0].box))
    return out


def compose(src, size, face_px, seed):
    name, rgb, (x0, y0, x1, y1) = src
    w, h = size
    k = face_px / max(1, x1 - x0)
    photo = cv2.resize(rgb, None, fx=k, fy=k, interpolation=cv2.INTER_CUBIC).astype(np.float32)
    ph, pw = photo.shape[:2]
    if ph > h * 0.95 or pw > w * 0.95:  # keep the face, crop the rest
        cx, cy = (x0 + x1) / 2 * k, (y0 + y1) / 2 * k
        ch, cw = min(ph, int(h * 0.95)), min(pw, int(w * 0.95))
        top = int(np.clip(cy - ch / 2, 0, ph - ch))
        left = int(np.clip(cx - cw / 2, 0, pw - cw))
        photo = photo[top:top + ch, left:left + cw]
        ph, pw = photo.shape[:2]
    canvas = background(size, seed)
    rng = np.random.default_rng(seed)
    oy = int(rng.integers(0, h - ph + 1))
    ox = int(rng.integers(0, w - pw + 1))
    feather = max(8, min(ph, pw) // 20)
    a = np.ones((ph, pw), np.float32)
    a[:feather] *= np.linspace(0, 1, feather)[:, None]
    a[-feather:] *= np.linspace(1, 0, feather)[:, None]
    a[:, :feather] *= np.linspace(0, 1, feather)[None, :]
    a[:, -feather:] *= np.linspace(1, 0, feather)[None, :]
    roi = canvas[oy:oy + ph, ox:ox + pw]
    roi[:] = roi * (1 - a[..., None]) + photo * a[..., None]
    return np.clip(canvas, 0, 255).astype(np.uint8)


def build_photos(engine, folder: Path, n: int, size, face_range, seed0=0, verify=True) -> list[dict]:
    folder.mkdir(parents=True, exist_ok=True)
    sources = masked_sources(engine)
    made, seed = [], seed0
    while len(made) < n:
        src = sources[seed % len(sources)]
        face_px = int(np.random.default_rng(seed).integers(*face_range))
        rgb = compose(src, size, face_px, seed)
        seed += 1
        if verify:
            found = len(engine.detect(rgb))
            if found != 1:
                continue  # a false positive in the background: try another layout
        path = folder / f"photo{len(made):03d}.jpg"
        Image.fromarray(rgb).save(path, quality=92)
        made.append({"file": path.name, "source": src[0], "face_px": face_px, "mb": round(path.stat().st_size / 1e6, 2)})
    return made


# ------------------------------------------------------------------------------------------ timing
def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_config(engine, src: Path, out: Path, pipelined: bool, lanes: int = 1) -> dict:
    from unmask_studio.core.batch import BatchOptions, plan, run_batch

    shutil.rmtree(out, ignore_errors=True)
    opts = BatchOptions(out_dir=out)
    jobs = plan([src], opts)
    c0, t0 = cpu_seconds(), time.perf_counter()
    report = run_batch(engine, jobs, opts, pipelined=pipelined, lanes=lanes)
    wall = time.perf_counter() - t0
    cpu = cpu_seconds() - c0
    per_file = [f.seconds for f in report.files]
    return {"seconds": round(wall, 2), "per_minute": round(60 * len(jobs) / wall, 2), "cpu_seconds": round(cpu, 1),
            "cpu_share": round(cpu / wall, 2), "cpu_per_photo": round(cpu / len(jobs), 2), "counts": report.counts(), "faces": [f.faces for f in report.files],
            "per_file_median": round(statistics.median(per_file), 3), "load": os.getloadavg()[0]}


def breakdown(engine, photos: list[Path]) -> dict:
    from unmask_studio.core.io import load_image, save_image

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for p in photos:
            t0 = time.perf_counter()
            img = load_image(p)
            t1 = time.perf_counter()
            res = engine.run(img.rgb)
            t2 = time.perf_counter()
            save_image(Path(tmp) / p.name, res.image, like=img, quality=95)
            t3 = time.perf_counter()
            rows.append({"load": t1 - t0, "detect": res.timings.get("detect", 0), "segment": res.timings.get("segment", 0),
                         "inpaint": res.timings.get("inpaint", 0), "engine": t2 - t1, "save": t3 - t2,
                         "total": t3 - t0})
        prof = cProfile.Profile()
        img = load_image(photos[0])
        prof.enable()
        res = engine.run(img.rgb)
        prof.disable()
    med = {k: round(statistics.median(r[k] for r in rows), 3) for k in rows[0]}
    s = io.StringIO()
    st = pstats.Stats(prof, stream=s)
    top = []
    for (file, line, fn), (cc, nc, tt, ct, callers) in sorted(st.stats.items(), key=lambda kv: -kv[1][2])[:15]:
        top.append({"function": f"{Path(file).name}:{line}({fn})" if line else fn, "calls": nc,
                    "tottime": round(tt, 3), "cumtime": round(ct, 3)})
    cum = []
    for (file, line, fn), (cc, nc, tt, ct, callers) in sorted(st.stats.items(), key=lambda kv: -kv[1][3]):
        if "unmask_studio" in file:
            cum.append({"function": f"{Path(file).parent.name}/{Path(file).name}:{line}({fn})", "calls": nc,
                        "cumtime": round(ct, 3)})
    return {"median": med, "photos": len(rows), "profile_top_tottime": top, "profile_unmask_cumtime": cum[:15]}


# ------------------------------------------------------------------------------------------ memory (child)
def _rss_mb(field: str = "VmRSS") -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def _reset_peak() -> None:
    try:  # Linux: reset the VmHWM high-water mark, to find which stretch of the batch peaks
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def child_memory(src: Path, out: Path, threads: int | None, lanes: int = 1) -> None:
    from unmask_studio.core.batch import BatchOptions, Callbacks, plan, run_batch
    from unmask_studio.core.pipeline import Engine, Options

    engine = Engine(Options(threads=threads))
    engine.warm_up()
    engine.run(np.zeros((64, 64, 3), np.uint8))
    after_warmup = _rss_mb()
    samples, stop = [], threading.Event()
    done = [0]

    def sample():
        while not stop.is_set():
            samples.append((round(time.monotonic() - t0, 1), done[0], round(_rss_mb())))
            stop.wait(0.5)

    opts = BatchOptions(out_dir=out)
    jobs = plan([src], opts)
    interval_peaks = []  # VmHWM between consecutive finished photos

    def on_file(i, r):
        done[0] = i + 1
        interval_peaks.append(round(_rss_mb("VmHWM")))
        _reset_peak()

    t0 = time.monotonic()
    th = threading.Thread(target=sample, daemon=True)
    th.start()
    report = run_batch(engine, jobs, opts, Callbacks(on_file=on_file), lanes=lanes)
    wall = time.monotonic() - t0
    stop.set()
    th.join()
    # Peak = the highest VmHWM of any stretch. Not ru_maxrss: exec() carries the *parent's* high-water
    # mark into it (exec_mmap), so a child of this (big) benchmark process would report the parent's RSS.
    ru_maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    peak = max(interval_peaks + [_rss_mb("VmHWM")])
    by_count = {}
    for _t, n, rss in samples:
        by_count[n] = max(by_count.get(n, 0), rss)
    print(json.dumps({"photos": len(jobs), "counts": report.counts(), "seconds": round(wall, 1),
                      "per_minute": round(60 * len(jobs) / wall, 2), "peak_rss_mb": round(peak),
                      "ru_maxrss_mb": round(ru_maxrss),
                      "rss_after_warmup_mb": round(after_warmup),
                      "peak_between_photos_mb": {"min": min(interval_peaks), "median": statistics.median(interval_peaks),
                                                 "max": max(interval_peaks),
                                                 "max_at_photo": interval_peaks.index(max(interval_peaks))},
                      "max_rss_by_photos_done_mb": {str(k): v for k, v in sorted(by_count.items())
                                                    if k in (0, 1, 2, 5, 10, 25, 50, 75, 99, 100) or k == len(jobs)}}))


def memory_benchmark(engine, n: int, threads: int | None, tmp: Path, lanes: int = 1) -> dict:
    folder = tmp / "in24"
    distinct = min(n, 10)  # 10 different photos, copied: decoding and processing are the same work
    t0 = time.perf_counter()
    made = build_photos(engine, folder, distinct, SIZE_24MP, (900, 1300), seed0=1000)
    for i in range(distinct, n):
        shutil.copy(folder / made[i % distinct]["file"], folder / f"photo{i:03d}.jpg")
    build_s = time.perf_counter() - t0
    size_mb = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
    cmd = [sys.executable, "-m", "benchmarks.batch_speed", "--child-memory", str(folder), str(tmp / "out24"),
           "--threads", str(threads or 0), "--lanes", str(lanes)]
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"memory child failed:\n{r.stderr[-3000:]}")
    res = json.loads(r.stdout.strip().splitlines()[-1])
    res.update(input_mb=round(size_mb), build_seconds=round(build_s), threads=threads, lanes=lanes, size="6000x4000")
    shutil.rmtree(tmp / "out24", ignore_errors=True)
    return res


# ------------------------------------------------------------------------------------------ report
def markdown(r: dict) -> str:
    env = r["machine"]
    lines = ["## Batch speed", "",
             f"{env['cpus']} CPU cores ({env['machine']}), shared with other jobs: load average {env['load_before']} "
             f"at the start, {env['load_after']} at the end. Photos: {r['photos']['count']} JPEGs of 4000×3000 (q92, "
             f"{r['photos']['mb_mean']} MB on average), one real masked face each, {r['photos']['face_px']} px wide. "
             f"{r['rounds']} interleaved rounds per configuration; the best round is shown (the median in the JSON).",
             "", "### (a) Throughput: load + process + save", "",
             "| path | onnxruntime threads | lanes | photos / min (best) | median | s / photo | CPU s / photo | "
             "CPU s used / wall s |", "|---|---|---|---|---|---|---|---|"]
    for c in r["configs"]:
        lines.append(f"| {'pipelined' if c['pipelined'] else 'sequential'} | {c['threads_label']} | {c.get('lanes', 1)} | "
                     f"{c['best_per_minute']:.1f} | {c['median_per_minute']:.1f} | {60 / c['best_per_minute']:.2f} | "
                     f"{c['cpu_per_photo']:.2f} | {c['cpu_share']:.2f} |")
    s = r["summary"]
    lines += ["", f"Pipelined (best configuration: {s['best_pipelined']}) vs sequential (all cores): "
              f"**{s['ratio']:.2f}×** (target ≥ 1.8×).", "",
              "### (b) Seconds per single-face 12 MP photo (load + process + save)", "",
              "| measure | seconds | target |", "|---|---|---|",
              f"| sequential path, one photo start to finish (median FileReport.seconds) | {s['sequential_per_photo']:.2f} | ≤ 1.0 |",
              f"| pipelined batch, wall time per photo | {s['pipelined_per_photo']:.2f} | ≤ 1.0 |", "",
              "Breakdown (sequential, threads = all cores, median of "
              f"{r['breakdown']['photos']} photos):", "",
              "| decode | detect | segment | inpaint + paste-back | encode + fsync | total |", "|---|---|---|---|---|---|"]
    b = r["breakdown"]["median"]
    lines.append(f"| {b['load']:.2f} | {b['detect']:.2f} | {b['segment']:.2f} | {b['inpaint']:.2f} | {b['save']:.2f} | "
                 f"{b['total']:.2f} |")
    lines += ["", "Engine.run on one photo, cProfile, the engine's functions by cumulative time:", "",
              "| function | calls | cumulative s |", "|---|---|---|"]
    for t in r["breakdown"]["profile_unmask_cumtime"][:12]:
        lines.append(f"| `{t['function']}` | {t['calls']} | {t['cumtime']:.3f} |")
    lines += ["", "and the top functions by own time:", "",
              "| function | calls | own s | cumulative s |", "|---|---|---|---|"]
    for t in r["breakdown"]["profile_top_tottime"][:10]:
        lines.append(f"| `{t['function']}` | {t['calls']} | {t['tottime']:.3f} | {t['cumtime']:.3f} |")
    m = r.get("memory")
    if m:
        lines += ["", f"### (c) Memory: {m['photos']} JPEGs of {m['size']} (24 MP, {m['input_mb']} MB in total)", "",
                  "| measure | value |", "|---|---|",
                  f"| peak RSS of the batch process (VmHWM, whole run) | {m['peak_rss_mb']} MB |",
                  f"| RSS after loading the models | {m['rss_after_warmup_mb']} MB |",
                  f"| peak RSS between two finished photos: median / max | {m['peak_between_photos_mb']['median']:.0f} / "
                  f"{m['peak_between_photos_mb']['max']} MB |",
                  f"| time | {m['seconds']:.0f} s ({m['per_minute']:.1f} photos / min, threads={m['threads_label']}, lanes={m.get('lanes', 1)}) |",
                  f"| statuses | {m['counts']} |", "",
                  "Highest RSS seen after N photos: " + ", ".join(f"{k}: {v} MB" for k, v in
                                                                 m["max_rss_by_photos_done_mb"].items()) + "."]
    lines += ["", "\"CPU s used / wall s\" is how many cores the batch actually got: pipelining can only hide "
              "decoding and encoding behind inference when a core is idle; when other jobs keep both cores busy the "
              "batch gets about one core and the pipelined and sequential paths converge to the CPU seconds per "
              "photo. Re-run on an idle machine for the uncontended numbers."]
    if r.get("notes"):
        lines += ["", *r["notes"]]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--memory-photos", type=int, default=100)
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--memory-only", action="store_true", help="only (c), merged into an existing batch_speed.json")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out")
    ap.add_argument("--child-memory", nargs=2, type=Path, metavar=("IN", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=1, help="onnxruntime threads for the memory run (0 = all)")
    ap.add_argument("--lanes", type=int, default=1, help="batch lanes for the memory run")
    args = ap.parse_args()
    if args.child_memory:
        child_memory(*args.child_memory, args.threads or None, args.lanes)
        return 0

    from unmask_studio.core.pipeline import Engine, Options

    if args.memory_only:
        result = json.loads((args.out / "batch_speed.json").read_text())
        tmp = Path(tempfile.mkdtemp(prefix="unmask-batch-speed-"))
        try:
            engine = Engine()
            threads, lanes = result["summary"]["best_threads"], result["summary"]["best_lanes"]
            m = memory_benchmark(engine, args.memory_photos, threads, tmp, lanes)
            m["threads_label"] = "1" if threads == 1 else f"all ({os.cpu_count()})"
            result["memory"] = m
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        (args.out / "batch_speed.json").write_text(json.dumps(result, indent=1))
        md = markdown(result)
        (args.out / "batch_speed.md").write_text(md)
        print(md)
        return 0

    load_before = [round(x, 2) for x in os.getloadavg()]
    engines = {None: Engine(Options(threads=None)), 1: Engine(Options(threads=1))}
    for e in engines.values():
        e.warm_up()
    tmp = Path(tempfile.mkdtemp(prefix="unmask-batch-speed-"))
    try:
        src = tmp / "in12"
        made = build_photos(engines[None], src, args.photos, SIZE_12MP, (600, 900))
        print(f"built {len(made)} photos in {src}", file=sys.stderr)
        for e in engines.values():  # first-call costs (allocations, MediaPipe graphs) out of the timings
            e.run(np.asarray(Image.open(src / made[0]["file"])))
        bd = breakdown(engines[None], sorted(src.iterdir())[:3])
        print("breakdown", bd["median"], file=sys.stderr)
        configs = [(False, None, 1), (True, None, 1), (True, 1, 1), (True, 1, 2), (True, None, 2), (False, 1, 1)]
        runs = {c: [] for c in configs}
        for rnd in range(args.rounds):
            for pipelined, threads, lanes in configs:
                res = run_config(engines[threads], src, tmp / "out", pipelined, lanes)
                runs[(pipelined, threads, lanes)].append(res)
                print(f"round {rnd} pipelined={pipelined} threads={threads} lanes={lanes}: {res['per_minute']} /min "
                      f"(cpu share {res['cpu_share']}, load {res['load']:.1f})", file=sys.stderr)
        out_configs = []
        for (pipelined, threads, lanes), rs in runs.items():
            best = max(rs, key=lambda x: x["per_minute"])
            out_configs.append({"pipelined": pipelined, "threads": threads, "lanes": lanes,
                                "threads_label": "1" if threads == 1 else f"all ({os.cpu_count()})",
                                "best_per_minute": best["per_minute"],
                                "median_per_minute": round(statistics.median(x["per_minute"] for x in rs), 2),
                                "cpu_share": best["cpu_share"], "cpu_per_photo": best["cpu_per_photo"],
                                "per_file_median": best["per_file_median"],
                                "runs": rs})
        seq = next(c for c in out_configs if not c["pipelined"] and c["threads"] is None)
        pipes = [c for c in out_configs if c["pipelined"]]
        best_pipe = max(pipes, key=lambda c: c["best_per_minute"])
        summary = {"ratio": round(best_pipe["best_per_minute"] / seq["best_per_minute"], 2),
                   "ratio_median": round(best_pipe["median_per_minute"] / seq["median_per_minute"], 2),
                   "best_pipelined": f"threads={best_pipe['threads_label']}, lanes={best_pipe['lanes']}",
                   "best_threads": best_pipe["threads"], "best_lanes": best_pipe["lanes"],
                   "sequential_per_photo": seq["per_file_median"],
                   "pipelined_per_photo": round(60 / best_pipe["best_per_minute"], 2)}
        result = {"machine": {"cpus": os.cpu_count(), "machine": platform.machine(), "load_before": load_before},
                  "photos": {"count": len(made), "size": "4000x3000", "files": made,
                             "mb_mean": round(statistics.mean(m["mb"] for m in made), 1),
                             "face_px": f"{min(m['face_px'] for m in made)}–{max(m['face_px'] for m in made)}"},
                  "rounds": args.rounds, "breakdown": bd, "configs": out_configs, "summary": summary}
        shutil.rmtree(src, ignore_errors=True)
        if not args.no_memory:
            mem_threads = best_pipe["threads"]
            print(f"memory: {args.memory_photos} photos of 24 MP, threads={mem_threads}", file=sys.stderr)
            m = memory_benchmark(engines[None], args.memory_photos, mem_threads, tmp, best_pipe["lanes"])
            m["threads_label"] = best_pipe["threads_label"]
            result["memory"] = m
        result["machine"]["load_after"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "batch_speed.json").write_text(json.dumps(result, indent=1))
    md = markdown(result)
    (args.out / "batch_speed.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
