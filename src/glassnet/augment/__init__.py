"""Data augmentation: new training images from old ones, made fresh every epoch.

A digit moved a pixel or two is still the same digit, but to a fully connected network it is a
different input. Shifting each training image by a random offset every epoch shows the network many
variants of every sample, so it learns the shapes rather than their exact pixels. Labels never change.

The shifts are vectorized: samples sharing an offset are moved together by slicing, so an epoch of
60,000 images costs one pass over the data, not 60,000 Python calls.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from glassnet.errors import InputError


def random_shift(
    X: NDArray[np.floating],
    image_shape: tuple[int, int],
    max_shift: int,
    rng: np.random.Generator,
    fill: float = 0.0,
) -> NDArray[np.floating]:
    """Shift every image by a random whole number of pixels, in place.

    Parameters
    ----------
    X : (n, height * width) array
        Flattened images, modified in place and returned. Rows may be strided (a view that skips
        columns), as long as each row's pixels are contiguous.
    image_shape : (height, width)
    max_shift : int
        Offsets are drawn uniformly from ``-max_shift .. max_shift`` on each axis.
    rng : numpy.random.Generator
    fill : float
        Value of the pixels uncovered by a shift (the background, after standardization).
    """
    if max_shift <= 0:
        return X
    height, width = image_shape
    if max_shift >= min(height, width):
        raise InputError(
            f"a shift of up to {max_shift} pixels is too large for {height}x{width} "
            f"images; use fewer than {min(height, width)}"
        )
    if X.ndim != 2 or X.shape[1] != height * width:
        raise InputError(f"cannot shift rows of {X.shape[1]} features as {height}x{width} images")
    offsets = rng.integers(-max_shift, max_shift + 1, size=(X.shape[0], 2))
    images = X.reshape(-1, height, width)
    if not np.shares_memory(images, X):  # reshape had to copy: shifting it would change nothing
        raise InputError("random_shift needs rows whose pixels are contiguous in memory")
    codes = (offsets[:, 0] + max_shift) * (2 * max_shift + 1) + (offsets[:, 1] + max_shift)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange((2 * max_shift + 1) ** 2 + 1))
    for code in range((2 * max_shift + 1) ** 2):
        rows = order[bounds[code] : bounds[code + 1]]
        dy, dx = divmod(code, 2 * max_shift + 1)
        dy, dx = dy - max_shift, dx - max_shift
        if rows.size == 0 or (dy == 0 and dx == 0):
            continue
        moved = np.full((rows.size, height, width), fill, dtype=X.dtype)
        moved[:, max(dy, 0) : height + min(dy, 0), max(dx, 0) : width + min(dx, 0)] = images[
            rows, max(-dy, 0) : height + min(-dy, 0), max(-dx, 0) : width + min(-dx, 0)
        ]
        images[rows] = moved
    return X
