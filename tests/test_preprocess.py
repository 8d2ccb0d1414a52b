"""Tests for preprocessing: the standardizer, one-hot labels and flattening images."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet.preprocess import Standardizer, flatten_images, one_hot


def test_fit_uses_one_mean_and_deviation_for_all_pixels_by_default() -> None:
    X = np.array([[0.0, 2.0], [4.0, 6.0]])  # mean 3, population variance (9+1+1+9)/4 = 5
    s = Standardizer.fit(X)
    np.testing.assert_allclose(s.mean, [3.0])
    np.testing.assert_allclose(s.scale, [np.sqrt(5.0)])
    assert s.n_features is None
    np.testing.assert_allclose(s.transform(X, np.float64), (X - 3.0) / np.sqrt(5.0))


def test_fit_per_feature() -> None:
    X = np.array([[1.0, 10.0, 7.0], [3.0, 30.0, 7.0]])
    s = Standardizer.fit(X, per_feature=True)
    np.testing.assert_allclose(s.mean, [2.0, 20.0, 7.0])
    # The constant third feature has no spread: scale 1, so it passes through centred.
    np.testing.assert_allclose(s.scale, [1.0, 10.0, 1.0])
    assert s.n_features == 3
    np.testing.assert_allclose(s.transform(X, np.float64), [[-1, -1, 0], [1, 1, 0]])


def test_transformed_training_data_has_zero_mean_and_unit_spread() -> None:
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (200, 50)).astype(np.uint8)
    Z = Standardizer.fit(X).transform(X, np.float64)
    assert Z.mean() == pytest.approx(0.0, abs=1e-12)
    assert Z.std() == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transform_returns_a_new_contiguous_array_of_the_dtype(dtype: type) -> None:
    X = np.arange(12, dtype=np.uint8).reshape(3, 4)
    original = X.copy()
    out = Standardizer(np.array([5.0]), np.array([2.0])).transform(X, dtype)
    assert out.dtype == np.dtype(dtype)
    assert out.flags.c_contiguous
    assert not np.shares_memory(out, X)
    np.testing.assert_array_equal(X, original)
    np.testing.assert_allclose(out, (original - 5.0) / 2.0)


def test_constant_data_gets_scale_one() -> None:
    s = Standardizer.fit(np.full((4, 3), 9.0))
    np.testing.assert_array_equal(s.scale, [1.0])


@pytest.mark.parametrize(
    ("mean", "scale"),
    [
        ([0.0, 1.0], [1.0]),
        ([], []),
        ([0.0], [0.0]),
        ([0.0], [-1.0]),
        ([np.nan], [1.0]),
        ([0.0], [np.inf]),
    ],
)
def test_standardizer_rejects_bad_statistics(mean: list, scale: list) -> None:
    with pytest.raises(ValueError, match="standardizer"):
        Standardizer(np.array(mean), np.array(scale))


@pytest.mark.parametrize("X", [np.zeros((0, 3)), np.zeros(5), np.zeros((2, 2, 2))])
def test_fit_rejects_empty_or_non_2d_data(X: np.ndarray) -> None:
    with pytest.raises(ValueError, match="n_samples, n_features"):
        Standardizer.fit(X)


def test_one_hot_by_hand() -> None:
    np.testing.assert_array_equal(
        one_hot([2, 0, 1, 2], 3), [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]]
    )
    assert one_hot([1], 4).dtype == np.float32
    assert one_hot([1], 4, np.float64).dtype == np.float64
    assert one_hot(np.array([], int), 5).shape == (0, 5)


def test_one_hot_accepts_whole_floats_but_not_fractions() -> None:
    np.testing.assert_array_equal(one_hot(np.array([1.0, 0.0]), 2), [[0, 1], [1, 0]])
    with pytest.raises(ValueError, match="whole numbers"):
        one_hot(np.array([0.5]), 2)
    with pytest.raises(ValueError, match="whole numbers"):
        one_hot(np.array([np.nan]), 2)


@pytest.mark.parametrize("labels", [[0, 3], [-1, 0]])
def test_one_hot_rejects_labels_outside_the_classes(labels: list) -> None:
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        one_hot(labels, 3)


def test_one_hot_rejects_a_2d_array() -> None:
    with pytest.raises(ValueError, match="1-D"):
        one_hot([[0, 1]], 2)


def test_flatten_images_is_row_major_and_rows_pass_through() -> None:
    images = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    rows = flatten_images(images)
    assert rows.shape == (2, 12)
    np.testing.assert_array_equal(rows[1], np.arange(12, 24))
    already = np.ones((5, 7))
    assert flatten_images(already) is already


def test_flatten_images_rejects_a_1d_array() -> None:
    with pytest.raises(ValueError, match="expected images"):
        flatten_images(np.zeros(10))
