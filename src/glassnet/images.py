"""A user's picture of a digit, turned into the 28x28 form MNIST's digits have.

A network trained on MNIST has only ever seen digits prepared one way, so a photo or a drawing
must be prepared the same way before the network can read it. MNIST's authors took each scanned
digit, fitted it into a 20x20 pixel box keeping its aspect ratio (with anti-aliasing, hence the grey
edges), and placed that box in a 28x28 field so that the digit's *centre of mass* sits in the
middle. Its ink is bright (255) on a black (0) background. :func:`to_mnist` repeats those steps:

1. polarity: if the picture's border is bright, it is dark ink on light paper, so invert it;
2. contrast: subtract the paper's level (the border's median) and stretch the brightest ink to 1;
3. noise: zero what stays below a small fraction of full ink (paper grain, JPEG ringing);
4. crop to the bounding box of the ink (a blank picture is an error: :class:`NoInkError`);
5. scale the crop so its longer side is 20 pixels, averaging the area each new pixel covers;
6. paste it into a 28x28 field, shifted so its centre of mass lands on pixel (14, 14).

:func:`load_image` decodes a PNG or JPEG file (and nothing else) into a grayscale array; the web
page sends raw canvas pixels straight to :func:`to_mnist`, so both go through the same steps.

The network's standardizer was fitted on MNIST's raw pixel values, 0 to 255, so the network takes
``255 * to_mnist(...)`` flattened into one row; :func:`mnist_pixels` does exactly that::

    image = load_digit("my-digit.png")               # (28, 28) float32 in [0, 1], ink = 1
    probabilities = network.predict_proba(mnist_pixels(image))   # (1, 10)

Decoding untrusted files is guarded: only the PNG and JPEG decoders are ever run, files over
:data:`MAX_FILE_BYTES` and images over :data:`MAX_PIXELS` pixels (a small "decompression bomb" can
declare a huge size) are refused from the header alone, and a truncated or corrupt file is an error
rather than a half-decoded picture. Every problem is one :class:`~glassnet.errors.FormatError` line.
"""

from __future__ import annotations

import io
import math
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from glassnet.errors import FormatError, GlassnetError

if TYPE_CHECKING:
    from PIL import Image as PILImage

__all__ = [
    "BOX_SIZE",
    "FIELD_SIZE",
    "MAX_FILE_BYTES",
    "MAX_PIXELS",
    "NoInkError",
    "load_digit",
    "load_image",
    "mnist_pixels",
    "require_pillow",
    "save_png",
    "to_mnist",
]

#: Side of MNIST's images, in pixels.
FIELD_SIZE = 28
#: Side of the box a digit's longer side is scaled to, in pixels.
BOX_SIZE = 20
#: Largest image, in pixels, that :func:`load_image` decodes by default (40 megapixels).
MAX_PIXELS = 40_000_000
#: Largest file, in bytes, that :func:`load_image` reads by default (64 MiB).
MAX_FILE_BYTES = 64 * 1024 * 1024
#: Ink fainter than this fraction of the darkest stroke counts as noise.
NOISE_LEVEL = 0.12
#: Pictures whose ink differs from the paper by less than this (on a 0..1 scale) are blank.
MIN_CONTRAST = 0.08
#: Longest side kept while decoding; larger pictures are reduced first (a digit is never that fine).
WORKING_SIDE = 2048

# First bytes of formats people might try, to name what was found instead of a PNG or JPEG.
_SIGNATURES = (
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"%PDF", "PDF"),
    (b"8BPS", "PSD"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (b"\xff\x4f\xff\x51", "JPEG 2000"),
    (b"qoif", "QOI"),
    (b"P1", "PBM"),
    (b"P4", "PBM"),
    (b"P2", "PGM"),
    (b"P5", "PGM"),
    (b"P3", "PPM"),
    (b"P6", "PPM"),
)


class NoInkError(GlassnetError, ValueError):
    """The picture is blank: no ink stands out from the paper."""


def require_pillow() -> Any:
    """Pillow's ``Image`` module, or a :class:`GlassnetError` saying how to install it."""
    try:
        from PIL import Image
    except ImportError:
        raise GlassnetError(
            'reading images needs Pillow; install it with: pip install "glassnet[images]"'
        ) from None
    return Image


