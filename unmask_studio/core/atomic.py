"""Writing a file so that a crash, a full disk or an error leaves the old file or the new one, never
half of one: ``atomic_write``. The batch writes its outputs, copies, manifest and report through it,
and ``io.save_image`` (core/io_save.py) with ``unique_temp=True, keep_mode=True``."""
from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path
from typing import BinaryIO, Callable


def atomic_write(path: Path, write: Callable[[BinaryIO], None], *, durable: bool = True,
                 unique_temp: bool = False, keep_mode: bool = False) -> None:
    """Write ``path`` through a temp file beside it, renamed over it once ``write(f)`` has returned.

    ``durable``: the data (and the rename) are on disk before this returns; off for bookkeeping that
    is rewritten after every photo, where an fsync can take 20+ ms. ``unique_temp``: a random temp
    name, for files two writers may save at once (else ``.<name>.part``, which a later write cleans
    up after a crash). ``keep_mode``: the new file gets the permissions of the one it replaces.
    The temp file is created afresh (O_EXCL, 0o666 so the umask decides, as for a normal save): a
    planted symlink there is never written through, and the rename replaces a symlink at ``path``
    itself, not its target. Raises what ``write`` or the file system raised, with no temp file left."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part" if unique_temp else f".{path.name}.part")
    try:
        if not unique_temp:
            tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            if durable:
                os.fsync(f.fileno())  # data on disk before the rename makes it visible
        if keep_mode and path.exists():
            os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise
    if durable:
        fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    """Make a rename durable (POSIX only; Windows has no directory fsync)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
