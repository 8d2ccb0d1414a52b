"""Backpropagation against central differences, for every activation and depths 1 to 4.

Two routes: :mod:`glassnet.gradcheck` (which nudges parameters in place), and a finite difference
written here that sets every parameter through ``set_parameters`` and compares element by element.
"""

from __future__ import annotations

import numpy as np
import pytest

import glassnet.engine.numpy
from glassnet import Network
from glassnet.activations import Sigmoid
from glassnet.gradcheck import (
    check_gradients,
    gradcheck_network,
    numerical_gradients,
    relative_error,
)

ACTIVATIONS = ["sigmoid", "tanh", "relu", "leaky_relu"]
TOLERANCE = {"sigmoid": 1e-7, "tanh": 1e-7, "relu": 1e-5, "leaky_relu": 1e-5}
HIDDEN = (7, 6, 5, 4)
# Central differences: truncation error ~ h², rounding error ~ eps/h. In float64 the sum is
# smallest near h = eps^(1/3) ~ 6e-6; 1e-5 keeps the deepest sigmoid layers (whose gradients are
# small) clear of rounding noise.
H = 1e-5


def small_problem(
    activation: str, depth: int, seed: int = 0
) -> tuple[Network, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    net = Network([5, *HIDDEN[:depth], 3], activation, seed=rng, dtype="float64")
    for b in net.biases:  # Glorot and He start biases at zero; the check must cover them too
        b[...] = rng.normal(0.0, 0.5, b.shape)
    X = rng.normal(size=(4, 5))
    Y = np.eye(3)[rng.integers(0, 3, 4)]
    return net, X, Y


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradcheck_module_passes_for_every_activation_and_depth(
    activation: str, depth: int
) -> None:
    for seed in range(3):
        net, X, Y = small_problem(activation, depth, seed)
        checks = check_gradients(net, X, Y, h=H)
        assert len(checks) == 2 * (depth + 1)
        worst = max(checks, key=lambda c: c.relative_error)
        assert worst.relative_error < TOLERANCE[activation], worst


def own_numerical_gradients(
    net: Network, X: np.ndarray, Y: np.ndarray, h: float
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Central differences of ``net.loss`` over every parameter, set through fresh copies."""
    weights = [W.copy() for W in net.weights]
    biases = [b.copy() for b in net.biases]

    def loss_with(layer: int, index: tuple[int, ...], delta: float, is_bias: bool) -> float:
        W = [w.copy() for w in weights]
        b = [v.copy() for v in biases]
        (b if is_bias else W)[layer][index] += delta
        net.set_parameters(W, b)
        return net.loss(X, Y)

    grads_W: list[np.ndarray] = []
    grads_b: list[np.ndarray] = []
    for layer in range(len(weights)):
        for is_bias, source, out in ((False, weights, grads_W), (True, biases, grads_b)):
            g = np.zeros_like(source[layer])
            for index in np.ndindex(g.shape):
                plus = loss_with(layer, index, h, is_bias)
                minus = loss_with(layer, index, -h, is_bias)
                g[index] = (plus - minus) / (2 * h)
            out.append(g)
    net.set_parameters(weights, biases)
    return grads_W, grads_b


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_backprop_matches_independent_finite_differences(activation: str, depth: int) -> None:
    net, X, Y = small_problem(activation, depth, seed=10 + depth)
    analytic_W, analytic_b = net.backprop(X, Y)
    numeric_W, numeric_b = own_numerical_gradients(net, X, Y, H)
    for a, n in zip([*analytic_W, *analytic_b], [*numeric_W, *numeric_b], strict=True):
        assert a.shape == n.shape
        error = np.linalg.norm(a - n) / (np.linalg.norm(a) + np.linalg.norm(n))
        assert error < TOLERANCE[activation]
        # Element by element too, so one wrong entry in a large layer cannot hide.
        np.testing.assert_allclose(a, n, rtol=1e-5, atol=1e-9)


def test_gradients_are_not_all_zero_so_the_checks_are_not_vacuous() -> None:
    for activation in ACTIVATIONS:
        net, X, Y = small_problem(activation, 4)
        grads_W, grads_b = net.backprop(X, Y)
        for g in [*grads_W, *grads_b]:
            assert np.linalg.norm(g) > 1e-6


def test_relative_error_hand_values() -> None:
    assert relative_error(np.array([3.0, 4.0]), np.array([3.0, 4.0])) == 0.0
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(np.array([3.0, 4.0]), np.zeros(2)) == 1.0
    # ‖(1, 0) − (0, 1)‖ / (1 + 1) = √2 / 2
    assert relative_error(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(2**-0.5)


def test_numerical_gradients_leave_the_network_exactly_as_it_was() -> None:
    net, X, Y = small_problem("tanh", 2)
    before = net.get_flat_parameters()
    numerical_gradients(net, X, Y)
    np.testing.assert_array_equal(net.get_flat_parameters(), before)


def test_check_gradients_reports_each_layer_in_order() -> None:
    net, X, Y = small_problem("relu", 3)
    checks = check_gradients(net, X, Y, h=H)
    assert [(c.layer, c.kind) for c in checks] == [
        (layer, kind) for layer in (1, 2, 3, 4) for kind in ("weights", "biases")
    ]
    assert all(c.max_abs_difference >= 0.0 for c in checks)


def test_a_wrong_activation_derivative_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """Use tanh's derivative 1 − a² in place of sigmoid's a(1 − a): the check must fail."""

    def wrong(self: Sigmoid, A: np.ndarray, delta: np.ndarray, scratch: np.ndarray) -> np.ndarray:
        np.multiply(delta, 1.0 - A * A, out=delta)
        return delta

    monkeypatch.setattr(Sigmoid, "backward", wrong)
    net, X, Y = small_problem("sigmoid", 2)
    checks = check_gradients(net, X, Y, h=H)
    assert max(c.relative_error for c in checks) > 1e-2
    # The output layer's gradient does not use the hidden derivative and still agrees.
    last = [c for c in checks if c.layer == 3]
    assert all(c.relative_error < 1e-7 for c in last)


def test_a_missing_batch_average_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """An output delta of P − Y instead of (P − Y)/m is m times too large everywhere."""
    monkeypatch.setattr(
        glassnet.engine.numpy,
        "softmax_cross_entropy_delta",
        lambda P, Y, out=None, scale=1.0: np.subtract(P, Y, out=out),
    )
    net, X, Y = small_problem("tanh", 1)
    checks = check_gradients(net, X, Y, h=H)
    # m = 4: ‖4g − g‖ / (‖4g‖ + ‖g‖) = 3/5 in every layer.
    for c in checks:
        assert c.relative_error == pytest.approx(0.6, abs=1e-4)


def test_gradcheck_network_builds_a_float64_problem_and_passes_its_own_default() -> None:
    for activation in ACTIVATIONS:
        checks = gradcheck_network(activation)  # hidden 7, 6, 5
        assert len(checks) == 8
        assert max(c.relative_error for c in checks) < TOLERANCE[activation]


def test_gradcheck_default_step_passes_a_correct_deep_sigmoid_network() -> None:
    for seed in range(6):
        checks = gradcheck_network("sigmoid", (7, 6, 5, 4), seed=seed)
        assert max(c.relative_error for c in checks) < TOLERANCE["sigmoid"]
