"""Tests for unmask_studio.core.io using real files written to tmp_path."""

from __future__ import annotations

import errno
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, JpegImagePlugin

from unmask_studio.core.io import (
    SUPPORTED_EXTENSIONS,
    ImageLoadError,
    ImageSaveError,
    LoadedImage,
    is_supported,
    load_image,
    save_image,
)

REAL_PHOTO = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "pairs_dev" / "clean" / "107.png"
SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def pattern(h=40, w=60) -> np.ndarray:
    """Smooth but asymmetric RGB test pattern (survives JPEG, reveals any flip/rotation)."""
    y, x = np.mgrid[0:h, 0:w]
    return np.dstack([x * 255 // (w - 1), y * 255 // (h - 1), (x + y) * 255 // (w + h - 2)]).astype(np.uint8)


def exif_bytes(orientation=None, **tags) -> bytes:
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    names = {"Make": 0x010F, "Model": 0x0110, "Artist": 0x013B}
    for k, v in tags.items():
        exif[names[k]] = v
    return exif.tobytes()


# Independent spec of the EXIF orientations (what a viewer shows), in numpy.
ORIENTED = {
    1: lambda a: a,
    2: np.fliplr,
    3: lambda a: np.rot90(a, 2),
    4: np.flipud,
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, -1),  # 90 degrees clockwise
    7: lambda a: np.rot90(a, 2).transpose(1, 0, 2),
    8: lambda a: np.rot90(a, 1),
}


# ---------------------------------------------------------------- orientation

def test_jpeg_exif_orientation_6_is_rotated(tmp_path):
    src = pattern()
    p = tmp_path / "rot.jpg"
    Image.fromarray(src).save(p, quality=100, subsampling=0, exif=exif_bytes(6))

    img = load_image(p)
    assert img.rgb.shape == (60, 40, 3) and img.rgb.dtype == np.uint8
    expected = np.rot90(src, -1).astype(int)
    assert np.abs(img.rgb.astype(int) - expected).mean() < 2
    # The wrong rotation must be clearly distinguishable, otherwise the test proves nothing.
    assert np.abs(img.rgb.astype(int) - np.rot90(src, 1)).mean() > 40
    reloaded = Image.Exif()
    reloaded.load(img.exif)
    assert reloaded[0x0112] == 1
    assert any("upright" in n for n in img.notes)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_all_orientations_exact_png(tmp_path, orientation):
    src = pattern(5, 7)
    p = tmp_path / f"o{orientation}.png"
    Image.fromarray(src).save(p, exif=exif_bytes(orientation))
    img = load_image(p)
    np.testing.assert_array_equal(img.rgb, ORIENTED[orientation](src))


# ---------------------------------------------------------------- metadata

def test_icc_profile_round_trip(tmp_path):
    p = tmp_path / "icc.jpg"
    Image.fromarray(pattern()).save(p, icc_profile=SRGB_ICC)
    img = load_image(p)
    assert img.icc_profile == SRGB_ICC
    for ext in (".jpg", ".png", ".webp", ".tif"):
        out = save_image(tmp_path / f"out{ext}", img.rgb, like=img)
        with Image.open(out) as r:
            assert r.info.get("icc_profile") == SRGB_ICC, ext


def test_exif_tags_preserved_and_orientation_reset(tmp_path):
    src = pattern()
    p = tmp_path / "cam.jpg"
    Image.fromarray(src).save(p, exif=exif_bytes(6, Make="TestCam", Artist="Jane Doe"))
    img = load_image(p)
    for ext in (".jpg", ".png", ".webp", ".tif"):
        out = save_image(tmp_path / f"out{ext}", img.rgb, like=img)
        with Image.open(out) as r:
            exif = r.getexif()
            assert exif.get(0x010F) == "TestCam", ext
            assert exif.get(0x013B) == "Jane Doe", ext
            assert exif.get(0x0112, 1) == 1, ext  # no double rotation in other viewers
        # and our own loader must not rotate the already-upright output again
        assert load_image(out).rgb.shape == (60, 40, 3)


def test_tiff_source_exif_does_not_leak_structure_tags(tmp_path):
    p = tmp_path / "src.tif"
    Image.fromarray(pattern()).save(p, exif=exif_bytes(Artist="Jane Doe"))
    img = load_image(p)
    exif = Image.Exif()
    exif.load(img.exif)
    assert exif[0x013B] == "Jane Doe"
    assert 273 not in exif and 256 not in exif  # StripOffsets / ImageWidth


def test_jpeg_save_quality_subsampling_and_dpi(tmp_path):
    p = tmp_path / "dpi.jpg"
    Image.fromarray(pattern()).save(p, dpi=(300, 300))
    img = load_image(p)
    assert img.dpi == (300.0, 300.0)
    hi = save_image(tmp_path / "hi.jpg", img.rgb, like=img, quality=95)
    lo = save_image(tmp_path / "lo.jpg", img.rgb, like=img, quality=70)
    with Image.open(hi) as r:
        assert JpegImagePlugin.get_sampling(r) == 0  # 4:4:4
        assert tuple(round(d) for d in r.info["dpi"]) == (300, 300)
    with Image.open(lo) as r:
        assert JpegImagePlugin.get_sampling(r) == 2  # 4:2:0


# ---------------------------------------------------------------- colour modes

@pytest.mark.parametrize("mode", ["L", "1", "P"])
def test_greyscale_and_palette_become_rgb(tmp_path, mode):
    grey = np.tile(np.arange(0, 256, 4, dtype=np.uint8), (10, 1))
    src = Image.fromarray(grey, "L").convert(mode) if mode != "P" else Image.fromarray(grey, "L").convert("P")
    p = tmp_path / f"g_{mode}.png"
    src.save(p)
    img = load_image(p)
    assert img.source_mode == mode
    assert img.rgb.shape == (10, 64, 3) and img.alpha is None
    expected = np.asarray(src.convert("L"))
    for c in range(3):
        np.testing.assert_array_equal(img.rgb[..., c], expected)


def test_palette_with_transparency_gets_alpha(tmp_path):
    pal = Image.new("P", (4, 3), 0)
    pal.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    pal.putpixel((1, 1), 1)
    p = tmp_path / "pal.png"
    pal.save(p, transparency=0)
    img = load_image(p)
    assert img.alpha is not None
    assert img.alpha[1, 1] == 255 and img.alpha[0, 0] == 0
    assert tuple(img.rgb[1, 1]) == (0, 0, 255)


def test_rgba_alpha_kept_through_png_and_dropped_for_jpeg(tmp_path):
    rgb = pattern()
    alpha = np.tile(np.linspace(0, 255, 60).astype(np.uint8), (40, 1))
    p = tmp_path / "a.png"
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(p)
    img = load_image(p)
    np.testing.assert_array_equal(img.rgb, rgb)
    np.testing.assert_array_equal(img.alpha, alpha)

    out = save_image(tmp_path / "out.png", img.rgb, like=img)
    with Image.open(out) as r:
        assert r.mode == "RGBA"
        np.testing.assert_array_equal(np.asarray(r)[..., 3], alpha)
        np.testing.assert_array_equal(np.asarray(r)[..., :3], rgb)

    jpg = save_image(tmp_path / "out.jpg", img.rgb, like=img)
    with Image.open(jpg) as r:
        assert r.mode == "RGB"


def test_cmyk_jpeg_loads_with_sensible_colours(tmp_path):
    cmyk = np.zeros((32, 32, 4), np.uint8)
    cmyk[:16, :16, 0] = 255   # cyan
    cmyk[:16, 16:, 1] = 255   # magenta
    cmyk[16:, :16, 2] = 255   # yellow
    cmyk[16:, 16:, 3] = 255   # black
    p = tmp_path / "cmyk.jpg"
    Image.fromarray(cmyk, "CMYK").save(p, quality=100)
    img = load_image(p)
    assert img.source_mode == "CMYK" and img.icc_profile is None
    assert any("CMYK" in n for n in img.notes)
    means = {k: img.rgb[sl].reshape(-1, 3).mean(0) for k, sl in {
        "cyan": np.s_[2:14, 2:14], "magenta": np.s_[2:14, 18:30],
        "yellow": np.s_[18:30, 2:14], "black": np.s_[18:30, 18:30]}.items()}
    expected = {"cyan": (0, 255, 255), "magenta": (255, 0, 255), "yellow": (255, 255, 0), "black": (0, 0, 0)}
    for k in expected:
        assert np.abs(means[k] - expected[k]).max() < 25, (k, means[k])


# ---------------------------------------------------------------- 16 bit

VALUES16 = np.array([0, 128, 129, 257, 385, 386, 1000, 32768, 65278, 65535], np.uint16)


def to8(v):
    return np.rint(v.astype(np.float64) / 257.0).astype(np.uint8)


def test_16bit_greyscale_png(tmp_path):
    grey = np.tile(VALUES16, (3, 1))
    p = tmp_path / "g16.png"
    Image.fromarray(grey).save(p)  # mode I;16
    img = load_image(p)
    assert img.source_mode.startswith("I;16") and img.bit_depth == 16
    assert any("16-bit" in n for n in img.notes)
    for c in range(3):
        np.testing.assert_array_equal(img.rgb[..., c], to8(grey))


def rgb16():
    r = np.tile(VALUES16, (4, 1))
    return np.dstack([r, r[:, ::-1], np.full_like(r, 40000)])


def test_16bit_rgb_tiff(tmp_path):
    import tifffile
    arr = rgb16()
    p = tmp_path / "rgb16.tif"
    tifffile.imwrite(p, arr, photometric="rgb")
    img = load_image(p)
    assert img.bit_depth == 16 and img.format == "TIFF"
    np.testing.assert_array_equal(img.rgb, to8(arr))


def test_16bit_rgba_png(tmp_path):
    import cv2
    arr = rgb16()
    a16 = np.tile(VALUES16[::-1], (4, 1))
    p = tmp_path / "rgba16.png"
    ok, buf = cv2.imencode(".png", np.dstack([arr[..., ::-1], a16]))  # OpenCV is BGR(A)
    p.write_bytes(buf.tobytes())
    img = load_image(p)
    assert img.bit_depth == 16
    np.testing.assert_array_equal(img.rgb, to8(arr))
    np.testing.assert_array_equal(img.alpha, to8(a16))


# ---------------------------------------------------------------- bad input

def test_truncated_jpeg_refused(tmp_path):
    rng = np.random.default_rng(0)
    full = tmp_path / "full.jpg"
    Image.fromarray(rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)).save(full)
    p = tmp_path / "cut.jpg"
    p.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(ImageLoadError, match="cut.jpg.*incomplete or corrupt"):
        load_image(p)


