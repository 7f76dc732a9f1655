"""Loading and saving photos for Unmask Studio (pure numpy + Pillow).

Everything downstream (detection, inpainting, UI) works on one simple
representation: an HxWx3 uint8 RGB array that is already upright.  This
module is the only place that knows about file formats, so it converts every
supported input to that representation, remembers what it had to change
(``LoadedImage.notes``) and keeps the metadata (EXIF, ICC profile, alpha, DPI)
needed to write a faithful result back out.

Saving is atomic: a crash, full disk or encoder error never leaves a
half-written photo behind, and the user's original is never overwritten by
accident.
"""

from __future__ import annotations

import errno
import io
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, UnidentifiedImageError

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "ImageLoadError",
    "ImageSaveError",
    "LoadedImage",
    "is_supported",
    "load_image",
    "save_image",
]

SUPPORTED_EXTENSIONS: tuple[str, ...] = (
    ".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp",
)

_FORMAT_BY_EXT = {
    ".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP",
    ".tif": "TIFF", ".tiff": "TIFF", ".bmp": "BMP",
}
# Restricting Image.open to these stops Pillow from trying its other ~40 decoders.
# (Phone "MPO" JPEGs are opened by the JPEG plugin and reported as format "MPO".)
_PIL_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "BMP")
_ALPHA_FORMATS = {"PNG", "WEBP", "TIFF"}
_METADATA_FORMATS = {"JPEG", "PNG", "WEBP", "TIFF"}

_ORIENTATION = 0x0112
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
# Same table as PIL.ImageOps.exif_transpose.  We apply it ourselves, after the
# bit-depth conversion, so that 16-bit images decoded by tifffile/OpenCV get
# exactly the same treatment as everything Pillow decodes.
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# In a TIFF, "EXIF" is mixed with structural tags (strip offsets, bit depth...)
# that must not leak into another file; only these describe the photo itself.
_TIFF_DESCRIPTIVE_TAGS = (
    0x010F,  # Make
    0x0110,  # Model
    0x0132,  # DateTime
    0x013B,  # Artist
    0x8298,  # Copyright
    _ORIENTATION,
)


class ImageLoadError(Exception):
    """A photo could not be opened; the message is meant for the user."""


class ImageSaveError(Exception):
    """A photo could not be saved; the message is meant for the user."""


