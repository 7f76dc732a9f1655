"""Command line: ``unmask-studio`` opens the editor; ``unmask-studio batch IN... -o OUT`` runs a batch.

    unmask-studio batch photos/ -o unmasked/               # every photo under photos/, structure kept
    unmask-studio batch a.jpg b.png -o out/ --save-masks
    unmask-studio batch photos/ -o out/ --masks my_masks/  # your own masks (white = remove), by stem
    unmask-studio batch photos/ -o out/ --name "{stem}_unmasked" --format jpg --quality 90
    unmask-studio batch wedding/ -o out/ --reference uncle_2019.jpg --reference-face 2
    unmask-studio batch photos/ -o out/ --references refs/  # refs/<stem>.jpg: that photo's reference

Bad arguments get one line and exit code 2, never a traceback; see README for the other exit codes.
"""
from __future__ import annotations

import signal
import sys


def _hold_ctrl_c(*_) -> None:
    _CtrlC.early = True


# A batch takes Ctrl-C from its first line on: the imports below and the engine's (numpy, onnxruntime,
# MediaPipe: a second or more) must not die with a traceback. Only for `batch` (the editor and other
# importers, e.g. a test runner, keep their own handling); in the main thread only, where Python
# allows it.
if sys.argv[1:2] == ["batch"] and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, _hold_ctrl_c)

import argparse  # noqa: E402
import math  # noqa: E402
from pathlib import Path  # noqa: E402

from unmask_studio import __version__  # noqa: E402

MAX_LISTED = 20  # inputs left out, listed one a line up to this many (all of them are in the report)


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (its default prints the whole usage first)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _number(kind, low, high):
    """An argparse type: a finite ``kind`` in [low, high] (``float('nan')`` passes every comparison)."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not (math.isfinite(value) and low <= value <= high):
            raise argparse.ArgumentTypeError(f"{text} is out of range; use {low} to {high}")
        return value
    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def _batch_parser(sub) -> None:
    from unmask_studio.core.batch.options import described_options  # no numpy: --help stays quick

    p = sub.add_parser("batch", help="remove masks from files and folders",
                       description="Remove face masks from photos. Outputs go to OUT, never over the inputs; "
                                   "files already in OUT are skipped, so an interrupted batch resumes.")
    p.add_argument("inputs", nargs="+", metavar="IN", help="photos and/or folders")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output folder")
    for name, default, info in described_options():  # BatchOptions describes its own options
        if isinstance(default, bool):
            p.add_argument(info.flag, dest=name, default=default, help=info.help,
                           action="store_false" if info.negated else "store_true")
        else:
            kind = _number(int, *info.range) if info.range else None
            p.add_argument(info.flag, dest=name, default=default, help=info.help, metavar=info.metavar,
                           choices=info.choices or None, **({"type": kind} if kind else {}))
    p.add_argument("--grow", type=_number(float, -64, 64), default=None, metavar="PX",
                   help="grow (+) or shrink (-) found masks, in pixels of the 256-pixel face crop, -64 to 64 "
                        "(default 3)")
    p.add_argument("--report", metavar="FILE", help="JSON report path (default OUT/unmask-report.json)")
    p.add_argument("--lanes", type=_number(int, 1, 64), default=None, metavar="N",
                   help="photos processed at once (default: 2 on a machine with 2 or more cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


class _CtrlC:
    """SIGINT from the very start of a batch: the first asks the batch to stop after the photos in
    progress (also while the engine is still being imported: Python's default handler would raise
    KeyboardInterrupt in the middle of an import, a traceback or even an ImportError); the second
    stops at once."""

    early = False  # a Ctrl-C that came while the command line was being imported

    def __init__(self):
        self.asked = False
        self._control = None
        self._old = signal.signal(signal.SIGINT, self._on_sigint)
        if _CtrlC.early:
            self._old = signal.default_int_handler
            self._on_sigint()

    @property
    def control(self):
        """The running batch's BatchControl (made on first use: core is not imported before that)."""
        from unmask_studio.core.batch import BatchControl

        if self._control is None:
            self._control = BatchControl()
            if self.asked:
                self._control.cancel()
        return self._control

    def _on_sigint(self, *_):
        if self.asked:
            raise KeyboardInterrupt
        self.asked = True
        if self._control is not None:
            self._control.cancel()
        _say("Stopping after the photos in progress (Ctrl-C again to stop at once)...")

    def restore(self) -> None:
        signal.signal(signal.SIGINT, self._old)


def _say(line: str) -> None:
    """A line on stderr that does not tear the progress bar. Imports nothing: the Ctrl-C handler calls it
    in the middle of whatever the main thread does, start-up imports included, and tqdm.write before the
    first bar imports multiprocessing for its lock (an import inside an interrupted import can break
    importlib's module locks)."""
    tqdm = sys.modules.get("tqdm")
    if tqdm is not None and tqdm.tqdm._instances:  # a bar is drawn, so its lock exists
        tqdm.tqdm.write(line, file=sys.stderr)
    else:
        print(line, file=sys.stderr)