def test_random_bytes_refused(tmp_path):
    p = tmp_path / "noise.jpg"
    p.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(ImageLoadError, match="noise.jpg.*not a supported image"):
        load_image(p)


def test_empty_missing_and_directory_refused(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageLoadError, match="empty.png"):
        load_image(tmp_path / "empty.png")
    with pytest.raises(ImageLoadError, match="does not exist"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(ImageLoadError, match="is a folder"):
        load_image(tmp_path)


def test_unsupported_format_refused(tmp_path):
    p = tmp_path / "x.gif"
    Image.fromarray(pattern()).save(p)
    with pytest.raises(ImageLoadError, match="not a supported image"):
        load_image(p)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores file permissions")
def test_unreadable_file_refused(tmp_path):
    p = tmp_path / "secret.png"
    Image.fromarray(pattern()).save(p)
    p.chmod(0)
    with pytest.raises(ImageLoadError, match="permission denied"):
        load_image(p)


def _png_with_header_size(tmp_path, w, h) -> Path:
    p = tmp_path / "bomb.png"
    Image.new("RGB", (8, 8)).save(p)
    data = bytearray(p.read_bytes())
    data[16:24] = struct.pack(">II", w, h)  # IHDR width/height
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))  # keep the CRC valid
    p.write_bytes(bytes(data))
    return p


