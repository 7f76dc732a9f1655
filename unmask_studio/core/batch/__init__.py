"""Batch processing of files and folders, shared by the CLI and the editor's batch dialog.

Rules a user can rely on: outputs go to their own folder, mirroring each input folder's structure,
each photo's output (and mask) a file of its own; an input is never written to; every output is
written atomically (temp file, then rename), so an interrupted batch leaves only whole files; a
second run skips what is already done, recognising each photo by its path, size and mtime, and never
replaces a file that is not that photo's earlier result; a file that fails is reported and the batch
goes on. A full disk or an output folder that cannot be written stops the batch with a message
saying so (every later file would fail the same way).

A batch records itself in ``OUT/.unmask-batch.json`` (the manifest: inputs, options, per-file status),
rewritten atomically after every file, so a batch stopped by a crash, Cancel or a closed app can be
resumed exactly, including photos that finished without writing an output (``skip_unmasked``).

    plan = prepare_batch(inputs, BatchOptions(out_dir=...))      # raises BatchInputError
    report = run_batch(batch_engine(), plan.jobs, plan.opts, listener, control=control,
                       manifest=plan.manifest, lanes=batch_lanes())

Modules: ``options`` (what can be asked, each option described once), ``planning`` (inputs -> jobs,
``prepare_batch``; not ``plan.py``: the submodule would shadow the function ``plan`` here),
``manifest`` (resume), ``references`` (reference photos: which goes with which photo and face),
``stages`` (one photo: load -> process -> write),
``runner`` (``run_batch`` and its schedulers), ``report`` (``Status``, reports), ``files`` (atomic
writes), ``clock`` (elapsed/remaining time). The names below are the public API (and what the
single ``core/batch.py`` module exported before it was split).
"""
from __future__ import annotations

import importlib
import time  # noqa: F401 - tests patch batch.time.monotonic (the clock reads time.monotonic)

# Imported on first use (PEP 562): the command line reads the option descriptions (options.py, no
# numpy) for every start, the editor included, and must not pay ~0.6 s for the engine's imports.
_WHERE = {
    "clock": ("BatchClock", "format_duration"),
    "files": ("atomic_copy", "atomic_write", "write_json_atomic"),
    "manifest": ("LAZY_MANIFEST_FILES", "MANIFEST_NAME", "Manifest", "is_done", "precheck"),
    "options": ("FORMAT_LABELS", "NAME_FIELDS", "OUTPUT_FORMATS", "BatchInputError", "BatchOptions", "OptionInfo",
                "check_name_pattern", "check_options", "described_options", "option_default", "option_info"),
    "planning": ("MASK_SUFFIX", "BatchPlan", "Job", "mask_path", "output_name", "plan", "prepare_batch"),
    "references": ("BatchReferences", "faces_left_to_right", "find_reference", "reference_face_index"),
    "report": ("FINISHED", "REPORT_NAME", "BatchReport", "FileReport", "Status", "check_report_path"),
    "runner": ("BatchControl", "BatchListener", "Callbacks", "batch_engine", "batch_lanes", "batch_threads",
               "run_batch"),
    "stages": ("find_user_mask", "load_user_mask"),
}
_MODULE_OF = {name: module for module, names in _WHERE.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_MODULE_OF))
