"""Saving photos (the other half of ``core.io``, which re-exports ``save_image`` and ``ImageSaveError``).

Saving is atomic (``core.atomic.atomic_write``): a crash, full disk or encoder error never leaves a
half-written photo behind, and the user's original is never overwritten by accident. Metadata (EXIF,
ICC profile, DPI) and alpha come from the ``LoadedImage`` the photo was read as.
"""
from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from unmask_studio.core.atomic import atomic_write

if TYPE_CHECKING:
    from unmask_studio.core.io import LoadedImage

_FORMAT_BY_EXT = {
    ".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP",
    ".tif": "TIFF", ".tiff": "TIFF", ".bmp": "BMP",
}
_ALPHA_FORMATS = {"PNG", "WEBP", "TIFF"}
_METADATA_FORMATS = {"JPEG", "PNG", "WEBP", "TIFF"}


class ImageSaveError(Exception):
    """A photo could not be saved; the message is meant for the user."""


def save_image(
    path: str | os.PathLike,
    rgb: np.ndarray,
    *,
    like: LoadedImage | None = None,
    quality: int = 95,
    format: str | None = None,
    alpha: np.ndarray | None = None,
    overwrite_original: bool = False,
) -> Path:
    """Atomically write ``rgb`` (HxWx3 uint8) to ``path`` and return the path.

    Metadata (EXIF, ICC profile, DPI) is copied from ``like``.  ``alpha``
    defaults to ``like.alpha`` when its size matches; it is written for
    PNG/WebP/TIFF and dropped for JPEG/BMP.  Raises ImageSaveError.
    """
    path = Path(path)
    name = f'"{path.name}"'
    fmt = (format or _FORMAT_BY_EXT.get(path.suffix.lower(), "")).upper()
    fmt = {"JPG": "JPEG", "TIF": "TIFF"}.get(fmt, fmt)
    if fmt not in _FORMAT_BY_EXT.values():
        raise ImageSaveError(f"Cannot save {name}: unsupported file type "
                             f"'{format or path.suffix or '(none)'}'. "
                             "Use .jpg, .png, .webp, .tif or .bmp.")
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ImageSaveError(f"Cannot save {name}: internal error, expected an HxWx3 uint8 "
                             f"image but got {rgb.dtype} {rgb.shape}.")
    if alpha is None and like is not None and like.alpha is not None \
            and like.alpha.shape == rgb.shape[:2]:
        alpha = like.alpha
    if alpha is not None and (alpha.dtype != np.uint8 or alpha.shape != rgb.shape[:2]):
        raise ImageSaveError(f"Cannot save {name}: internal error, alpha must be "
                             f"{rgb.shape[:2]} uint8 but is {alpha.dtype} {alpha.shape}.")
    if like is not None and like.path is not None and not overwrite_original \
            and _same_file(path, like.path):
        raise ImageSaveError(f"Not saving {name}: that would overwrite your original photo. "
                             "Choose a different file name (or explicitly allow overwriting).")
    if path.is_dir():
        raise ImageSaveError(f"Cannot save {name}: a folder with that name already exists.")
    if not path.parent.is_dir():
        raise ImageSaveError(f"Cannot save {name}: the folder {path.parent} does not exist.")

    if alpha is not None and fmt in _ALPHA_FORMATS:
        img = Image.fromarray(np.dstack([rgb, alpha]), "RGBA")
    else:
        img = Image.fromarray(rgb, "RGB")
    params = _save_params(fmt, like, quality)

    try:
        # A random temp name (two saves of one name may run at once), the permissions of the file it
        # replaces, data and rename fsynced: the old file or the new one, never half of one.
        atomic_write(path, lambda f: img.save(f, format=fmt, **params), unique_temp=True, keep_mode=True)
    except BaseException as e:
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        raise _save_error(name, path, e) from e
    return path


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _save_params(fmt: str, like: LoadedImage | None, quality: int) -> dict:
    params: dict = {}
    if like is not None and fmt in _METADATA_FORMATS:
        if like.exif:
            params["exif"] = like.exif
        if like.icc_profile:
            params["icc_profile"] = like.icc_profile
    dpi = like.dpi if like is not None else None
    if fmt == "JPEG":
        # 4:4:4 at high quality keeps thin coloured edges (e.g. around the
        # retouched area) from bleeding; 4:2:0 is fine for small files.
        params.update(quality=quality, subsampling=0 if quality >= 90 else 2)
    elif fmt == "WEBP":
        params.update(quality=quality)
    elif fmt == "TIFF":
        params.update(compression="tiff_lzw")  # lossless and widely readable
    if dpi and fmt in ("JPEG", "PNG", "TIFF", "BMP"):
        params["dpi"] = dpi
    return params


def _save_error(name: str, path: Path, e: BaseException) -> ImageSaveError:
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return ImageSaveError(f"Cannot save {name}: the disk is full. Free some space or "
                              "save to another drive. Nothing was written.")
    if isinstance(e, PermissionError) or (isinstance(e, OSError) and e.errno == errno.EROFS):
        return ImageSaveError(f"Cannot save {name}: no permission to write in {path.parent}. "
                              "Choose another folder (e.g. your Pictures folder).")
    if isinstance(e, OSError):
        return ImageSaveError(f"Cannot save {name}: {e.strerror or e}. Nothing was written.")
    return ImageSaveError(f"Cannot save {name}: the image could not be encoded ({e}). "
                          "Nothing was written; try another file format.")
