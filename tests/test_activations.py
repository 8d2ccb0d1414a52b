"""Tests for the activations: values against independent formulas, derivatives against finite
differences, and numerics at the extremes (no overflow, accurate tails)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from glassnet import Network
from glassnet.activations import ACTIVATIONS, LeakyReLU, Sigmoid, Tanh, get_activation

NAMES = ["sigmoid", "tanh", "relu", "leaky_relu"]


def reference_sigmoid(z: float) -> float:
    """The logistic function in double precision, written so neither branch can overflow."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def reference(name: str, z: float) -> float:
    if name == "sigmoid":
        return reference_sigmoid(z)
    if name == "tanh":
        return math.tanh(z)
    if name == "relu":
        return max(z, 0.0)
    return z if z > 0 else 0.01 * z


def forward(name: str, Z: np.ndarray) -> np.ndarray:
    return get_activation(name).forward(Z.copy())


def derivative(name: str, Z: np.ndarray) -> np.ndarray:
    """``f'(Z)`` as backprop computes it: backward with an incoming delta of ones."""
    act = get_activation(name)
    A = act.forward(Z.copy())
    return act.backward(A, np.ones_like(Z), np.empty_like(Z))


# ---------------------------------------------------------------------------- registry


def test_registry_names_every_activation_and_builds_fresh_instances() -> None:
    assert sorted(ACTIVATIONS) == sorted(NAMES)
    for name in NAMES:
        act = get_activation(name)
        assert act.name == name
        assert get_activation(name) is not act


@pytest.mark.parametrize("bad", ["softplus", "Sigmoid", "", None, 3])
def test_unknown_activation_is_a_value_error_listing_the_choices(bad: object) -> None:
    with pytest.raises(ValueError, match="unknown activation") as info:
        get_activation(bad)  # type: ignore[arg-type]
    for name in NAMES:
        assert name in str(info.value)


# ---------------------------------------------------------------------------- forward values


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_forward_matches_the_textbook_formula(name: str, dtype: str) -> None:
    Z = np.linspace(-6.0, 6.0, 49).reshape(7, 7).astype(dtype)
    expected = np.vectorize(lambda z: reference(name, float(z)))(Z)
    got = forward(name, Z)
    assert got.dtype == np.dtype(dtype)
    assert got.shape == Z.shape
    tolerance = 1e-6 if dtype == "float32" else 1e-14
    np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("name", NAMES)
def test_forward_in_place_equals_forward_into_a_new_array(name: str) -> None:
    rng = np.random.default_rng(1)
    Z = rng.normal(0, 3, (5, 4))
    fresh = get_activation(name).forward(Z.copy())
    buffer = Z.copy()
    result = get_activation(name).forward(buffer, out=buffer)
    assert result is buffer
    np.testing.assert_array_equal(buffer, fresh)


def test_forward_without_out_leaves_the_input_alone() -> None:
    Z = np.array([[-1.0, 0.0, 2.0]])
    for name in NAMES:
        original = Z.copy()
        get_activation(name).forward(Z)
        np.testing.assert_array_equal(Z, original)


def test_hand_values() -> None:
    # sigmoid(0) = 1/2; sigmoid(ln 3) = 3/4; tanh(ln 2) = (2 - 1/2)/(2 + 1/2) = 3/5
    assert Sigmoid().forward(np.array([0.0]))[0] == 0.5
    assert Sigmoid().forward(np.array([math.log(3.0)]))[0] == pytest.approx(0.75, rel=1e-15)
    assert Tanh().forward(np.array([math.log(2.0)]))[0] == pytest.approx(0.6, rel=1e-15)
    np.testing.assert_array_equal(
        get_activation("relu").forward(np.array([-2.0, -0.0, 0.0, 3.5])), [0.0, 0.0, 0.0, 3.5]
    )
    np.testing.assert_allclose(LeakyReLU().forward(np.array([-2.0, 3.5])), [-0.02, 3.5], rtol=1e-15)


