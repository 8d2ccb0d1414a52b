"""Tests for the optimizers: each against its update formula, written out here step by step."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from glassnet import Network
from glassnet.optimizers import (
    OPTIMIZERS,
    SGD,
    Adam,
    AdamW,
    Momentum,
    Nesterov,
    Optimizer,
    RMSprop,
    make_optimizer,
)

THETA0 = np.array([1.0, -2.0, 0.5])
TARGET = np.array([0.3, 0.7, -1.1])


def gradient(theta: np.ndarray) -> np.ndarray:
    """Gradient of the bowl ``C = sum (θ − target)^2 + θ₀θ₁``: it changes as θ moves."""
    g = 2.0 * (theta - TARGET)
    g[0] += theta[1]
    g[1] += theta[0]
    return g


def run(optimizer: Optimizer, steps: int = 3, decay: list[bool] | None = None) -> np.ndarray:
    theta = THETA0.copy()
    for _ in range(steps):
        optimizer.step([theta], [gradient(theta)], decay)
    return theta


# Each reference below is the textbook update, one scalar formula per line, in float64.


def ref_sgd(lr: float, wd: float, steps: int = 3) -> np.ndarray:
    theta = THETA0.copy()
    for _ in range(steps):
        theta = theta - lr * (gradient(theta) + wd * theta)
    return theta


def ref_momentum(lr: float, mu: float, wd: float, nesterov: bool, steps: int = 3) -> np.ndarray:
    theta, v = THETA0.copy(), np.zeros(3)
    for _ in range(steps):
        g = gradient(theta) + wd * theta
        v = mu * v - lr * g
        theta = theta + mu * v - lr * g if nesterov else theta + v
    return theta


def ref_rmsprop(lr: float, rho: float, eps: float, wd: float, steps: int = 3) -> np.ndarray:
    theta, s = THETA0.copy(), np.zeros(3)
    for _ in range(steps):
        g = gradient(theta) + wd * theta
        s = rho * s + (1 - rho) * g**2
        theta = theta - lr * g / (np.sqrt(s) + eps)
    return theta


def ref_adam(
    lr: float, b1: float, b2: float, eps: float, wd: float, decoupled: bool, steps: int = 3
) -> np.ndarray:
    theta, m, v = THETA0.copy(), np.zeros(3), np.zeros(3)
    for t in range(1, steps + 1):
        g = gradient(theta)
        if decoupled:
            theta = theta - lr * wd * theta  # AdamW: decay beside the adaptive step
        else:
            g = g + wd * theta  # Adam: L2 folded into the gradient
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat = m / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
    return theta


CASES: list[tuple[str, Callable[[], Optimizer], Callable[[], np.ndarray]]] = [
    ("sgd", lambda: SGD(0.1), lambda: ref_sgd(0.1, 0.0)),
    ("sgd+decay", lambda: SGD(0.1, weight_decay=0.2), lambda: ref_sgd(0.1, 0.2)),
    ("momentum", lambda: Momentum(0.1, 0.9), lambda: ref_momentum(0.1, 0.9, 0.0, False)),
    (
        "momentum+decay",
        lambda: Momentum(0.1, 0.8, weight_decay=0.3),
        lambda: ref_momentum(0.1, 0.8, 0.3, False),
    ),
    ("nesterov", lambda: Nesterov(0.1, 0.9), lambda: ref_momentum(0.1, 0.9, 0.0, True)),
    (
        "momentum(nesterov=True)+decay",
        lambda: Momentum(0.05, 0.7, nesterov=True, weight_decay=0.1),
        lambda: ref_momentum(0.05, 0.7, 0.1, True),
    ),
    ("rmsprop", lambda: RMSprop(0.01, 0.9, 1e-8), lambda: ref_rmsprop(0.01, 0.9, 1e-8, 0.0)),
    (
        "rmsprop+decay",
        lambda: RMSprop(0.02, 0.5, 1e-3, weight_decay=0.1),
        lambda: ref_rmsprop(0.02, 0.5, 1e-3, 0.1),
    ),
    (
        "adam",
        lambda: Adam(0.01, 0.9, 0.999, 1e-8),
        lambda: ref_adam(0.01, 0.9, 0.999, 1e-8, 0.0, False),
    ),
    (
        "adam+decay",
        lambda: Adam(0.05, 0.8, 0.99, 1e-6, weight_decay=0.5),
        lambda: ref_adam(0.05, 0.8, 0.99, 1e-6, 0.5, False),
    ),
    (
        "adamw+decay",
        lambda: AdamW(0.05, 0.8, 0.99, 1e-6, weight_decay=0.5),
        lambda: ref_adam(0.05, 0.8, 0.99, 1e-6, 0.5, True),
    ),
]


@pytest.mark.parametrize(("label", "build", "reference"), CASES, ids=[c[0] for c in CASES])
def test_three_steps_follow_the_update_formula(
    label: str, build: Callable[[], Optimizer], reference: Callable[[], np.ndarray]
) -> None:
    expected = reference()
    assert not np.allclose(expected, THETA0)  # the steps do move the parameters
    np.testing.assert_allclose(run(build()), expected, rtol=1e-13, atol=1e-15)


def test_each_step_separately_for_momentum() -> None:
    """Momentum by hand on one number: g = 1 each step, η = 0.1, μ = 0.5."""
    theta = np.array([0.0])
    opt = Momentum(0.1, 0.5)
    trail = []
    for _ in range(3):
        opt.step([theta], [np.array([1.0])])
        trail.append(theta[0])
    # v: -0.1, -0.15, -0.175; θ: -0.1, -0.25, -0.425
    assert trail == pytest.approx([-0.1, -0.25, -0.425], rel=1e-15)


def test_adams_first_step_is_the_learning_rate_times_the_gradients_sign() -> None:
    """With bias correction, m̂ = g and v̂ = g² after one step, so Δθ = −η g / |g|."""
    theta = np.array([0.0, 0.0, 0.0])
    Adam(0.01).step([theta], [np.array([3.0, -0.002, 250.0])])
    np.testing.assert_allclose(theta, [-0.01, 0.01, -0.01], rtol=1e-5)


def test_adamw_decay_is_decoupled_from_the_adaptive_scaling() -> None:
    """At zero gradient Adam's L2 term is normalised away (a full η step); AdamW shrinks by ηλ."""
    adam, adamw = np.array([2.0]), np.array([2.0])
    Adam(0.1, weight_decay=0.01).step([adam], [np.array([0.0])])
    AdamW(0.1, weight_decay=0.01).step([adamw], [np.array([0.0])])
    assert adam[0] == pytest.approx(2.0 - 0.1, rel=1e-6)
    assert adamw[0] == pytest.approx(2.0 * (1 - 0.1 * 0.01), rel=1e-12)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_weight_decay_skips_arrays_flagged_false(name: str) -> None:
    weights, biases = np.array([1.0, -1.0]), np.array([1.0, -1.0])
    zero = np.zeros(2)
    opt = make_optimizer(name, 0.1, weight_decay=0.5)
    opt.step([weights, biases], [zero, zero.copy()], [True, False])
    np.testing.assert_array_equal(biases, [1.0, -1.0])
    assert np.all(np.abs(weights) < 1.0)  # pulled toward zero


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_updates_in_place_and_keeps_float32(name: str) -> None:
    theta = THETA0.astype(np.float32)
    before = theta.copy()
    opt = make_optimizer(name, 0.05)
    returned = opt.step([theta], [gradient(theta.astype(np.float64)).astype(np.float32)])
    assert returned is None
    assert theta.dtype == np.float32
    assert not np.array_equal(theta, before)
    assert opt.iterations == 1


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_state_dict_round_trip_continues_identically(name: str) -> None:
    settings = {"weight_decay": 0.01}
    if "momentum" in OPTIMIZERS[name].settings:
        settings["momentum"] = 0.9
    a = make_optimizer(name, 0.03, **settings)
    theta = THETA0.copy()
    for _ in range(3):
        a.step([theta], [gradient(theta)])
    state = a.state_dict()
    saved_iterations = state["iterations"]
    theta_b = theta.copy()
    b = make_optimizer(name, 0.03, **settings)
    b.load_state_dict(state, [theta_b])
    for _ in range(3):
        a.step([theta], [gradient(theta)])
        b.step([theta_b], [gradient(theta_b)])
    np.testing.assert_array_equal(theta_b, theta)
    assert b.iterations == a.iterations == 6
    # The snapshot was a copy: the later steps did not reach into it.
    assert state["iterations"] == saved_iterations == 3
    fresh = make_optimizer(name, 0.03, **settings)
    fresh.load_state_dict(state, [THETA0.copy()])
    for key, value in fresh.state_dict()["arrays"].items():
        np.testing.assert_array_equal(value, state["arrays"][key])