def _found_format(head: bytes) -> str:
    """A name for the format of a file starting with ``head``, for error messages."""
    for signature, name in _SIGNATURES:
        if head.startswith(signature):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    if head[4:12] in (b"ftypavif", b"ftypavis"):
        return "AVIF"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1"):
        return "HEIF"
    text = head.lstrip().lower()
    if text.startswith((b"<svg", b"<?xml")):
        return "SVG/XML"
    if not head:
        return "an empty file"
    return "an unknown format"


def _read_source(source: str | os.PathLike[str] | bytes, max_bytes: int) -> tuple[bytes, str]:
    """The bytes of a file or of a bytes object, and a name for messages."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        name = "<image bytes>"
    else:
        name = os.fspath(source)
        with open(name, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            if size > max_bytes:
                raise FormatError(
                    f"{name}: the file is {size:,} bytes; images over "
                    f"{max_bytes:,} bytes are refused"
                )
            data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FormatError(f"{name}: images over {max_bytes:,} bytes are refused")
    return data, name


def load_image(
    source: str | os.PathLike[str] | bytes,
    *,
    max_pixels: int = MAX_PIXELS,
    max_bytes: int = MAX_FILE_BYTES,
) -> NDArray[np.float32]:
    """Decode a PNG or JPEG file into a grayscale array.

    Transparent pixels are laid on white paper (or on black, if on white the picture would be
    blank, as white ink on a transparent background is). Pictures larger than
    :data:`WORKING_SIDE` on a side are reduced by a whole factor while decoding.

    Parameters
    ----------
    source : str, os.PathLike or bytes
        A file path or the file's contents.
    max_pixels : int, default 40,000,000
        Refuse images whose header declares more pixels than this, before decoding them.
    max_bytes : int, default 64 MiB
        Refuse files larger than this.

    Returns
    -------
    gray : (height, width) float32 array
        Luminance in ``[0, 1]``: 0 is black, 1 is white.

    Raises
    ------
    glassnet.errors.FormatError
        If the data is not a PNG or JPEG image, is truncated or corrupt, or is too large.
    FileNotFoundError, OSError
        If the file cannot be read.
    glassnet.errors.GlassnetError
        If Pillow is not installed.
    """
    Image = require_pillow()
    data, name = _read_source(source, max_bytes)
    try:
        with warnings.catch_warnings():
            # Pillow warns (and, far above its limit, raises) on huge declared sizes; ours is lower.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=["PNG", "JPEG"])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise FormatError(
            f"{name}: the image declares more than {max_pixels:,} pixels; refused"
        ) from None
    except Image.UnidentifiedImageError:
        raise FormatError(
            f"{name}: not a PNG or JPEG image (found {_found_format(data[:16])})"
        ) from None
    except Exception as exc:  # any failure to parse the header of untrusted bytes
        raise FormatError(f"{name}: not a readable PNG or JPEG image ({_one_line(exc)})") from None
    with image:
        if image.format not in ("PNG", "JPEG", "MPO"):  # MPO: multi-picture JPEG from cameras
            raise FormatError(f"{name}: not a PNG or JPEG image (found {image.format})")
        width, height = image.size
        if width < 1 or height < 1 or width * height > max_pixels:
            raise FormatError(
                f"{name}: the image is {width}x{height} = {width * height:,} pixels; "
                f"images over {max_pixels:,} pixels are refused"
            )
        try:
            return _decode(image)
        except MemoryError:
            raise FormatError(
                f"{name}: not enough memory to decode a {width}x{height} image"
            ) from None
        except Exception as exc:  # truncated data, bad chunks, zlib errors, bad Huffman tables...
            raise FormatError(
                f"{name}: corrupt or truncated {image.format} image ({_one_line(exc)})"
            ) from None


def _decode(image: PILImage.Image) -> NDArray[np.float32]:
    """Pixels of an opened image as luminance in [0, 1], alpha laid on white (or black)."""
    if image.format == "JPEG" and max(image.size) > WORKING_SIDE:
        image.draft("RGB", (WORKING_SIDE, WORKING_SIDE))  # decode at a reduced DCT scale
    image.load()
    if image.mode.startswith("I"):  # 16-bit grayscale PNG
        gray = np.asarray(image, dtype=np.float32) / np.float32(65535.0)
        return _reduce(np.clip(gray, 0.0, 1.0))
    has_alpha = "A" in image.mode or "a" in image.mode or "transparency" in image.info
    if not has_alpha:
        return _reduce(np.asarray(image.convert("L"), dtype=np.float32) / np.float32(255.0))
    rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / np.float32(255.0)
    rgba = _reduce(rgba)
    luminance = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)
    alpha = rgba[..., 3]
    on_white = luminance * alpha + (1.0 - alpha)
    if float(np.ptp(on_white)) < MIN_CONTRAST and float(np.ptp(alpha)) >= MIN_CONTRAST:
        return np.asarray(luminance * alpha, dtype=np.float32)  # light ink on a clear background
    return np.asarray(on_white, dtype=np.float32)


def _reduce(pixels: NDArray[np.float32]) -> NDArray[np.float32]:
    """Average ``k x k`` blocks so the longer side is at most :data:`WORKING_SIDE`."""
    height, width = pixels.shape[:2]
    k = math.ceil(max(height, width) / WORKING_SIDE)
    if k <= 1:
        return pixels
    h, w = height // k * k, width // k * k
    blocks = pixels[:h, :w].reshape(h // k, k, w // k, k, *pixels.shape[2:])
    return np.asarray(blocks.mean(axis=(1, 3)), dtype=np.float32)


def to_mnist(gray: ArrayLike, *, invert: bool | None = None) -> NDArray[np.float32]:
    """Prepare a grayscale picture of one digit as MNIST prepared its digits.

    Parameters
    ----------
    gray : (height, width) array
        The picture: floats in ``[0, 1]``, or integers in ``0..255`` (such as uint8 canvas pixels).
    invert : bool, optional
        Whether the picture is dark ink on light paper and must be inverted. By default this is
        decided from the picture's border: a bright border means light paper.

    Returns
    -------
    image : (28, 28) float32 array
        Values in ``[0, 1]`` with the ink bright: the digit scaled so its longer side is 20 pixels
        and placed with its centre of mass at pixel ``(14, 14)``.

    Raises
    ------
    ValueError
        If ``gray`` is not a 2-D array of finite numbers in range.
    NoInkError
        If no ink stands out from the paper.
    """
    pixels = _check_gray(gray)
    ring = _border(pixels)
    if invert is None:
        invert = float(np.median(ring)) > 0.5
    if invert:
        pixels = 1.0 - pixels
        ring = 1.0 - ring
    paper = float(np.median(ring))
    ink = float(pixels.max())
    if ink - paper < MIN_CONTRAST:
        raise NoInkError("no ink found: the picture is blank (nothing stands out from the paper)")
    pixels = np.clip((pixels - paper) / (ink - paper), 0.0, 1.0)
    pixels[pixels < NOISE_LEVEL] = 0.0

    rows = np.flatnonzero(pixels.any(axis=1))
    cols = np.flatnonzero(pixels.any(axis=0))
    crop = pixels[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    digit = _fit_box(crop, BOX_SIZE)
    return _center_by_mass(digit, FIELD_SIZE)


def _check_gray(gray: ArrayLike) -> NDArray[np.float32]:
    array = np.asarray(gray)
    if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"expected a 2-D grayscale picture, got an array of shape {array.shape}")
    if array.dtype == np.bool_:
        return array.astype(np.float32)
    if np.issubdtype(array.dtype, np.integer):
        if array.min() < 0 or array.max() > 255:
            raise ValueError("integer pixels must lie in 0..255")
        return array.astype(np.float32) / np.float32(255.0)
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"pixels must be numbers, got dtype {array.dtype}")
    pixels = array.astype(np.float32)  # a copy: the caller's array is never changed
    if not np.all(np.isfinite(pixels)):
        raise ValueError("pixels contain NaN or infinite values")
    if pixels.min() < 0.0 or pixels.max() > 1.0:
        raise ValueError("float pixels must lie in [0, 1]")
    return pixels


def _border(pixels: NDArray[np.float32]) -> NDArray[np.float32]:
    """The pixels of a frame about 2% of the picture's size wide (at least one pixel)."""
    height, width = pixels.shape
    k = max(1, min(height, width) // 50)
    if height <= 2 * k or width <= 2 * k:
        return pixels.reshape(-1)
    return np.concatenate(
        [
            pixels[:k].reshape(-1),
            pixels[-k:].reshape(-1),
            pixels[k:-k, :k].reshape(-1),
            pixels[k:-k, -k:].reshape(-1),
        ]
    )


def _fit_box(crop: NDArray[np.float32], box: int) -> NDArray[np.float32]:
    """Scale ``crop`` so its longer side is ``box`` pixels, keeping its aspect ratio."""
    Image = require_pillow()
    height, width = crop.shape
    scale = box / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if (width, height) == size:
        return crop
    # Area averaging (Pillow's BOX filter): each output pixel is the mean of the input it covers,
    # which gives MNIST's grey, anti-aliased edges and never overshoots the [0, 1] range. A clean
    # enlargement of an MNIST digit comes back as the very same pixels.
    resized = Image.fromarray(np.ascontiguousarray(crop, dtype=np.float32)).resize(
        size, Image.Resampling.BOX
    )
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)


