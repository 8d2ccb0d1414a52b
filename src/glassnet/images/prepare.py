"""The steps MNIST's authors took to prepare a digit, repeated on any grayscale picture.

:func:`to_mnist` takes the six steps listed (with their reasons) in :mod:`glassnet.images`:
polarity, contrast and noise are decided from the picture's border, then the crop to the ink is
scaled by :func:`_fit_box` and placed by :func:`_center_by_mass`. :func:`mnist_pixels` turns the
result into the rows of raw 0..255 values a network takes.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from glassnet.errors import GlassnetError, InputError
from glassnet.images.pillow import require_pillow

__all__ = [
    "BOX_SIZE",
    "FIELD_SIZE",
    "MIN_CONTRAST",
    "NOISE_LEVEL",
    "NoInkError",
    "mnist_pixels",
    "to_mnist",
]

#: Side of MNIST's images, in pixels.
FIELD_SIZE = 28
#: Side of the box a digit's longer side is scaled to, in pixels.
BOX_SIZE = 20
#: Ink fainter than this fraction of the darkest stroke counts as noise.
NOISE_LEVEL = 0.12
#: Pictures whose ink differs from the paper by less than this (on a 0..1 scale) are blank.
MIN_CONTRAST = 0.08


class NoInkError(GlassnetError, ValueError):
    """The picture is blank: no ink stands out from the paper."""


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
        raise InputError(f"expected a 2-D grayscale picture, got an array of shape {array.shape}")
    if array.dtype == np.bool_:
        return array.astype(np.float32)
    if np.issubdtype(array.dtype, np.integer):
        if array.min() < 0 or array.max() > 255:
            raise InputError("integer pixels must lie in 0..255")
        return array.astype(np.float32) / np.float32(255.0)
    if not np.issubdtype(array.dtype, np.floating):
        raise InputError(f"pixels must be numbers, got dtype {array.dtype}")
    pixels = array.astype(np.float32)  # a copy: the caller's array is never changed
    if not np.all(np.isfinite(pixels)):
        raise InputError("pixels contain NaN or infinite values")
    if pixels.min() < 0.0 or pixels.max() > 1.0:
        raise InputError("float pixels must lie in [0, 1]")
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
        raise InputError(f"expected (28, 28) or (n, 28, 28) images, got shape {array.shape}")
    return np.ascontiguousarray(array.reshape(-1, FIELD_SIZE * FIELD_SIZE) * np.float32(255.0))
