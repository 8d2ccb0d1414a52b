"""Tests for the network: the post's math by hand, raw-input prediction, validation, learning."""

from __future__ import annotations

import math

import numpy as np
import pytest

from glassnet import Network
from glassnet.engine import with_ones
from glassnet.preprocess import Standardizer


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


# ---------------------------------------------------------------------------- the math by hand


def test_zero_weights_by_hand() -> None:
    """All parameters zero, one sample of class 0: every number below is worked out on paper.

    A1 = sigmoid(0) = [1/2, 1/2]; P = softmax([0, 0]) = [1/2, 1/2]; C = ln 2.
    delta2 = P − Y = [−1/2, 1/2]; dC/dW2 = A1ᵀ delta2 = [[−1/4, 1/4], [−1/4, 1/4]];
    dC/db2 = delta2; delta1 = (delta2 @ W2ᵀ) * A1(1 − A1) = 0, so layer 1 gets no gradient.
    """
    net = Network([2, 2, 2], "sigmoid", dtype="float64")
    net.set_parameters([np.zeros((2, 2))] * 2, [np.zeros(2)] * 2)
    X, Y = np.array([[3.0, -1.0]]), np.array([[1.0, 0.0]])
    np.testing.assert_array_equal(net.layer_outputs(X)[0], [[0.5, 0.5]])
    np.testing.assert_array_equal(net.forward(X), [[0.5, 0.5]])
    assert net.loss(X, Y) == pytest.approx(math.log(2), rel=1e-15)
    gW, gb = net.backprop(X, Y)
    np.testing.assert_array_equal(gW[1], [[-0.25, 0.25], [-0.25, 0.25]])
    np.testing.assert_array_equal(gb[1], [-0.5, 0.5])
    np.testing.assert_array_equal(gW[0], np.zeros((2, 2)))
    np.testing.assert_array_equal(gb[0], [0.0, 0.0])


def test_second_layer_weights_by_hand() -> None:
    """W1 = 0, b1 = 0 (so A1 = [1/2, 1/2]), W2 = [[ln 3, 0], [0, 0]], one sample of class 1.

    Z2 = A1 @ W2 = [ln 3 / 2, 0] so P = [√3, 1] / (√3 + 1) and C = ln(√3 + 1).
    delta2 = P − Y = [√3/(√3+1), −√3/(√3+1)];
    delta1 = (delta2 @ W2ᵀ) * (1/4) = [ln 3 · √3/(√3+1) / 4, 0]; dC/dW1 = xᵀ delta1.
    """
    net = Network([2, 2, 2], "sigmoid", dtype="float64")
    ln3 = math.log(3.0)
    net.set_parameters([np.zeros((2, 2)), [[ln3, 0.0], [0.0, 0.0]]], [np.zeros(2)] * 2)
    X, Y = np.array([[2.0, -1.0]]), np.array([[0.0, 1.0]])
    r3 = math.sqrt(3.0)
    np.testing.assert_allclose(net.forward(X), [[r3 / (r3 + 1), 1 / (r3 + 1)]], rtol=1e-15)
    assert net.loss(X, Y) == pytest.approx(math.log(r3 + 1), rel=1e-14)
    gW, gb = net.backprop(X, Y)
    q = r3 / (r3 + 1)
    np.testing.assert_allclose(gb[1], [q, -q], rtol=1e-14)
    np.testing.assert_allclose(gW[1], [[q / 2, -q / 2], [q / 2, -q / 2]], rtol=1e-14)
    d1 = ln3 * q / 4
    np.testing.assert_allclose(gb[0], [d1, 0.0], rtol=1e-14, atol=1e-17)
    np.testing.assert_allclose(gW[0], [[2 * d1, 0.0], [-d1, 0.0]], rtol=1e-14, atol=1e-17)


