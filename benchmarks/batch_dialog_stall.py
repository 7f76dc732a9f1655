"""GUI-thread stalls of File ▸ Batch…, before and after a change, in one run. Target: none > 100 ms.

``gui_stall.py`` runs the whole editor session and ends with the batch dialog; this runs only the batch
part, in finer phases (opening the dialog, adding a folder, choosing the output folder, Start, the
running batch, its end), and says *what* the GUI thread was doing in each stall: a watchdog thread
samples the GUI thread's Python stack (``sys._current_frames``) while it misses its 10 ms heartbeat,
and the deepest frame inside ``unmask_studio`` is reported with the stall.

    python -m benchmarks.batch_dialog_stall [--before REV] [--photos 4] [--megapixels 12] [--big-tree 3000]

Each side runs in its own process (the code of ``--before`` from a ``git worktree``, and this checkout
as it is) on the same inputs: ``--photos`` copies of the dev photo 110.png upscaled to ``--megapixels``
(JPEG), plus a folder tree of ``--big-tree`` tiny PNGs that is only added and planned, never run (what
a user's photo library does to the setup page). The main window uses the real engine, warmed up.
Writes benchmarks/out/batch_dialog_stall.json and .md.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
TICK_MS = 10
TARGET_MS = 100


def make_inputs(folder: Path, photos: int, megapixels: float, big_tree: int) -> None:
    import numpy as np
    from PIL import Image

    sys.path.insert(0, str(ROOT))
    from benchmarks.gui_stall import SOURCE, synthesize

    run = folder / "run"
    run.mkdir(parents=True)
    jpg = synthesize(SOURCE, megapixels, folder)
    for k in range(photos):
        (run / f"p{k}.jpg").write_bytes(jpg.read_bytes())
    tiny = folder / "tiny.png"
    Image.fromarray(np.full((8, 8, 3), 128, np.uint8)).save(tiny)
    for k in range(big_tree):  # 100 photos per subfolder, like a camera's folders
        d = folder / "library" / f"{k // 100:03d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"IMG_{k:05d}.png").write_bytes(tiny.read_bytes())


def child(impl: Path, inputs: Path, result: Path) -> None:
    """One side: a real MainWindow (real engine, warmed up), then the batch dialog phases."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(impl))
    from unmask_studio.app.qt_env import prepare_qt_environment

    prepare_qt_environment()
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QSettings, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    import unmask_studio
    if not Path(unmask_studio.__file__).resolve().is_relative_to(impl.resolve()):
        raise SystemExit(f"imported {unmask_studio.__file__}, not the code in {impl}")
    app = QApplication.instance() or QApplication([])
    from unmask_studio.app.main_window import MainWindow
    from unmask_studio.app.settings import Settings

    gui = threading.get_ident()
    loop = QEventLoop()
    state = {"phase": "startup", "last": time.monotonic()}
    stalls: dict[str, list[float]] = {}
    worst: dict[str, tuple[float, str]] = {}
    samples: dict[str, Counter] = {}

    def where() -> str:
        """The deepest frame of the GUI thread's stack that is project code (or the top one)."""
        frame = sys._current_frames().get(gui)
        top = None
        while frame is not None:
            name = frame.f_code.co_filename
            top = top or f"{Path(name).name}:{frame.f_code.co_name}"
            if "unmask_studio" in name and "batch_dialog_stall" not in name:
                return f"{Path(name).name}:{frame.f_code.co_name}"
            frame = frame.f_back
        return top or "?"

    def watchdog():
        while state["phase"] != "end":
            time.sleep(0.005)
            if time.monotonic() - state["last"] > 0.05:  # the GUI thread is 50 ms late: what is it doing?
                samples.setdefault(state["phase"], Counter())[where()] += 1

    clock = QElapsedTimer()
    clock.start()
    last = [clock.nsecsElapsed()]

    def beat():
        now = clock.nsecsElapsed()
        gap = (now - last[0]) / 1e6 - TICK_MS
        last[0] = now
        state["last"] = time.monotonic()
        stalls.setdefault(state["phase"], []).append(max(0.0, gap))
        if gap > worst.get(state["phase"], (0, ""))[0]:
            worst[state["phase"]] = (round(gap, 1), "")

    timer = QTimer(interval=TICK_MS, timerType=Qt.TimerType.PreciseTimer)
    timer.timeout.connect(beat)

    def pump_until(cond, timeout):
        t0 = time.monotonic()
        while not cond():
            if time.monotonic() - t0 > timeout:
                raise TimeoutError(state["phase"])
            loop.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)

    tmp = Path(tempfile.mkdtemp(prefix="batch_stall_"))
    w = MainWindow(Settings(QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat)))
    w.resize(1280, 800)
    w.show()
    timer.start()
    threading.Thread(target=watchdog, daemon=True).start()
    t0 = time.monotonic()  # start-up: the window loads the models in the background
    pump_until(lambda: time.monotonic() - t0 > 0.5 and not w.runner.busy(), 300)
    seconds = {}
    dlg = None

    def step(name, action, done=lambda: True, timeout=60, settle=0.3):
        state["phase"] = name
        t = time.perf_counter()
        action()
        pump_until(done, timeout)
        t_end = time.monotonic()
        pump_until(lambda: time.monotonic() - t_end > settle, settle + 5)
        seconds[name] = round(time.perf_counter() - t, 2)

    def open_dialog():
        nonlocal dlg
        dlg = w.open_batch_dialog()

    def planned():  # the setup page's count is shown (computed in the background after the change)
        return "to process" in dlg.count_label.text()

    step("open_dialog", open_dialog)
    step("add_big_tree", lambda: (dlg.recursive_check.setChecked(True), dlg.add_inputs([str(inputs / "library")])),
         planned)
    step("type_output", lambda: [dlg.out_edit.setText(str(tmp / "out_typed")[:n]) or loop.processEvents()
                                 for n in range(len(str(tmp)) - 3, len(str(tmp / "out_typed")) + 1)], planned)
    step("clear_inputs", lambda: (dlg.input_list.selectAll(), dlg._remove_selected()))
    step("add_run_folder", lambda: dlg.add_inputs([str(inputs / "run")]), planned)
    step("set_output", lambda: dlg.out_edit.setText(str(tmp / "out")), planned)
    step("start", lambda: dlg.start(), lambda: dlg.running or dlg.pages.currentIndex() == 1)
    step("running", lambda: None, lambda: not dlg.running, timeout=1200, settle=1.0)
    state["phase"] = "end"
    timer.stop()
    statuses = Counter(str(r.status) for r in dlg.model.rows)
    res = {"max_stall_ms": {k: round(max(v), 1) for k, v in stalls.items() if v},
           "stalls_over_target": {k: sum(s > TARGET_MS for s in v) for k, v in stalls.items()},
           "gui_thread_in_stalls": {k: dict(c.most_common(4)) for k, c in samples.items()},
           "seconds": seconds, "statuses": dict(statuses), "load_average": os.getloadavg()}
    result.write_text(json.dumps(res, indent=1))
    dlg.shutdown()
    w.stack.setClean()
    w.close()


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True, text=True).stdout.strip()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="HEAD", help="commit measured as 'before' (a git worktree of it)")
    ap.add_argument("--no-before", action="store_true")
    ap.add_argument("--photos", type=int, default=4)
    ap.add_argument("--megapixels", type=float, default=12.0)
    ap.add_argument("--big-tree", type=int, default=3000)
    ap.add_argument("--child", nargs=3, metavar=("IMPL", "INPUTS", "RESULT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*map(Path, args.child))
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="batch_stall_"))
    make_inputs(tmp / "in", args.photos, args.megapixels, args.big_tree)
    sides = {"after": ROOT} if args.no_before else {"before": tmp / "before", "after": ROOT}
    res = {"before_rev": None if args.no_before else git("rev-parse", "--short", args.before),
           "after": "this checkout" + (" (uncommitted changes)" if git("status", "--porcelain", "--", "unmask_studio")
                                       else ""),
           "photos": args.photos, "megapixels": args.megapixels, "big_tree": args.big_tree, "cpu_count": os.cpu_count()}
    try:
        if not args.no_before:
            git("worktree", "add", "--detach", str(sides["before"]), args.before)
        for label, impl in sides.items():
            print(f"{label} ...", file=sys.stderr, flush=True)
            out = tmp / f"{label}.json"
            subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(impl), str(tmp / "in"),
                            str(out)], check=True, cwd=tmp)
            res[label] = json.loads(out.read_text())
    finally:
        if not args.no_before and sides["before"].exists():
            git("worktree", "remove", "--force", str(sides["before"]))
        subprocess.run(["rm", "-rf", str(tmp)], check=False)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "batch_dialog_stall.json").write_text(json.dumps(res, indent=1))
    phases = list(res["after"]["max_stall_ms"])
    lines = [f"Batch dialog: longest GUI-thread stall per phase (ms; target < {TARGET_MS}), "
             f"{args.photos} photos of {args.megapixels:g} MP, a {args.big_tree}-photo tree planned", "",
             "| phase | " + " | ".join(k for k in sides) + " |", "|---|" + "---|" * len(sides)]
    for p in phases:
        lines.append(f"| {p} | " + " | ".join(str(res[k]["max_stall_ms"].get(p, "–")) for k in sides) + " |")
    md = "\n".join(lines) + "\n"
    (OUT / "batch_dialog_stall.md").write_text(md)
    print(md)
    print(json.dumps({k: res[k]["gui_thread_in_stalls"] for k in sides}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
