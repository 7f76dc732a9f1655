"""Loading and saving photos for Unmask Studio (pure numpy + Pillow).

Everything downstream (detection, inpainting, UI) works on one simple
representation: an HxWx3 uint8 RGB array that is already upright.  This
module is the only place that knows about file formats, so it converts every
supported input to that representation, remembers what it had to change
(``LoadedImage.notes``) and keeps the metadata (EXIF, ICC profile, alpha, DPI)
needed to write a faithful result back out.

Saving (``save_image``, re-exported here) is in ``core/io_save.py``: atomic, so
a crash, full disk or encoder error never leaves a half-written photo behind,
and the user's original is never overwritten by accident.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, UnidentifiedImageError

# Saving lives in io_save (its own concern: formats written, atomic write, user-facing errors).
from unmask_studio.core.io_save import ImageSaveError, save_image

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

# Restricting Image.open to these stops Pillow from trying its other ~40 decoders.
# (Phone "MPO" JPEGs are opened by the JPEG plugin and reported as format "MPO".)
_PIL_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "BMP")

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
    a complete, supported image of reasonable size.  The size limit is the
    smaller of ``max_pixels`` and Pillow's decompression-bomb limit
    (``2 * Image.MAX_IMAGE_PIXELS``, ~179 MP by default; the application may
    raise it at start-up), and a photo whose decoding would need more memory
    than is available is refused up front instead of swapping or crashing.
    """
    path = Path(path)
    name = f'"{path.name}"'
    limit = pixel_limit(max_pixels)
    if not path.exists():
        raise ImageLoadError(f"Cannot open {name}: the file does not exist ({path}). "
                             "It may have been moved, renamed or deleted.")
    if path.is_dir():
        raise ImageLoadError(f"Cannot open {name}: it is a folder, not an image file. "
                             "Please choose a photo inside it.")
    _quiet_pillow_size_warning()
    try:
        src = Image.open(path, formats=_PIL_FORMATS)
    except PermissionError:
        raise ImageLoadError(f"Cannot open {name}: permission denied. Check that you are "
                             "allowed to read this file, or copy it somewhere else first.") from None
    except Image.DecompressionBombError:
        raise _too_big(name, None, limit) from None
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
        if w * h > limit:
            raise _too_big(name, (w, h), limit)
        try:
            return _decode(src, path)
        except ImageLoadError:
            raise
        except MemoryError:
            raise ImageLoadError(f"Cannot open {name}: not enough memory to load a "
                                 f"{w}x{h} image. Close other programs or use a smaller copy.") from None
        except Image.DecompressionBombError:
            raise _too_big(name, (w, h), limit) from None
        except Exception as e:  # Pillow/tifffile/OpenCV raise a zoo of types for bad data
            raise ImageLoadError(
                f"Cannot open {name}: the image data is incomplete or corrupt ({e}). "
                "The file may have been cut short during download or copy; "
                "try getting a fresh copy.") from None


def pixel_limit(max_pixels: int = 200_000_000) -> int:
    """The largest image (in pixels) ``load_image`` accepts: Pillow refuses anything above twice its
    ``MAX_IMAGE_PIXELS`` while opening, so that is the real limit when it is the smaller one."""
    pillow = Image.MAX_IMAGE_PIXELS
    return min(max_pixels, 2 * pillow) if pillow else max_pixels


def _quiet_pillow_size_warning() -> None:
    # Above MAX_IMAGE_PIXELS (~89 MP) Pillow warns on stderr; load_image checks the size itself and
    # refuses with a message, so the raw warning would only confuse.  Re-applied on every call (a
    # cheap no-op when already first) because test runners and warnings.catch_warnings() reset filters.
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


def _too_big(name: str, size: tuple[int, int] | None, limit: int) -> ImageLoadError:
    dims = f" ({size[0]}x{size[1]} pixels)" if size else ""
    mp = limit / 1e6
    return ImageLoadError(
        f"Cannot open {name}: the image is too large{dims}; the limit is {mp:.{0 if mp >= 10 else 1}f} "
        "megapixels. This protects against damaged or malicious files. Please resize the photo first.")