def _center_by_mass(digit: NDArray[np.float32], field: int) -> NDArray[np.float32]:
    """Paste ``digit`` into a ``field x field`` image with its centre of mass at the middle."""
    height, width = digit.shape
    mass = float(digit.sum())
    if mass > 0:
        cy = float((digit.sum(axis=1) * np.arange(height)).sum()) / mass
        cx = float((digit.sum(axis=0) * np.arange(width)).sum()) / mass
    else:
        cy, cx = (height - 1) / 2, (width - 1) / 2
    middle = field / 2  # MNIST's centres of mass average 14.0 in index coordinates
    # Whole-pixel shifts, halves rounded up, as MNIST did: a sub-pixel shift would blur the digit.
    top = min(max(math.floor(middle - cy + 0.5), 0), field - height)
    left = min(max(math.floor(middle - cx + 0.5), 0), field - width)
    out = np.zeros((field, field), np.float32)
    out[top : top + height, left : left + width] = digit
    return out


def load_digit(
    source: str | os.PathLike[str] | bytes, *, invert: bool | None = None
) -> NDArray[np.float32]:
    """:func:`load_image` then :func:`to_mnist`: a PNG or JPEG file to a (28, 28) MNIST image."""
    return to_mnist(load_image(source), invert=invert)


def mnist_pixels(image: ArrayLike) -> NDArray[np.float32]:
    """MNIST images in ``[0, 1]`` as rows of raw pixel values, what ``Network.predict_proba`` takes.

    Parameters
    ----------
    image : (28, 28) or (n, 28, 28) array
        Output of :func:`to_mnist`, ink = 1.

    Returns
    -------
    rows : (n, 784) float32 array
        ``255 * image``, one row per image: the 0..255 scale of MNIST's files, on which a network's
        standardizer was fitted.
    """
    array = np.asarray(image, dtype=np.float32)
    if array.shape[-2:] != (FIELD_SIZE, FIELD_SIZE) or array.ndim not in (2, 3):
        raise ValueError(f"expected (28, 28) or (n, 28, 28) images, got shape {array.shape}")
    return np.ascontiguousarray(array.reshape(-1, FIELD_SIZE * FIELD_SIZE) * np.float32(255.0))


def save_png(path: str | os.PathLike[str], image: ArrayLike, *, scale: int = 8) -> Path:
    """Write a grayscale image in ``[0, 1]`` as a PNG, each pixel a ``scale x scale`` square.

    Parameters
    ----------
    path : str or os.PathLike
        Where to write; replaced atomically.
    image : (height, width) array
        Values in ``[0, 1]`` (clipped), shown as 0 = black, 1 = white.
    scale : int, default 8
        Magnification, with hard pixel edges (nearest neighbour).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    from glassnet.atomic import atomic_write_bytes

    Image = require_pillow()
    array = np.asarray(image, dtype=np.float64)
    if array.ndim != 2 or array.size == 0:
        raise ValueError(f"expected a 2-D image, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError("the image contains NaN or infinite values")
    if not isinstance(scale, int) or not 1 <= scale <= 64:
        raise ValueError(f"scale must be a whole number from 1 to 64, got {scale!r}")
    pixels = np.round(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8)
    pixels = np.repeat(np.repeat(pixels, scale, axis=0), scale, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())
    return Path(path)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__
