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

How the arrays are laid out, for speed. Each layer's parameters are one block ``Wb_l`` of shape
``(fan_in + 1, fan_out)``: the weights ``W_l`` with the biases ``b_l`` as an extra last row. Every
layer's input carries a constant 1 as its last column, so that::

    Z_l = [A_{l-1}, 1] @ Wb_l  =  A_{l-1} @ W_l + b_l
    dC/dWb_l = [A_{l-1}, 1]ᵀ @ delta_l                 last row: dC/db_l, the column sums of delta_l

one matrix product each, instead of a product, a bias addition and a reduction. All the blocks live
in one flat array (``weights`` and ``biases`` are views into it), the gradients likewise, so an
optimizer updates the whole network in a few NumPy calls; and the forward and backward passes write
into buffers allocated once per batch size. At small batches the time of a step goes to the number
of NumPy calls, not to arithmetic, and this layout roughly halves that number. It is the only
implementation: the code the gradient checks test is the code that trains.
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
    """Buffers for one batch size ``m``, allocated once and reused by every step.

    ``activations[l]`` holds layer ``l``'s output ``A_l`` (contiguous, where the activation works in
    place); ``inputs`` and ``outputs[l]`` hold ``[A, 1]``, the same values with the ones column that
    the next layer's product reads.
    """

    def __init__(self, network: Network, m: int, dropout: bool) -> None:
        sizes, dtype = network.layer_sizes, network.dtype
        hidden = sizes[1:-1]
        self.m = m
        self.inputs = _with_ones_column(np.empty((m, sizes[0]), dtype))
        self.activations = [np.empty((m, n), dtype) for n in sizes[1:]]  # A_1 .. A_L (A_L = P)
        self.outputs = [_with_ones_column(np.empty((m, n), dtype)) for n in hidden]
        self.output_values = [out[:, :-1] for out in self.outputs]  # the A part of [A, 1]
        self.outputs_T = [out.T for out in self.outputs]  # [A, 1]ᵀ, for the gradient products
        self.deltas = [np.empty((m, n), dtype) for n in sizes[1:]]
        self.scratch = [np.empty((m, n), dtype) for n in hidden]
        self.masks = [np.empty((m, n), dtype) for n in hidden] if dropout else []
        self.row = np.empty((m, 1), dtype)  # softmax's row maxima and sums
        self.probabilities = self.activations[-1]  # where the last forward pass wrote P