def _batch_command(args) -> int:
    ctrl_c = _CtrlC()
    try:
        return run_batch_cli(args, ctrl_c)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except ImportError:
        if not ctrl_c.asked:
            raise
        print("Interrupted.", file=sys.stderr)  # Ctrl-C landed inside an extension module's import
        return 130
    finally:
        ctrl_c.restore()


class _ConsoleListener:
    """The progress bar, and a line for each photo that failed or has a note worth reading."""

    ROUTINE_NOTES = ("turned upright", "rotated/flipped upright")  # true of most phone photos: not news

    def __init__(self, bar, said: str = ""):
        self.bar = bar
        self.said = said  # a note already said once for the whole batch (the --reference that cannot be used)

    def started(self, i, job) -> None:
        pass

    def image(self, i, rgb) -> None:
        pass

    def paused(self, paused) -> None:
        pass

    def finished(self, i, rep) -> None:
        self.bar.update(1)
        if rep.status == "failed":
            _say(f"failed: {rep.input}: {rep.message}")
        notes = [n for n in rep.notes if not n.startswith(self.ROUTINE_NOTES) and not (self.said and self.said in n)]
        if notes:
            _say(f"note: {rep.input}: {'; '.join(notes)}")


def _list_left_out(left_out) -> None:
    for path, why in left_out[:MAX_LISTED]:
        print(f"skipped: {path}: {why}", file=sys.stderr)
    if len(left_out) > MAX_LISTED:
        print(f"skipped: {len(left_out) - MAX_LISTED} more (listed in the report)", file=sys.stderr)


def _finish(report, prepared) -> int:
    """Write the report, say how it went, return the exit code."""
    try:
        report.write(prepared.report_path)
    except OSError as e:
        print(f"error: could not write the report {prepared.report_path}: {e.strerror or e}", file=sys.stderr)
    counts = ", ".join(f"{v} {k}" for k, v in sorted(report.counts().items()))
    print(f"{len(report.files)} of {len(prepared.jobs)} photos: {counts}. Report: {prepared.report_path}")
    if report.stop_reason:
        print(f"Stopped: {report.stop_reason}", file=sys.stderr)
        return 1
    if report.interrupted:
        print("Interrupted: run the same command again to continue.", file=sys.stderr)
        return 130
    return 1 if report.failed else 0


def run_batch_cli(args, ctrl_c: _CtrlC) -> int:
    """``batch``: prepare, run with a progress bar, report; the exit code (see README)."""
    from tqdm import tqdm

    from unmask_studio.core.batch import (BatchInputError, BatchOptions, BatchReport, batch_engine, batch_lanes,
                                          described_options, prepare_batch, run_batch)
    from unmask_studio.core.batch.references import BatchReferences
    from unmask_studio.core.onnx_models import ModelError

    opts = BatchOptions(out_dir=Path(args.output), **{name: getattr(args, name) for name, _, _ in described_options()})
    for name in ("masks_dir", "reference", "references_dir"):
        setattr(opts, name, Path(getattr(opts, name)) if getattr(opts, name) else None)
    try:
        prepared = prepare_batch(args.inputs, opts, Path(args.report) if args.report else None)
    except BatchInputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    _list_left_out(prepared.not_processed)
    try:  # a missing or damaged model file (broken install): one line and exit 3, not a traceback mid-batch
        engine = batch_engine(args.grow)
        engine.warm_up()
    except ModelError as e:
        print("error: " + " ".join(str(e).split()), file=sys.stderr)
        return 3
    refs = BatchReferences(opts, engine)  # --reference: found and aligned once, said once if it cannot be used
    if refs.shared_problem:
        _say(f"warning: {' '.join(refs.shared_problem.split())} The photos are restored without a reference.")
    bar = tqdm(total=len(prepared.jobs), unit="photo", disable=args.quiet, dynamic_ncols=True)
    try:
        report = run_batch(engine, prepared.jobs, opts, _ConsoleListener(bar, refs.shared_problem),
                           control=ctrl_c.control, manifest=prepared.manifest, lanes=args.lanes or batch_lanes(),
                           references=refs)
    except KeyboardInterrupt:  # the second Ctrl-C
        report = BatchReport(interrupted=True)
    finally:
        bar.close()
    report.not_processed = prepared.not_processed
    return _finish(report, prepared)


def main(argv: list[str] | None = None) -> int:
    ap = _Parser(prog="unmask-studio", description="Remove face masks from photos.")
    ap.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = ap.add_subparsers(dest="command")
    _batch_parser(sub)
    g = sub.add_parser("gui", help="open the editor (the default)")
    g.add_argument("files", nargs="*")
    argv = sys.argv[1:] if argv is None else argv
    if argv and not argv[0].startswith("-") and argv[0] not in ("batch", "gui"):
        argv = ["gui", *argv]  # `unmask-studio photo.jpg` opens it in the editor
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:  # argparse's own exits (--help: 0, errors: 2) as return codes
        return int(e.code or 0)
    if args.command == "batch":
        return _batch_command(args)
    from unmask_studio.app.main import run_app  # Qt is only imported for the editor
    return run_app(getattr(args, "files", []))


if __name__ == "__main__":
    sys.exit(main())
