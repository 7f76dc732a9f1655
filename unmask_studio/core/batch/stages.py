"""One photo's way through a batch: ``load`` (decode, user mask, faces) -> ``process`` (the engine) ->
``write`` (output and mask, atomically). Each stage catches what can go wrong with one photo and turns
it into that photo's report; ``PhotoInFlight.fatal`` says when the failure would repeat for every
later photo (disk full, output folder not writable)."""
from __future__ import annotations

import errno
import threading
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from unmask_studio.core.batch.files import atomic_copy
from unmask_studio.core.batch.options import BatchOptions
from unmask_studio.core.batch.planning import MASK_SUFFIX, Job, mask_path
from unmask_studio.core.batch.references import BatchReferences, reference_face_index
from unmask_studio.core.batch.report import FileReport, Status
from unmask_studio.core.faces import Face
from unmask_studio.core.io import ImageLoadError, ImageSaveError, LoadedImage, load_image, save_image
from unmask_studio.core.pipeline import Cancelled, Engine, Result
from unmask_studio.core.reference import Reference

ImageFn = Callable[[int, np.ndarray], None]


@dataclass
class PhotoInFlight:
    """One photo moving through the stages: loaded -> processed -> written."""

    job: Job
    rep: FileReport
    busy: float = 0.0  # seconds spent on this photo (load + process + write; not waiting in the queues)
    img: LoadedImage | None = None
    mask: np.ndarray | None = None
    result: Result | None = None
    faces: list[Face] | None = None  # found on the loading thread, so detection overlaps the previous photo
    index: int = -1
    fatal: str = ""  # set when the failure will repeat for every file (disk full, no permission)
    no_user_mask: str = ""  # with a masks folder: why this photo has no mask (it passes through unchanged)
    # The photo's reference, aligned on the thread that found its faces (a face finder is not shared
    # across threads); ``reference_looked_up`` once that was done (with or without a reference).
    reference: Reference | None = None
    reference_file: Path | None = None
    reference_problem: str = ""
    reference_looked_up: bool = False


