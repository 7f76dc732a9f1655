"""Reference photos in a batch: which photo of the same person goes with which photo, and which face.

``--reference PHOTO`` is one reference for every photo, found and aligned once per batch;
``--references DIR`` is one per photo, matched by file stem like ``--masks`` (it wins over
``--reference``), aligned once for that photo on the lane that processes it (each lane has its own
face finder). A reference that cannot be used (no face, two faces, unreadable) never stops a photo:
the photo is processed without it and its report's notes say why.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from unmask_studio.core.batch.options import BatchOptions
from unmask_studio.core.io import SUPPORTED_EXTENSIONS

if TYPE_CHECKING:  # (the manifest imports this module: no face finder, no cv2 until a reference is aligned)
    from unmask_studio.core.batch.planning import Job
    from unmask_studio.core.faces import Face
    from unmask_studio.core.pipeline import Engine
    from unmask_studio.core.reference import Reference


def find_reference(references_dir: Path, src: Path) -> Path | None:
    """``DIR/<stem>.<any photo extension>``, or None."""
    for ext in SUPPORTED_EXTENSIONS:
        for name in (f"{src.stem}{ext}", f"{src.stem}{ext.upper()}"):
            p = Path(references_dir) / name
            if p.is_file():
                return p
    return None


def reference_path(src: Path, opts: BatchOptions) -> Path | None:
    """The reference photo meant for ``src``: its own in ``references_dir``, else ``reference``."""
    if opts.references_dir is not None:
        own = find_reference(Path(opts.references_dir), Path(src))
        if own is not None:
            return own
    return Path(opts.reference) if opts.reference is not None else None


def reference_key(job: Job, opts: BatchOptions) -> str:
    """What identifies the reference a photo is processed with (file, size, mtime, face): a photo
    finished with another key is redone when a batch is resumed."""
    path = reference_path(job.src, opts)
    if path is None:
        return ""
    try:
        st = path.stat()
        stamp = f"{st.st_size}:{st.st_mtime_ns}"
    except OSError:
        stamp = "missing"
    return f"{path.absolute()}|{stamp}|face {opts.reference_face or 'largest'}"


def faces_left_to_right(faces: list[Face]) -> list[int]:
    """Indices of ``faces`` in the order ``--reference-face`` numbers them: by the horizontal centre of
    each face's box, then from the top (stable: detection order does not matter)."""
    return sorted(range(len(faces)), key=lambda i: (faces[i].box[0] + faces[i].box[2],
                                                    faces[i].box[1] + faces[i].box[3]))


def reference_face_index(faces: list[Face], number: int | None) -> int | None:
    """The face (index into ``faces``) a reference is for: the ``number``-th from the left (1-based),
    or the largest when ``number`` is None; None when the photo has no such face."""
    if not faces:
        return None
    if number is None:
        return max(range(len(faces)), key=lambda i: faces[i].size)
    order = faces_left_to_right(faces)
    return order[number - 1] if 1 <= number <= len(order) else None


class BatchReferences:
    """The references of one batch. ``--reference`` is aligned here, once (with the engine's face
    finder, before any lane starts); ``for_photo`` aligns a photo's own reference with the finder of
    the engine (lane) that calls it."""

    def __init__(self, opts: BatchOptions, engine: Engine):
        from unmask_studio.core.reference import ReferenceError, reference_from_file

        self.opts = opts
        self.shared: Reference | None = None
        self.shared_problem = ""  # why --reference cannot be used (one line), or ""
        if opts.reference is not None:
            try:
                self.shared = reference_from_file(opts.reference, engine.finder, engine.crop_size)
            except ReferenceError as e:
                self.shared_problem = str(e)

    @property
    def any(self) -> bool:
        return self.opts.reference is not None or self.opts.references_dir is not None

    def for_photo(self, src: Path, engine: Engine) -> tuple[Reference | None, Path | None, str]:
        """(reference, its file, why it cannot be used) for photo ``src``; (None, None, "") for none."""
        path = reference_path(src, self.opts)
        if path is None:
            return None, None, ""
        if self.opts.reference is not None and path == Path(self.opts.reference):
            return self.shared, path, self.shared_problem
        from unmask_studio.core.reference import ReferenceError, reference_from_file

        try:
            return reference_from_file(path, engine.finder, engine.crop_size), path, ""
        except ReferenceError as e:
            return None, path, str(e)
