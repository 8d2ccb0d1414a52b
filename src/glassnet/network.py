"""A fully connected network with a softmax output, and backpropagation in matrix form.

This module is the post's network. Rows are samples: a batch ``X`` is ``(m, n_features)``, a layer's
weights ``W`` are ``(fan_in, fan_out)`` and its biases ``b`` are ``(fan_out,)``. Layer ``l`` computes::

    Z_l = A_{l-1} @ W_l + b_l          A_0 = X
    A_l = f(Z_l)                       f = sigmoid (or tanh, relu, leaky relu) for hidden layers
    P   = softmax(Z_L)                 the output layer: class probabilities

The post writes the same math with samples as columns, ``Θ_l a + b``, so its ``Θ_l`` is our ``W_lᵀ``.
Its gradient ``∇Θ C = (1/m)(Ŷ − Y) Aᵀ`` becomes, transposed into rows-as-samples form::

    delta_L = (P − Y) / m                          output delta (softmax + categorical cross-entropy)
    dC/dW_l = A_{l-1}ᵀ @ delta_l                   = (∇Θ_l C)ᵀ
    dC/db_l = sum of delta_l over the batch rows
    delta_{l-1} = (delta_l @ W_lᵀ) * f'(Z_{l-1})   the chain rule, one layer back

(see :mod:`glassnet.losses` for why the output delta is ``P − Y``: it needs the *categorical*
cross-entropy, which glassnet trains with, rather than the post's sum of binary cross-entropies).

For speed every parameter lives in one flat array, weights first and biases after, and ``weights`` and
``biases`` are views into it; the gradients likewise. An optimizer can then update the whole network
in one or two NumPy calls, and the forward and backward passes write into buffers allocated once per
batch size. This is the only implementation: the code the gradient checks test is the code that trains.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from glassnet.activations import ACTIVATIONS, Activation, get_activation
from glassnet.datasets.preprocess import Standardizer, flatten_images, one_hot
from glassnet.initializers import DEFAULT_INITIALIZER, get_initializer
from glassnet.losses import cross_entropy, softmax, softmax_cross_entropy_delta

if TYPE_CHECKING:
    from glassnet.training import History

Array = NDArray[np.floating]
SUPPORTED_DTYPES = ("float32", "float64")


def _as_generator(seed: int | np.random.Generator | None) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


class _Workspace:
    """Buffers for one batch size: each layer's outputs, deltas and scratch, allocated once."""

    def __init__(self, network: Network, m: int, dropout: bool) -> None:
        sizes, dtype = network.layer_sizes, network.dtype
        self.m = m
        self.outputs = [np.empty((m, n), dtype) for n in sizes[1:]]  # A_1 .. A_L (A_L = P)
        self.deltas = [np.empty((m, n), dtype) for n in sizes[1:]]
        self.scratch = [np.empty((m, n), dtype) for n in sizes[1:-1]]
        # With dropout, the next layer reads the masked copy; the derivative needs the unmasked output.
        self.masks = [np.empty((m, n), dtype) for n in sizes[1:-1]] if dropout else []
        self.dropped = [np.empty((m, n), dtype) for n in sizes[1:-1]] if dropout else []


