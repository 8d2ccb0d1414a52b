"""Image files: a user's PNG or JPEG decoded into grayscale, and a picture written as a PNG.

Decoding untrusted files is guarded: only the PNG and JPEG decoders are ever run, files over
:data:`MAX_FILE_BYTES` and images over :data:`MAX_PIXELS` pixels (a small "decompression bomb" can
declare a huge size) are refused from the header alone, and a truncated or corrupt file is an error
rather than a half-decoded picture. Every problem is one :class:`~glassnet.errors.FormatError` line.
:func:`load_image` takes those steps in order: read at most ``max_bytes``, open with only the two
decoders allowed, check the format and declared size, then decode.
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

from glassnet.errors import FormatError, InputError, one_line
from glassnet.images.pillow import require_pillow
from glassnet.images.prepare import MIN_CONTRAST

if TYPE_CHECKING:
    from PIL import Image as PILImage

__all__ = ["MAX_FILE_BYTES", "MAX_PIXELS", "WORKING_SIDE", "load_image", "save_png"]

#: Largest image, in pixels, that :func:`load_image` decodes by default (40 megapixels).
MAX_PIXELS = 40_000_000
#: Largest file, in bytes, that :func:`load_image` reads by default (64 MiB).
MAX_FILE_BYTES = 64 * 1024 * 1024
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
    with _open_png_or_jpeg(Image, data, name, max_pixels) as image:
        _check_opened(image, name, max_pixels)
        return _decode_guarded(image, name)


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


def _open_png_or_jpeg(Image: Any, data: bytes, name: str, max_pixels: int) -> PILImage.Image:
    """Open ``data`` with only the PNG and JPEG decoders, reading the header and nothing more."""
    try:
        with warnings.catch_warnings():
            # Pillow warns (and, far above its limit, raises) on huge declared sizes; ours is lower.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data), formats=["PNG", "JPEG"])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise FormatError(
            f"{name}: the image declares more than {max_pixels:,} pixels; refused"
        ) from None
    except Image.UnidentifiedImageError:
        raise FormatError(
            f"{name}: not a PNG or JPEG image (found {_found_format(data[:16])})"
        ) from None
    except Exception as exc:  # any failure to parse the header of untrusted bytes
        raise FormatError(
            f"{name}: not a readable PNG or JPEG image ({one_line(exc, 200)})"
        ) from None


def _check_opened(image: PILImage.Image, name: str, max_pixels: int) -> None:
    """Refuse, before decoding, a format other than PNG or JPEG and a size over the limit."""
    if image.format not in ("PNG", "JPEG", "MPO"):  # MPO: multi-picture JPEG from cameras
        raise FormatError(f"{name}: not a PNG or JPEG image (found {image.format})")
    width, height = image.size
    if width < 1 or height < 1 or width * height > max_pixels:
        raise FormatError(
            f"{name}: the image is {width}x{height} = {width * height:,} pixels; "
            f"images over {max_pixels:,} pixels are refused"
        )


def _decode_guarded(image: PILImage.Image, name: str) -> NDArray[np.float32]:
    """:func:`_decode`, with every failure of untrusted data turned into one FormatError line."""
    width, height = image.size
    try:
        return _decode(image)
    except MemoryError:
        raise FormatError(f"{name}: not enough memory to decode a {width}x{height} image") from None
    except Exception as exc:  # truncated data, bad chunks, zlib errors, bad Huffman tables...
        raise FormatError(
            f"{name}: corrupt or truncated {image.format} image ({one_line(exc, 200)})"
        ) from None


def _decode(image: PILImage.Image) -> NDArray[np.float32]:
    """Pixels of an opened image as luminance in [0, 1], alpha laid on white (or black)."""
    image = _decoded_small(image, WORKING_SIDE)
    if image.mode.startswith("I"):  # 16-bit grayscale PNG, reduced as 32-bit integers
        gray = np.asarray(image, dtype=np.float32) / np.float32(65535.0)
        return np.clip(gray, 0.0, 1.0)
    if "A" not in image.mode:
        return np.asarray(image.convert("L"), dtype=np.float32) / np.float32(255.0)
    rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / np.float32(255.0)
    luminance = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)
    alpha = rgba[..., 3]
    on_white = luminance * alpha + (1.0 - alpha)
    if float(np.ptp(on_white)) < MIN_CONTRAST and float(np.ptp(alpha)) >= MIN_CONTRAST:
        return np.asarray(luminance * alpha, dtype=np.float32)  # light ink on a clear background
    return np.asarray(on_white, dtype=np.float32)


def decoded_small(image: PILImage.Image, side: int) -> PILImage.Image:
    """:func:`_decoded_small`, for the other readers of pictures."""
    return _decoded_small(image, side)


def _decoded_small(image: PILImage.Image, side: int) -> PILImage.Image:
    """Decode an opened image, its longer side reduced to at most about ``side`` pixels.

    A JPEG is decoded at a reduced DCT scale, so a large one never exists at full size. A PNG
    cannot be decoded smaller: it is decoded as 8-bit pixels (1 or 4 bytes each, never floats)
    and reduced at once by averaging ``k x k`` blocks, which keeps every pixel of a thin picture
    (the last block of a side may be partial).
    """
    if image.format == "JPEG" and max(image.size) > side:
        image.draft("RGB", (side, side))  # decode at a reduced DCT scale
    image.load()
    has_alpha = "A" in image.mode or "a" in image.mode or "transparency" in image.info
    if image.mode.startswith("I"):
        image = image.convert("I")  # 16-bit grayscale: reduce keeps the 16 bits as int32
    elif image.mode not in ("L", "LA", "RGB", "RGBA"):
        image = image.convert("RGBA" if has_alpha else ("RGB" if "RGB" in image.mode else "L"))
    elif has_alpha and image.mode in ("L", "RGB"):
        image = image.convert("RGBA")  # a transparent colour (tRNS) becomes an alpha channel
    k = math.ceil(max(image.size) / side)
    return image.reduce(k) if k > 1 else image


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


def save_png(path: str | os.PathLike[str], image: ArrayLike, *, scale: int = 8) -> Path:
    """Write an image in ``[0, 1]`` as a PNG, each pixel a ``scale x scale`` square.

    Parameters
    ----------
    path : str or os.PathLike
        Where to write; replaced atomically.
    image : (height, width) or (height, width, 3) array
        Values in ``[0, 1]`` (clipped), shown as 0 = black, 1 = white; grayscale or RGB.
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
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 3)) or array.size == 0:
        raise InputError(f"expected a grayscale or RGB image, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise InputError("the image contains NaN or infinite values")
    if not isinstance(scale, int) or not 1 <= scale <= 64:
        raise InputError(f"scale must be a whole number from 1 to 64, got {scale!r}")
    pixels = np.round(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8)
    pixels = np.repeat(np.repeat(pixels, scale, axis=0), scale, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())
    return Path(path)
