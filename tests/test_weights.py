"""Weighted samples: a cost ``(1/m) Σᵢ wᵢ cᵢ``, its gradient, and the training loop's weights.

The reference defines it (each sample's output delta times its weight); the gradient is checked
against central differences of the weighted cost, every engine is held to the reference, and the
training loop's ``sample_weight`` and ``class_weight="balanced"`` are checked where they enter.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from glassnet import Network, TrainConfig
from glassnet.engine import ENGINE_CHOICES, available_engines, with_ones
from glassnet.optimizers import make_optimizer
from glassnet.reference import Optimizer, ReferenceNetwork, one_hot_columns

SIZES = [12, 9, 7, 4]


def batch(m: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(SIZES[0], m))
    labels = rng.integers(0, SIZES[-1], m)
    return x, labels, rng.uniform(0.0, 3.0, m)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "leaky_relu"])
def test_the_weighted_gradient_is_the_weighted_costs(activation: str) -> None:
    """Central differences of (1/m) Σᵢ wᵢ cᵢ against the reference's backprop with weights."""
    ref = ReferenceNetwork(SIZES, activation, seed=1)
    x, labels, w = batch()
    y = one_hot_columns(labels, SIZES[-1], "float64")
    nabla_theta, nabla_b = ref.backprop(x, y, weights=w)
    h = 1e-6
    for l in range(len(ref.thetas)):
        for params, grads in ((ref.thetas, nabla_theta), (ref.biases, nabla_b)):
            numeric = np.zeros_like(params[l])
            for index in np.ndindex(params[l].shape):
                keep = params[l][index]
                params[l][index] = keep + h
                up = ref.cost(x, y, w)
                params[l][index] = keep - h
                down = ref.cost(x, y, w)
                params[l][index] = keep
                numeric[index] = (up - down) / (2 * h)
            error = np.linalg.norm(grads[l] - numeric) / np.linalg.norm(numeric)
            assert error < 1e-7, (l, error)


def test_weights_of_one_are_no_weights_and_two_counts_a_sample_twice() -> None:
    ref = ReferenceNetwork(SIZES, "sigmoid", seed=2)
    x, labels, _ = batch()
    y = one_hot_columns(labels, SIZES[-1], "float64")
    plain = ref.backprop(x, y)
    ones = ref.backprop(x, y, weights=np.ones(10))
    for a, b in zip(plain[0] + plain[1], ones[0] + ones[1], strict=True):
        np.testing.assert_array_equal(a, b)
    # weight 2 on the first sample = the batch with that sample twice, at the same 1/m
    twice = ref.backprop(x, y, weights=np.r_[2.0, np.ones(9)])
    doubled_x, doubled_y = np.c_[x, x[:, :1]], np.c_[y, y[:, :1]]
    doubled = ref.backprop(doubled_x, doubled_y)
    for a, b in zip(twice[0], doubled[0], strict=True):
        np.testing.assert_allclose(a * 10, b * 11, rtol=1e-12)
    # weight 0 leaves a sample out
    without = ref.backprop(x[:, 1:], y[:, 1:])
    zero = ref.backprop(x, y, weights=np.r_[0.0, np.ones(9)])
    for a, b in zip(zero[0], without[0], strict=True):
        np.testing.assert_allclose(a * 10, b * 9, rtol=1e-12)


ENGINES = [name for name in ENGINE_CHOICES if name != "auto"]


@pytest.mark.parametrize(
    "engine",
    [
        pytest.param(
            name,
            marks=pytest.mark.skipif(
                name not in available_engines(), reason=f"the {name} engine cannot run here"
            ),
        )
        for name in ENGINES
    ],
)
@pytest.mark.parametrize(("optimizer", "dtype"), [("sgd", "float64"), ("adam", "float64"),
                                                 ("momentum", "float32"), ("sgd", "float32")])  # fmt: skip
