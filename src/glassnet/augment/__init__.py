"""Data augmentation: new training images from old ones, made fresh every epoch.

A digit moved a pixel or two, turned a little, leaned or stretched, or drawn with a slightly
different hand is still the same digit, but to a fully connected network it is a different input.
Every epoch each training image is changed at random, so the network sees many variants of every
sample and learns the shapes rather than their exact pixels. Labels never change.

Four changes, each off unless asked for:

- **shift** (:func:`random_shift`): the image moved by a whole number of pixels on each axis;
- **affine**: turned by up to ``degrees``, scaled by a factor in ``1 ± scale``, sheared by up to
  ``shear`` degrees, about the image's centre;
- **elastic** (Simard, Steinkraus and Platt, 2003): a displacement field of uniform values in
  ``[-1, 1]`` per pixel and axis, smoothed by a Gaussian of width ``sigma`` and scaled by ``alpha``;
  each output pixel is read from where the field points;
- **flip**: the image mirrored left to right, with probability 1/2: for pictures whose mirror image
  is still of the same class (a shirt, a shoe), never for digits or letters (a mirrored 2 is no
  digit).

A flipped image is mirrored first, then shifted, turned or distorted like any other: reversing its
rows' pixels is exact and costs a copy, where the resampling costs far more.

Affine and elastic changes move each output pixel's source to a point between pixels, read by
bilinear interpolation; outside the image the value is a blank pixel's. Shift, affine and elastic
changes are one resampling pass (:func:`warp`), compiled with Numba when it is installed (the
``fast`` extra) and written in NumPy otherwise; both give the same numbers.

:class:`Augmentation` applies them to any range of rows of an epoch's shuffled copy. Its random
draws come from a generator per block of :data:`BLOCK` rows, seeded by the run's seed, the epoch and
the block, so the result is the same however the epoch is cut into parts and whichever thread makes
each part.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.errors import InputError

Array = NDArray[np.floating[Any]]

#: Rows whose random draws come from one generator: how an epoch's augmentation is made the same
#: whichever way it is cut into parts.
BLOCK = 256

#: Mixed into every block's seed, so that augmentation draws nothing another use of the seed draws.
_STREAM = 0x617567


# -- shifts ---------------------------------------------------------------------------------------


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
    images = _images(X, image_shape)
    _check_shift(max_shift, image_shape)
    offsets = rng.integers(-max_shift, max_shift + 1, size=(X.shape[0], 2))
    shift_images(images, offsets, fill)
    return X


def _check_shift(max_shift: int, image_shape: tuple[int, int]) -> None:
    height, width = image_shape
    if max_shift >= min(height, width):
        raise InputError(
            f"a shift of up to {max_shift} pixels is too large for {height}x{width} "
            f"images; use fewer than {min(height, width)}"
        )


def _images(X: NDArray[np.floating], image_shape: tuple[int, int]) -> NDArray[np.floating]:
    """Rows of ``X`` as ``(n, height, width)`` images sharing its memory."""
    height, width = image_shape
    if X.ndim != 2 or X.shape[1] != height * width:
        raise InputError(f"cannot shift rows of {X.shape[1]} features as {height}x{width} images")
    images = X.reshape(-1, height, width)
    if not np.shares_memory(images, X):  # reshape had to copy: changing it would change nothing
        raise InputError("augmentation needs rows whose pixels are contiguous in memory")
    return images


def shift_images(images: NDArray[np.floating], offsets: NDArray[np.integer], fill: float) -> None:
    """Move image ``k`` down ``offsets[k, 0]`` rows and right ``offsets[k, 1]`` columns, in place.

    Images sharing an offset are moved together by slicing, so an epoch of 60,000 images costs one
    pass over the data, not 60,000 Python calls.
    """
    _, height, width = images.shape
    most = int(np.abs(offsets).max()) if len(offsets) else 0
    side = 2 * most + 1
    codes = (offsets[:, 0] + most) * side + (offsets[:, 1] + most)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(side**2 + 1))
    for code in range(side**2):
        rows = order[bounds[code] : bounds[code + 1]]
        dy, dx = divmod(code, side)
        dy, dx = dy - most, dx - most
        if rows.size == 0 or (dy == 0 and dx == 0):
            continue
        moved = np.full((rows.size, height, width), fill, dtype=images.dtype)
        moved[:, max(dy, 0) : height + min(dy, 0), max(dx, 0) : width + min(dx, 0)] = images[
            rows, max(-dy, 0) : height + min(-dy, 0), max(-dx, 0) : width + min(-dx, 0)
        ]
        images[rows] = moved


# -- affine changes and elastic distortions -------------------------------------------------------


def affine_inverse(
    degrees: NDArray[np.floating], scales: NDArray[np.floating], shears: NDArray[np.floating]
) -> NDArray[np.float64]:
    """The ``(n, 2, 2)`` matrices taking an output pixel's offset from the centre, ``(row, col)``,
    to its source's: the inverse of scaling by ``scales``, then shearing by ``shears`` degrees
    (``col += tan(shear) · row``), then turning by ``degrees`` (counter-clockwise as seen)."""
    angle, shear = np.radians(degrees), np.tan(np.radians(shears))
    c, s = np.cos(angle), np.sin(angle)
    # Turning, in (row, col) with rows downwards, is [[c, -s], [s, c]]; its inverse the transpose.
    # Shearing is [[1, 0], [t, 1]], its inverse [[1, 0], [-t, 1]]; scaling's inverse is 1 / scale.
    inverse = np.empty((len(angle), 2, 2))
    inverse[:, 0, 0], inverse[:, 0, 1] = c, s
    inverse[:, 1, 0], inverse[:, 1, 1] = -shear * c - s, -shear * s + c
    return inverse / np.asarray(scales, dtype=np.float64)[:, None, None]


@functools.lru_cache(maxsize=16)
def gaussian_matrix(n: int, sigma: float) -> NDArray[np.float32]:
    """``(n, n)`` matrix ``G`` with ``G @ v`` the Gaussian smoothing of ``v`` (zeros beyond its
    ends): weights ``exp(-d² / 2σ²)`` out to ``4σ``, summing to 1, as
    ``scipy.ndimage.gaussian_filter1d(v, sigma, mode="constant")`` makes them."""
    radius = int(4.0 * sigma + 0.5)
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    distance = np.arange(n)[None, :] - np.arange(n)[:, None]
    inside = np.abs(distance) <= radius
    matrix = np.where(inside, taps[np.clip(distance + radius, 0, 2 * radius)], 0.0)
    matrix.flags.writeable = False
    return matrix.astype(np.float32)


def smooth(fields: NDArray[np.float32], sigma: float) -> NDArray[np.float32]:
    """Gaussian smoothing of every ``(height, width)`` plane of ``fields`` ``(..., height, width)``,
    zeros beyond the edges: two small matrix products over the whole stack, one per axis."""
    *lead, height, width = fields.shape
    across = fields.reshape(-1, width) @ gaussian_matrix(width, sigma).T  # along each row
    planes = across.reshape(-1, height, width).transpose(0, 2, 1).reshape(-1, height)
    down = planes @ gaussian_matrix(height, sigma).T  # along each column
    return np.ascontiguousarray(down.reshape(-1, width, height).transpose(0, 2, 1)).reshape(
        *lead, height, width
    )


def displacement(uniform: NDArray[np.float32], alpha: float, sigma: float) -> NDArray[np.float32]:
    """Simard et al.'s displacement fields ``alpha · G_σ * U`` from fields ``U`` uniform in
    ``[-1, 1]``, ``(n, 2, height, width)``: rows' displacements first, then columns'."""
    out = smooth(uniform, sigma)
    out *= np.float32(alpha)
    return out


def warp(
    images: NDArray[np.float32],
    inverse: NDArray[np.float64] | None,
    offsets: NDArray[np.floating] | None,
    fields: NDArray[np.float32] | None,
    compiled: bool | None = None,
) -> NDArray[np.float32]:
    """Each image resampled, bilinearly, at the sources of its pixels; zero outside the image.

    Output pixel ``p`` (``(row, col)``) of image ``k`` reads the image at
    ``c + inverse[k] (p − c) − offsets[k] + fields[k, :, p]``, with ``c`` the image's centre. Any of
    the three may be ``None`` (the identity, no offset, no field). ``compiled`` picks the Numba
    kernel (the default where it is installed) or the NumPy one; both give the same numbers.
    """
    n, height, width = images.shape
    if inverse is None:
        inverse = np.broadcast_to(np.eye(2), (n, 2, 2))
    if offsets is None:
        offsets = np.zeros((n, 2))
    inverse = np.ascontiguousarray(inverse, dtype=np.float64)
    shifts: NDArray[np.float64] = np.ascontiguousarray(offsets, dtype=np.float64)
    source = np.ascontiguousarray(images, dtype=np.float32)
    kernel = _compiled_warp() if compiled is not False else None
    if compiled and kernel is None:
        raise InputError("the compiled resampling needs Numba (pip install 'glassnet[fast]')")
    if kernel is not None:
        out = np.empty_like(source)
        none = np.empty((0, 2, height, width), np.float32)
        kernel(source, inverse, shifts, none if fields is None else fields, out)
        return out
    return _warp_numpy(source, inverse, shifts, fields)


def _warp_numpy(
    images: NDArray[np.float32],
    inverse: NDArray[np.float64],
    offsets: NDArray[np.float64],
    fields: NDArray[np.float32] | None,
) -> NDArray[np.float32]:
    """:func:`warp` in NumPy: the compiled kernel's arithmetic, in the same order, over arrays."""
    n, height, width = images.shape
    cy, cx = (height - 1) / 2.0, (width - 1) / 2.0
    y = (np.arange(height, dtype=np.float64) - cy)[None, :, None]
    x = (np.arange(width, dtype=np.float64) - cx)[None, None, :]
    a = inverse[:, :, :, None, None]
    sy = a[:, 0, 0] * y + a[:, 0, 1] * x + (cy - offsets[:, 0])[:, None, None]
    sx = a[:, 1, 0] * y + a[:, 1, 1] * x + (cx - offsets[:, 1])[:, None, None]
    if fields is not None:
        sy = sy + fields[:, 0]
        sx = sx + fields[:, 1]
    sy = np.clip(sy, -2.0, height + 1.0)
    sx = np.clip(sx, -2.0, width + 1.0)
    y0, x0 = np.floor(sy), np.floor(sx)
    fy, fx = sy - y0, sx - x0
    iy, ix = y0.astype(np.intp), x0.astype(np.intp)
    # Read from the images padded with blank pixels (two before, three after), so that every
    # neighbour of a clipped source is in range.
    stride = width + 5
    padded = np.zeros((n, height + 5, stride))
    padded[:, 2 : height + 2, 2 : width + 2] = images
    base = (np.arange(n) * (height + 5) * stride)[:, None, None] + (iy + 2) * stride + (ix + 2)
    flat = padded.reshape(-1)
    p00, p01 = flat[base], flat[base + 1]
    p10, p11 = flat[base + stride], flat[base + stride + 1]
    value = (1.0 - fy) * ((1.0 - fx) * p00 + fx * p01) + fy * ((1.0 - fx) * p10 + fx * p11)
    return value.astype(np.float32)


