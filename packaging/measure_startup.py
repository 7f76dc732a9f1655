"""Time how long the bundled app takes to start (standard library only; any python3).

    python3 packaging/measure_startup.py                    # dist/UnmaskStudio/UnmaskStudio, 5 runs each
    python3 packaging/measure_startup.py --cold --runs 3    # evict the bundle from the page cache first
    python3 packaging/measure_startup.py --exe dist/onefile/UnmaskStudio

Measures, from launching the process to it exiting: ``--version``, ``batch --help``, and (if the editor
is in the bundle) the editor started offscreen until its main window has been painted
(UNMASK_EXIT_AFTER_SHOWN=1, see packaging/startup_probe.py; "shown" is the moment of that first paint).
``--cold`` drops the bundle's files from the page cache with posix_fadvise before every run (no root
needed; shared system libraries such as libc stay cached, as they would on a real desktop).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def evict(path: Path) -> None:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file() and not p.is_symlink()]
    for f in files:
        try:
            fd = os.open(f, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def run(cmd: list[str], env: dict, timeout: float = 120) -> tuple[float, float | None, int, str]:
    t0 = time.time()
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
                       text=True, errors="replace")
    t1 = time.time()
    shown = None
    for line in p.stdout.splitlines():
        if line.startswith("UNMASK_SHOWN "):
            shown = float(line.split()[1]) - t0
    return t1 - t0, shown, p.returncode, p.stdout


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--exe", default=str(ROOT / "dist" / "UnmaskStudio" / "UnmaskStudio"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cold", action="store_true", help="evict the bundle from the page cache before each run")
    ap.add_argument("--no-gui", action="store_true")
    args = ap.parse_args()
    exe = Path(args.exe).resolve()
    if not exe.exists():
        print(f"{exe} not found: build it with packaging/build.sh", file=sys.stderr)
        return 2
    bundle = exe.parent if (exe.parent / "_internal").is_dir() else exe
    home = tempfile.mkdtemp(prefix="unmask-startup-")
    try:
        return measure(exe, bundle, home, args)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def measure(exe: Path, bundle: Path, home: str, args) -> int:
    env = {"PATH": "/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8", "QT_QPA_PLATFORM": "offscreen",
           "XDG_CONFIG_HOME": f"{home}/config", "XDG_STATE_HOME": f"{home}/state",
           "XDG_CACHE_HOME": f"{home}/cache", "XDG_DATA_HOME": f"{home}/data", "XDG_RUNTIME_DIR": home}
    cases = [("--version", [str(exe), "--version"], {}), ("batch --help", [str(exe), "batch", "--help"], {})]
    gui = (ROOT / "unmask_studio" / "app" / "main.py").exists() and not args.no_gui
    if gui:
        cases.append(("editor window shown", [str(exe)], {"UNMASK_EXIT_AFTER_SHOWN": "1"}))
    else:
        print("editor: skipped (unmask_studio/app/main.py does not exist yet)" if not args.no_gui else "")
    print(f"{exe} ({'cold: evicted from page cache' if args.cold else 'warm page cache'}), {args.runs} runs")
    for label, cmd, extra in cases:
        times = []
        for _ in range(args.runs):
            if args.cold:
                evict(bundle)
            total, shown, rc, out = run(cmd, {**env, **extra})
            if rc != 0:
                print(f"  {label}: exit code {rc}\n{out[-2000:]}", file=sys.stderr)
                return 1
            if "UNMASK_EXIT_AFTER_SHOWN" in extra and shown is None:
                print(f"  {label}: no UNMASK_SHOWN line in the output\n{out[-2000:]}", file=sys.stderr)
                return 1
            times.append(shown if shown is not None else total)
        print(f"  {label:22s} median {statistics.median(times):5.2f} s  min {min(times):5.2f} s  "
              f"max {max(times):5.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