# Pixels are converted to 8-bit RGB in bands of about this many pixels, straight into the output
# array: the whole image never exists twice in a wide type (a 13000x13000 16-bit PNG went through
# float64 and took 12.5 GB to load; now 1.5 GB: its uint16 samples plus the uint8 result).
_BAND_PIXELS = 1 << 20
# Memory a loaded photo needs later on top of its own pixels (bytes per pixel): the engine's result
# and mask (3 + 1) and the encoder's copy (Pillow keeps RGB as 4 bytes).  With the 3 of the photo
# itself that is 11 bytes a pixel; benchmarks/memory.py measured 10 (24 MP JPEG, 245 MB over idle) and
# 9 (13000² 16-bit PNG, 1.48 GB).  Used only to refuse photos that cannot be processed at all.
_PROCESS_BYTES_PER_PIXEL = 8


def _decode(src: Image.Image, path: Path) -> LoadedImage:
    notes: list[str] = []
    fmt = "JPEG" if src.format == "MPO" else src.format
    mode = src.mode
    icc = src.info.get("icc_profile") or None
    dpi = src.info.get("dpi")
    try:  # read before decoding; for TIFF Pillow reads the tags from the open file
        exif = _png_exif(src, path) if src.format == "PNG" else src.getexif()
    except Exception:  # broken EXIF should not stop the user from editing the photo
        exif = Image.Exif()
        notes.append("the EXIF metadata is damaged and was ignored")
    orientation = exif.get(_ORIENTATION, 1)
    if orientation not in _TRANSPOSE:
        orientation = 1
    if getattr(src, "n_frames", 1) > 1:
        notes.append("only the first frame/page of this file was loaded")

    w, h = src.size
    bit_depth = _file_bit_depth(src, path)
    colour16 = bit_depth == 16 and mode in ("RGB", "RGBA")
    has_alpha = mode == "RGBA" if colour16 else None
    # Pillow silently keeps only the high byte of 16-bit colour, so those are decoded by
    # OpenCV/tifffile (2 bytes a sample); everything else by Pillow (4 bytes a pixel for RGB-like modes).
    decoded = w * h * ((8 if has_alpha else 6) if colour16 else _PIL_BYTES_PER_PIXEL.get(mode, 4))
    # The decoded samples are freed before processing starts: the peak is the larger of the two stages.
    _check_memory(path, w, h, max(decoded, w * h * _PROCESS_BYTES_PER_PIXEL) + w * h * 3)

    if colour16:
        samples, channel_order = _read_16bit_colour(path, fmt, src.size, 4 if has_alpha else 3)
        rgb, alpha = _allocate(w, h, samples.shape[2] == 4, orientation)
        dst_rgb, dst_alpha = _as_stored(rgb, orientation), _as_stored(alpha, orientation)
        step = max(1, _BAND_PIXELS // w)
        for y0 in range(0, h, step):
            band = _to_uint8(samples[y0:y0 + step])[..., channel_order]
            dst_rgb[y0:y0 + step] = band[..., :3]
            if alpha is not None:
                dst_alpha[y0:y0 + step] = band[..., 3]
        del samples, band
    else:
        src.load()  # force a full decode so truncated files fail here, not later
        convert, icc, with_alpha = _band_converter(src, icc, notes)
        rgb, alpha = _allocate(w, h, with_alpha, orientation)
        dst_rgb, dst_alpha = _as_stored(rgb, orientation), _as_stored(alpha, orientation)
        step = max(1, _BAND_PIXELS // w)
        for y0 in range(0, h, step):
            band = convert(src.crop((0, y0, w, min(h, y0 + step))))
            dst_rgb[y0:y0 + step] = band[..., :3]
            if alpha is not None:
                dst_alpha[y0:y0 + step] = band[..., 3]
    if bit_depth == 16:
        notes.append("16-bit image reduced to 8-bit for processing")

    if orientation != 1:
        notes.append("turned upright as the camera recorded it")
        if orientation >= 5 and dpi:  # 90-degree turns swap the axes
            dpi = (dpi[1], dpi[0])
    return LoadedImage(
        rgb=rgb, alpha=alpha, path=path, format=fmt,
        exif=_exif_for_output(exif, fmt), icc_profile=icc, source_mode=mode,
        bit_depth=bit_depth, dpi=tuple(float(d) for d in dpi) if dpi else None, notes=notes,
    )


def _png_exif(src: Image.Image, path: Path) -> Image.Exif:
    """A PNG's EXIF without decoding its pixels: Pillow's PngImageFile.getexif() decodes the whole
    image (in 8 bits) in case an eXIf chunk follows the pixel data, which for a 16-bit photo costs a
    second full decode and its memory.  So look for that chunk by walking the chunk headers."""
    if "exif" not in src.info:
        with open(path, "rb") as f:
            f.seek(8)  # signature
            while len(head := f.read(8)) == 8:
                length, kind = struct.unpack(">I4s", head)
                if kind == b"eXIf":
                    src.info["exif"] = b"Exif\x00\x00" + f.read(length)  # as Pillow's chunk_eXIf stores it
                    break
                if kind == b"IEND":
                    break
                f.seek(length + 4, os.SEEK_CUR)  # data + CRC
    return Image.Image.getexif(src)  # the base method: reads info["exif"], text-chunk and XMP EXIF


# Bytes a pixel takes in a decoded Pillow image (multi-band modes are stored as 4 bytes).
_PIL_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}


def _allocate(w: int, h: int, with_alpha: bool, orientation: int):
    """Upright output arrays: HxWx3 RGB and HxW alpha (or None); axes swapped for 90-degree turns."""
    shape = (w, h) if orientation >= 5 else (h, w)
    return np.empty(shape + (3,), np.uint8), (np.empty(shape, np.uint8) if with_alpha else None)


# For each EXIF orientation: a view of the upright array laid out as the file stores the pixels, so
# bands of decoded rows are written straight to their upright place (no second full-size copy).
# These invert _TRANSPOSE (e.g. 6: the viewer turns the stored image 90 degrees clockwise).
_STORED_VIEW = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, 1),
    7: lambda a: np.rot90(a, 2).swapaxes(0, 1),
    8: lambda a: np.rot90(a, -1),
}


