"""Tests for glassnet.images: decoding guards, the MNIST preparation steps, and real digits."""

from __future__ import annotations

import io
import re
import struct
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glassnet.errors import FormatError, GlassnetError
from glassnet.images import (
    BOX_SIZE,
    FIELD_SIZE,
    NoInkError,
    load_digit,
    load_image,
    mnist_pixels,
    save_png,
    to_mnist,
)

Image = pytest.importorskip("PIL.Image")
ImageDraw = pytest.importorskip("PIL.ImageDraw")


# ------------------------------------------------------------------------------------ helpers
def drawn_seven(width: int = 160, height: int = 220, *, ink: int = 20, paper: int = 235) -> Image:
    """A thick '7' in dark ink on light paper, off centre, as a photo of a note might be."""
    image = Image.new("L", (width, height), paper)
    draw = ImageDraw.Draw(image)
    w, h = width, height
    draw.line(
        [(0.25 * w, 0.2 * h), (0.8 * w, 0.2 * h), (0.45 * w, 0.85 * h)],
        fill=ink,
        width=max(3, w // 12),
        joint="curve",
    )
    return image


def encode(image: Image, fmt: str = "PNG", **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width x height`` 8-bit grayscale pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def ink_box(image: np.ndarray) -> tuple[int, int]:
    rows = np.flatnonzero(image.any(axis=1))
    cols = np.flatnonzero(image.any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def center_of_mass(image: np.ndarray) -> tuple[float, float]:
    ys, xs = np.mgrid[0 : image.shape[0], 0 : image.shape[1]]
    return float((image * ys).sum() / image.sum()), float((image * xs).sum() / image.sum())


# ------------------------------------------------------------------------ the preparation steps
def test_dark_ink_on_light_paper_becomes_bright_ink_on_black() -> None:
    out = load_digit(encode(drawn_seven()))
    assert out.shape == (FIELD_SIZE, FIELD_SIZE)
    assert out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert out.max() > 0.95  # the ink is bright...
    assert out[0, 0] == 0.0 and out[-1, -1] == 0.0  # ...and the paper black


def test_digit_fits_the_20_pixel_box_and_is_centred_by_mass() -> None:
    out = load_digit(encode(drawn_seven()))
    height, width = ink_box(out)
    assert max(height, width) == BOX_SIZE
    assert min(height, width) <= BOX_SIZE
    cy, cx = center_of_mass(out)
    assert abs(cy - 14.0) <= 1.0 and abs(cx - 14.0) <= 1.0


def test_aspect_ratio_is_kept() -> None:
    image = Image.new("L", (300, 300), 255)
    ImageDraw.Draw(image).rectangle([140, 50, 159, 249], fill=0)  # a bar 20 wide, 200 tall: a '1'
    out = load_digit(encode(image))
    height, width = ink_box(out)
    assert height == BOX_SIZE
    assert width <= 3


def test_light_ink_on_dark_paper_is_not_inverted() -> None:
    dark_on_light = load_digit(encode(drawn_seven(ink=20, paper=235)))
    light_on_dark = load_digit(encode(drawn_seven(ink=235, paper=20)))
    np.testing.assert_allclose(light_on_dark, dark_on_light, atol=1e-5)


def test_explicit_polarity_overrides_the_border() -> None:
    gray = np.asarray(drawn_seven(), np.float32) / 255.0
    np.testing.assert_allclose(to_mnist(gray, invert=True), to_mnist(gray), atol=1e-6)
    with pytest.raises(NoInkError):  # inverting light paper the wrong way finds only paper
        to_mnist(np.ones((50, 50), np.float32) * 0.9, invert=False)


def test_uint8_and_float_pictures_agree() -> None:
    pixels = np.asarray(drawn_seven())
    np.testing.assert_allclose(to_mnist(pixels), to_mnist(pixels / 255.0), atol=1e-5)


def test_to_mnist_leaves_its_input_alone() -> None:
    gray = np.asarray(drawn_seven(), np.float32) / 255.0
    before = gray.copy()
    to_mnist(gray)
    np.testing.assert_array_equal(gray, before)


def test_faint_noise_is_dropped() -> None:
    rng = np.random.default_rng(0)
    clean = np.zeros((200, 200), np.float32)
    clean[40:160, 90:110] = 1.0
    noisy = np.clip(clean + rng.uniform(0.0, 0.06, clean.shape).astype(np.float32), 0, 1)
    np.testing.assert_allclose(to_mnist(noisy), to_mnist(clean), atol=0.08)


def test_a_clean_enlargement_of_an_mnist_digit_comes_back_unchanged() -> None:
    digit = np.zeros((28, 28), np.uint8)
    digit[4:24, 11:17] = 255  # a '1': a bar 20 pixels tall with a grey anti-aliased edge
    digit[4:24, 10] = 128
    digit[20:24, 8:20] = 200  # and a foot
    big = np.pad(np.repeat(np.repeat(255 - digit, 7, 0), 7, 1), 2, constant_values=255)
    out = load_digit(encode(Image.fromarray(big)))
    assert ink_box(out) == ink_box(digit)
    rows, cols = np.nonzero(out)
    drows, dcols = np.nonzero(digit)
    crop = out[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    expected = digit[drows.min() : drows.max() + 1, dcols.min() : dcols.max() + 1]
    np.testing.assert_allclose(crop * 255, expected, atol=0.5)
    cy, cx = center_of_mass(out)
    assert abs(cy - 14.0) <= 0.5 and abs(cx - 14.0) <= 0.5


def test_blank_pictures_are_an_error() -> None:
    for blank in (np.zeros((40, 40)), np.ones((40, 40)), np.full((40, 40), 0.5)):
        with pytest.raises(NoInkError, match="no ink found"):
            to_mnist(blank)
    with pytest.raises(NoInkError, match="no ink found"):
        load_digit(encode(Image.new("L", (64, 64), 255)))
    assert issubclass(NoInkError, GlassnetError) and issubclass(NoInkError, ValueError)


def test_a_single_dot_is_still_a_digit() -> None:
    gray = np.zeros((30, 30), np.float32)
    gray[10, 20] = 1.0
    out = to_mnist(gray)
    assert out.shape == (28, 28) and out.max() == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("array", "match"),
    [
        (np.zeros(10), "2-D"),
        (np.zeros((0, 5)), "2-D"),
        (np.full((5, 5), np.nan), "NaN"),
        (np.full((5, 5), 1.5), r"\[0, 1\]"),
        (np.full((5, 5), -1, np.int16), "0..255"),
        (np.full((5, 5), 300, np.int16), "0..255"),
        (np.array([["a", "b"], ["c", "d"]]), "numbers"),
    ],
)
def test_bad_arrays_are_refused(array: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        to_mnist(array)


@settings(max_examples=60, deadline=None)
@given(
    height=st.integers(3, 90),
    width=st.integers(3, 90),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_inked_picture_gives_a_valid_mnist_image(height: int, width: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    gray = np.zeros((height, width), np.float32)
    inside = gray[1:-1, 1:-1]  # the paper's border stays clear, so it is recognised as paper
    y, x = rng.integers(0, inside.shape[0]), rng.integers(0, inside.shape[1])
    inside[y : y + rng.integers(1, 40), x : x + rng.integers(1, 40)] = rng.uniform(0.5, 1.0)
    out = to_mnist(gray, invert=False)
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert np.all(np.isfinite(out)) and out.min() >= 0.0 and out.max() <= 1.0
    assert max(ink_box(out)) <= BOX_SIZE + 1


# --------------------------------------------------------------------------------- decoding
def test_png_with_transparency_is_laid_on_white() -> None:
    rgba = Image.new("RGBA", (120, 160), (0, 0, 0, 0))
    ImageDraw.Draw(rgba).line([(60, 20), (60, 140)], fill=(0, 0, 0, 255), width=14)
    gray = load_image(encode(rgba))
    assert gray[0, 0] == pytest.approx(1.0)  # clear paper counts as white
    assert gray[80, 60] == pytest.approx(0.0)
    assert ink_box(load_digit(encode(rgba)))[0] == BOX_SIZE


def test_white_ink_on_a_clear_background_is_read_too() -> None:
    rgba = Image.new("RGBA", (120, 160), (255, 255, 255, 0))
    ImageDraw.Draw(rgba).line([(60, 20), (60, 140)], fill=(255, 255, 255, 255), width=14)
    assert ink_box(load_digit(encode(rgba)))[0] == BOX_SIZE


def test_color_jpeg_and_16_bit_png_are_read() -> None:
    seven = drawn_seven()
    expected = load_digit(encode(seven))
    jpeg = encode(seven.convert("RGB"), "JPEG", quality=90)
    assert np.abs(load_digit(jpeg) - expected).mean() < 0.05
    sixteen = Image.fromarray(np.asarray(seven).astype(np.uint16) * 257)
    gray = load_image(encode(sixteen))
    np.testing.assert_allclose(gray, np.asarray(seven) / 255.0, atol=1e-4)


def test_reads_a_path(tmp_path: Path) -> None:
    path = tmp_path / "seven.png"
    path.write_bytes(encode(drawn_seven()))
    np.testing.assert_array_equal(load_digit(path), load_digit(str(path)))
    with pytest.raises(FileNotFoundError):
        load_image(tmp_path / "missing.png")


@pytest.mark.parametrize(("fmt", "name"), [("GIF", "GIF"), ("BMP", "BMP"), ("TIFF", "TIFF")])
def test_other_formats_are_refused_by_name(fmt: str, name: str) -> None:
    data = encode(drawn_seven(), fmt)
    with pytest.raises(FormatError, match=rf"not a PNG or JPEG image \(found {name}\)"):
        load_image(data)


def test_garbage_and_empty_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="found an unknown format"):
        load_image(b"hello, this is not an image at all")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(FormatError, match=r"empty\.png: not a PNG or JPEG image \(found an empty"):
        load_image(empty)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_files_are_refused(fmt: str) -> None:
    rng = np.random.default_rng(1)
    noisy = Image.fromarray(rng.integers(0, 256, (300, 300), dtype=np.uint8))
    data = encode(noisy, fmt)
    with pytest.raises(FormatError, match=r"corrupt or truncated|not a readable"):
        load_image(data[: len(data) // 2])


def test_a_corrupt_png_chunk_is_refused() -> None:
    data = bytearray(encode(drawn_seven()))
    data[40:60] = b"\xff" * 20  # inside the first IDAT chunk: its CRC no longer matches
    with pytest.raises(FormatError):
        load_image(bytes(data))


@pytest.mark.parametrize(("width", "height"), [(100_000, 100_000), (8_000, 6_000)])
def test_decompression_bombs_are_refused_from_the_header(width: int, height: int) -> None:
    started = time.perf_counter()
    with pytest.raises(FormatError, match="pixels"):
        load_image(png_claiming(width, height))
    assert time.perf_counter() - started < 1.0


def test_pixel_and_byte_limits_are_per_call() -> None:
    data = encode(drawn_seven(100, 100))
    with pytest.raises(FormatError, match="10,000 pixels"):
        load_image(data, max_pixels=5_000)
    with pytest.raises(FormatError, match="bytes are refused"):
        load_image(data, max_bytes=100)
    assert load_image(data).shape == (100, 100)  # the defaults are untouched
    assert Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS > 5_000


def test_large_pictures_are_reduced_while_decoding() -> None:
    big = drawn_seven(4200, 3000)
    started = time.perf_counter()
    gray = load_image(encode(big, "JPEG", quality=80))
    assert max(gray.shape) <= 2048
    assert ink_box(load_digit(encode(big, "PNG", compress_level=1)))  # and still a digit
    assert time.perf_counter() - started < 20


# ------------------------------------------------------------------------------ the outputs
def test_mnist_pixels_are_rows_on_the_0_255_scale() -> None:
    image = load_digit(encode(drawn_seven()))
    rows = mnist_pixels(image)
    assert rows.shape == (1, 784) and rows.dtype == np.float32
    assert rows.max() == pytest.approx(255.0 * image.max())
    assert mnist_pixels(np.stack([image, image])).shape == (2, 784)
    with pytest.raises(ValueError, match="28, 28"):
        mnist_pixels(np.zeros((27, 28)))


def test_save_png_writes_an_enlarged_grayscale_image(tmp_path: Path) -> None:
    image = load_digit(encode(drawn_seven()))
    path = save_png(tmp_path / "seven.mnist.png", image, scale=4)
    with Image.open(path) as written:
        assert written.size == (112, 112) and written.mode == "L"
        pixels = np.asarray(written)
    np.testing.assert_array_equal(pixels[::4, ::4], np.round(image * 255).astype(np.uint8))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seven.mnist.png"]  # no temp files
    with pytest.raises(ValueError, match="scale"):
        save_png(tmp_path / "x.png", image, scale=0)
    with pytest.raises(ValueError, match="NaN"):
        save_png(tmp_path / "x.png", np.full((28, 28), np.nan))


# ----------------------------------------------------------------------- real MNIST digits
@pytest.mark.mnist
@pytest.mark.slow
def test_mnist_digits_saved_as_png_are_read_as_the_originals(mnist_dir: Path) -> None:
    """Predictions on 300 test digits, written as 200x200 dark-on-light PNGs, match the originals.

    Each digit is enlarged 7x (each pixel a 7x7 square, as a scan would show it), inverted to dark
    ink on white paper and given a 2-pixel white margin. The PNG then goes through the whole
    pipeline: decoding, inversion, cropping, scaling into 20x20 and centring by mass.
    """
    from glassnet import Network
    from glassnet.datasets import load

    data = load("mnist", data_dir=mnist_dir, download=False, progressbar=False)
    network = Network([784, 128, 10], "relu", seed=0)
    network.fit(
        data.train_images[:20_000],
        data.train_labels[:20_000],
        epochs=2,
        batch_size=32,
        learning_rate=0.05,
        verbose=0,
    )

    digits = data.test_images[:300]
    prepared = []
    for digit in digits:
        enlarged = np.repeat(np.repeat(255 - digit, 7, axis=0), 7, axis=1)
        page = np.pad(enlarged, 2, constant_values=255)
        assert page.shape == (200, 200)
        prepared.append(load_digit(encode(Image.fromarray(page))))
    from_png = network.predict(mnist_pixels(np.stack(prepared)))
    original = network.predict(digits.reshape(len(digits), -1))
    agreement = float(np.mean(from_png == original))
    print(f"PNG predictions equal to the originals': {agreement:.2%} of {len(digits)}")
    assert agreement >= 0.97


# ---------------------------------------------------------------------------- glassnet predict
@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    from glassnet import Network

    return Network([784, 16, 10], "relu", seed=0).save(tmp_path / "model.safetensors")


def test_predict_prints_the_top_classes_of_each_image(
    model_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from glassnet.cli import main

    seven = tmp_path / "seven.png"
    seven.write_bytes(encode(drawn_seven()))
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(encode(drawn_seven().convert("RGB"), "JPEG"))
    assert main(["predict", str(model_file), str(seven), str(photo)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [str(seven), str(photo)]
    for line in lines:
        assert len(re.findall(r"\d+\.\d%", line)) == 3
    assert main(["predict", str(model_file), str(seven), "--top", "1"]) == 0
    assert len(re.findall(r"%", capsys.readouterr().out)) == 1


def test_predict_show_writes_what_the_network_saw(
    model_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from glassnet.cli import main

    seven = tmp_path / "seven.png"
    seven.write_bytes(encode(drawn_seven()))
    assert main(["predict", str(model_file), str(seven), "--show"]) == 0
    shown = tmp_path / "seven.mnist.png"
    assert str(shown) in capsys.readouterr().out
    with Image.open(shown) as image:
        assert image.size == (224, 224)
    np.testing.assert_allclose(load_image(shown)[::8, ::8], load_digit(seven), atol=1 / 255)


def test_predict_reports_each_bad_file_in_one_line_and_goes_on(
    model_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from glassnet.cli import main

    good = tmp_path / "good.png"
    good.write_bytes(encode(drawn_seven()))
    gif = tmp_path / "digit.gif"
    gif.write_bytes(encode(drawn_seven(), "GIF"))
    blank = tmp_path / "blank.png"
    blank.write_bytes(encode(Image.new("L", (50, 50), 255)))
    files = [str(gif), str(tmp_path / "missing.png"), str(blank), str(good)]
    assert main(["predict", str(model_file), *files]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith(f"{good}:")
    errors = captured.err.splitlines()
    assert errors == [
        f"glassnet predict: error: {gif}: not a PNG or JPEG image (found GIF)",
        f"glassnet predict: error: {tmp_path / 'missing.png'}: No such file or directory",
        f"glassnet predict: error: {blank}: no ink found: the picture is blank (nothing stands "
        f"out from the paper)",
    ]


def test_predict_refuses_a_model_that_does_not_take_28x28_images(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from glassnet import Network
    from glassnet.cli import main

    small = Network([64, 8, 10], seed=0).save(tmp_path / "small.safetensors")
    image = tmp_path / "seven.png"
    image.write_bytes(encode(drawn_seven()))
    assert main(["predict", str(small), str(image)]) == 1
    assert "takes 64 inputs" in capsys.readouterr().err


def test_without_pillow_the_message_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, model_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from glassnet.cli import main

    monkeypatch.setitem(sys.modules, "PIL", None)  # makes "from PIL import Image" fail
    with pytest.raises(GlassnetError, match=r'pip install "glassnet\[images\]"'):
        load_image(b"\x89PNG")
    assert main(["predict", str(model_file), "digit.png"]) == 1
    assert 'pip install "glassnet[images]"' in capsys.readouterr().err