# ----------------------------------------------------------------------------------------- user masks
def find_user_mask(masks_dir: Path, src: Path) -> Path | None:
    for ext in (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"):
        for name in (f"{src.stem}{ext}", f"{src.stem}{MASK_SUFFIX.rsplit('.', 1)[0]}{ext}"):
            p = masks_dir / name
            if p.exists():
                return p
    return None


def load_user_mask(path: Path, shape: tuple[int, int]) -> np.ndarray:
    m = load_image(path)
    grey = m.rgb.max(-1) if m.alpha is None else np.minimum(m.rgb.max(-1), m.alpha)
    if grey.shape != shape:
        raise ImageLoadError(f"Mask {path.name} is {grey.shape[1]}x{grey.shape[0]} but the photo is "
                             f"{shape[1]}x{shape[0]}; masks must match their photo's size.")
    return np.where(grey > 127, 255, 0).astype(np.uint8)


# ----------------------------------------------------------------------------------------- warnings
# Pillow reports damaged files with warnings ("Corrupt EXIF data..."), which Python prints raw on
# stderr, once per source line. In a batch each becomes a note on the photo that caused it.
# warnings.catch_warnings() is process-wide and not thread-safe (two lanes load at once), so one hook
# is installed for good and routes each warning to the photo its thread is working on.
_photo_notes = threading.local()
_hook_lock = threading.Lock()
_shown_before: list = []  # the showwarning the hook replaced


def _show_warning(message, category, filename, lineno, file=None, line=None):
    notes = getattr(_photo_notes, "notes", None)
    if notes is None:
        return _shown_before[0](message, category, filename, lineno, file, line)
    text = " ".join(str(message).split())
    if "EXIF" in text or category.__name__ == "UserWarning" and "Tag" in text:
        text = "the EXIF metadata is damaged; what could be read was kept"
    if text not in notes:
        notes.append(text)


@contextmanager
def _notes_for_photo(notes: list[str]):
    with _hook_lock:
        if warnings.showwarning is not _show_warning:
            _shown_before[:] = [warnings.showwarning]
            warnings.showwarning = _show_warning
    # "always": the default shows a warning once per source line, the second damaged photo would get no note.
    warnings.filterwarnings("always", module=r"PIL\.")
    _photo_notes.notes = notes
    try:
        yield
    finally:
        _photo_notes.notes = None


# ----------------------------------------------------------------------------------------- failures
def fatal_reason(e: BaseException) -> str:
    """A message when ``e`` means the output location is unusable (so the batch should stop)."""
    cause = e.__cause__ if isinstance(e, ImageSaveError) else e
    if isinstance(cause, OSError):
        if cause.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
            return "The disk is full. Free some space (or choose another output folder), then resume the batch."
        if isinstance(cause, PermissionError) or cause.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return ("The output folder cannot be written to (permission denied or read-only). Choose another "
                    "output folder, or fix its permissions, then resume the batch.")
    return ""


def _fail(w: PhotoInFlight, e: BaseException) -> PhotoInFlight:
    if isinstance(e, Cancelled):
        w.rep.status, w.rep.message = Status.CANCELLED, "cancelled"
    elif isinstance(e, (ImageLoadError, ImageSaveError)):
        w.rep.status, w.rep.message = Status.FAILED, str(e)
    elif isinstance(e, MemoryError):
        w.rep.status, w.rep.message = Status.FAILED, "not enough memory for this photo"
    elif isinstance(e, OSError) and fatal_reason(e):
        w.rep.status, w.rep.message = Status.FAILED, f"Could not write {w.job.dst.name}: {e.strerror or e}"
    else:  # one bad file must not stop a 2,000-photo batch
        w.rep.status, w.rep.message = Status.FAILED, f"{type(e).__name__}: {e}"
    w.fatal = fatal_reason(e)
    w.rep.output = None
    w.img = w.result = None  # free the pixels now
    return w


# ----------------------------------------------------------------------------------------- stages
def _look_up_reference(w: PhotoInFlight, refs: BatchReferences | None, engine: Engine) -> None:
    if refs is not None and refs.any and not w.reference_looked_up:
        w.reference, w.reference_file, w.reference_problem = refs.for_photo(w.job.src, engine)
    w.reference_looked_up = True


def load(job: Job, opts: BatchOptions, index: int = -1, engine: Engine | None = None,
         refs: BatchReferences | None = None) -> PhotoInFlight:
    """Decode (and, given ``engine``, find the faces: Engine.run would do the same first thing, so the
    result is identical, but on the loading thread it overlaps the previous photo's inpainting; and
    align the photo's reference photo, with the same face finder)."""
    w = PhotoInFlight(job, FileReport(str(job.src), str(job.dst), Status.FAILED), index=index)
    t0 = time.perf_counter()
    try:
        with _notes_for_photo(w.rep.notes):
            w.img = load_image(job.src)
        w.rep.notes += [n for n in w.img.notes if n not in w.rep.notes]
        if opts.masks_dir:
            mpath = find_user_mask(Path(opts.masks_dir), job.src)
            if mpath is None:  # like any photo without a mask: copied unchanged (or skipped)
                w.no_user_mask = f"no mask named {job.src.stem}.* in {opts.masks_dir}"
                return w
            w.mask = load_user_mask(mpath, w.img.rgb.shape[:2])
        if engine is not None:
            w.faces = engine.detect(w.img.rgb)
            _look_up_reference(w, refs, engine)
    except Exception as e:  # noqa: BLE001
        return _fail(w, e)
    finally:
        w.busy += time.perf_counter() - t0
    return w


def _references_for(engine: Engine, w: PhotoInFlight, opts: BatchOptions) -> dict[int, Reference] | None:
    """{face index: reference} for ``engine.run``; a reference that cannot be used becomes a note."""
    if w.reference_file is None:
        return None
    name = w.reference_file.name
    if w.reference is None:
        w.rep.notes.append(f"reference {name} not used, the photo was restored without it: "
                           + " ".join(w.reference_problem.split()))
        return None
    if w.faces is None:
        w.faces = engine.detect(w.img.rgb)
    i = reference_face_index(w.faces, opts.reference_face)
    if i is None:
        if w.faces:  # (no face at all: the photo's status says so)
            w.rep.notes.append(f"reference {name} not used: the photo has {len(w.faces)} face(s), "
                               f"no face {opts.reference_face}")
        return None
    w.rep.reference = str(w.reference_file)
    return {i: w.reference}


def process(engine: Engine, w: PhotoInFlight, cancel: Callable[[], bool], opts: BatchOptions | None = None,
            refs: BatchReferences | None = None) -> PhotoInFlight:
    if w.img is None:
        return w
    t0 = time.perf_counter()
    try:
        if w.no_user_mask:
            w.result = Result(w.img.rgb, np.zeros(w.img.rgb.shape[:2], np.uint8), [])
        else:
            _look_up_reference(w, refs, engine)  # not done while loading (the sequential reference run)
            references = _references_for(engine, w, opts) if opts is not None else None
            w.result = engine.run(w.img.rgb, mask=w.mask, faces=w.faces, cancel=cancel, references=references)
    except Exception as e:  # noqa: BLE001
        return _fail(w, e)
    finally:
        w.busy += time.perf_counter() - t0
    # Writing needs the metadata, not the input pixels (the result is a new array): free them now,
    # 72 MB per 24 MP photo waiting for the encoder.
    w.img, w.mask, w.reference = replace(w.img, rgb=None), None, None
    return w


def _classify(w: PhotoInFlight) -> bool:
    """Set the photo's status from its result; True when something was removed."""
    rep, result = w.rep, w.result
    rep.faces = len(result.faces)
    changed = bool(result.mask.any()) and bool(result.faces)
    if w.no_user_mask:
        rep.status, rep.message = Status.NO_MASK, w.no_user_mask
    elif not result.faces:
        rep.status, rep.message = Status.NO_FACES, "no face found"
    elif changed:
        rep.status = Status.DONE
    else:
        rep.status, rep.message = Status.NO_MASK, "faces found, but no face covering"
    return changed


def write(w: PhotoInFlight, opts: BatchOptions, on_image: ImageFn | None = None) -> PhotoInFlight:
    rep = w.rep
    t0 = time.perf_counter()
    try:
        if w.result is None:
            return w
        result, job = w.result, w.job
        changed = _classify(w)
        if not changed and opts.skip_unmasked:
            rep.output = None
        elif not changed and opts.keep_metadata and job.dst.suffix.lower() == job.src.suffix.lower():
            job.dst.parent.mkdir(parents=True, exist_ok=True)
            atomic_copy(job.src, job.dst)  # nothing to change: keep the original bytes, no re-encode
        else:
            job.dst.parent.mkdir(parents=True, exist_ok=True)
            like = w.img if opts.keep_metadata else replace(w.img, exif=None, icc_profile=None)
            save_image(job.dst, result.image, like=like, quality=opts.quality, alpha=w.img.alpha)
            if opts.save_masks and changed:
                save_image(mask_path(job.dst), np.repeat(result.mask[..., None], 3, -1))
        if on_image is not None:
            on_image(w.index, result.image)  # unchanged photos: the photo itself
    except Exception as e:  # noqa: BLE001
        _fail(w, e)
    finally:
        rep.seconds = round(w.busy + time.perf_counter() - t0, 3)
        w.img = w.result = w.mask = None
    return w