# ---------------------------------------------------------------------------- extremes


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sigmoid_reaches_its_limits_exactly_with_only_an_overflow_to_ignore(dtype: str) -> None:
    Z = np.array([[-1000.0, -745.0, -100.0, 0.0, 100.0, 745.0, 1000.0]], dtype)
    # Far below zero e^-z overflows to infinity and 1 / (1 + inf) is exactly 0; that overflow is
    # the one warning to switch off. Nothing is invalid and nothing divides by zero, and underflow
    # is exempt on purpose: sigmoid(-1000) ~ e^-1000 rounds to 0 correctly.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="ignore", invalid="raise", divide="raise"):
            A = Sigmoid().forward(Z.copy())
            Sigmoid().backward(A, np.ones_like(A), np.empty_like(A))
    assert A.dtype == np.dtype(dtype)
    assert np.all(np.isfinite(A))
    assert np.all((A >= 0.0) & (A <= 1.0))
    assert A[0, 0] == 0.0  # e^1000 overflows to infinity: 1 / (1 + inf)
    assert A[0, -1] == 1.0
    assert A[0, 3] == 0.5


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_network_passes_warn_about_nothing_at_extreme_scores(dtype: str) -> None:
    net = Network([3, 4, 2], "sigmoid", seed=0, dtype=dtype)
    net.weights[0][...] = 1000.0  # every hidden unit's score is +-3000: e^-z overflows for some
    X = np.array([[-1.0, -1.0, -1.0], [1.0, 1.0, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise", under="ignore"):
            hidden = net.layer_outputs(X)[0]
            net.backprop(X, np.array([0, 1]))
            P = net.predict_proba(X)
    np.testing.assert_array_equal(hidden, [[0.0] * 4, [1.0] * 4])
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("name", ["tanh", "relu", "leaky_relu"])
def test_other_activations_stay_finite_at_extremes(name: str) -> None:
    Z = np.array([[-1e30, -1000.0, 1000.0, 1e30]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        A = forward(name, Z)
    assert np.all(np.isfinite(A))


def test_sigmoid_is_accurate_in_the_upper_tail() -> None:
    for dtype in (np.float32, np.float64):
        Z = np.array([5.0, 10.0, 20.0, 40.0], dtype)
        got = Sigmoid().forward(Z.copy())
        expected = np.array([reference_sigmoid(float(z)) for z in Z])
        np.testing.assert_allclose(got, expected, rtol=np.finfo(dtype).eps * 4)


@pytest.mark.parametrize(
    ("dtype", "lowest", "rtol"),
    # Relative error allowed: about |z| ulps, what exp(-log1p(e^-z)) achieves.
    [("float64", -700.0, 1e-12), ("float32", -80.0, 1e-5)],
)
def test_sigmoid_keeps_relative_precision_in_the_lower_tail(
    dtype: str, lowest: float, rtol: float
) -> None:
    Z = np.linspace(lowest, -1.0, 200).astype(dtype)
    got = Sigmoid().forward(Z.copy()).astype(np.float64)
    expected = np.array([reference_sigmoid(float(z)) for z in Z])
    assert np.all(got > 0.0), "a representable positive probability rounded to zero"
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=0.0)


# ---------------------------------------------------------------------------- derivatives


@pytest.mark.parametrize("name", NAMES)
def test_derivative_matches_central_differences_elementwise(name: str) -> None:
    rng = np.random.default_rng(7)
    Z = rng.normal(0.0, 2.5, (6, 8))
    Z[np.abs(Z) < 0.05] += 0.2  # keep the ReLUs' kink more than h away
    h = 1e-6
    numeric = np.vectorize(lambda z: (reference(name, z + h) - reference(name, z - h)) / (2 * h))(Z)
    np.testing.assert_allclose(derivative(name, Z), numeric, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_backward_multiplies_the_incoming_delta_in_place(name: str) -> None:
    rng = np.random.default_rng(3)
    Z = rng.normal(0.0, 2.0, (4, 5))
    delta = rng.normal(size=Z.shape)
    expected = delta * derivative(name, Z)
    act = get_activation(name)
    A = act.forward(Z.copy())
    A_before = A.copy()
    result = act.backward(A, delta, np.empty_like(Z))
    assert result is delta
    np.testing.assert_allclose(delta, expected, rtol=1e-15)
    np.testing.assert_array_equal(A, A_before)  # the cached output is not disturbed


def test_derivative_hand_values() -> None:
    # sigmoid'(0) = 1/4, tanh'(0) = 1, relu' = step, leaky relu' = 1 or 0.01
    Z = np.array([[0.0, 2.0, -2.0]])
    np.testing.assert_allclose(derivative("sigmoid", Z)[0, 0], 0.25, rtol=1e-15)
    np.testing.assert_allclose(derivative("tanh", Z)[0, 0], 1.0, rtol=1e-15)
    np.testing.assert_array_equal(derivative("relu", Z)[0, 1:], [1.0, 0.0])
    np.testing.assert_allclose(derivative("leaky_relu", Z)[0, 1:], [1.0, 0.01], rtol=1e-15)


# ---------------------------------------------------------------------------- saturation


def test_sigmoid_and_tanh_saturation_marks_the_flat_ends() -> None:
    Z = np.array([[-10.0, -0.5, 0.0, 0.5, 10.0]])
    for name in ("sigmoid", "tanh"):
        act = get_activation(name)
        np.testing.assert_array_equal(
            act.saturated(act.forward(Z.copy())), [[True, False, False, False, True]]
        )


@pytest.mark.parametrize("name", ["relu", "leaky_relu"])
def test_relu_saturation_marks_units_dead_for_the_whole_batch(name: str) -> None:
    # Unit 0 is negative for every sample (dead); unit 1 only for some (alive).
    Z = np.array([[-1.0, -1.0, 2.0], [-3.0, 4.0, 1.0]])
    act = get_activation(name)
    mask = act.saturated(act.forward(Z.copy()))
    assert mask.shape == Z.shape
    np.testing.assert_array_equal(mask, [[True, False, False], [True, False, False]])
