"""Pictures of any kind brought to one size, as a folder of pictures is read for training.

A network takes inputs of one length, so every picture of a folder (and every picture shown to its
model later) is brought to one form, one of two ways:

- ``"resize"``: the whole picture stretched to ``size x size`` pixels, in grayscale or RGB, as
  torchvision's ``Resize`` and Keras's ``image_dataset_from_directory`` do. Transparent pixels are
  laid on white.
- ``"mnist"``: MNIST's own steps (:func:`glassnet.images.to_mnist`): the ink found and cropped,
  fitted in a 20x20 box and centred by its mass in 28x28, bright ink on black. For digit-like ink
  on paper, this makes a photo look like what an MNIST network has seen.

Either way the result is uint8, 0 to 255, the scale of MNIST's files. Files are read with the
guards of :func:`glassnet.images.load_image`: PNG and JPEG only, sizes bounded before decoding, a
large picture decoded at reduced size where the format allows.
"""

from __future__ import annotations

import os

import numpy as np
from numpy.typing import NDArray

from glassnet.errors import FormatError, InputError, one_line
from glassnet.images.files import (
    MAX_FILE_BYTES,
    MAX_PIXELS,
    _check_opened,
    _open_png_or_jpeg,
    _read_source,
    decoded_small,
    load_image,
)
from glassnet.images.pillow import require_pillow
from glassnet.images.prepare import FIELD_SIZE, to_mnist

__all__ = ["COLORS", "PREPARATIONS", "load_picture", "picture_shape"]

#: How pictures are brought to one size.
PREPARATIONS = ("resize", "mnist")
#: The colours a picture may be read in.
COLORS = ("gray", "rgb")


def picture_shape(size: int, color: str, prep: str) -> tuple[int, ...]:
    """The shape :func:`load_picture` returns: ``(size, size)``, ``(size, size, 3)``, or
    ``(28, 28)`` for MNIST's steps."""
    if prep == "mnist":
        return (FIELD_SIZE, FIELD_SIZE)
    return (size, size, 3) if color == "rgb" else (size, size)


def load_picture(
    source: str | os.PathLike[str] | bytes,
    *,
    size: int = 28,
    color: str = "gray",
    prep: str = "resize",
    max_pixels: int = MAX_PIXELS,
    max_bytes: int = MAX_FILE_BYTES,
) -> NDArray[np.uint8]:
    """Read a PNG or JPEG file and bring it to one size (see the module docstring).

    Parameters
    ----------
    source : str, os.PathLike or bytes
        A file path or the file's contents.
    size : int, default 28
        The side of the result, in pixels, for ``prep="resize"``.
    color : {"gray", "rgb"}
        Grayscale (one value a pixel) or RGB (three), for ``prep="resize"``.
    prep : {"resize", "mnist"}
        Stretch the picture to ``size x size``, or prepare it as MNIST's digits were (28x28
        grayscale, bright ink on black; ``size`` and ``color`` must then be 28 and gray).
    max_pixels, max_bytes
        As for :func:`glassnet.images.load_image`.

    Returns
    -------
    (size, size) or (size, size, 3) uint8 array
        0 is black, 255 white (or full ink, for ``prep="mnist"``).

    Raises
    ------
    glassnet.errors.FormatError
        If the file is not a readable PNG or JPEG, or is too large.
    glassnet.images.NoInkError
        For ``prep="mnist"``, if the picture is blank.
    ValueError
        For a size, colour or preparation glassnet does not offer.
    """
    _check_choices(size, color, prep)
    if prep == "mnist":
        image = to_mnist(load_image(source, max_pixels=max_pixels, max_bytes=max_bytes))
        return np.round(image * np.float32(255.0)).astype(np.uint8)
    Image = require_pillow()
    data, name = _read_source(source, max_bytes)
    with _open_png_or_jpeg(Image, data, name, max_pixels) as opened:
        _check_opened(opened, name, max_pixels)
        try:
            return _resized(Image, opened, size, color)
        except MemoryError:
            raise FormatError(f"{name}: not enough memory to decode it") from None
        except Exception as exc:  # truncated data, bad chunks, zlib errors, bad Huffman tables...
            text = one_line(exc, 200)
            raise FormatError(
                f"{name}: corrupt or truncated {opened.format} image ({text})"
            ) from None


def _check_choices(size: int, color: str, prep: str) -> None:
    if prep not in PREPARATIONS:
        raise InputError(f"prep must be one of {', '.join(PREPARATIONS)}, got {prep!r}")
    if color not in COLORS:
        raise InputError(f"color must be one of {', '.join(COLORS)}, got {color!r}")
    if not isinstance(size, int) or not 1 <= size <= 1024:
        raise InputError(f"size must be a whole number from 1 to 1024, got {size!r}")
    if prep == "mnist" and (size != FIELD_SIZE or color != "gray"):
        raise InputError(
            f"MNIST's steps make {FIELD_SIZE}x{FIELD_SIZE} grayscale pictures; "
            f"got size {size} and color {color}"
        )


def _resized(Image: object, opened: object, size: int, color: str) -> NDArray[np.uint8]:
    """The opened picture decoded (reduced on the way where it is large), laid on white and
    stretched to ``size x size`` by area averaging."""
    from PIL import Image as PILImage

    # Decoded at most four times larger than the result: area averaging needs no more.
    image = decoded_small(opened, max(4 * size, 64))  # type: ignore[arg-type]
    if image.mode == "I":  # 16-bit grayscale
        gray = np.asarray(image, dtype=np.float64) / 65535.0 * 255.0
        image = PILImage.fromarray(np.clip(np.round(gray), 0, 255).astype(np.uint8))
    if "A" in image.mode:
        paper = PILImage.new("RGBA", image.size, (255, 255, 255, 255))
        image = PILImage.alpha_composite(paper, image.convert("RGBA"))
    image = image.convert("RGB" if color == "rgb" else "L")
    if image.size != (size, size):
        image = image.resize((size, size), PILImage.Resampling.BOX)
    return np.asarray(image, dtype=np.uint8).copy()