def _with_ones_column(A: Array) -> Array:
    """``[A, 1]``: a copy of ``A`` with a last column of ones, the input that multiplies biases."""
    out = np.empty((A.shape[0], A.shape[1] + 1), A.dtype)
    out[:, :-1] = A
    out[:, -1] = 1.0
    return out


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

        shapes = [
            (a + 1, b) for a, b in zip(self.layer_sizes[:-1], self.layer_sizes[1:], strict=False)
        ]
        self._params = np.zeros(sum(a * b for a, b in shapes), self.dtype)
        self._grads = np.zeros_like(self._params)
        self._blocks = _views(self._params, shapes)  # Wb_l = [W_l; b_l], (fan_in + 1, fan_out)
        self._grad_blocks = _views(self._grads, shapes)
        self.weights: list[Array] = [block[:-1] for block in self._blocks]
        self.biases: list[Array] = [block[-1] for block in self._blocks]
        self._weights_T = [W.T for W in self.weights]  # views, made once for the backward pass
        self._hidden_blocks = self._blocks[:-1]
        self._weight_grads = [block[:-1] for block in self._grad_blocks]
        self._bias_grads = [block[-1] for block in self._grad_blocks]
        # 1 for weights, 0 for biases: weight decay never applies to biases.
        self._decay_mask = np.zeros_like(self._params)
        for block in _views(self._decay_mask, shapes):
            block[:-1] = 1.0
        self._workspaces: dict[tuple[int, bool], _Workspace] = {}

        rng = _as_generator(seed)
        for W, b in zip(self.weights, self.biases, strict=True):
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
    def parameter_groups(self) -> tuple[list[Array], list[Array], list[Array]]:
        """``(params, grads, decay)`` as the optimizers take them.

        One flat array of every parameter, its gradient, and a mask that is 1 on weights and 0 on
        biases, so an optimizer updates the whole network in a few NumPy calls and weight decay
        never touches a bias.
        """
        return [self._params], [self._grads], [self._decay_mask]

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
        for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
            W, b = np.asarray(W), np.asarray(b)
            if W.shape != self.weights[i].shape or b.shape != self.biases[i].shape:
                raise ValueError(
                    f"layer {i + 1}: expected weights {self.weights[i].shape} and biases "
                    f"{self.biases[i].shape}, got {W.shape} and {b.shape}"
                )
        for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
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
        out: Array | None = None,
    ) -> Array:
        """Forward pass into the workspace; returns the probabilities ``P``.

        ``X`` is ``[inputs, 1]``: ``(ws.m, n_inputs + 1)``, standardized, of the network's dtype,
        with a last column of ones. ``P`` is written to ``out`` if given (a C-contiguous
        ``(ws.m, n_classes)`` array), else into the workspace. With ``dropout > 0`` each hidden unit
        is zeroed with that probability and the survivors are scaled by ``1 / (1 - dropout)``
        (inverted dropout), so evaluation needs no rescaling.
        """
        f = self._activation.forward
        A_prev = X
        for l, Wb in enumerate(self._hidden_blocks):
            Z = ws.activations[l]
            np.dot(A_prev, Wb, out=Z)  # Z_l = [A_{l-1}, 1] @ Wb_l = A_{l-1} @ W_l + b_l
            f(Z, Z)  # A_l = f(Z_l), in place
            if dropout > 0.0 and rng is not None:
                mask = ws.masks[l]
                rng.random(out=mask, dtype=self.dtype)
                np.greater_equal(mask, dropout, out=mask)
                mask *= 1.0 / (1.0 - dropout)
                np.multiply(Z, mask, out=ws.output_values[l])
            else:
                ws.output_values[l][...] = Z
            A_prev = ws.outputs[l]
        P = ws.activations[-1] if out is None else out
        np.dot(A_prev, self._blocks[-1], out=P)  # the output layer's scores Z_L
        ws.probabilities = softmax(P, out=P, row=ws.row)
        return ws.probabilities

    def _backprop(
        self, X: Array, Y: Array, ws: _Workspace, dropout: float = 0.0, scale: float = 1.0
    ) -> None:
        """Backward pass after :meth:`_forward` on the same batch; writes gradients into ``_grads``.

        With ``scale`` they come out multiplied by it, the factor carried from the output delta
        through every product (plain SGD folds ``−η`` in, so its update is one addition).
        """
        f_prime = self._activation.backward
        delta = softmax_cross_entropy_delta(ws.probabilities, Y, out=ws.deltas[-1], scale=scale)
        for l in range(len(self._blocks) - 1, 0, -1):
            # dC/dWb_l = [A_{l-1}, 1]ᵀ @ delta_l: the weight gradients, and as the last row the
            # bias gradients (the ones column sums delta_l over the batch).
            np.dot(ws.outputs_T[l - 1], delta, out=self._grad_blocks[l])
            back = np.dot(delta, self._weights_T[l], out=ws.deltas[l - 1])  # dC/dA_{l-1}
            if dropout > 0.0:
                back *= ws.masks[l - 1]
            delta = f_prime(ws.activations[l - 1], back, ws.scratch[l - 1])  # dC/dZ_{l-1}
        # The first layer; its inputs need no gradient. For this product (a 785-row result from
        # a transposed batch) np.matmul is faster than np.dot at small batches: 19 against 21 µs
        # at batch 10 in float64, the same at batch 256.
        np.matmul(X.T, delta, out=self._grad_blocks[0])

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
        for l, (W, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            Z = A @ W + b
            if l == len(self.weights) - 1:
                A = softmax(Z, out=Z)
            else:
                with np.errstate(over="ignore"):  # a sigmoid's e^-z may overflow; A is exact
                    A = self._activation.forward(Z, Z)
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
        ws.inputs[:, :-1] = data
        with np.errstate(over="ignore"):  # as in layer_outputs
            self._forward(ws.inputs, ws)
        self._backprop(ws.inputs, targets, ws)
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
        if labels.size and (
            not np.issubdtype(labels.dtype, np.integer)
            or labels.min() < 0
            or labels.max() >= self.n_classes
        ):
            raise ValueError(f"labels must be whole numbers in 0..{self.n_classes - 1}")
        predictions = (
            np.concatenate(
                [
                    np.argmax(self.forward(data[i : i + 8192]), axis=1)
                    for i in range(0, len(data), 8192)
                ]
            )
            if len(data)
            else np.empty(0, np.intp)
        )
        if not len(labels):
            raise ValueError("cannot score an empty set of inputs")
        return float(np.mean(predictions == labels))

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
            raise ValueError(f"expected inputs of shape (n, {self.n_inputs}), got {data.shape}")
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
            raise ValueError(
                f"expected one-hot targets of shape ({m}, {self.n_classes}), got {targets.shape}"
            )
        return np.ascontiguousarray(targets, dtype=self.dtype)

    def __repr__(self) -> str:
        sizes = "-".join(map(str, self.layer_sizes))
        return (
            f"Network({sizes}, activation={self.activation!r}, "
            f"initializer={self.initializer!r}, dtype={self.dtype.name!r})"
        )


def _is_dtype(value: object) -> bool:
    try:
        np.dtype(value)  # type: ignore[call-overload]
    except TypeError:
        return False
    return True


def _views(flat: Array, shapes: Sequence[tuple[int, int]]) -> list[Array]:
    """Consecutive blocks of ``flat`` with the given shapes, as views."""
    views, offset = [], 0
    for rows, cols in shapes:
        views.append(flat[offset : offset + rows * cols].reshape(rows, cols))
        offset += rows * cols
    return views


def load(path: str | Path) -> Network:
    """Read a network written by :meth:`Network.save`; every field is validated first."""
    from glassnet.modelfile import load_model

    return load_model(path)


__all__ = ["ACTIVATIONS", "Network", "load"]