def test_state_dict_without_loading_restarts_momentum_differently() -> None:
    """Guard for the round-trip test: a fresh optimizer (no state) does diverge from one with it."""
    a, b = Momentum(0.1, 0.9), Momentum(0.1, 0.9)
    theta = THETA0.copy()
    for _ in range(3):
        a.step([theta], [gradient(theta)])
    theta_b = theta.copy()
    a.step([theta], [gradient(theta)])
    b.step([theta_b], [gradient(theta_b)])
    assert not np.array_equal(theta, theta_b)


def test_load_state_dict_rejects_a_shape_mismatch() -> None:
    a = Adam(0.01)
    a.step([np.zeros(3)], [np.ones(3)])
    with pytest.raises(ValueError, match="shape"):
        Adam(0.01).load_state_dict(a.state_dict(), [np.zeros(4)])


@pytest.mark.parametrize(
    "build",
    [
        lambda: SGD(0.0),
        lambda: SGD(-1.0),
        lambda: SGD(math.nan),
        lambda: SGD(math.inf),
        lambda: SGD(0.1, weight_decay=-0.1),
        lambda: SGD(0.1, weight_decay=math.nan),
        lambda: Momentum(0.1, momentum=1.0),
        lambda: Momentum(0.1, momentum=-0.1),
        lambda: Adam(0.1, beta1=1.0),
        lambda: Adam(0.1, beta2=1.5),
    ],
)
def test_invalid_hyperparameters_are_value_errors(build: Callable[[], Optimizer]) -> None:
    with pytest.raises(ValueError):
        build()