@dataclass
class LoadedImage:
    rgb: np.ndarray                      # HxWx3 uint8, upright
    alpha: np.ndarray | None = None      # HxW uint8, only if the source had alpha
    path: Path | None = None
    format: str = ""                     # "JPEG", "PNG", "WEBP", "TIFF", "BMP"
    exif: bytes | None = None            # Orientation already reset to 1
    icc_profile: bytes | None = None     # always describes ``rgb`` (RGB profile)
    source_mode: str = "RGB"             # Pillow mode of the file, e.g. "CMYK"
    bit_depth: int = 8                   # bits per channel in the file (8 or 16)
    dpi: tuple[float, float] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the upright image."""
        return self.rgb.shape[1], self.rgb.shape[0]


def is_supported(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in SUPPORTED_EXTENSIONS


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------

def load_image(path: str | os.PathLike, max_pixels: int = 200_000_000) -> LoadedImage:
    """Read a photo as upright 8-bit RGB (+ alpha) with its metadata.

    Raises ImageLoadError with a user-facing message for anything that is not
    a complete, supported image of reasonable size.  Note that Pillow's own
    decompression-bomb guard (``Image.MAX_IMAGE_PIXELS``, ~179 MP hard limit
    by default) also applies; the application may raise it at start-up.
    """
    path = Path(path)
    name = f'"{path.name}"'
    if not path.exists():
        raise ImageLoadError(f"Cannot open {name}: the file does not exist ({path}). "
                             "It may have been moved, renamed or deleted.")
    if path.is_dir():
        raise ImageLoadError(f"Cannot open {name}: it is a folder, not an image file. "
                             "Please choose a photo inside it.")
    try:
        src = Image.open(path, formats=_PIL_FORMATS)
    except PermissionError:
        raise ImageLoadError(f"Cannot open {name}: permission denied. Check that you are "
                             "allowed to read this file, or copy it somewhere else first.") from None
    except Image.DecompressionBombError:
        raise _too_big(name, None, max_pixels) from None
    except UnidentifiedImageError:
        raise ImageLoadError(
            f"Cannot open {name}: it is not a supported image or it is damaged. "
            "Supported formats are JPEG, PNG, WebP, TIFF and BMP; try re-exporting "
            "the photo from another program.") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageLoadError(f"Cannot open {name}: the file could not be read ({e}). "
                             "It may be damaged or on a disconnected drive.") from None

    with src:
        w, h = src.size
        if w * h > max_pixels:
            raise _too_big(name, (w, h), max_pixels)
        try:
            return _decode(src, path)
        except ImageLoadError:
            raise
        except MemoryError:
            raise ImageLoadError(f"Cannot open {name}: not enough memory to load a "
                                 f"{w}x{h} image. Close other programs or use a smaller copy.") from None
        except Image.DecompressionBombError:
            raise _too_big(name, (w, h), max_pixels) from None
        except Exception as e:  # Pillow/tifffile/OpenCV raise a zoo of types for bad data
            raise ImageLoadError(
                f"Cannot open {name}: the image data is incomplete or corrupt ({e}). "
                "The file may have been cut short during download or copy; "
                "try getting a fresh copy.") from None


def _too_big(name: str, size: tuple[int, int] | None, max_pixels: int) -> ImageLoadError:
    dims = f" ({size[0]}x{size[1]} pixels)" if size else ""
    return ImageLoadError(
        f"Cannot open {name}: the image is too large{dims}; the limit is "
        f"{max_pixels / 1e6:.0f} megapixels. This protects against damaged or malicious "
        "files. Please resize the photo first.")


def _decode(src: Image.Image, path: Path) -> LoadedImage:
    notes: list[str] = []
    fmt = "JPEG" if src.format == "MPO" else src.format
    mode = src.mode
    icc = src.info.get("icc_profile") or None
    dpi = src.info.get("dpi")
    try:  # read before decoding; for TIFF Pillow reads the tags from the open file
        exif = src.getexif()
    except Exception:  # broken EXIF should not stop the user from editing the photo
        exif = Image.Exif()
        notes.append("the EXIF metadata is damaged and was ignored")
    orientation = exif.get(_ORIENTATION, 1)
    if getattr(src, "n_frames", 1) > 1:
        notes.append("only the first frame/page of this file was loaded")

    bit_depth = _file_bit_depth(src, path)
    if bit_depth == 16 and mode in ("RGB", "RGBA"):
        # Pillow silently keeps only the high byte of 16-bit colour; read the
        # real samples so the reduction to 8 bits is correctly rounded.
        arr = _to_uint8(_read_16bit_colour(path, fmt, src.size))
        img = Image.fromarray(arr)
    else:
        src.load()  # force a full decode so truncated files fail here, not later
        img, icc = _to_rgb_or_rgba(src, icc, notes)
    if bit_depth == 16:
        notes.append("16-bit image reduced to 8-bit for processing")

    if orientation in _TRANSPOSE:
        img = img.transpose(_TRANSPOSE[orientation])
        notes.append("turned upright as the camera recorded it")
        if orientation >= 5 and dpi:  # 90-degree turns swap the axes
            dpi = (dpi[1], dpi[0])

    arr = np.asarray(img)
    rgb = np.ascontiguousarray(arr[..., :3])
    alpha = np.ascontiguousarray(arr[..., 3]) if arr.shape[2] == 4 else None
    return LoadedImage(
        rgb=rgb, alpha=alpha, path=path, format=fmt,
        exif=_exif_for_output(exif, fmt), icc_profile=icc, source_mode=mode,
        bit_depth=bit_depth, dpi=tuple(float(d) for d in dpi) if dpi else None, notes=notes,
    )


def _file_bit_depth(src: Image.Image, path: Path) -> int:
    if src.mode.startswith("I;16") or src.mode in ("I", "F"):
        return 16
    if src.format == "TIFF":
        bits = src.tag_v2.get(258, (8,))
        return 16 if max(bits if isinstance(bits, tuple) else (bits,)) > 8 else 8
    if src.format == "PNG":
        with open(path, "rb") as f:
            header = f.read(25)
        return 16 if len(header) == 25 and header[24] == 16 else 8  # IHDR bit depth
    return 8


def _read_16bit_colour(path: Path, fmt: str, size: tuple[int, int]) -> np.ndarray:
    w, h = size
    if fmt == "TIFF":
        import tifffile
        with tifffile.TiffFile(path) as tif:
            arr = tif.pages[0].asarray()
        if arr.ndim == 3 and arr.shape[0] in (3, 4) and arr.shape[:2] != (h, w):
            arr = np.moveaxis(arr, 0, -1)  # planar (channel-first) storage
    else:
        import cv2
        # np.fromfile + imdecode instead of imread: imread fails on non-ASCII paths on Windows.
        arr = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
        if arr is None:
            raise OSError("OpenCV could not decode the 16-bit PNG data")
        arr = arr[..., [2, 1, 0, 3][: arr.shape[2]]]  # BGR(A) -> RGB(A)
    if arr.shape[:2] != (h, w) or arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise OSError(f"unexpected 16-bit pixel layout {arr.shape}")
    return arr


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    """Scale 16-bit (or float) samples to 0..255 with correct rounding.

    Pillow's own I;16 -> L conversion clips instead of scaling, turning most
    16-bit photos white, so we do it here.
    """
    if arr.dtype.kind == "f":
        arr = np.nan_to_num(arr.astype(np.float64))
        scale = 255.0 if arr.max(initial=0) <= 1.0 else 1.0  # 0..1 floats vs 0..255
        return np.clip(np.rint(arr * scale), 0, 255).astype(np.uint8)
    arr = np.clip(arr.astype(np.float64), 0, 65535)
    return np.rint(arr / 257.0).astype(np.uint8)  # 65535 / 255 == 257


def _to_rgb_or_rgba(src: Image.Image, icc: bytes | None, notes: list[str]):
    """Convert any Pillow mode to RGB/RGBA. Returns (image, icc profile for it)."""
    mode = src.mode
    icc_space = icc[16:20] if icc and len(icc) >= 20 else None

    if mode.startswith("I") or mode == "F":
        grey = _to_uint8(np.asarray(src))
        img = Image.fromarray(grey, "L").convert("RGB")
    elif mode == "CMYK":
        img = None
        if icc_space == b"CMYK":
            try:
                srgb = ImageCms.createProfile("sRGB")
                img = ImageCms.profileToProfile(
                    src, ImageCms.ImageCmsProfile(io.BytesIO(icc)), srgb, outputMode="RGB")
                icc = ImageCms.ImageCmsProfile(srgb).tobytes()
                notes.append("converted from CMYK to RGB using the embedded colour profile")
            except (ImageCms.PyCMSError, OSError, ValueError):
                img = None
        if img is None:
            img = src.convert("RGB")
            icc = None
            notes.append("converted from CMYK to RGB without a colour profile; "
                         "colours may differ slightly from the original")
    elif mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
            mode == "P" and src.has_transparency_data):
        img = src if mode == "RGBA" else src.convert("RGBA")  # (same mode: convert would only copy)
    else:  # RGB, L, 1, P, RGBX, YCbCr, ...
        try:
            img = src if mode == "RGB" else src.convert("RGB")  # skipping the copy: ~60 ms per 12 MP
        except ValueError:
            raise ImageLoadError(f'Cannot open "{Path(src.filename or "").name}": its colour mode '
                                 f'"{mode}" is not supported. Please convert it to RGB in '
                                 "another program.") from None

    if mode not in ("RGB", "RGBA", "RGBX", "CMYK", "P"):
        notes.append(f"converted from {mode} to RGB")
    if mode != "CMYK" and icc_space not in (None, b"RGB "):
        # e.g. a greyscale profile: it would be wrong for the RGB data we output.
        notes.append("dropped the embedded non-RGB colour profile")
        icc = None
    return img, icc


def _exif_for_output(exif: Image.Exif, fmt: str) -> bytes | None:
    try:
        return _exif_bytes(exif, fmt)
    except Exception:  # malformed maker data etc.: losing EXIF beats failing to open
        return None


def _exif_bytes(exif: Image.Exif, fmt: str) -> bytes | None:
    if fmt == "TIFF":
        kept = Image.Exif()
        for tag in _TIFF_DESCRIPTIVE_TAGS:
            if tag in exif:
                kept[tag] = exif[tag]
        for tag in (_EXIF_IFD, _GPS_IFD):
            if tag in exif and (ifd := exif.get_ifd(tag)):
                kept[tag] = dict(ifd)
        exif = kept
    if not len(exif):
        return None
    if _ORIENTATION in exif:
        exif[_ORIENTATION] = 1  # pixels are already upright
    return exif.tobytes()


# --------------------------------------------------------------------------
# Saving
# --------------------------------------------------------------------------

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

    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        # O_EXCL: never clobber someone else's file; 0o666 lets the umask decide
        # permissions like a normal save would (mkstemp would force 0600).
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        with os.fdopen(fd, "wb") as f:
            img.save(f, format=fmt, **params)
            f.flush()
            os.fsync(f.fileno())  # data on disk before the rename makes it visible
        if path.exists():  # keep the permissions of the file we replace
            os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
        os.replace(tmp, path)
    except BaseException as e:
        try:
            tmp.unlink()
        except OSError:
            pass
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        raise _save_error(name, path, e) from e
    _fsync_dir(path.parent)
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


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable (POSIX only; Windows has no directory fsync)."""
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