@functools.cache
def _compiled_warp() -> Callable[..., None] | None:
    """The Numba kernel, or ``None`` where Numba is not installed or cannot compile it."""
    try:
        from glassnet.augment.kernels import warp_bilinear
    except Exception:  # Numba missing, or too old or broken to compile
        return None
    return warp_bilinear  # type: ignore[no-any-return, unused-ignore]


# -- an epoch's augmentation ----------------------------------------------------------------------


@dataclass(frozen=True)
class Augmentation:
    """The changes one run makes to its training images, applied to any range of rows.

    Parameters
    ----------
    image_shape : (height, width)
    shift : int
        Whole-pixel shifts of up to this many pixels on each axis (0: none).
    affine : (degrees, scale, shear), or empty for none
        Turned by a uniform angle in ``±degrees``, scaled by a factor uniform in ``1 ± scale``,
        sheared by a uniform angle in ``±shear`` degrees.
    elastic : (alpha, sigma), or empty for none
        Simard et al.'s distortion: uniform ``[-1, 1]`` fields smoothed by a Gaussian of width
        ``sigma`` pixels, times ``alpha``.
    seed : int
        The run's seed; each block of :data:`BLOCK` rows of each epoch draws from its own generator
        seeded by it, the epoch and the block.
    blank : (height * width,) array, optional
        Each pixel's value where the image has no ink (the standardized 0): what is moved, turned
        and interpolated is the difference from it. ``None``: 0.
    unit : (height * width,) array, optional
        Each pixel's value per unit of ink, where inputs were scaled per pixel: differences are
        divided by it before resampling and multiplied after, so that the interpolation is that of
        the raw image. ``None``: the same for every pixel.
    flip : bool
        Mirror each image left to right with probability 1/2 (drawn after every other change's
        draws, so that turning it on changes none of them), before the other changes.
    """

    image_shape: tuple[int, int]
    shift: int = 0
    affine: Sequence[float] = ()
    elastic: Sequence[float] = ()
    seed: int = 0
    blank: Array | None = None
    unit: Array | None = None
    flip: bool = False

    def __post_init__(self) -> None:
        if self.shift:
            _check_shift(self.shift, self.image_shape)

    @property
    def active(self) -> bool:
        """Whether any change is asked for."""
        return bool(self.shift or self.distorts or self.flip)

    @property
    def distorts(self) -> bool:
        """Whether images are resampled (affine or elastic), not only shifted."""
        return bool(self.affine) or (bool(self.elastic) and self.elastic[0] > 0)

    def apply(self, X: NDArray[np.floating], lo: int, hi: int, epoch: int) -> None:
        """Change rows ``lo .. hi − 1`` of ``X`` (an epoch's shuffled inputs), in place.

        Row ``i`` is changed the same way whenever it is asked for in ranges that cover it, given
        the same seed and ``epoch``.
        """
        if not self.active or hi <= lo:
            return
        for block in range(lo // BLOCK, (hi - 1) // BLOCK + 1):
            first, last = max(lo, block * BLOCK), min(hi, (block + 1) * BLOCK)
            draws = self._draws(epoch, block)
            start = block * BLOCK
            self._change(
                X[first:last], {k: v[first - start : last - start] for k, v in draws.items()}
            )

    def _draws(self, epoch: int, block: int) -> dict[str, NDArray[Any]]:
        """Every random number that block ``block`` of epoch ``epoch`` takes, for all its rows."""
        rng = np.random.default_rng([self.seed, _STREAM, epoch, block])
        height, width = self.image_shape
        draws: dict[str, NDArray[Any]] = {}
        if self.shift:
            draws["offsets"] = rng.integers(-self.shift, self.shift + 1, size=(BLOCK, 2))
        if self.affine:
            draws["affine"] = rng.uniform(-1.0, 1.0, size=(BLOCK, 3))
        if self.distorts and self.elastic:
            fields = rng.random((BLOCK, 2, height, width), dtype=np.float32)
            fields *= 2.0
            fields -= 1.0
            # Smoothed a whole block at a time: products of other shapes may round otherwise.
            draws["fields"] = displacement(fields, *self.elastic)
        if self.flip:  # drawn last: the draws above are the same with flips as without
            draws["flips"] = rng.random(BLOCK) < 0.5
        return draws

    def _change(self, rows: NDArray[np.floating], draws: dict[str, NDArray[Any]]) -> None:
        images = _images(rows, self.image_shape)
        if self.shift or self.distorts:
            images[...] = self._changed(images, draws)
        else:  # flips alone: only the mirrored images change, the others are left as they are
            chosen = np.flatnonzero(draws["flips"])
            if chosen.size:
                images[chosen] = self._changed(
                    images[chosen], {"flips": np.ones(chosen.size, bool)}
                )

    def _changed(
        self, images: NDArray[np.floating], draws: dict[str, NDArray[Any]]
    ) -> NDArray[np.float32]:
        """What ``draws`` make of ``images`` ``(n, height, width)``: a new float32 array."""
        height, width = self.image_shape
        work = np.array(images, dtype=np.float32)
        if self.blank is not None:
            work -= self.blank.reshape(height, width).astype(np.float32)
        if self.unit is not None:
            work /= self.unit.reshape(height, width).astype(np.float32)
        flips = draws.get("flips")
        if flips is not None and flips.any():
            work[flips] = work[flips, :, ::-1]  # mirrored first: a copy, exact
        if not self.distorts:
            if self.shift:
                shift_images(work, draws["offsets"], 0.0)
        else:
            inverse = None
            if self.affine:
                degrees, scale, shear = self.affine
                a = draws["affine"]
                inverse = affine_inverse(degrees * a[:, 0], 1.0 + scale * a[:, 1], shear * a[:, 2])
            work = warp(work, inverse, draws.get("offsets"), draws.get("fields"))
        if self.unit is not None:
            work *= self.unit.reshape(height, width).astype(np.float32)
        if self.blank is not None:
            work += self.blank.reshape(height, width).astype(np.float32)
        return work


def augmentation_of(
    image_shape: tuple[int, int] | None,
    shift: int,
    affine: Sequence[float],
    elastic: Sequence[float],
    seed: int,
    blank: Array | None = None,
    unit: Array | None = None,
    flip: bool = False,
) -> Augmentation | None:
    """The run's :class:`Augmentation`, or ``None`` when it asks for none."""
    if not (shift or affine or elastic or flip) or image_shape is None:
        return None
    found = Augmentation(
        image_shape, shift, tuple(affine), tuple(elastic), seed, blank, unit, bool(flip)
    )
    return found if found.active else None


__all__ = [
    "BLOCK",
    "Augmentation",
    "affine_inverse",
    "augmentation_of",
    "displacement",
    "gaussian_matrix",
    "random_shift",
    "shift_images",
    "smooth",
    "warp",
]
