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
    assert any("orientation" in n for n in img.notes)


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
