"""Peak memory of loading + processing + writing big photos, before and after a change, in one run.

    python -m benchmarks.memory [--before REV] [--after REV] [--cases png16_13000,jpeg_24mp,...] [--out benchmarks/out]

Cases (made once into a temporary folder; each is a real ``run_batch`` over its folder, the path the CLI
and the editor's batch dialog take: decode, find faces, segment + inpaint, write):

* ``png16_13000``  one 13000x13000 16-bit RGB PNG (a smooth gradient, ~1 MB on disk), no face;
* ``png16_9000x2`` two 9000x9000 16-bit RGB PNGs, two lanes (two photos in flight, as the CLI runs);
* ``jpeg_24mp``    one 6000x4000 JPEG q92 with one masked face (``batch_speed``'s synthetic photos);
* ``png1_169mp``   one 13000x13000 1-bit PNG (~50 KB on disk), no face.

Every case runs in its own subprocess, once with the code of ``--before`` (a ``git worktree`` of that
commit in a temporary folder) and once with ``--after`` (default: this checkout as it is, uncommitted
changes included; give a commit to leave out unfinished work in the tree); the peak is the child's own ``VmHWM`` (not
``ru_maxrss`` of RUSAGE_CHILDREN: exec() carries the parent's high-water mark into the child, so a child
of a big parent would report the parent's size). ``over_idle_mb`` subtracts the child's RSS after
loading the models, i.e. what the photos cost (idle differs when a commit adds a model). Cases run one at a time; a child over
``--limit-gb`` of address space fails with MemoryError instead of pushing the machine into swap/OOM.

Writes memory.json and memory.md into --out.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The last commit before the bounded-memory 16-bit / 1-bit conversion in core/io.py.
BASELINE_REV = "5d75b5d"
CASES = ("png16_13000", "png16_9000x2", "jpeg_24mp", "png1_169mp")


# ------------------------------------------------------------------------------------------ inputs
def gradient16(side: int, seed: int):
    """A smooth 16-bit RGB gradient (steps of 5, so the low bytes vary): compresses to ~1 MB at 13000²."""
    import numpy as np

    ramp = (np.arange(side, dtype=np.uint32) * 5 % 65536).astype(np.uint16)
    img = np.empty((side, side, 3), np.uint16)
    img[..., 0] = ramp[None, :]
    img[..., 1] = ramp[:, None]
    img[..., 2] = 40000 + seed
    return img


def write_png16(path: Path, rgb16) -> None:
    import cv2

    cv2.imwrite(str(path), rgb16[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 9])  # OpenCV writes BGR


def make_case(case: str, folder: Path) -> dict:
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    if case == "png16_13000":
        write_png16(folder / "big16.png", gradient16(13000, 0))
    elif case == "png16_9000x2":
        for i in range(2):
            write_png16(folder / f"big16_{i}.png", gradient16(9000, 1000 * i))
    elif case == "png1_169mp":
        img = Image.new("1", (13000, 13000), 1)
        ImageDraw.Draw(img).rectangle((3000, 3000, 9000, 9000), fill=0)
        img.save(folder / "bilevel.png")
    elif case == "jpeg_24mp":
        from benchmarks.batch_speed import SIZE_24MP, build_photos
        from unmask_studio.core.pipeline import Engine

        build_photos(Engine(), folder, 1, SIZE_24MP, (900, 1300), seed0=1000)
    else:
        raise SystemExit(f"unknown case {case!r}; choose from {', '.join(CASES)}")
    files = sorted(folder.iterdir())
    Image.MAX_IMAGE_PIXELS = None  # our own test images: only the size is read here
    with Image.open(files[0]) as im:
        size, mode = im.size, im.mode
    return {"files": len(files), "size": f"{size[0]}x{size[1]}", "mode": mode,
            "disk_mb": round(sum(f.stat().st_size for f in files) / 1e6, 2)}


# ------------------------------------------------------------------------------------------ child
def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def child(src: Path, out: Path, impl: Path, lanes: int) -> None:
    sys.path.insert(0, str(impl))  # the code under test: this checkout or the --before worktree
    import numpy as np

    import unmask_studio
    from unmask_studio.core.batch import BatchOptions, plan, run_batch
    from unmask_studio.core.pipeline import Engine, Options

    if not Path(unmask_studio.__file__).resolve().is_relative_to(impl.resolve()):
        raise SystemExit(f"imported {unmask_studio.__file__}, not the code in {impl}")
    engine = Engine(Options(threads=1))
    engine.warm_up()
    engine.run(np.zeros((64, 64, 3), np.uint8))
    idle = _status_mb("VmRSS")
    opts = BatchOptions(out_dir=out)
    t0 = time.monotonic()
    report = run_batch(engine, plan([src], opts), opts, lanes=lanes)
    seconds = time.monotonic() - t0
    peak = _status_mb("VmHWM")
    print(json.dumps({"peak_mb": round(peak), "idle_mb": round(idle), "over_idle_mb": round(peak - idle),
                      "seconds": round(seconds, 1), "counts": report.counts(),
                      "messages": sorted({f.message for f in report.files if f.message})}))


def run_child(case_dir: Path, impl: Path, lanes: int, limit_gb: float, tmp: Path) -> dict:
    out = tmp / "out"
    subprocess.run(["rm", "-rf", str(out)], check=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(case_dir), str(out), str(impl), str(lanes)]
    env = dict(os.environ, UNMASK_FORCE_CPU="1", GLOG_minloglevel="2", PYTHONPATH=str(impl))

    def limit():  # runs in the child before exec
        lim = int(limit_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (lim, lim))

    r = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, preexec_fn=limit)
    if r.returncode != 0:
        tail = (r.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": f"exit {r.returncode}: {tail[:300]}"}
    return json.loads(r.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------ report
def markdown(res: dict) -> str:
    lines = [f"Peak memory (VmHWM of a child running `run_batch`, onnxruntime 1 thread); before = "
             f"`{res['before_rev']}`, after = `{res['after_rev']}`{' + uncommitted changes' if res['dirty'] else ''}. "
             f"Idle (models loaded) ≈ {res['idle_mb']} MB.", "",
             "| case | input | before peak MB | after peak MB | before over idle | after over idle | "
             "after s | after result |", "|---|---|---:|---:|---:|---:|---:|---|"]
    for name, c in res["cases"].items():
        b, a = c["before"], c["after"]

        def cell(d, k):
            return str(d.get(k, "—")) if "error" not in d else "error"
        result = a.get("error") or ", ".join(f"{v} {k}" for k, v in sorted(a["counts"].items()))
        if a.get("messages"):
            result += "; " + " / ".join(m[:90] for m in a["messages"])
        lines.append(f"| {name} | {c['input']['files']} × {c['input']['size']} {c['input']['mode']}, "
                     f"{c['input']['disk_mb']} MB | {cell(b, 'peak_mb')} | {cell(a, 'peak_mb')} | "
                     f"{cell(b, 'over_idle_mb')} | {cell(a, 'over_idle_mb')} | {cell(a, 'seconds')} | {result} |")
    for name, c in res["cases"].items():
        if "error" in c["before"]:
            lines.append(f"\n{name} before: {c['before']['error']}")
    return "\n".join(lines) + "\n"


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, check=True, capture_output=True, text=True).stdout.strip()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", default=BASELINE_REV, help=f"commit to compare with (default {BASELINE_REV})")
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--limit-gb", type=float, default=20.0, help="address-space limit of each child")
    ap.add_argument("--after", default="", help="commit to measure as 'after' (default: this checkout as it is, "
                                                "uncommitted changes included)")
    ap.add_argument("--no-before", action="store_true", help="only the 'after' code")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out")
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        src, out, impl, lanes = args.child
        child(Path(src), Path(out), Path(impl), int(lanes))
        return 0

    cases = [c for c in args.cases.split(",") if c]
    tmp = Path(tempfile.mkdtemp(prefix="unmask-memory-"))
    before_dir = tmp / "before"
    after_dir = tmp / "after" if args.after else REPO
    res = {"before_rev": "" if args.no_before else git("rev-parse", "--short", args.before),
           "after_rev": git("rev-parse", "--short", args.after or "HEAD"),
           "dirty": not args.after and bool(git("status", "--porcelain", "--", "unmask_studio")),
           "machine": f"{platform.machine()}, {os.cpu_count()} cores", "limit_gb": args.limit_gb, "cases": {}}
    try:
        if not args.no_before:
            git("worktree", "add", "--detach", str(before_dir), args.before)
        if args.after:
            git("worktree", "add", "--detach", str(after_dir), args.after)
        for case in cases:
            case_dir = tmp / "in" / case
            info = make_case(case, case_dir)
            lanes = 2 if case.endswith("x2") else 1
            entry = {"input": info, "lanes": lanes}
            for label, impl in (("before", before_dir), ("after", after_dir)):
                if label == "before" and args.no_before:
                    entry[label] = {"error": "not run"}
                    continue
                print(f"{case} ({label}) ...", file=sys.stderr, flush=True)
                entry[label] = run_child(case_dir, impl, lanes, args.limit_gb, tmp)
                print(f"  {entry[label]}", file=sys.stderr, flush=True)
            res["cases"][case] = entry
            subprocess.run(["rm", "-rf", str(case_dir)], check=True)
    finally:
        for d in (before_dir, tmp / "after"):
            if d.exists():
                git("worktree", "remove", "--force", str(d))
        subprocess.run(["rm", "-rf", str(tmp)], check=False)
    idles = [c[k]["idle_mb"] for c in res["cases"].values() for k in ("before", "after") if "idle_mb" in c[k]]
    res["idle_mb"] = round(sum(idles) / len(idles)) if idles else None
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "memory.json").write_text(json.dumps(res, indent=1))
    md = markdown(res)
    (args.out / "memory.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    if __package__ in (None, ""):  # run as a script (the children are): make benchmarks importable
        sys.path.insert(0, str(REPO))
    sys.exit(main())