def test_forward_and_backward_match_the_posts_column_form() -> None:
    """A 2-2-2 sigmoid network on three samples, computed the post's way with samples as columns.

    The post writes layer l as Θ_l a + b_l with Θ_l = W_lᵀ, and its gradient as
    ∇Θ C = (1/m)(Ŷ − Y) Aᵀ; glassnet's weight gradients must be exactly those, transposed.
    """
    theta1 = np.array([[0.15, -0.25], [0.20, 0.30]])  # (fan_out, fan_in): the post's shape
    b1 = np.array([0.35, -0.10])
    theta2 = np.array([[0.40, -0.45], [0.50, 0.55]])
    b2 = np.array([0.60, -0.20])
    X = np.array([[0.05, 0.10], [1.00, -2.00], [-0.50, 0.25]])  # rows are samples
    labels = np.array([0, 1, 1])
    m = 3

    # The post's column form.
    A0 = X.T  # (2, m)
    Y = np.zeros((2, m))
    Y[labels, np.arange(m)] = 1.0
    A1 = sigmoid(theta1 @ A0 + b1[:, None])
    Z2 = theta2 @ A1 + b2[:, None]
    Y_hat = np.exp(Z2) / np.exp(Z2).sum(axis=0, keepdims=True)
    cost = -np.sum(Y * np.log(Y_hat)) / m
    grad_theta2 = (Y_hat - Y) @ A1.T / m
    grad_b2 = (Y_hat - Y).sum(axis=1) / m
    delta1 = (theta2.T @ (Y_hat - Y)) * A1 * (1 - A1)
    grad_theta1 = delta1 @ A0.T / m
    grad_b1 = delta1.sum(axis=1) / m

    net = Network([2, 2, 2], "sigmoid", dtype="float64")
    net.set_parameters([theta1.T, theta2.T], [b1, b2])  # W_l = Θ_lᵀ
    np.testing.assert_allclose(net.layer_outputs(X)[0], A1.T, rtol=1e-15)
    np.testing.assert_allclose(net.forward(X), Y_hat.T, rtol=1e-15)
    assert net.loss(X, labels) == pytest.approx(cost, rel=1e-14)
    gW, gb = net.backprop(X, labels)
    np.testing.assert_allclose(gW[1], grad_theta2.T, rtol=1e-13)
    np.testing.assert_allclose(gW[0], grad_theta1.T, rtol=1e-13)
    np.testing.assert_allclose(gb[1], grad_b2, rtol=1e-13)
    np.testing.assert_allclose(gb[0], grad_b1, rtol=1e-13)
    # The gradient really is in (fan_in, fan_out) form: not symmetric here, so a missing
    # transpose could not pass the comparison above by accident.
    assert not np.allclose(grad_theta1, grad_theta1.T)


def test_backprop_takes_one_hot_or_integer_labels_alike() -> None:
    rng = np.random.default_rng(0)
    net = Network([4, 5, 3], "tanh", seed=0, dtype="float64")
    X, y = rng.normal(size=(6, 4)), rng.integers(0, 3, 6)
    a = net.backprop(X, y)
    b = net.backprop(X, np.eye(3)[y])
    for u, v in zip([*a[0], *a[1]], [*b[0], *b[1]], strict=True):
        np.testing.assert_array_equal(u, v)
    assert net.loss(X, y) == net.loss(X, np.eye(3)[y])