class Network:
    """A multilayer perceptron: hidden layers of one activation, a softmax output.

    Parameters
    ----------
    layer_sizes : sequence of int
        Units per layer, inputs first and classes last: ``[784, 50, 50, 10]``.
    activation : {"sigmoid", "tanh", "relu", "leaky_relu"}
        The hidden layers' activation.
    initializer : {"normal", "glorot", "he"}, optional
        How to draw the first weights; by default Glorot for sigmoid and tanh, He for the ReLUs.
        ``"normal"`` is the post's standard normal.
    seed : int or numpy.random.Generator, optional
        Source of the initial weights.
    dtype : {"float32", "float64"}
        Precision of parameters and computation.
    class_names : sequence of str, optional
        A name per output class; ``"0"``, ``"1"``, ... by default.

    Attributes
    ----------
    weights : list of (fan_in, fan_out) arrays
    biases : list of (fan_out,) arrays
    standardizer : Standardizer or None
        Applied by ``predict``, ``predict_proba``, ``score`` and ``fit`` to raw inputs; ``forward``,
        ``loss`` and ``backprop`` take inputs that are already standardized.
    """

    def __init__(
        self,
        layer_sizes: Sequence[int],
        activation: str = "sigmoid",
        *,
        initializer: str | None = None,
        seed: int | np.random.Generator | None = None,
        dtype: DTypeLike = "float32",
        class_names: Sequence[str] | None = None,
    ) -> None:
        sizes = list(layer_sizes)
        if len(sizes) < 2 or not all(
            isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n > 0 for n in sizes
        ):
            raise ValueError(
                f"layer_sizes must be at least two positive whole numbers, got {layer_sizes!r}"
            )
        if sizes[-1] < 2:
            raise ValueError("a softmax output needs at least 2 classes")
        self.layer_sizes: list[int] = [int(n) for n in sizes]
        self.activation: str = activation
        self._activation: Activation = get_activation(activation)
        self.initializer: str = initializer or DEFAULT_INITIALIZER[activation]
        init = get_initializer(self.initializer)
        name = np.dtype(dtype).name if _is_dtype(dtype) else str(dtype)
        if name not in SUPPORTED_DTYPES:
            raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
        self.dtype: np.dtype[Any] = np.dtype(name)
        n_classes = self.layer_sizes[-1]
        names = [str(i) for i in range(n_classes)] if class_names is None else list(class_names)
        if len(names) != n_classes:
            raise ValueError(f"class_names has {len(names)} names for {n_classes} classes")
        self.class_names: list[str] = names
        self.standardizer: Standardizer | None = None
        self.training_settings: dict[str, Any] = {}
        self.metrics: dict[str, Any] = {}

        shapes = list(zip(self.layer_sizes[:-1], self.layer_sizes[1:]))
        n_weights = sum(a * b for a, b in shapes)
        self._params = np.zeros(n_weights + sum(self.layer_sizes[1:]), self.dtype)
        self._grads = np.zeros_like(self._params)
        self.weights: list[Array] = _views(self._params, shapes, 0)
        self.biases: list[Array] = _views(self._params, [(b,) for _, b in shapes], n_weights)
        self._weight_grads = _views(self._grads, shapes, 0)
        self._bias_grads = _views(self._grads, [(b,) for _, b in shapes], n_weights)
        self._n_weights = n_weights
        self._workspaces: dict[tuple[int, bool], _Workspace] = {}

        rng = _as_generator(seed)
        for W, b in zip(self.weights, self.biases):
            W0, b0 = init(W.shape[0], W.shape[1], rng)
            W[...] = W0
            b[...] = b0

    # ------------------------------------------------------------------ parameters
    @property
    def n_parameters(self) -> int:
        """Number of weights and biases: 52,510 for the post's 784-50x6-10 network."""
        return int(self._params.size)

    @property
    def n_inputs(self) -> int:
        return self.layer_sizes[0]

    @property
    def n_classes(self) -> int:
        return self.layer_sizes[-1]

    @property
    def parameter_groups(self) -> tuple[list[Array], list[Array], list[bool]]:
        """``(params, grads, decay)`` as the optimizers take them: all weights, then all biases.

        Both are single flat arrays, so an optimizer updates the network in a few NumPy calls; weight
        decay applies to the first group only, never to biases.
        """
        w, b = self._params[: self._n_weights], self._params[self._n_weights :]
        gw, gb = self._grads[: self._n_weights], self._grads[self._n_weights :]
        return [w, b], [gw, gb], [True, False]

    def get_flat_parameters(self) -> Array:
        """A copy of every parameter in one vector (weights, then biases)."""
        return self._params.copy()

    def set_flat_parameters(self, flat: ArrayLike) -> None:
        """Overwrite every parameter from a vector made by :meth:`get_flat_parameters`."""
        values = np.asarray(flat)
        if values.shape != self._params.shape:
            raise ValueError(f"expected {self._params.size} parameters, got shape {values.shape}")
        self._params[...] = values

    def set_parameters(self, weights: Sequence[ArrayLike], biases: Sequence[ArrayLike]) -> None:
        """Copy in new weights and biases after checking every shape against ``layer_sizes``."""
        if len(weights) != len(self.weights) or len(biases) != len(self.biases):
            raise ValueError(
                f"expected {len(self.weights)} weight and bias arrays, got "
                f"{len(weights)} and {len(biases)}"
            )
        for i, (W, b) in enumerate(zip(weights, biases)):
            W, b = np.asarray(W), np.asarray(b)
            if W.shape != self.weights[i].shape or b.shape != self.biases[i].shape:
                raise ValueError(
                    f"layer {i + 1}: expected weights {self.weights[i].shape} and biases "
                    f"{self.biases[i].shape}, got {W.shape} and {b.shape}"
                )
        for i, (W, b) in enumerate(zip(weights, biases)):
            self.weights[i][...] = W
            self.biases[i][...] = b

    # ------------------------------------------------------------------ the math
    def _workspace(self, m: int, dropout: bool = False) -> _Workspace:
        key = (m, dropout)
        ws = self._workspaces.get(key)
        if ws is None:
            if len(self._workspaces) > 8:  # odd batch sizes (a last partial batch) come and go
                self._workspaces.clear()
            ws = self._workspaces[key] = _Workspace(self, m, dropout)
        return ws

    def _forward(
        self,
        X: Array,
        ws: _Workspace,
        dropout: float = 0.0,
        rng: np.random.Generator | None = None,
    ) -> Array:
        """Forward pass into the workspace; returns the probabilities ``P`` (a view into it).

        ``X`` must already be standardized, of the network's dtype and ``(ws.m, n_inputs)``.
        With ``dropout > 0`` each hidden unit is zeroed with that probability and the survivors are
        scaled by ``1 / (1 - dropout)`` (inverted dropout), so evaluation needs no rescaling.
        """
        A_prev = X
        last = len(self.weights) - 1
        for l, (W, b) in enumerate(zip(self.weights, self.biases)):
            Z = ws.outputs[l]
            np.matmul(A_prev, W, out=Z)
            Z += b
            if l == last:
                return softmax(Z, out=Z)
            self._activation.forward(Z, out=Z)
            if dropout > 0.0 and rng is not None:
                mask = ws.masks[l]
                rng.random(out=mask, dtype=self.dtype)
                np.greater_equal(mask, dropout, out=mask)
                mask *= 1.0 / (1.0 - dropout)
                A_prev = np.multiply(Z, mask, out=ws.dropped[l])
            else:
                A_prev = Z
        raise AssertionError("unreachable: a network has at least one layer")

    def _backprop(self, X: Array, Y: Array, ws: _Workspace, dropout: float = 0.0) -> None:
        """Backward pass after :meth:`_forward` on the same batch; writes gradients into ``_grads``."""
        delta = softmax_cross_entropy_delta(ws.outputs[-1], Y, out=ws.deltas[-1])
        for l in range(len(self.weights) - 1, -1, -1):
            if l == 0:
                A_prev = X
            else:
                A_prev = ws.dropped[l - 1] if dropout > 0.0 else ws.outputs[l - 1]
            np.matmul(A_prev.T, delta, out=self._weight_grads[l])  # dC/dW_l = A_{l-1}ᵀ delta_l
            np.sum(delta, axis=0, out=self._bias_grads[l])  # dC/db_l
            if l == 0:
                break  # the inputs need no gradient
            back = np.matmul(delta, self.weights[l].T, out=ws.deltas[l - 1])  # dC/dA_{l-1}
            if dropout > 0.0:
                back *= ws.masks[l - 1]
            delta = self._activation.backward(ws.outputs[l - 1], back, ws.scratch[l - 1])

    def forward(self, X: ArrayLike) -> Array:
        """Class probabilities for standardized inputs.

        Parameters
        ----------
        X : (n, n_inputs) array
            Inputs, already standardized.

        Returns
        -------
        P : (n, n_classes) array
        """
        return self.layer_outputs(X)[-1]

    def layer_outputs(self, X: ArrayLike) -> list[Array]:
        """Every layer's output ``[A_1, ..., A_L]`` for standardized inputs; ``A_L`` is ``P``."""
        data = self._check_inputs(X)
        outputs: list[Array] = []
        A = data
        for l, (W, b) in enumerate(zip(self.weights, self.biases)):
            Z = A @ W
            Z += b
            A = softmax(Z, out=Z) if l == len(self.weights) - 1 else self._activation.forward(Z, Z)
            outputs.append(A)
        return outputs

    def loss(self, X: ArrayLike, Y: ArrayLike) -> float:
        """Mean categorical cross-entropy of standardized inputs ``X`` against one-hot ``Y``."""
        P = self.forward(X)
        return cross_entropy(P, self._check_targets(Y, P.shape[0]))

    def backprop(self, X: ArrayLike, Y: ArrayLike) -> tuple[list[Array], list[Array]]:
        """The post's ``backprop``: gradients of the mean loss over the batch.

        Parameters
        ----------
        X : (m, n_inputs) array
            Standardized inputs.
        Y : (m, n_classes) array
            One-hot labels.

        Returns
        -------
        weight_gradients : list of (fan_in, fan_out) arrays, matching ``weights``
        bias_gradients : list of (fan_out,) arrays, matching ``biases``
        """
        data = self._check_inputs(X)
        targets = self._check_targets(Y, data.shape[0])
        ws = self._workspace(data.shape[0])
        self._forward(data, ws)
        self._backprop(data, targets, ws)
        return [g.copy() for g in self._weight_grads], [g.copy() for g in self._bias_grads]

    # ------------------------------------------------------------------ raw inputs
    def prepare(self, X: ArrayLike) -> Array:
        """Raw inputs (images or rows) to standardized rows of the network's dtype."""
        rows = flatten_images(X)
        data = self._check_inputs(rows, copy=self.standardizer is None)
        if self.standardizer is not None:
            if self.standardizer.n_features not in (None, self.n_inputs):
                raise ValueError("the standardizer was fitted on a different number of features")
            data = self.standardizer.transform(data, self.dtype)
        return data

    def predict_proba(self, X: ArrayLike) -> Array:
        """Class probabilities ``(n, n_classes)`` for raw inputs ``(n, n_inputs)`` or images."""
        return self.forward(self.prepare(X))

    def predict(self, X: ArrayLike) -> NDArray[np.intp]:
        """The most probable class index for each raw input, shape ``(n,)``."""
        return np.argmax(self.predict_proba(X), axis=1)

    def score(self, X: ArrayLike, y: ArrayLike) -> float:
        """Accuracy: the fraction of raw inputs whose predicted class equals the label ``y``."""
        labels = np.asarray(y)
        data = self.prepare(X)
        if labels.shape != (data.shape[0],):
            raise ValueError(f"{data.shape[0]} inputs but labels of shape {labels.shape}")
        predictions = np.concatenate(
            [np.argmax(self.forward(data[i : i + 8192]), axis=1) for i in range(0, len(data), 8192)]
        ) if len(data) else np.empty(0, np.intp)
        return float(np.mean(predictions == labels)) if len(labels) else float("nan")

    def fit(self, X: ArrayLike, y: ArrayLike, **settings: Any) -> History:
        """Train on raw inputs ``X`` ``(n, n_inputs)`` and integer labels ``y`` ``(n,)``.

        Keyword arguments are the fields of :class:`glassnet.training.TrainConfig` (``epochs``,
        ``batch_size``, ``learning_rate``, ``optimizer``, ...) plus ``validation_data=(X_val, y_val)``,
        ``verbose`` and ``callbacks``; see :func:`glassnet.training.train`.
        """
        from glassnet.training import train

        return train(self, X, y, **settings)

    def save(self, path: str | Path, **metadata: Any) -> Path:
        """Write the network to a safe model file (see :mod:`glassnet.modelfile`)."""
        from glassnet.modelfile import save_model

        save_model(path, self, **metadata)
        return Path(path)

    # ------------------------------------------------------------------ checks
    def _check_inputs(self, X: ArrayLike, copy: bool = False) -> Array:
        data = np.asarray(X)
        if data.ndim != 2 or data.shape[1] != self.n_inputs:
            raise ValueError(
                f"expected inputs of shape (n, {self.n_inputs}), got {data.shape}"
            )
        if not (np.issubdtype(data.dtype, np.number) or data.dtype == np.bool_):
            raise ValueError(f"inputs must be numbers, got dtype {data.dtype}")
        data = np.array(data, dtype=self.dtype, order="C", copy=copy or None)
        if not np.all(np.isfinite(data)):
            raise ValueError("inputs contain NaN or infinite values")
        return data

    def _check_targets(self, Y: ArrayLike, m: int) -> Array:
        targets = np.asarray(Y)
        if targets.ndim == 1:
            targets = one_hot(targets, self.n_classes, self.dtype)
        if targets.shape != (m, self.n_classes):
            raise ValueError(f"expected one-hot targets of shape ({m}, {self.n_classes}), "
                             f"got {targets.shape}")
        return np.ascontiguousarray(targets, dtype=self.dtype)

    def __repr__(self) -> str:
        sizes = "-".join(map(str, self.layer_sizes))
        return (f"Network({sizes}, activation={self.activation!r}, "
                f"initializer={self.initializer!r}, dtype={self.dtype.name!r})")


def _is_dtype(value: object) -> bool:
    try:
        np.dtype(value)  # type: ignore[call-overload]
    except TypeError:
        return False
    return True


def _views(flat: Array, shapes: Sequence[tuple[int, ...]], start: int) -> list[Array]:
    views, offset = [], start
    for shape in shapes:
        size = int(np.prod(shape))
        views.append(flat[offset : offset + size].reshape(shape))
        offset += size
    return views


def load(path: str | Path) -> Network:
    """Read a network written by :meth:`Network.save`; every field is validated first."""
    from glassnet.modelfile import load_model

    return load_model(path)


__all__ = ["ACTIVATIONS", "Network", "load"]
