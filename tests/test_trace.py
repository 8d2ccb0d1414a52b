"""Tests for glassnet.trace: every quantity of the post's equations, equal to backprop's gradients."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet import Network
from glassnet.gradcheck import numerical_gradients, relative_error
from glassnet.preprocess import one_hot
from glassnet.reference import ReferenceNetwork, one_hot_columns

ACTIVATIONS = ["sigmoid", "tanh", "relu", "leaky_relu"]


def batch(network: Network, m: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, network.n_inputs)).astype(network.dtype)
    return X, rng.integers(0, network.n_classes, m)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_trace_equals_backprop(activation: str, dtype: str) -> None:
    net = Network([20, 7, 6, 5], activation, seed=0, dtype=dtype)
    for b in net.biases:  # non-zero biases, so their gradients are not trivially zero either
        b[...] = np.random.default_rng(2).normal(0.0, 0.5, b.shape)
    X, y = batch(net, 11)
    trace = net.trace(X, y)
    weight_gradients, bias_gradients = net.backprop(X, y)
    tolerance = 1e-12 if dtype == "float64" else 2e-5
    assert len(trace.weight_gradients) == len(weight_gradients) == 3
    for ours, theirs in zip(trace.weight_gradients, weight_gradients, strict=True):
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
        assert relative_error(ours, theirs) < tolerance
    for ours, theirs in zip(trace.bias_gradients, bias_gradients, strict=True):
        assert ours.shape == theirs.shape
        assert relative_error(ours, theirs) < tolerance
    assert trace.loss == pytest.approx(net.loss(X, y), rel=tolerance * 10)
    np.testing.assert_allclose(trace.Y_hat.T, net.forward(X), rtol=tolerance * 10, atol=1e-7)


def test_the_post_example_has_the_post_shapes() -> None:
    """784-3-10 and a batch of 75: Z⁽²⁾ 10×75, A⁽²⁾ 3×75, ∇Θ⁽²⁾C 10×3, ∇Θ⁽¹⁾C 3×784, ∇b⁽¹⁾C 3×1."""
    net = Network([784, 3, 10], "sigmoid", initializer="normal", seed=0, dtype="float64")
    X, y = batch(net, 75)
    trace = net.trace(X, y)
    first, second = trace.layers
    assert (first.index, second.index) == (1, 2)
    assert first.A.shape == (784, 75) and np.array_equal(first.A, X.T)  # A⁽¹⁾ = X
    assert first.theta.shape == (3, 784) and first.b.shape == (3, 1)
    assert first.Z.shape == (3, 75) and first.output.shape == (3, 75)
    assert second.A.shape == (3, 75) and second.A is first.output  # A⁽²⁾ = σ(Z⁽¹⁾)
    assert second.Z.shape == (10, 75) and trace.Y_hat.shape == (10, 75)
    assert second.nabla_theta.shape == (10, 3) and second.nabla_b.shape == (10, 1)
    assert first.nabla_theta.shape == (3, 784) and first.nabla_b.shape == (3, 1)
    assert first.delta.shape == (3, 75) and second.delta.shape == (10, 75)
    assert trace.m == 75 and trace.Y.shape == (10, 75)


def test_each_quantity_is_its_equation() -> None:
    """Z = ΘA + b, A = σ(Z), Ŷ = softmax(Z), δ⁽ᴸ⁾ = Ŷ − Y, ∇Θ C = (1/m) δ Aᵀ, δ one layer back."""
    net = Network([12, 5, 4, 3], "sigmoid", seed=3, dtype="float64")
    X, y = batch(net, 9)
    t = net.trace(X, y)
    for layer, W, b in zip(t.layers, net.weights, net.biases, strict=True):
        np.testing.assert_allclose(layer.Z, W.T @ layer.A + b[:, None], rtol=1e-13)
        np.testing.assert_allclose(layer.nabla_theta, layer.delta @ layer.A.T / 9, rtol=1e-13)
        np.testing.assert_allclose(layer.nabla_b[:, 0], layer.delta.mean(axis=1), rtol=1e-12)
    for below, above in zip(t.layers, t.layers[1:], strict=False):
        np.testing.assert_allclose(below.output, 1 / (1 + np.exp(-below.Z)), rtol=1e-13)
        sigma_prime = below.output * (1 - below.output)
        np.testing.assert_allclose(below.delta, (above.theta.T @ above.delta) * sigma_prime)
    assert np.array_equal(t.layers[-1].delta, t.Y_hat - one_hot(y, 3, np.float64).T)
    np.testing.assert_allclose(t.Y_hat.sum(axis=0), 1.0)


def test_the_gradients_match_central_differences() -> None:
    net = Network([6, 4, 3], "tanh", seed=5, dtype="float64")
    X, y = batch(net, 7)
    trace = net.trace(X, y)
    numeric_w, numeric_b = numerical_gradients(net, X, one_hot(y, 3, np.float64))
    for ours, numeric in zip(trace.weight_gradients, numeric_w, strict=True):
        assert relative_error(ours, numeric) < 1e-8
    for ours, numeric in zip(trace.bias_gradients, numeric_b, strict=True):
        assert relative_error(ours, numeric) < 1e-8


def test_the_trace_is_the_reference_arithmetic() -> None:
    """The same numbers as ReferenceNetwork.backprop, the oracle, from the same weights."""
    ref = ReferenceNetwork([10, 6, 4], "relu", seed=4)
    net = Network([10, 6, 4], "relu", seed=4, dtype="float64")
    net.set_parameters([t.T for t in ref.thetas], [b[:, 0] for b in ref.biases])
    X, y = batch(net, 8)
    nabla_theta, nabla_b = ref.backprop(X.T, one_hot_columns(y, 4, "float64"))
    trace = net.trace(X, y)
    for layer, theta_gradient, b_gradient in zip(trace.layers, nabla_theta, nabla_b, strict=True):
        np.testing.assert_array_equal(layer.nabla_theta, theta_gradient)
        np.testing.assert_array_equal(layer.nabla_b, b_gradient)


def test_a_broken_derivative_shows_in_the_trace_and_not_in_backprop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The comparison with backprop can fail: a wrong σ' changes the first layer's gradient."""
    from glassnet import reference

    net = Network([8, 5, 3], "sigmoid", seed=0, dtype="float64")
    X, y = batch(net, 6)
    sigmoid, _ = reference.ACTIVATIONS["sigmoid"]
    monkeypatch.setitem(reference.ACTIVATIONS, "sigmoid", (sigmoid, lambda a: a))
    trace = net.trace(X, y)
    weight_gradients, _ = net.backprop(X, y)
    assert relative_error(trace.weight_gradients[1], weight_gradients[1]) < 1e-12
    assert relative_error(trace.weight_gradients[0], weight_gradients[0]) > 1e-2


def test_gradient_norms_and_checks() -> None:
    net = Network([8, 5, 3], "sigmoid", seed=0, dtype="float64")
    X, y = batch(net, 6)
    trace = net.trace(X, y)
    norms = trace.gradient_norms()
    expected = [float(np.linalg.norm(g)) for g in net.backprop(X, y)[0]]
    assert norms == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="expected inputs of shape"):
        net.trace(X[:, :4], y)
    with pytest.raises(ValueError, match="one-hot targets"):
        net.trace(X, y[:3])
    with pytest.raises(ValueError, match="unknown activation"):
        ReferenceNetwork.from_arrays(net.weights, net.biases, "swish")


def test_the_trace_does_not_change_the_network() -> None:
    net = Network([8, 5, 3], "sigmoid", seed=0)
    before = net.get_flat_parameters()
    X, y = batch(net, 6)
    trace = net.trace(X, y)
    assert np.array_equal(net.get_flat_parameters(), before)
    assert trace.layers[0].theta.base is not None  # a view of the weights, not a copy
    assert trace.Y_hat.dtype == np.float32