def test_make_optimizer_by_name_refuses_options_it_does_not_take() -> None:
    opt = make_optimizer("adam", 0.002, beta1=0.8)
    assert isinstance(opt, Adam)
    assert (opt.learning_rate, opt.beta1) == (0.002, 0.8)
    with pytest.raises(ValueError, match=r"adam takes no momentum \(its options: beta1, beta2"):
        make_optimizer("adam", 0.002, momentum=0.9, beta1=0.8)
    with pytest.raises(ValueError, match="sgd takes no beta1"):
        make_optimizer("sgd", 0.1, beta1=0.9)
    assert isinstance(make_optimizer("nesterov", 0.1, momentum=0.5), Nesterov)
    assert set(OPTIMIZERS) == {"sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw"}
    with pytest.raises(ValueError, match="unknown optimizer"):
        make_optimizer("lbfgs", 0.1)


# ---------------------------------------------------------------------------- on a network


@pytest.mark.parametrize("name", ["sgd", "adamw"])
def test_the_decay_mask_decays_weights_but_never_biases(name: str) -> None:
    """With zero gradients, only decay moves parameters: weights shrink by (1 − ηλ), biases stay."""
    net = Network([4, 3, 2], "tanh", seed=0, dtype="float64")
    for b in net.biases:
        b[...] = 0.5
    weights = [W.copy() for W in net.weights]
    params = net.engine.params
    params.grad[...] = 0.0
    make_optimizer(name, 0.1, weight_decay=0.5).step(
        [params.flat], [params.grad], [params.decay_mask]
    )
    for W, W0 in zip(net.weights, weights, strict=True):
        np.testing.assert_allclose(W, W0 * (1 - 0.1 * 0.5), rtol=1e-15)
    for b in net.biases:
        np.testing.assert_array_equal(b, 0.5)


def test_one_training_step_applies_l2_decay_to_weights_only() -> None:
    """A backprop-and-step on the network matches W − η(∂C/∂W + λW), b − η ∂C/∂b."""
    rng = np.random.default_rng(1)
    net = Network([5, 4, 3], "sigmoid", seed=1, dtype="float64")
    for b in net.biases:
        b[...] = rng.normal(size=b.shape)
    X, y = rng.normal(size=(6, 5)), rng.integers(0, 3, 6)
    W0, b0 = [W.copy() for W in net.weights], [b.copy() for b in net.biases]
    grad_W, grad_b = net.backprop(X, y)
    params = net.engine.params
    SGD(0.1, weight_decay=0.3).step([params.flat], [params.grad], [params.decay_mask])
    for k in range(2):
        np.testing.assert_allclose(
            net.weights[k], W0[k] - 0.1 * (grad_W[k] + 0.3 * W0[k]), rtol=1e-14, atol=1e-16
        )
        np.testing.assert_allclose(net.biases[k], b0[k] - 0.1 * grad_b[k], rtol=1e-14, atol=1e-16)


def test_sgd_folded_step_adds_the_gradient_scaled_by_its_factor() -> None:
    opt = SGD(0.1)
    factor = opt.folded_factor()
    assert factor == -0.1
    theta, plain = THETA0.copy(), THETA0.copy()
    for _ in range(3):
        g = gradient(theta)
        opt.step_folded([theta], [factor * g])
        SGD(0.1).step([plain], [gradient(plain)])
    np.testing.assert_allclose(theta, plain, rtol=1e-15)
    assert opt.iterations == 3


def test_only_plain_sgd_without_decay_takes_folded_gradients() -> None:
    assert SGD(0.1, weight_decay=1e-3).folded_factor() is None
    with pytest.raises(ValueError, match="weight decay"):
        SGD(0.1, weight_decay=1e-3).step_folded([THETA0.copy()], [THETA0.copy()])
    for cls in (Momentum, Nesterov, RMSprop, Adam, AdamW):
        opt = cls(0.1)
        assert opt.folded_factor() is None
        with pytest.raises(NotImplementedError):
            opt.step_folded([THETA0.copy()], [THETA0.copy()])