def test_every_engine_steps_with_weights_as_the_reference_does(
    engine: str, optimizer: str, dtype: str
) -> None:
    rng = np.random.default_rng(3)
    net = Network(SIZES, "tanh", seed=3, dtype=dtype)
    ref = ReferenceNetwork(SIZES, "tanh", seed=3, dtype=dtype)
    eng = net.use_engine(engine)
    opt: Any = make_optimizer(optimizer, 0.05)
    textbook = Optimizer(optimizer)
    X = rng.normal(size=(40, SIZES[0])).astype(dtype)
    labels = rng.integers(0, SIZES[-1], 40)
    Y = np.eye(SIZES[-1], dtype=dtype)[labels]
    w = rng.uniform(0.0, 3.0, 40).astype(dtype)
    eng.steps(with_ones(X), Y, opt, 0.05, start=0, count=4, batch_size=10, sample_weight=w)
    for k in range(4):
        rows = slice(10 * k, 10 * k + 10)
        ref.update_mini_batch(
            X[rows].T, Y[rows].T, 0.05, None if optimizer == "sgd" else textbook, weights=w[rows]
        )
    tolerance = 1e-12 if dtype == "float64" else 1e-5
    for W, theta in zip(net.weights, ref.thetas, strict=True):
        assert np.linalg.norm(W.T - theta) <= tolerance * np.linalg.norm(theta)
    # and the weights mattered: unweighted steps end elsewhere
    plain = Network(SIZES, "tanh", seed=3, dtype=dtype).use_engine(engine)
    plain.steps(with_ones(X), Y, make_optimizer(optimizer, 0.05), 0.05, start=0, count=4,
                batch_size=10)  # fmt: skip
    assert not np.allclose(plain.params.flat, net.engine.params.flat, rtol=1e-3)


def test_fit_with_sample_weight_equals_the_references_epochs() -> None:
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(95, SIZES[0])), rng.integers(0, SIZES[-1], 95)
    w = rng.uniform(0.0, 2.0, 95)
    net = Network(SIZES, "sigmoid", seed=5, dtype="float64")
    net.fit(X, y, epochs=2, batch_size=10, learning_rate=0.3, standardize=False, seed=9,
            sample_weight=w, engine="numpy")  # fmt: skip
    ref = ReferenceNetwork(SIZES, "sigmoid", seed=5)
    generator = np.random.default_rng(9)
    for _ in range(2):
        ref.train_epoch(
            X.T, one_hot_columns(y, SIZES[-1], "float64"), 10, 0.3, generator, weights=w
        )
    for W, theta in zip(net.weights, ref.thetas, strict=True):
        assert np.linalg.norm(W.T - theta) <= 1e-12 * np.linalg.norm(theta)


def test_balanced_class_weights_make_a_rare_class_count() -> None:
    """90 samples of class 0 and 10 of class 1 that differ only slightly: unweighted, the rare
    class is mostly missed; balanced, it is mostly found."""
    rng = np.random.default_rng(6)
    y = np.r_[np.zeros(900, int), np.ones(100, int)]
    X = rng.normal(size=(1000, 2)) + np.c_[y * 1.0, y * 1.0]
    recall = {}
    for weights in ("none", "balanced"):
        net = Network([2, 8, 2], "tanh", seed=0, dtype="float64")
        net.fit(X, y, TrainConfig(epochs=20, learning_rate=0.1, seed=1), class_weight=weights)
        recall[weights] = float(np.mean(net.predict(X[y == 1]) == 1))
    assert recall["balanced"] > recall["none"] + 0.2


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (np.ones(3), "one weight per sample"),
        (np.full(10, -1.0), "at least 0"),
        (np.full(10, np.nan), "finite"),
        (np.zeros(10), "nothing to learn"),
        (np.array(["a"] * 10), "real numbers"),
    ],
)
def test_bad_sample_weights_are_refused_at_the_door(weights: np.ndarray, message: str) -> None:
    net = Network([3, 4, 2], seed=0)
    X, y = np.random.default_rng(0).normal(size=(10, 3)), np.arange(10) % 2
    with pytest.raises(ValueError, match=message):
        net.fit(X, y, epochs=1, sample_weight=weights)