def _as_stored(arr: np.ndarray | None, orientation: int) -> np.ndarray | None:
    return None if arr is None else _STORED_VIEW[orientation](arr)


def _available_memory() -> int | None:
    """Bytes the system can give without swapping (Linux ``MemAvailable``); None where unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _check_memory(path: Path, w: int, h: int, needed: int) -> None:
    available = _available_memory()
    if available is not None and needed > available:
        raise ImageLoadError(
            f'Cannot open "{path.name}": a {w}x{h} image needs about {_size(needed)} of memory to load '
            f"and process, but only {_size(available)} is free. Close other programs or use a smaller copy.")


def _size(n: int) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB"


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


def _read_16bit_colour(path: Path, fmt: str, size: tuple[int, int], channels: int
                       ) -> tuple[np.ndarray, list[int]]:
    """The file's 16-bit samples (HxWx3|4, as decoded) and the channel order that makes them RGB(A)."""
    w, h = size
    if fmt == "TIFF":
        import tifffile
        with tifffile.TiffFile(path) as tif:
            arr = tif.pages[0].asarray()
        if arr.ndim == 3 and arr.shape[0] in (3, 4) and arr.shape[:2] != (h, w):
            arr = np.moveaxis(arr, 0, -1)  # planar (channel-first) storage: a view, banded below
        order = [0, 1, 2, 3]
    else:
        import cv2
        if os.name != "nt" or str(path).isascii():
            # Decoded straight into our array: imdecode (and imread without one) decodes into
            # OpenCV's own buffer and copies that into a new numpy array, twice the memory.
            arr = cv2.imread(str(path), np.empty((h, w, channels), np.uint16), cv2.IMREAD_UNCHANGED)
        else:  # imread fails on non-ASCII paths on Windows
            arr = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
        if arr is None or arr.size == 0:
            raise OSError("OpenCV could not decode the 16-bit PNG data")
        order = [2, 1, 0, 3]  # BGR(A) -> RGB(A)
    if arr.shape[:2] != (h, w) or arr.ndim != 3 or arr.shape[2] not in (3, 4) or arr.dtype != np.uint16:
        raise OSError(f"unexpected 16-bit pixel layout {arr.shape} {arr.dtype}")
    return arr, order[: arr.shape[2]]