def test_decompression_bomb_refused_by_header(tmp_path):
    p = _png_with_header_size(tmp_path, 100_000, 100_000)  # 10 gigapixels claimed
    with pytest.raises(ImageLoadError, match="too large"):
        load_image(p)


def test_max_pixels_checked_before_decoding(tmp_path):
    p = _png_with_header_size(tmp_path, 5000, 4000)  # 20 MP claimed, pixel data is garbage
    with pytest.raises(ImageLoadError, match=r"too large \(5000x4000"):
        load_image(p, max_pixels=10_000_000)


# ---------------------------------------------------------------- saving

def test_refuses_to_overwrite_original(tmp_path):
    (tmp_path / "sub").mkdir()
    p = tmp_path / "orig.png"
    Image.fromarray(pattern()).save(p)
    before = p.read_bytes()
    img = load_image(p)
    edited = 255 - img.rgb
    for target in (p, tmp_path / "sub" / ".." / "orig.png"):
        with pytest.raises(ImageSaveError, match="overwrite your original"):
            save_image(target, edited, like=img)
    assert p.read_bytes() == before
    save_image(p, edited, like=img, overwrite_original=True)
    np.testing.assert_array_equal(load_image(p).rgb, edited)
    assert not list(tmp_path.glob(".*.part"))


