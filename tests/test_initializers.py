"""Tests for the weight initializers: shapes, statistics, reproducibility, no global seed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from glassnet import Network
from glassnet.initializers import (
    DEFAULT_INITIALIZER,
    INITIALIZERS,
    get_initializer,
    glorot,
    he,
    standard_normal,
)


@pytest.mark.parametrize("name", sorted(INITIALIZERS))
@pytest.mark.parametrize(("fan_in", "fan_out"), [(1, 1), (3, 7), (784, 50)])
def test_shapes(name: str, fan_in: int, fan_out: int) -> None:
    W, b = get_initializer(name)(fan_in, fan_out, np.random.default_rng(0))
    assert W.shape == (fan_in, fan_out)
    assert b.shape == (fan_out,)
    assert np.all(np.isfinite(W)) and np.all(np.isfinite(b))


def test_glorot_uniform_limit_and_variance() -> None:
    fan_in, fan_out = 400, 500
    limit = math.sqrt(6.0 / (fan_in + fan_out))  # = 0.08165
    W, b = glorot(fan_in, fan_out, np.random.default_rng(1))
    assert np.all(np.abs(W) <= limit)
    assert np.abs(W).max() > 0.999 * limit  # 200,000 draws reach the edges
    # U(-r, r) has mean 0 and variance r^2 / 3; 200k draws pin both to well under 1%.
    assert abs(W.mean()) < 0.01 * limit
    assert W.var() == pytest.approx(limit**2 / 3, rel=0.01)
    # Uniform, not bell-shaped: each tenth of [-r, r] holds about a tenth of the draws.
    counts, _ = np.histogram(W, bins=10, range=(-limit, limit))
    np.testing.assert_allclose(counts / W.size, 0.1, atol=0.005)
    np.testing.assert_array_equal(b, 0.0)


def test_he_normal_standard_deviation() -> None:
    fan_in, fan_out = 784, 300
    W, b = he(fan_in, fan_out, np.random.default_rng(2))
    assert W.std() == pytest.approx(math.sqrt(2.0 / fan_in), rel=0.01)
    assert abs(W.mean()) < 0.01 * math.sqrt(2.0 / fan_in)
    # About 4.55% of a normal sample lies beyond two standard deviations.
    beyond = np.mean(np.abs(W) > 2 * math.sqrt(2.0 / fan_in))
    assert beyond == pytest.approx(0.0455, abs=0.003)
    np.testing.assert_array_equal(b, 0.0)


def test_standard_normal_is_the_posts_unit_normal_for_weights_and_biases() -> None:
    W, _ = standard_normal(500, 400, np.random.default_rng(3))
    assert W.std() == pytest.approx(1.0, rel=0.01)
    assert abs(W.mean()) < 0.01
    b_big = standard_normal(1, 100_000, np.random.default_rng(4))[1]
    assert b_big.std() == pytest.approx(1.0, rel=0.02)


@pytest.mark.parametrize("name", sorted(INITIALIZERS))
def test_reproducible_from_a_generator_and_different_across_seeds(name: str) -> None:
    init = get_initializer(name)
    W1, b1 = init(20, 30, np.random.default_rng(42))
    W2, b2 = init(20, 30, np.random.default_rng(42))
    W3, _ = init(20, 30, np.random.default_rng(43))
    np.testing.assert_array_equal(W1, W2)
    np.testing.assert_array_equal(b1, b2)
    assert not np.array_equal(W1, W3)


def _global_state_unchanged(action: object) -> None:
    # Reading the legacy global state is the point here: it must be the same afterwards.
    before = np.random.get_state(legacy=False)  # noqa: NPY002
    action()  # type: ignore[operator]
    after = np.random.get_state(legacy=False)  # noqa: NPY002
    np.testing.assert_array_equal(before["state"]["key"], after["state"]["key"])
    assert before["state"]["pos"] == after["state"]["pos"]
    assert (before["has_gauss"], before["gauss"]) == (after["has_gauss"], after["gauss"])


def test_initializers_and_networks_never_touch_the_global_seed() -> None:
    for name in INITIALIZERS:
        _global_state_unchanged(
            lambda name=name: get_initializer(name)(9, 8, np.random.default_rng())
        )
    _global_state_unchanged(lambda: Network([5, 4, 3], "relu", seed=None))
    _global_state_unchanged(lambda: Network([5, 4, 3], "sigmoid", seed=1, initializer="normal"))


def test_network_seed_int_and_generator_agree() -> None:
    a = Network([6, 5, 4], "tanh", seed=7)
    b = Network([6, 5, 4], "tanh", seed=np.random.default_rng(7))
    c = Network([6, 5, 4], "tanh", seed=8)
    np.testing.assert_array_equal(a.get_flat_parameters(), b.get_flat_parameters())
    assert not np.array_equal(a.get_flat_parameters(), c.get_flat_parameters())


def test_default_initializer_per_activation() -> None:
    assert DEFAULT_INITIALIZER == {
        "sigmoid": "glorot",
        "tanh": "glorot",
        "relu": "he",
        "leaky_relu": "he",
    }
    for activation, expected in DEFAULT_INITIALIZER.items():
        assert Network([4, 3, 2], activation, seed=0).initializer == expected
    assert Network([4, 3, 2], "relu", initializer="normal", seed=0).initializer == "normal"


def test_network_layers_carry_the_initializers_statistics() -> None:
    net = Network([784, 256, 10], "relu", seed=0, dtype="float64")
    assert net.weights[0].std() == pytest.approx(math.sqrt(2 / 784), rel=0.02)
    assert net.weights[1].std() == pytest.approx(math.sqrt(2 / 256), rel=0.05)
    sig = Network([784, 256, 10], "sigmoid", seed=0, dtype="float64")
    assert np.abs(sig.weights[0]).max() <= math.sqrt(6 / (784 + 256))
    assert np.abs(sig.weights[1]).max() <= math.sqrt(6 / (256 + 10))
    for b in [*net.biases, *sig.biases]:
        np.testing.assert_array_equal(b, 0.0)


@pytest.mark.parametrize("bad", ["xavier", "", None])
def test_unknown_initializer_is_a_value_error(bad: object) -> None:
    with pytest.raises(ValueError, match="unknown initializer"):
        get_initializer(bad)  # type: ignore[arg-type]
    if bad:
        with pytest.raises(ValueError, match="unknown initializer"):
            Network([4, 3, 2], initializer=bad)  # type: ignore[arg-type]
