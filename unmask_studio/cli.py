"""Command line: ``unmask-studio`` opens the editor; ``unmask-studio batch IN... -o OUT`` runs a batch.

    unmask-studio batch photos/ -o unmasked/               # every photo under photos/, structure kept
    unmask-studio batch a.jpg b.png -o out/ --save-masks
    unmask-studio batch photos/ -o out/ --masks my_masks/  # your own masks (white = remove), by stem
    unmask-studio batch photos/ -o out/ --name "{stem}_unmasked" --format jpg --quality 90

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
import os  # noqa: E402
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
    p = sub.add_parser("batch", help="remove masks from files and folders",
                       description="Remove face masks from photos. Outputs go to OUT, never over the inputs; "
                                   "files already in OUT are skipped, so an interrupted batch resumes.")
    p.add_argument("inputs", nargs="+", metavar="IN", help="photos and/or folders")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output folder")
    p.add_argument("--masks", metavar="DIR", help="use masks from DIR (same file stem; white = remove) "
                                                  "instead of finding masks automatically")
    p.add_argument("--save-masks", action="store_true", help="also write each removal mask as <name>.mask.png")
    p.add_argument("--overwrite", action="store_true", help="redo photos whose output already exists")
    p.add_argument("--no-recursive", action="store_true", help="only the top level of input folders")
    p.add_argument("--format", choices=["jpg", "png", "webp", "tif", "bmp"], help="output format "
                   "(default: same as each input)")
    p.add_argument("--quality", type=_number(int, 1, 100), default=95, help="JPEG/WebP quality, 1-100 (default 95)")
    p.add_argument("--skip-unmasked", action="store_true", help="write nothing for photos with no mask found")
    p.add_argument("--grow", type=_number(float, -64, 64), default=None,
                   help="grow (+) or shrink (-) found masks, in pixels of the 256-pixel face crop, -64 to 64 "
                        "(default 3)")
    p.add_argument("--name", default="{stem}", metavar="PATTERN",
                   help="output file name without extension; {stem} is the photo's name, {ext} its extension, "
                        "{folder} its folder's name (default {stem}, e.g. \"{stem}_unmasked\")")
    p.add_argument("--strip-metadata", action="store_true", help="do not copy EXIF and colour profiles to the outputs")
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
        self._old = signal.signal(signal.SIGINT, self._on_sigint)
        if _CtrlC.early:
            self._old = signal.default_int_handler
            self._on_sigint()

    def _on_sigint(self, *_):
        if self.asked:
            raise KeyboardInterrupt
        self.asked = True
        _say("Stopping after the photos in progress (Ctrl-C again to stop at once)...")

    def restore(self) -> None:
        signal.signal(signal.SIGINT, self._old)


def _say(line: str) -> None:
    """A line on stderr that does not tear the progress bar."""
    if "tqdm" in sys.modules:
        sys.modules["tqdm"].tqdm.write(line, file=sys.stderr)
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


def _inside(path: Path, folder: Path) -> bool:
    return folder.resolve() in path.resolve().parents


def run_batch_cli(args, ctrl_c: _CtrlC) -> int:
    from tqdm import tqdm

    from unmask_studio.core.batch import (REPORT_NAME, BatchInputError, BatchOptions, Manifest, batch_lanes,
                                          batch_threads, check_report_path, plan, run_batch)
    from unmask_studio.core.onnx_models import ModelError
    from unmask_studio.core.pipeline import Engine, Options

    out_dir = Path(args.output)
    opts = BatchOptions(out_dir=out_dir, recursive=not args.no_recursive, overwrite=args.overwrite,
                        masks_dir=Path(args.masks) if args.masks else None, save_masks=args.save_masks,
                        out_format=args.format, quality=args.quality, skip_unmasked=args.skip_unmasked,
                        name_pattern=args.name, keep_metadata=not args.strip_metadata)
    if opts.masks_dir and not opts.masks_dir.is_dir():
        print(f"error: mask folder not found: {opts.masks_dir}", file=sys.stderr)
        return 2
    left_out: list = []
    try:
        jobs = plan(args.inputs, opts, left_out)
        report_path = Path(args.report) if args.report else out_dir / REPORT_NAME
        if not _inside(report_path, out_dir):  # refused before anything is created
            check_report_path(report_path, jobs, args.inputs, opts)
        out_dir.mkdir(parents=True, exist_ok=True)
        if not os.access(out_dir, os.W_OK):
            raise BatchInputError(f"Cannot write to {out_dir}: permission denied.")
        check_report_path(report_path, jobs, args.inputs, opts)
    except (BatchInputError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for path, why in left_out[:MAX_LISTED]:
        print(f"skipped: {path}: {why}", file=sys.stderr)
    if len(left_out) > MAX_LISTED:
        print(f"skipped: {len(left_out) - MAX_LISTED} more (listed in the report)", file=sys.stderr)
    if not jobs:
        print("No supported photos found in the inputs.", file=sys.stderr)
        return 2
    # OUT/.unmask-batch.json: lets a later run (or the editor's batch dialog) resume exactly.
    manifest = Manifest.load(out_dir) or Manifest(out_dir)
    manifest.begin(args.inputs, opts, len(jobs))
    engine_opts = Options(threads=batch_threads())  # same outputs, faster next to the pipeline's decoder/encoder
    if args.grow is not None:
        engine_opts.grow_px = args.grow
    try:  # a missing or damaged model file (broken install): one line and exit 3, not a traceback mid-batch
        engine = Engine(engine_opts)
        engine.warm_up()
    except ModelError as e:
        print("error: " + " ".join(str(e).split()), file=sys.stderr)
        return 3
    bar = tqdm(total=len(jobs), unit="photo", disable=args.quiet, dynamic_ncols=True)

    def on_file(_i, rep):
        bar.update(1)
        if rep.status == "failed":
            tqdm.write(f"failed: {rep.input}: {rep.message}", file=sys.stderr)
        notes = [n for n in rep.notes if not n.startswith("rotated/flipped upright")]  # routine, not news
        if notes:
            tqdm.write(f"note: {rep.input}: {'; '.join(notes)}", file=sys.stderr)

    try:
        report = run_batch(engine, jobs, opts, on_file, cancel=lambda: ctrl_c.asked, manifest=manifest,
                           lanes=max(1, args.lanes or batch_lanes()))
    except KeyboardInterrupt:
        from unmask_studio.core.batch import BatchReport
        report = BatchReport(interrupted=True)
    finally:
        bar.close()
    report.not_processed = left_out
    try:
        report.write(report_path)
    except OSError as e:
        print(f"error: could not write the report {report_path}: {e.strerror or e}", file=sys.stderr)
    counts = ", ".join(f"{v} {k}" for k, v in sorted(report.counts().items()))
    print(f"{len(report.files)} of {len(jobs)} photos: {counts}. Report: {report_path}")
    if report.stop_reason:
        print(f"Stopped: {report.stop_reason}", file=sys.stderr)
        return 1
    if report.interrupted:
        print("Interrupted: run the same command again to continue.", file=sys.stderr)
        return 130
    return 1 if report.failed else 0


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
