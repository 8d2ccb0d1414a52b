"""Tests for softmax and the categorical cross-entropy: hand values, stability, the fused delta."""

from __future__ import annotations

import math

import numpy as np
import pytest

from glassnet.losses import (
    cross_entropy,
    softmax,
    softmax_cross_entropy_delta,
)

RAISE = {"over": "raise", "invalid": "raise", "divide": "raise"}


def test_softmax_hand_values() -> None:
    # softmax([0, ln 2, ln 5]) = [1, 2, 5] / 8
    Z = np.array([[0.0, math.log(2.0), math.log(5.0)]])
    np.testing.assert_allclose(softmax(Z), [[1 / 8, 2 / 8, 5 / 8]], rtol=1e-15)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_is_stable_for_huge_scores(dtype: str) -> None:
    Z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4]], dtype)
    with np.errstate(**RAISE):
        P = softmax(Z.copy())
    assert P.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(P[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(P[1], [1 / 3] * 3, rtol=1e-6)
    np.testing.assert_allclose(P[2], [0.5, 0.5, 0.0], rtol=1e-7)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-6)


def test_softmax_rows_sum_to_one_and_ignore_a_shift_per_row() -> None:
    rng = np.random.default_rng(0)
    Z = rng.normal(0, 5, (50, 10))
    P = softmax(Z.copy())
    assert np.all(P >= 0.0)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-14)
    shifted = Z + rng.normal(0, 100, (50, 1))
    np.testing.assert_allclose(softmax(shifted), P, rtol=1e-10, atol=1e-15)
    expected = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(P, expected, rtol=1e-13)


def test_softmax_writes_into_out_and_without_out_keeps_its_input() -> None:
    Z = np.array([[1.0, 2.0, 3.0]])
    original = Z.copy()
    P = softmax(Z)
    np.testing.assert_array_equal(Z, original)
    result = softmax(Z, out=Z)
    assert result is Z
    np.testing.assert_array_equal(Z, P)


def test_cross_entropy_hand_value() -> None:
    P = np.array([[0.7, 0.2, 0.1], [0.25, 0.25, 0.5]])
    Y = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    assert cross_entropy(P, Y) == pytest.approx(-(math.log(0.7) + math.log(0.5)) / 2, rel=1e-15)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cross_entropy_is_finite_at_probabilities_zero_and_one(dtype: str) -> None:
    P = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], dtype)
    right = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], dtype)
    wrong = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]], dtype)
    with np.errstate(**RAISE):
        perfect = cross_entropy(P, right)
        hopeless = cross_entropy(P, wrong)
    assert perfect == 0.0
    # Every sample gave probability 0 to its class: each costs -log(eps) of the dtype.
    assert math.isfinite(hopeless)
    assert hopeless == pytest.approx(-math.log(np.finfo(dtype).eps), rel=1e-6)


def test_cross_entropy_takes_integer_labels_as_well_as_one_hot_rows() -> None:
    rng = np.random.default_rng(1)
    P = softmax(rng.normal(0, 2, (8, 5)))
    labels = rng.integers(0, 5, 8)
    expected = -np.mean(np.log(P[np.arange(8), labels]))
    assert cross_entropy(P, labels) == pytest.approx(expected, rel=1e-15)
    assert cross_entropy(P, np.eye(5)[labels]) == pytest.approx(expected, rel=1e-15)


def test_uniform_prediction_costs_log_of_the_number_of_classes() -> None:
    Z = np.zeros((4, 10))
    Y = np.eye(10)[[0, 3, 5, 9]]
    assert cross_entropy(softmax(Z), Y) == pytest.approx(math.log(10), rel=1e-15)


def test_fused_delta_is_p_minus_y_over_m() -> None:
    P = np.array([[0.7, 0.2, 0.1], [0.25, 0.25, 0.5]])
    Y = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    expected = np.array([[-0.3, 0.2, 0.1], [0.25, 0.25, -0.5]]) / 2
    np.testing.assert_allclose(softmax_cross_entropy_delta(P, Y), expected, rtol=1e-15)
    out = P.copy()
    assert softmax_cross_entropy_delta(out, Y, out=out) is out
    np.testing.assert_allclose(out, expected, rtol=1e-15)


def test_fused_delta_is_the_derivative_of_the_loss_with_respect_to_the_scores() -> None:
    """The identity ``dC/dZ = (P - Y)/m`` checked against central differences of the loss."""
    rng = np.random.default_rng(2)
    Z = rng.normal(0, 1.5, (4, 6))
    Y = np.eye(6)[rng.integers(0, 6, 4)]
    h = 1e-6
    numeric = np.zeros_like(Z)
    for index in np.ndindex(Z.shape):
        plus, minus = Z.copy(), Z.copy()
        plus[index] += h
        minus[index] -= h
        numeric[index] = (cross_entropy(softmax(plus), Y) - cross_entropy(softmax(minus), Y)) / (
            2 * h
        )
    analytic = softmax_cross_entropy_delta(softmax(Z), Y)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-7, atol=1e-10)
