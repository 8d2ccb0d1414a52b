"""Tests for shift augmentation: every image is the original moved by an offset, with fill."""

from __future__ import annotations

import inspect
import itertools

import numpy as np
import pytest

from glassnet.augment import random_shift

H, W = 6, 7


def shifted(image: np.ndarray, dy: int, dx: int, fill: float) -> np.ndarray:
    """``image`` moved down ``dy`` rows and right ``dx`` columns, written as a plain loop."""
    out = np.full_like(image, fill)
    for i, j in itertools.product(range(image.shape[0]), range(image.shape[1])):
        if 0 <= i + dy < image.shape[0] and 0 <= j + dx < image.shape[1]:
            out[i + dy, j + dx] = image[i, j]
    return out


def distinct_images(n: int, seed: int = 0) -> np.ndarray:
    """Rows of distinct positive pixels, so exactly one offset explains a shifted copy."""
    rng = np.random.default_rng(seed)
    return rng.permutation(n * H * W).reshape(n, H * W).astype(np.float64) + 1.0


def offset_of(original: np.ndarray, moved: np.ndarray, max_shift: int, fill: float) -> tuple:
    matches = [
        (dy, dx)
        for dy in range(-max_shift, max_shift + 1)
        for dx in range(-max_shift, max_shift + 1)
        if np.array_equal(shifted(original.reshape(H, W), dy, dx, fill), moved.reshape(H, W))
    ]
    assert len(matches) == 1, f"no single offset explains the image: {matches}"
    return matches[0]


def test_every_image_is_its_original_moved_by_an_offset_within_range() -> None:
    X = distinct_images(300)
    original = X.copy()
    result = random_shift(X, (H, W), 2, np.random.default_rng(1), fill=-1.0)
    assert result is X  # in place
    assert X.shape == original.shape and X.dtype == original.dtype
    offsets = [offset_of(original[i], X[i], 2, -1.0) for i in range(len(X))]
    # 300 draws from 25 equally likely offsets: every one appears (the chance one is missing
    # is below 25 * (24/25)^300 ~ 1e-3 for an arbitrary seed; this seed is fixed).
    assert set(offsets) == {(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)}


def test_a_single_pixel_moves_in_the_offsets_direction() -> None:
    """Shifting down-right by (1, 2) moves pixel (2, 3) to (3, 5)."""
    image = np.zeros((H, W))
    image[2, 3] = 1.0
    expected = np.zeros((H, W))
    expected[3, 5] = 1.0
    np.testing.assert_array_equal(shifted(image, 1, 2, 0.0), expected)
    # And random_shift's output is always some such move of the pixel (or the pixel fell off).
    X = np.tile(image.reshape(1, -1), (200, 1))
    random_shift(X, (H, W), 2, np.random.default_rng(0))
    for row in X.reshape(-1, H, W):
        ones = np.argwhere(row == 1.0)
        assert len(ones) <= 1
        if len(ones):
            dy, dx = ones[0] - [2, 3]
            assert abs(dy) <= 2 and abs(dx) <= 2


def test_uncovered_pixels_take_the_fill_value() -> None:
    X = np.ones((400, H * W))
    random_shift(X, (H, W), 1, np.random.default_rng(2), fill=-0.4242)
    assert set(np.unique(X)) <= {1.0, -0.4242}
    for row in X.reshape(-1, H, W):
        filled = row == -0.4242
        # A move by (dy, dx) uncovers |dy| full rows and |dx| full columns at the edges.
        dy = int(filled[:, W // 2].sum()) if filled[:, W // 2].any() else 0
        dx = int(filled[H // 2, :].sum()) if filled[H // 2, :].any() else 0
        assert filled.sum() == dy * W + dx * H - dy * dx
    assert (X == -0.4242).any()


def test_reproducible_under_a_seed_and_different_across_seeds() -> None:
    X = distinct_images(50)
    a = random_shift(X.copy(), (H, W), 3, np.random.default_rng(5))
    b = random_shift(X.copy(), (H, W), 3, np.random.default_rng(5))
    c = random_shift(X.copy(), (H, W), 3, np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_zero_shift_changes_nothing_and_draws_nothing() -> None:
    X = distinct_images(5)
    original = X.copy()
    rng = np.random.default_rng(3)
    state = rng.bit_generator.state
    assert random_shift(X, (H, W), 0, rng) is X
    np.testing.assert_array_equal(X, original)
    assert rng.bit_generator.state == state


def test_it_never_sees_labels() -> None:
    """Augmentation cannot change a label: the function has no way to receive one."""
    params = set(inspect.signature(random_shift).parameters)
    assert params == {"X", "image_shape", "max_shift", "rng", "fill"}


def test_float32_rows_stay_float32() -> None:
    X = distinct_images(20).astype(np.float32)
    random_shift(X, (H, W), 1, np.random.default_rng(0), fill=0.5)
    assert X.dtype == np.float32
    assert np.isin(X, np.concatenate([distinct_images(20).ravel(), [0.5]])).all()


def test_strided_rows_are_shifted_in_place_and_the_column_beside_them_untouched() -> None:
    """Rows viewed out of a wider array (the training loop's layout with a column of ones)."""
    wide = np.ones((40, H * W + 1))
    wide[:, :-1] = distinct_images(40)
    original = wide.copy()
    random_shift(wide[:, :-1], (H, W), 2, np.random.default_rng(4), fill=0.0)
    np.testing.assert_array_equal(wide[:, -1], 1.0)
    assert not np.array_equal(wide, original)
    for i in range(len(wide)):
        offset_of(original[i, :-1], wide[i, :-1], 2, 0.0)


def test_wrong_row_length_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="6x7"):
        random_shift(np.zeros((3, 40)), (H, W), 1, np.random.default_rng(0))


def test_a_shift_as_large_as_the_image_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="too large"):
        random_shift(distinct_images(3), (H, W), H, np.random.default_rng(0))
    with pytest.raises(ValueError, match="too large"):
        random_shift(distinct_images(3), (H, W), H + 3, np.random.default_rng(0))


def test_the_largest_allowed_shift_still_moves_images_correctly() -> None:
    """Offsets up to one less than the height: some images keep a single row or column."""
    X = distinct_images(8)
    original = X.copy()
    big = min(H, W) - 1
    random_shift(X, (H, W), big, np.random.default_rng(0), fill=-1.0)
    for i in range(len(X)):
        offset_of(original[i], X[i], big, -1.0)