def test_backprop_returns_copies_and_leaves_parameters_alone() -> None:
    rng = np.random.default_rng(1)
    net = Network([3, 4, 2], "relu", seed=1, dtype="float64")
    before = net.get_flat_parameters()
    X = rng.normal(size=(5, 3))
    gW, _ = net.backprop(X, rng.integers(0, 2, 5))
    first = gW[0].copy()
    net.backprop(rng.normal(size=(5, 3)), rng.integers(0, 2, 5))
    np.testing.assert_array_equal(gW[0], first)
    np.testing.assert_array_equal(net.get_flat_parameters(), before)


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_a_scale_on_the_output_delta_scales_every_gradient(activation: str) -> None:
    """What plain SGD relies on when it folds -η into the backward pass."""
    rng = np.random.default_rng(2)
    net = Network([5, 6, 4, 3], activation, seed=2, dtype="float64")
    X, y = rng.normal(size=(7, 5)), rng.integers(0, 3, 7)
    plain_w, plain_b = net.backprop(X, y)
    engine, X1 = net.engine, with_ones(X)
    ws = engine._workspace(7)
    engine._forward(X1, ws)
    engine._backprop(X1, np.eye(3)[y], ws, scale=-0.05)
    params = engine.params
    for got, plain in zip(params.weight_grads + params.bias_grads, plain_w + plain_b, strict=True):
        assert np.abs(plain).max() > 0.0
        np.testing.assert_allclose(got, -0.05 * plain, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------------- structure


def test_parameter_count_and_shapes_of_the_posts_network() -> None:
    net = Network([784, 50, 50, 50, 50, 50, 50, 10], "sigmoid", seed=0)
    # 784·50 + 50 + 5·(50·50 + 50) + 50·10 + 10
    assert net.n_parameters == 39_250 + 12_750 + 510 == 52_510
    assert [W.shape for W in net.weights] == [(784, 50)] + [(50, 50)] * 5 + [(50, 10)]
    assert [b.shape for b in net.biases] == [(50,)] * 6 + [(10,)]
    assert (net.n_inputs, net.n_classes) == (784, 10)
    assert net.class_names == [str(i) for i in range(10)]
    assert repr(net) == (
        "Network(784-50-50-50-50-50-50-10, activation='sigmoid', initializer='glorot', "
        "dtype='float32')"
    )


def test_weights_and_biases_are_views_of_the_flat_parameters() -> None:
    net = Network([3, 4, 2], "relu", seed=0, dtype="float64")
    flat = net.get_flat_parameters()
    assert flat.shape == (net.n_parameters,)
    original = net.weights[1][0, 0]
    net.weights[1][0, 0] = 123.0  # writing through the view changes the flat vector...
    assert np.count_nonzero(net.get_flat_parameters() == 123.0) == 1
    assert np.count_nonzero(flat == 123.0) == 0  # ...but not an earlier copy of it
    net.set_flat_parameters(flat)
    assert net.weights[1][0, 0] == original
    np.testing.assert_array_equal(net.get_flat_parameters(), flat)
    with pytest.raises(ValueError, match="parameters"):
        net.set_flat_parameters(flat[:-1])


def test_set_parameters_checks_every_shape() -> None:
    net = Network([3, 4, 2], seed=0, dtype="float64")
    W = [np.ones((3, 4)), np.full((4, 2), 2.0)]
    b = [np.zeros(4), np.ones(2)]
    net.set_parameters(W, b)
    np.testing.assert_array_equal(net.weights[1], 2.0)
    with pytest.raises(ValueError, match="layer 2"):
        net.set_parameters([W[0], np.ones((2, 4))], b)
    with pytest.raises(ValueError, match="expected 2"):
        net.set_parameters(W[:1], b[:1])
    np.testing.assert_array_equal(net.weights[1], 2.0)  # a failed call changed nothing


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"layer_sizes": [5]}, "layer_sizes"),
        ({"layer_sizes": [5, 0, 2]}, "layer_sizes"),
        ({"layer_sizes": [5, 2.5, 2]}, "layer_sizes"),
        ({"layer_sizes": [5, True, 2]}, "layer_sizes"),
        ({"layer_sizes": [5, 3, 1]}, "2 classes"),
        ({"layer_sizes": [5, 2], "activation": "softplus"}, "unknown activation"),
        ({"layer_sizes": [5, 2], "dtype": "float16"}, "float32 or float64"),
        ({"layer_sizes": [5, 2], "dtype": "int64"}, "float32 or float64"),
        ({"layer_sizes": [5, 2], "class_names": ["a"]}, "class_names"),
    ],
)
def test_invalid_construction_is_a_value_error(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Network(**kwargs)


# ---------------------------------------------------------------------------- fresh networks


@pytest.mark.parametrize("activation", ["tanh", "relu", "leaky_relu"])
def test_fresh_ten_class_network_loss_is_near_ln_10(activation: str) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(0.0, 0.1, (500, 784))  # small inputs
    y = rng.integers(0, 10, 500)
    net = Network([784, 100, 10], activation, seed=0, dtype="float64")
    assert net.loss(X, y) == pytest.approx(math.log(10), abs=0.05)


def test_fresh_sigmoid_network_loss_is_near_ln_10() -> None:
    """Sigmoid outputs sit near 1/2, not 0, so the scores z_k ≈ ½ Σ_j W_jk share an offset per
    class with variance ¼ · 100 · r²/3 ≈ 0.45 (Glorot r² = 6/110): the loss sits about
    Var/2 ≈ 0.23 above ln 10."""
    rng = np.random.default_rng(0)
    X = rng.normal(0.0, 0.1, (500, 784))
    y = rng.integers(0, 10, 500)
    losses = [
        Network([784, 100, 10], "sigmoid", seed=s, dtype="float64").loss(X, y) for s in range(5)
    ]
    assert all(math.log(10) - 0.05 < loss < math.log(10) + 0.45 for loss in losses)
    # The post's standard normal start is far from chance: why Glorot is the default.
    post = Network([784, 100, 10], "sigmoid", initializer="normal", seed=0, dtype="float64")
    assert post.loss(X, y) > math.log(10) + 3


# ---------------------------------------------------------------------------- raw inputs


def test_predict_proba_predict_and_score_apply_the_standardizer() -> None:
    rng = np.random.default_rng(2)
    net = Network([6, 5, 3], "tanh", seed=2, dtype="float64")
    raw = rng.integers(0, 256, (10, 6)).astype(np.uint8)
    raw_copy = raw.copy()
    net.standardizer = Standardizer(np.array([100.0]), np.array([50.0]))
    expected = net.forward((raw.astype(np.float64) - 100.0) / 50.0)
    np.testing.assert_allclose(net.predict_proba(raw), expected, rtol=1e-15)
    predictions = net.predict(raw)
    np.testing.assert_array_equal(predictions, expected.argmax(axis=1))
    labels = predictions.copy()
    labels[:3] = (labels[:3] + 1) % 3  # three wrong on purpose
    assert net.score(raw, labels) == pytest.approx(0.7)
    np.testing.assert_array_equal(raw, raw_copy)  # the caller's array is left alone


def test_predict_accepts_images_and_flattens_them_row_major() -> None:
    rng = np.random.default_rng(3)
    net = Network([12, 4, 2], seed=3, dtype="float64")
    images = rng.normal(size=(5, 3, 4))
    np.testing.assert_allclose(net.predict_proba(images), net.forward(images.reshape(5, 12)))


def test_per_feature_standardizer_of_another_width_is_refused() -> None:
    net = Network([4, 3, 2], seed=0)
    net.standardizer = Standardizer(np.zeros(5), np.ones(5))
    with pytest.raises(ValueError, match="standardizer"):
        net.predict(np.zeros((2, 4)))


def test_without_a_standardizer_inputs_go_in_unchanged() -> None:
    rng = np.random.default_rng(4)
    net = Network([4, 3, 2], seed=0, dtype="float64")
    X = rng.normal(size=(3, 4))
    np.testing.assert_array_equal(net.predict_proba(X), net.forward(X))


# ---------------------------------------------------------------------------- validation


@pytest.mark.parametrize("method", ["forward", "predict", "predict_proba"])
def test_wrong_feature_count_names_the_expected_shape(method: str) -> None:
    net = Network([4, 3, 2], seed=0)
    with pytest.raises(ValueError, match=r"\(n, 4\).*\(3, 5\)"):
        getattr(net, method)(np.zeros((3, 5)))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("method", ["forward", "predict", "predict_proba", "loss", "score", "fit"])
def test_nan_or_infinite_pixels_are_refused(bad: float, method: str) -> None:
    net = Network([4, 3, 2], seed=0)
    X = np.zeros((3, 4))
    X[1, 2] = bad
    y = np.array([0, 1, 0])
    args = (X,) if method in ("forward", "predict", "predict_proba") else (X, y)
    with pytest.raises(ValueError, match="NaN or infinite"):
        getattr(net, method)(*args)


def test_fit_refuses_labels_outside_the_classes() -> None:
    net = Network([4, 3, 2], seed=0)
    with pytest.raises(ValueError, match=r"labels must lie in 0\.\.1, found 0\.\.2"):
        net.fit(np.zeros((3, 4)), np.array([0, 1, 2]), epochs=1)
    with pytest.raises(ValueError, match="labels"):
        net.fit(np.zeros((3, 4)), np.array([0, -1, 1]), epochs=1)
    with pytest.raises(ValueError, match="integers"):
        net.fit(np.zeros((3, 4)), np.array([0.0, 1.0, 0.5]), epochs=1)


def test_loss_refuses_labels_outside_the_classes() -> None:
    net = Network([4, 3, 2], seed=0)
    with pytest.raises(ValueError, match="labels"):
        net.loss(np.zeros((3, 4)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="one-hot"):
        net.loss(np.zeros((3, 4)), np.zeros((3, 3)))


def test_score_refuses_labels_outside_the_classes() -> None:
    net = Network([4, 3, 2], seed=0)
    with pytest.raises(ValueError, match="labels"):
        net.score(np.zeros((3, 4)), np.array([0, 1, 7]))
    with pytest.raises(ValueError, match="labels"):
        net.score(np.zeros((3, 4)), np.array([0, -1, 1]))


def test_length_mismatch_is_refused() -> None:
    net = Network([4, 3, 2], seed=0)
    with pytest.raises(ValueError, match="5 samples but 4 labels"):
        net.fit(np.zeros((5, 4)), np.zeros(4, int), epochs=1)
    with pytest.raises(ValueError, match="5 inputs"):
        net.score(np.zeros((5, 4)), np.zeros(4, int))
    with pytest.raises(ValueError, match=r"\(5, 2\)"):
        net.loss(np.zeros((5, 4)), np.zeros(4, int))


def test_non_numeric_inputs_are_refused() -> None:
    net = Network([2, 3, 2], seed=0)
    with pytest.raises(ValueError, match="numbers"):
        net.predict(np.array([["a", "b"]]))


# ---------------------------------------------------------------------------- learning


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "leaky_relu"])
def test_overfits_twenty_samples_to_full_training_accuracy(activation: str) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 10))
    y = rng.integers(0, 4, 20)  # random labels: only memorising can fit them
    net = Network([10, 32, 4], activation, seed=0, dtype="float64")
    history = net.fit(X, y, epochs=300, batch_size=5, learning_rate=0.1, optimizer="momentum")
    assert net.score(X, y) == 1.0
    assert history.rows[-1]["train_accuracy"] == 1.0
    assert history.rows[-1]["train_loss"] < 0.1


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_both_precisions_compute_and_learn(dtype: str) -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 5))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    net = Network([5, 8, 2], "tanh", seed=1, dtype=dtype)
    assert net.dtype == np.dtype(dtype)
    assert all(W.dtype == np.dtype(dtype) for W in [*net.weights, *net.biases])
    assert net.forward(X).dtype == np.dtype(dtype)
    gW, gb = net.backprop(X, y)
    assert all(g.dtype == np.dtype(dtype) for g in [*gW, *gb])
    history = net.fit(X, y, epochs=30, batch_size=10, learning_rate=0.2)
    assert history.rows[-1]["train_loss"] < 0.5 * history.rows[0]["train_loss"]
    assert net.score(X, y) > 0.9
    assert net.get_flat_parameters().dtype == np.dtype(dtype)