def _to_uint8(arr: np.ndarray, float_scale: float | None = None) -> np.ndarray:
    """Scale 16-bit (or float) samples to 0..255 with correct rounding: round(v / 257) for 16 bits.

    Pillow's own I;16 -> L conversion clips instead of scaling, turning most
    16-bit photos white, so we do it here.  Called on bands, so the wide
    temporaries stay small.
    """
    if arr.dtype.kind == "f":
        arr = np.nan_to_num(arr.astype(np.float64))
        scale = float_scale if float_scale is not None else (255.0 if arr.max(initial=0) <= 1.0 else 1.0)
        return np.clip(np.rint(arr * scale), 0, 255).astype(np.uint8)
    # Integer rounding, exact: v = 257k + r (0 <= r <= 256) rounds up iff r >= 129, i.e. (v + 128) // 257;
    # 257 is odd, so there are no ties.
    wide = np.clip(arr, 0, 65535).astype(np.uint32) if arr.dtype.kind == "i" or arr.dtype.itemsize > 2 \
        else arr.astype(np.uint32)
    wide += 128
    wide //= 257
    return wide.astype(np.uint8)


def _band_converter(src: Image.Image, icc: bytes | None, notes: list[str]):
    """How to turn a band (a crop of rows) of any Pillow mode into uint8 RGB/RGBA pixels.

    Returns (band image -> HxWx3|4 uint8 array, the ICC profile for the output, whether it has alpha).
    """
    mode = src.mode
    icc_space = icc[16:20] if icc and len(icc) >= 20 else None
    with_alpha = False

    if mode.startswith("I") or mode == "F":
        scale = None
        if mode == "F":  # 0..1 floats vs 0..255: decided on the whole image, not per band
            scale = 255.0 if (src.getextrema()[1] or 0) <= 1.0 else 1.0

        def convert(band):
            return np.repeat(_to_uint8(np.asarray(band), scale)[..., None], 3, axis=2)
    elif mode == "CMYK":
        transform = None
        if icc_space == b"CMYK":
            try:
                srgb = ImageCms.createProfile("sRGB")
                transform = ImageCms.buildTransform(
                    ImageCms.ImageCmsProfile(io.BytesIO(icc)), srgb, "CMYK", "RGB")
                icc = ImageCms.ImageCmsProfile(srgb).tobytes()
                notes.append("converted from CMYK to RGB using the embedded colour profile")
            except (ImageCms.PyCMSError, OSError, ValueError):
                transform = None
        if transform is None:
            icc = None
            notes.append("converted from CMYK to RGB without a colour profile; "
                         "colours may differ slightly from the original")

        def convert(band):
            return np.asarray(ImageCms.applyTransform(band, transform) if transform else band.convert("RGB"))
    elif mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
            mode == "P" and src.has_transparency_data):
        with_alpha = True

        def convert(band):
            return np.asarray(band if mode == "RGBA" else band.convert("RGBA"))
    else:  # RGB, L, 1, P, RGBX, YCbCr, ...
        try:
            src.crop((0, 0, 1, 1)).convert("RGB")
        except ValueError:
            raise ImageLoadError(f'Cannot open "{Path(src.filename or "").name}": its colour mode '
                                 f'"{mode}" is not supported. Please convert it to RGB in '
                                 "another program.") from None

        def convert(band):
            return np.asarray(band if mode == "RGB" else band.convert("RGB"))

    if mode not in ("RGB", "RGBA", "RGBX", "CMYK", "P"):
        notes.append(f"converted from {mode} to RGB")
    if mode != "CMYK" and icc_space not in (None, b"RGB "):
        # e.g. a greyscale profile: it would be wrong for the RGB data we output.
        notes.append("dropped the embedded non-RGB colour profile")
        icc = None
    return convert, icc, with_alpha


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