def test_disk_full_leaves_old_file_and_no_part(tmp_path, monkeypatch):
    target = tmp_path / "out.jpg"
    target.write_bytes(b"previous version")

    def full_disk(fd):
        assert os.fstat(fd).st_size > 0  # the temp file was really written
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(ImageSaveError, match="disk is full"):
        save_image(target, pattern())
    monkeypatch.undo()
    assert target.read_bytes() == b"previous version"
    assert sorted(f.name for f in tmp_path.iterdir()) == ["out.jpg"]


def test_unsupported_output_format_writes_nothing(tmp_path):
    with pytest.raises(ImageSaveError, match="unsupported file type"):
        save_image(tmp_path / "out.gif", pattern())
    with pytest.raises(ImageSaveError, match="unsupported file type"):
        save_image(tmp_path / "out.png", pattern(), format="PSD")
    assert list(tmp_path.iterdir()) == []


def test_missing_folder_and_bad_array(tmp_path):
    with pytest.raises(ImageSaveError, match="does not exist"):
        save_image(tmp_path / "no" / "out.png", pattern())
    with pytest.raises(ImageSaveError, match="HxWx3 uint8"):
        save_image(tmp_path / "out.png", pattern().astype(np.float32))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(ImageSaveError, match="no permission"):
            save_image(ro / "out.png", pattern())
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


@pytest.mark.parametrize("ext", [".jpg", ".png", ".webp", ".tif", ".bmp"])
def test_save_each_format(tmp_path, ext):
    rgb = pattern()
    out = save_image(tmp_path / f"x{ext}", rgb, quality=100)
    img = load_image(out)
    tol = 0 if ext in (".png", ".tif", ".bmp") else 3
    assert np.abs(img.rgb.astype(int) - rgb).mean() <= tol
    assert is_supported(out)


def test_supported_extensions():
    assert ".jpg" in SUPPORTED_EXTENSIONS and ".tiff" in SUPPORTED_EXTENSIONS
    assert all(e == e.lower() and e.startswith(".") for e in SUPPORTED_EXTENSIONS)
    assert is_supported("A/B/Photo.JPEG") and not is_supported("x.gif") and not is_supported("noext")


def test_real_photo_png_round_trip_bit_exact(tmp_path):
    if not REAL_PHOTO.is_file():
        pytest.skip(f"{REAL_PHOTO} not available")
    img = load_image(REAL_PHOTO)
    assert isinstance(img, LoadedImage) and img.rgb.ndim == 3 and img.rgb.shape[2] == 3
    out = save_image(tmp_path / "107.png", img.rgb, like=img)
    again = load_image(out)
    np.testing.assert_array_equal(again.rgb, img.rgb)
    if img.alpha is not None:
        np.testing.assert_array_equal(again.alpha, img.alpha)