def test_float32_and_float64_agree_to_single_precision() -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(8, 6))
    y = rng.integers(0, 3, 8)
    n32 = Network([6, 5, 3], "sigmoid", seed=2, dtype="float32")
    n64 = Network([6, 5, 3], "sigmoid", seed=2, dtype="float64")
    np.testing.assert_allclose(n32.forward(X), n64.forward(X), rtol=1e-5, atol=1e-6)
    for a, b in zip(n32.backprop(X, y)[0], n64.backprop(X, y)[0], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


# ---------------------------------------------------------------------------- dropout


def forward_with_dropout(
    net: Network, X: np.ndarray, p: float, rng: np.random.Generator
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The training step's forward pass with dropout; returns ``P`` and each hidden layer's mask.

    Drives the NumPy engine's own forward pass on the prepared batch ``[X, 1]``.
    """
    ws = net.engine._workspace(len(X), True)
    P = net.engine._forward(with_ones(X), ws, p, rng).copy()
    return P, [mask.copy() for mask in ws.masks]


def masked_loss(net: Network, X: np.ndarray, Y: np.ndarray, masks: list[np.ndarray]) -> float:
    """The loss with fixed dropout masks, in plain NumPy: A_l = tanh(A_{l-1} W_l + b_l) · mask_l."""
    A = X
    for W, b, mask in zip(net.weights[:-1], net.biases[:-1], masks, strict=True):
        A = np.tanh(A @ W + b) * mask
    Z = A @ net.weights[-1] + net.biases[-1]
    Z = Z - Z.max(axis=1, keepdims=True)
    log_p = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    return float(-np.mean(np.sum(Y * log_p, axis=1)))


def test_dropout_masks_zero_about_p_of_the_units_and_scale_the_rest() -> None:
    rng = np.random.default_rng(0)
    net = Network([20, 300, 200, 4], "relu", seed=0, dtype="float64")
    X = rng.normal(size=(250, 20))
    p = 0.3
    P, masks = forward_with_dropout(net, X, p, np.random.default_rng(1))
    assert len(masks) == 2
    for mask in masks:
        assert set(np.unique(mask)) == {0.0, 1.0 / (1.0 - p)}
        # 50,000+ units: the dropped fraction is within 0.01 of p (about 5 standard deviations).
        assert np.mean(mask == 0.0) == pytest.approx(p, abs=0.01)
    assert not np.array_equal(masks[0][0], masks[0][1])  # a fresh draw for every sample
    np.testing.assert_allclose(P.sum(axis=1), 1.0)


def test_dropout_forward_applies_its_masks_to_hidden_outputs() -> None:
    rng = np.random.default_rng(2)
    net = Network([5, 6, 4, 3], "tanh", seed=2, dtype="float64")
    for b in net.biases:
        b[...] = rng.normal(size=b.shape)
    X = rng.normal(size=(7, 5))
    P, masks = forward_with_dropout(net, X, 0.5, np.random.default_rng(3))
    A = X
    for W, b, mask in zip(net.weights[:-1], net.biases[:-1], masks, strict=True):
        A = np.tanh(A @ W + b) * mask
    Z = A @ net.weights[-1] + net.biases[-1]
    expected = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(P, expected, rtol=1e-12)
    assert not np.allclose(P, net.forward(X))  # dropout did change the output


def test_inverted_dropout_keeps_the_expected_activation() -> None:
    """Scaling survivors by 1/(1-p) keeps E[masked output] equal to the output without dropout."""
    rng = np.random.default_rng(4)
    net = Network([10, 400, 3], "relu", seed=4, dtype="float64")
    X = np.repeat(rng.normal(size=(1, 10)), 2000, axis=0)  # one input, many dropout draws
    ws = net.engine._workspace(len(X), True)
    net.engine._forward(with_ones(X), ws, 0.5, np.random.default_rng(5))
    plain = np.maximum(X[:1] @ net.weights[0] + net.biases[0], 0.0)
    masked_mean = (plain * ws.masks[0]).mean(axis=0)
    assert masked_mean.sum() == pytest.approx(plain.sum(), rel=0.02)


def test_dropout_is_off_at_evaluation() -> None:
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(40, 6)), rng.integers(0, 3, 40)
    net = Network([6, 16, 3], "relu", seed=5)
    net.fit(X, y, epochs=2, dropout=0.5)
    first = net.predict_proba(X)
    np.testing.assert_array_equal(net.predict_proba(X), first)
    np.testing.assert_array_equal(net.forward(net.prepare(X)), first)
    np.testing.assert_allclose(net.engine.forward(with_ones(net.prepare(X))), first, rtol=1e-6)


def test_dropout_gradient_matches_finite_differences_with_the_same_mask() -> None:
    rng = np.random.default_rng(6)
    net = Network([4, 6, 5, 3], "tanh", seed=6, dtype="float64")
    for b in net.biases:
        b[...] = rng.normal(0.0, 0.5, b.shape)
    X = rng.normal(size=(5, 4))
    Y = np.eye(3)[rng.integers(0, 3, 5)]
    engine, X1 = net.engine, with_ones(X)
    ws = engine._workspace(len(X), True)
    engine._forward(X1, ws, 0.4, np.random.default_rng(7))
    masks = [mask.copy() for mask in ws.masks]
    assert any((mask == 0).any() for mask in masks)
    engine._backprop(X1, Y, ws, 0.4)
    analytic = engine.params.grad.copy()

    flat = net.get_flat_parameters()
    numeric = np.zeros_like(flat)
    h = 1e-5
    for i in range(flat.size):
        for sign in (1.0, -1.0):
            nudged = flat.copy()
            nudged[i] += sign * h
            net.set_flat_parameters(nudged)
            numeric[i] += sign * masked_loss(net, X, Y, masks) / (2 * h)
    net.set_flat_parameters(flat)
    error = np.linalg.norm(analytic - numeric) / (
        np.linalg.norm(analytic) + np.linalg.norm(numeric)
    )
    assert error < 1e-7
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("a\nb", "U[+]000A"),
        ("\x1b[2Jx", "U[+]001B"),
        ("\u202eab", "U[+]202E"),
        ("x" * 150, "150 char"),
        ("", "is empty"),
        ("\udcff", "UTF-8"),
    ],
)
def test_a_class_name_a_model_file_could_not_hold_is_refused_when_the_network_is_made(
    name: str, problem: str
) -> None:
    """Checked at the door, not after training when the model file cannot be written."""
    with pytest.raises(ValueError, match=problem):
        Network([3, 4, 2], class_names=["fine", name])
