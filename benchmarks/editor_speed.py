"""Is "Remove masks" in the editor as fast as the engine? Target: within 20 % of Engine.run.

The same ~12 MP photo (a dev photo upscaled, two faces) is processed by ``Engine.run`` called
directly (what the CLI does per photo) and by the editor's Remove masks, timed from the click to
the undo step being applied on the GUI thread (worker, tile comparisons, patches, repaint queued).
Runs alternate (engine, editor, ...) so background load hits both alike; the editor's step is
undone between runs so every run detects faces again. Reports the median of ``--runs``.

    python benchmarks/editor_speed.py [--runs 5] [--megapixels 12]

Writes benchmarks/out/editor_speed.json and benchmarks/out/editor_speed.md.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from unmask_studio.app.qt_env import prepare_qt_environment  # noqa: E402

prepare_qt_environment()

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from PySide6.QtCore import QEventLoop, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

SOURCE = ROOT.parent / "shared" / "data" / "pairs_dev" / "masked" / "110.png"
OUT = ROOT / "benchmarks" / "out"


def pump_until(done, timeout: float = 300) -> None:
    """Run the event loop (sleeping while idle, as app.exec() does) until ``done()``.

    Not a processEvents() loop: that spins a core at 100 %, which on two cores both slows the
    worker and counts as the editor's CPU time."""
    loop = QEventLoop()
    check = QTimer()
    check.timeout.connect(lambda: done() and loop.quit())
    check.start(10)
    t0 = time.monotonic()
    give_up = QTimer()
    give_up.setSingleShot(True)
    give_up.timeout.connect(loop.quit)
    give_up.start(int(timeout * 1000))
    if not done():
        loop.exec()
    check.stop()
    give_up.stop()
    if not done():
        raise TimeoutError(f"benchmark step timed out after {time.monotonic() - t0:.0f} s")


def cpu_seconds() -> float:
    """CPU time of every thread of this process: the work done, whatever else the machine runs."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def synthesize(megapixels: float, folder: Path) -> Path:
    rgb = np.asarray(Image.open(SOURCE).convert("RGB"))
    h, w = rgb.shape[:2]
    s = (megapixels * 1e6 / (w * h)) ** 0.5
    big = cv2.resize(rgb, (round(w * s), round(h * s)), interpolation=cv2.INTER_CUBIC)
    path = folder / f"speed_{big.shape[1]}x{big.shape[0]}.png"
    Image.fromarray(big).save(path, compress_level=1)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--megapixels", type=float, default=12)
    ap.add_argument("--worker-nice", type=int, default=None,
                    help="run the editor's worker threads at this niceness instead of the shipped one "
                         "(0 = the engine's): separates scheduling priority from extra work")
    ap.add_argument("--out", default="editor_speed")
    args = ap.parse_args()
    app = QApplication.instance() or QApplication([])  # noqa: F841

    from unmask_studio.core.pipeline import Engine
    from unmask_studio.app import workers
    from unmask_studio.app.main_window import MainWindow

    if args.worker_nice is not None:
        import threading

        def set_nice() -> None:  # the ONNX threads a worker starts inherit it, as with the shipped one
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), args.worker_nice)

        workers.lower_thread_priority = set_nice
    from unmask_studio.app.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="unmask_speed_"))
    photo = synthesize(args.megapixels, tmp)
    engine = Engine()
    engine.warm_up()
    w = MainWindow(Settings(QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat)))
    w.resize(1366, 740)
    w.show()
    w.open_files([str(photo)])
    pump_until(lambda: w.doc.is_open and not w.runner.busy())
    rgb = w.doc.original

    engine_s, editor_s, engine_cpu, editor_cpu = [], [], [], []
    for _ in range(args.runs):
        c0, t0 = cpu_seconds(), time.perf_counter()
        engine.run(rgb)
        engine_s.append(time.perf_counter() - t0)
        engine_cpu.append(cpu_seconds() - c0)

        steps = w.stack.index()
        c0, t0 = cpu_seconds(), time.perf_counter()
        w.act_remove.trigger()
        pump_until(lambda: w.stack.index() > steps and not w.runner.busy())
        editor_s.append(time.perf_counter() - t0)
        editor_cpu.append(cpu_seconds() - c0)
        assert w.doc.result_state.has_result, w.banner.text
        w.stack.undo()
        pump_until(lambda: not w.doc.faces)

    e, g = statistics.median(engine_s), statistics.median(editor_s)
    ec, gc = statistics.median(engine_cpu), statistics.median(editor_cpu)
    h, wd = rgb.shape[:2]
    result = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "photo": f"{wd}x{h}", "megapixels": round(wd * h / 1e6, 1), "faces": len(w.doc.faces) or None,
        "runs": args.runs, "worker_nice": args.worker_nice, "cpus": os.cpu_count(), "load_1min": round(os.getloadavg()[0], 2),
        "engine_s": [round(v, 3) for v in engine_s], "editor_s": [round(v, 3) for v in editor_s],
        "engine_median_s": round(e, 3), "editor_median_s": round(g, 3), "editor_over_engine": round(g / e, 3),
        "engine_cpu_s": [round(v, 3) for v in engine_cpu], "editor_cpu_s": [round(v, 3) for v in editor_cpu],
        "engine_cpu_median_s": round(ec, 3), "editor_cpu_median_s": round(gc, 3),
        "editor_over_engine_cpu": round(gc / ec, 3),
    }
    w.stack.setClean()
    w.close()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{args.out}.json").write_text(json.dumps(result, indent=1))
    table = ["| 12 MP photo, median of runs | wall seconds | CPU seconds (all threads) |", "|---|---|---|",
             f"| Engine.run (CLI path) | {e:.2f} | {ec:.2f} |",
             f"| editor Remove masks, click to undo step | {g:.2f} ({g / e - 1:+.0%}) | {gc:.2f} ({gc / ec - 1:+.0%}) |",
             f"| load average while measuring | {result['load_1min']} on {result['cpus']} CPUs |"]
    (OUT / f"{args.out}.md").write_text("\n".join(table) + "\n")
    print("\n".join(table))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