# ---------------------------------------------------------------- big images: memory and limits (issue 14 item 9)

def real_rgb(h: int, w: int) -> np.ndarray:
    """A real photo (pairs_dev/clean/107.png) resized to h x w, or a synthetic pattern without the data."""
    import cv2
    if not REAL_PHOTO.is_file():
        pytest.skip(f"{REAL_PHOTO} not available")
    rgb = np.asarray(Image.open(REAL_PHOTO).convert("RGB"))
    return cv2.resize(rgb, (w, h), interpolation=cv2.INTER_LINEAR)


def write_png16(path: Path, rgb16: np.ndarray) -> Path:
    import cv2
    ok, buf = cv2.imencode(".png", rgb16[..., [2, 1, 0, 3][: rgb16.shape[2]]], [cv2.IMWRITE_PNG_COMPRESSION, 1])
    path.write_bytes(buf.tobytes())
    return path


def photo16(h: int, w: int) -> np.ndarray:
    """Real photo pixels in 16 bits with every low byte in use (x257 plus a ramp)."""
    rgb = real_rgb(h, w).astype(np.uint16) * 257
    rgb += (np.arange(w, dtype=np.uint16) % 256)[None, :, None]
    return np.minimum(rgb, 65535)


def traced_peak(fn):
    """Peak bytes numpy (and Python) allocated while running fn: numpy reports its buffers to tracemalloc."""
    import tracemalloc
    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_16bit_to_8bit_is_exact_for_every_value(tmp_path):
    # All 65536 values in each channel (rotated between channels), through a real 16-bit PNG file.
    v = np.arange(65536, dtype=np.uint16).reshape(256, 256)
    arr = np.dstack([v, np.roll(v, 1), v[::-1]])
    img = load_image(write_png16(tmp_path / "all16.png", arr))
    assert img.bit_depth == 16
    np.testing.assert_array_equal(img.rgb, np.rint(arr / 257.0).astype(np.uint8))


@pytest.mark.parametrize("kind", ["16-bit RGB PNG", "1-bit PNG", "RGB JPEG"])
def test_loading_holds_the_image_about_once(tmp_path, kind):
    """Regression: a 13000² 16-bit PNG took 12.5 GB (the whole image through float64); a 1-bit PNG ~2 GB
    at 169 MP (RGB array built through tobytes).  Now decoded samples + the uint8 result + small bands."""
    import unmask_studio.core.io as io_mod
    # Large enough that one more full-size copy (the old code made several) exceeds one band's temporaries.
    h, w = (2000, 3000) if kind.startswith("16") else (3000, 4000)
    if kind == "16-bit RGB PNG":
        src = photo16(h, w)
        p = write_png16(tmp_path / "big16.png", src)
        decoded = src.nbytes  # OpenCV's uint16 samples (numpy-owned, so traced)
        del src
    elif kind == "1-bit PNG":
        p = tmp_path / "bilevel.png"
        Image.fromarray(real_rgb(h, w)).convert("1").save(p)
        decoded = 0  # Pillow's own buffer is not numpy's
    else:
        p = tmp_path / "photo.jpg"
        Image.fromarray(real_rgb(h, w)).save(p, quality=90)
        decoded = 0
    img, peak = traced_peak(lambda: load_image(p))
    out = img.rgb.nbytes
    assert img.rgb.shape == (h, w, 3)
    band_temporaries = 8 * 3 * io_mod._BAND_PIXELS  # at most 8 bytes a sample of one band (24 MB)
    assert decoded or band_temporaries < out  # else one more full-size uint8 copy could pass unseen
    assert peak < decoded + out + band_temporaries, \
        f"{kind}: peak {peak / 2**20:.0f} MB for a {out / 2**20:.0f} MB result"


