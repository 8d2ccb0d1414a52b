"""The network: glassnet's public model, from layer sizes to saved file.

A :class:`Network` is a multilayer perceptron with one activation in its hidden layers and a softmax
output, trained on categorical cross-entropy. It holds what makes it this network (layer sizes,
activation, weights and biases, class names, the standardization of its inputs) and delegates the
arithmetic to an engine (:mod:`glassnet.engine`), its training to :mod:`glassnet.training` and its file
to :mod:`glassnet.modelfile`.

Rows are samples here, as in NumPy code and scikit-learn: a batch ``X`` is ``(m, n_features)``, a
layer's weights ``W`` are ``(fan_in, fan_out)`` and its biases ``b`` are ``(fan_out,)``. Layer ``l``
computes::

    Z_l = A_{l-1} @ W_l + b_l          A_0 = X
    A_l = f(Z_l)                       f = sigmoid (or tanh, relu, leaky relu) for hidden layers
    P   = softmax(Z_L)                 the output layer: class probabilities

The post writes the same math with samples as columns, ``Θ_l a + b``, so its ``Θ_l`` is our ``W_lᵀ``,
and its gradient ``∇Θ C = (1/m)(Ŷ − Y) Aᵀ`` becomes, in rows-as-samples form::

    delta_L = (P − Y) / m                          output delta (softmax + categorical cross-entropy)
    dC/dW_l = A_{l-1}ᵀ @ delta_l                   = (∇Θ_l C)ᵀ
    dC/db_l = sum of delta_l over the batch rows
    delta_{l-1} = (delta_l @ W_lᵀ) * f'(Z_{l-1})   the chain rule, one layer back

The code to read for these formulas is :mod:`glassnet.reference`, written the post's way, one NumPy
expression each. It is also the oracle: the engines that train lay the numbers out for speed, and
the tests prove every engine equal to the reference (``docs/reading-the-code.md`` walks through
both). :meth:`Network.backprop` returns the reference's gradients, transposed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from glassnet.activations import ACTIVATIONS, get_activation
from glassnet.config import TrainConfig
from glassnet.engine import Engine, Parameters, make_engine, select_engine, with_ones
from glassnet.errors import InputError, short
from glassnet.initializers import DEFAULT_INITIALIZER, get_initializer
from glassnet.losses import cross_entropy
from glassnet.modelfile import DEFAULT_MAX_BYTES, load_model, save_model
from glassnet.modelfile.checks import name_problem
from glassnet.preprocess import Standardizer, flatten_images, one_hot
from glassnet.reference import ReferenceNetwork
from glassnet.trace import Trace
from glassnet.training import History, train

Array = NDArray[np.floating[Any]]
SUPPORTED_DTYPES = ("float32", "float64")


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
        Views into the engine's parameters: writing to them changes the network.
    engine : glassnet.engine.Engine
        What does the arithmetic (``"numpy"`` unless training chose another).
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
            raise InputError(
                f"layer_sizes must be at least two positive whole numbers, got {layer_sizes!r}"
            )
        if sizes[-1] < 2:
            raise InputError("a softmax output needs at least 2 classes")
        self.layer_sizes: list[int] = [int(n) for n in sizes]
        get_activation(activation)  # a clear error for an unknown name
        self.activation: str = activation
        self.initializer: str = initializer or DEFAULT_INITIALIZER[activation]
        init = get_initializer(self.initializer)
        self.dtype: np.dtype[Any] = _float_dtype(dtype)
        n_classes = self.layer_sizes[-1]
        names = [str(i) for i in range(n_classes)] if class_names is None else list(class_names)
        if len(names) != n_classes:
            raise InputError(f"class_names has {len(names)} names for {n_classes} classes")
        for i, name in enumerate(names):
            problem = name_problem(name) if isinstance(name, str) else "is not a string"
            if problem is not None:
                raise InputError(f"class name {i} {short(name)} {problem}")
        self.class_names: list[str] = names
        self.standardizer: Standardizer | None = None
        self.training_settings: dict[str, Any] = {}
        self.metrics: dict[str, Any] = {}
        self.engine: Engine = make_engine(
            "numpy", Parameters(self.layer_sizes, self.dtype), activation
        )

        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        for W, b in zip(self.weights, self.biases, strict=True):
            W0, b0 = init(W.shape[0], W.shape[1], rng)
            W[...] = W0
            b[...] = b0

    # ------------------------------------------------------------------ parameters
    @property
    def weights(self) -> list[Array]:
        return self.engine.params.weights

    @property
    def biases(self) -> list[Array]:
        return self.engine.params.biases

    @property
    def n_parameters(self) -> int:
        """Number of weights and biases: 52,510 for the post's 784-50x6-10 network."""
        return self.engine.params.size

    @property
    def n_inputs(self) -> int:
        return self.layer_sizes[0]

    @property
    def n_classes(self) -> int:
        return self.layer_sizes[-1]

    def get_flat_parameters(self) -> Array:
        """A copy of every parameter in one vector: per layer, ``W_l`` row by row, then ``b_l``."""
        return self.engine.params.flat.copy()

    def set_flat_parameters(self, flat: ArrayLike) -> None:
        """Overwrite every parameter from a vector made by :meth:`get_flat_parameters`."""
        values = np.asarray(flat)
        target = self.engine.params.flat
        if values.shape != target.shape:
            raise InputError(f"expected {target.size} parameters, got shape {values.shape}")
        target[...] = values

    def set_parameters(self, weights: Sequence[ArrayLike], biases: Sequence[ArrayLike]) -> None:
        """Copy in new weights and biases after checking every shape against ``layer_sizes``."""
        if len(weights) != len(self.weights) or len(biases) != len(self.biases):
            raise InputError(
                f"expected {len(self.weights)} weight and bias arrays, got "
                f"{len(weights)} and {len(biases)}"
            )
        arrays = [(np.asarray(W), np.asarray(b)) for W, b in zip(weights, biases, strict=True)]
        for i, (W, b) in enumerate(arrays):
            if W.shape != self.weights[i].shape or b.shape != self.biases[i].shape:
                raise InputError(
                    f"layer {i + 1}: expected weights {self.weights[i].shape} and biases "
                    f"{self.biases[i].shape}, got {W.shape} and {b.shape}"
                )
        for i, (W, b) in enumerate(arrays):
            self.weights[i][...] = W
            self.biases[i][...] = b

    def use_engine(self, name: str) -> Engine:
        """Let the engine called ``name`` do the arithmetic from now on, on the same parameters.

        ``"auto"`` picks the compiled engine where it runs, else NumPy (:mod:`glassnet.engine`).
        """
        if name == "auto":
            name = select_engine("auto").name
        if name != self.engine.name:
            self.engine = make_engine(name, self.engine.params, self.activation)
        return self.engine

    # ------------------------------------------------------------------ the post's functions
    def forward(self, X: ArrayLike) -> Array:
        """Class probabilities ``P`` ``(n, n_classes)`` for standardized inputs ``X`` ``(n, n_inputs)``."""
        return self.layer_outputs(X)[-1]

    def layer_outputs(self, X: ArrayLike) -> list[Array]:
        """Every layer's output ``[A_1, ..., A_L]`` for standardized inputs; ``A_L`` is ``P``."""
        return self.engine.layer_outputs(self._check_inputs(X))

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
            One-hot labels (or ``(m,)`` integer labels).

        Returns
        -------
        weight_gradients : list of (fan_in, fan_out) arrays, matching ``weights``
            ``dC/dW_l``, the transpose of the post's ``∇Θ_l C``.
        bias_gradients : list of (fan_out,) arrays, matching ``biases``
        """
        data = self._check_inputs(X)
        targets = self._check_targets(Y, data.shape[0])
        with np.errstate(over="ignore"):  # a sigmoid's e^-z may overflow; the result is exact
            self.engine.backprop(with_ones(data), targets)
        params = self.engine.params
        return [g.copy() for g in params.weight_grads], [g.copy() for g in params.bias_grads]

    def trace(self, X: ArrayLike, Y: ArrayLike) -> Trace:
        """Every quantity of the post's equations for a batch: ``Z``, ``A``, ``Ŷ``, ``δ``, the
        gradients and the loss, layer by layer, samples as columns: the reference network
        (:meth:`glassnet.reference.ReferenceNetwork.trace`) run on this network's numbers.

        Parameters
        ----------
        X : (m, n_inputs) array
            Standardized inputs, as :meth:`backprop` takes them.
        Y : (m, n_classes) array
            One-hot labels (or ``(m,)`` integer labels).

        Returns
        -------
        glassnet.trace.Trace
            ``trace.layers[l - 1]`` is the post's layer ``l``; ``trace.weight_gradients`` and
            ``trace.bias_gradients`` equal what :meth:`backprop` returns.
        """
        data = self._check_inputs(X)
        targets = self._check_targets(Y, data.shape[0])
        return ReferenceNetwork.from_network(self).trace(data.T, targets.T)

    # ------------------------------------------------------------------ raw inputs
    def prepare(self, X: ArrayLike) -> Array:
        """Raw inputs (images or rows) to standardized rows of the network's dtype."""
        rows = flatten_images(X)
        data = self._check_inputs(rows, copy=self.standardizer is None)
        if self.standardizer is not None:
            if self.standardizer.n_features not in (None, self.n_inputs):
                raise InputError("the standardizer was fitted on a different number of features")
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
            raise InputError(f"{data.shape[0]} inputs but labels of shape {labels.shape}")
        if not len(labels):
            raise InputError("cannot score an empty set of inputs")
        if not np.issubdtype(labels.dtype, np.integer) or not (
            labels.min() >= 0 and labels.max() < self.n_classes
        ):
            raise InputError(f"labels must be whole numbers in 0..{self.n_classes - 1}")
        chunk = 8192  # bounds the memory of the layer outputs
        predictions = np.concatenate(
            [
                np.argmax(self.forward(data[i : i + chunk]), axis=1)
                for i in range(0, len(data), chunk)
            ]
        )
        return float(np.mean(predictions == labels))

    # ------------------------------------------------------------------ training and files
    def fit(
        self, X: ArrayLike, y: ArrayLike, config: TrainConfig | None = None, **settings: Any
    ) -> History:
        """Train on raw inputs by mini-batch gradient descent; the network changes in place.

        Parameters
        ----------
        X : (n, n_inputs) array or (n, height, width) images
            Raw inputs: standardized here with the statistics of these rows (kept in the model
            file), unless the network already has a standardizer.
        y : (n,) array of int
            Class labels, ``0 .. n_classes − 1``.
        config : TrainConfig, optional
            Every setting of the training loop, checked when it was made. Or give them as
            keywords instead (``epochs=10, learning_rate=0.05, optimizer="adam"``, ...): the fields
            of :class:`glassnet.TrainConfig`, each checked against :data:`glassnet.config.RULES`.
        **settings
            Those keywords, and the training loop's own: ``validation_data=(X_val, y_val)``,
            ``test_data``, ``callbacks``, ``verbose`` (1: a line per epoch), ``progress``,
            ``live_plot`` (a growing chart in a notebook), ``resume``; see
            :func:`glassnet.training.train`.

        Returns
        -------
        History
            One row per epoch: losses, accuracies, the learning rate, per-layer gradient figures.

        Examples
        --------
        >>> net = glassnet.Network([784, 256, 10], activation="relu", seed=0)  # doctest: +SKIP
        >>> history = net.fit(images, labels, epochs=10, learning_rate=0.05)  # doctest: +SKIP
        """
        return train(self, X, y, config, **settings)

    def save(self, path: str | os.PathLike[str], **metadata: Any) -> Path:
        """Write the network to a safe model file (see :mod:`glassnet.modelfile`), atomically.

        ``settings=`` and ``metrics=`` replace what the file records of how the network was trained
        and how well it did (``training_settings`` and ``metrics`` by default).
        """
        save_model(path, self, **metadata)
        return Path(path)

    def to_onnx(self, path: str | os.PathLike[str]) -> Path:
        """Write the network as an ONNX model that runs without glassnet (``glassnet[onnx]``).

        Input ``"pixels"`` ``(n, n_inputs)`` float32 raw values; outputs ``"probabilities"``
        ``(n, n_classes)`` and ``"predicted_class"`` ``(n,)``. See :mod:`glassnet.export.onnx`.
        """
        # Imported here: the export code is built on the network, never the other way round.
        from glassnet.export.onnx import export_onnx

        return export_onnx(self, path).path

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> Network:
        """Read a network written by :meth:`save`; every field and array is checked first.

        Raises :class:`~glassnet.errors.FormatError` (one line saying what is wrong) for a file that
        is not a valid glassnet model, ``OSError`` for one that cannot be read.
        """
        return load_model(path, cls, max_bytes=max_bytes)

    # ------------------------------------------------------------------ checks
    def _check_inputs(self, X: ArrayLike, copy: bool = False) -> Array:
        data = np.asarray(X)
        if data.ndim != 2 or data.shape[1] != self.n_inputs:
            raise InputError(f"expected inputs of shape (n, {self.n_inputs}), got {data.shape}")
        if not (np.issubdtype(data.dtype, np.number) or data.dtype == np.bool_):
            raise InputError(f"inputs must be numbers, got dtype {data.dtype}")
        data = np.array(data, dtype=self.dtype, order="C", copy=copy or None)
        if not np.all(np.isfinite(data)):
            raise InputError("inputs contain NaN or infinite values")
        return data

    def _check_targets(self, Y: ArrayLike, m: int) -> Array:
        targets = np.asarray(Y)
        if targets.ndim == 1:
            targets = one_hot(targets, self.n_classes, self.dtype)
        if targets.shape != (m, self.n_classes):
            raise InputError(
                f"expected one-hot targets of shape ({m}, {self.n_classes}), got {targets.shape}"
            )
        return np.ascontiguousarray(targets, dtype=self.dtype)

    def _repr_html_(self) -> str:
        """The network as a small table in a Jupyter notebook: its layers, activation, parameters,
        dtype, engine, and whether it is trained and how well (:mod:`glassnet.notebook`)."""
        from glassnet.notebook import network_html

        return network_html(self)

    def __repr__(self) -> str:
        sizes = "-".join(map(str, self.layer_sizes))
        return (
            f"Network({sizes}, activation={self.activation!r}, "
            f"initializer={self.initializer!r}, dtype={self.dtype.name!r})"
        )


def _float_dtype(dtype: DTypeLike) -> np.dtype[Any]:
    """``float32`` or ``float64`` as a NumPy dtype; a ``ValueError`` for anything else."""
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = str(dtype)
    if name not in SUPPORTED_DTYPES:
        raise InputError(f"dtype must be float32 or float64, got {dtype!r}")
    return np.dtype(name)


def load(path: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> Network:
    """Read a network written by :meth:`Network.save`; see :meth:`Network.load`."""
    return Network.load(path, max_bytes=max_bytes)


__all__ = ["ACTIVATIONS", "Network", "load"]