def test_16bit_rgba_png_in_many_bands_with_every_orientation(tmp_path, monkeypatch):
    """Bands written straight to their upright place: check every EXIF orientation, alpha included, with
    bands of a few rows (so band edges and rotated views are exercised)."""
    import unmask_studio.core.io as io_mod
    monkeypatch.setattr(io_mod, "_BAND_PIXELS", 3 * 23)  # 3 rows a band
    rgb16 = photo16(17, 23)
    a16 = (np.arange(17 * 23, dtype=np.uint32).reshape(17, 23) * 97 % 65536).astype(np.uint16)
    base = write_png16(tmp_path / "rgba16.png", np.dstack([rgb16, a16])).read_bytes()
    for orientation in range(1, 9):
        p = tmp_path / f"o{orientation}.png"
        p.write_bytes(png_with_chunk(base, b"eXIf", exif_bytes(orientation)[6:]))  # raw TIFF header, no "Exif\0\0"
        img = load_image(p)
        assert img.bit_depth == 16
        np.testing.assert_array_equal(img.rgb, ORIENTED[orientation](to8(rgb16)), err_msg=f"orientation {orientation}")
        np.testing.assert_array_equal(img.alpha, ORIENTED[orientation](to8(a16)[..., None])[..., 0])


def png_with_chunk(png: bytes, kind: bytes, data: bytes, after_idat: bool = False) -> bytes:
    """Insert a chunk before the first IDAT (or after the last one)."""
    chunks, pos = [], 8
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        chunks.append(png[pos:pos + 12 + length])
        pos += 12 + length
    new = struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    idat = [i for i, c in enumerate(chunks) if c[4:8] == b"IDAT"]
    at = idat[-1] + 1 if after_idat else idat[0]
    return png[:8] + b"".join(chunks[:at] + [new] + chunks[at:])


def test_png_exif_after_the_pixel_data_is_found(tmp_path):
    # eXIf may follow IDAT; Pillow only sees it by decoding everything, load_image walks the chunks.
    src = real_rgb(30, 40)
    p = tmp_path / "late_exif.png"
    Image.fromarray(src).save(p)
    p.write_bytes(png_with_chunk(p.read_bytes(), b"eXIf", exif_bytes(6)[6:], after_idat=True))
    img = load_image(p)
    np.testing.assert_array_equal(img.rgb, np.rot90(src, -1))
    assert any("upright" in n for n in img.notes)


def test_size_limit_message_states_the_limit_actually_used(tmp_path, monkeypatch):
    # Pillow refuses above 2 * MAX_IMAGE_PIXELS (178.96 MP by default) while opening; the message said 200.
    p = _png_with_header_size(tmp_path, 100_000, 100_000)
    with pytest.raises(ImageLoadError, match="the limit is 179 megapixels"):
        load_image(p)
    with pytest.raises(ImageLoadError, match=r"too large \(5000x4000 pixels\); the limit is 1.5 megapixels"):
        load_image(_png_with_header_size(tmp_path, 5000, 4000), max_pixels=1_500_000)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)  # as an application may set it
    with pytest.raises(ImageLoadError, match="the limit is 2.0 megapixels"):
        load_image(_png_with_header_size(tmp_path, 2100, 1000))


def test_big_image_loads_without_pillows_raw_warning(tmp_path, monkeypatch):
    import warnings
    p = tmp_path / "p.png"
    Image.fromarray(real_rgb(80, 100)).save(p)  # 8000 px: accepted
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 5_000)  # warns above 5000 px, refuses above 10000
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        img = load_image(p)
    assert img.size == (100, 80)
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]


def test_photo_that_cannot_fit_in_memory_is_refused_up_front(tmp_path, monkeypatch):
    import unmask_studio.core.io as io_mod
    p = tmp_path / "photo.jpg"
    Image.fromarray(real_rgb(3000, 4000)).save(p, quality=90)
    monkeypatch.setattr(io_mod, "_available_memory", lambda: 100 * 2**20)
    with pytest.raises(ImageLoadError, match=r"photo.jpg.*4000x3000 image needs about \d+ MB of memory to load "
                                             r"and process, but only 100 MB is free"):
        load_image(p)
    monkeypatch.setattr(io_mod, "_available_memory", lambda: None)  # unknown (not Linux): just try
    assert load_image(p).size == (4000, 3000)
