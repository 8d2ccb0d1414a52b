"""What every engine shares: the parameter layout, and the interface the training loop calls.

A network's numbers live in one :class:`Parameters` object, laid out the same way for every engine, so
that a model file, a checkpoint or an optimizer's state never depends on which engine made it and a
run can continue on another engine. An :class:`Engine` does the arithmetic on those parameters: the
forward pass, backpropagation, and one training step on a mini-batch.

Rows are samples. Every layer's weights and biases form one block ``Wb_l = [W_l; b_l]`` of shape
``(fan_in + 1, fan_out)``, the biases as its last row, and the blocks lie one after the other in a
single flat array::

    flat = [Wb_1.ravel(), Wb_2.ravel(), ..., Wb_L.ravel()]      each block row by row

so that ``W_l = Wb_l[:-1]`` (``(fan_in, fan_out)``, the post's ``Θ_lᵀ``) and ``b_l = Wb_l[-1]`` are views.
Training batches come prepared: standardized rows with a constant 1 as their last column,
``[X, 1]`` of shape ``(m, n_inputs + 1)``, so that ``[A, 1] @ Wb = A @ W + b`` is one matrix product.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from itertools import pairwise
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from glassnet import memory
from glassnet.activations import Activation, get_activation
from glassnet.engine.subnormals import flushing_subnormals
from glassnet.errors import InputError
from glassnet.losses import softmax

if TYPE_CHECKING:
    from glassnet.optimizers import Optimizer

Array = NDArray[np.floating[Any]]


class Parameters:
    """Every weight and bias of a network in one flat array, with per-layer views into it.

    Attributes
    ----------
    flat : (n_parameters,) array
        All parameters, block after block (see the module docstring).
    grad : (n_parameters,) array
        The gradient of the loss for each, in the same layout; engines write it.
    blocks, grad_blocks : list of (fan_in + 1, fan_out) arrays
        ``Wb_l = [W_l; b_l]`` and its gradient, views into ``flat`` and ``grad``.
    weights, biases : lists of (fan_in, fan_out) and (fan_out,) arrays
        Views into the blocks.
    weight_grads, bias_grads : lists of arrays
        Views into the gradient blocks, shaped like ``weights`` and ``biases``.
    decay_mask : (n_parameters,) array
        1 on weights, 0 on biases: weight decay never applies to a bias.
    """

    def __init__(self, layer_sizes: Sequence[int], dtype: np.dtype[Any]) -> None:
        self.layer_sizes = [int(n) for n in layer_sizes]
        self.dtype = np.dtype(dtype)
        shapes = [(fan_in + 1, fan_out) for fan_in, fan_out in pairwise(self.layer_sizes)]
        sizes = "-".join(map(str, self.layer_sizes))
        memory.ensure_fits(
            memory.network_bytes(self.layer_sizes, self.dtype.itemsize),
            f"a network of layer sizes {sizes if len(sizes) <= 60 else sizes[:57] + '...'}",
        )
        self.flat: Array = np.zeros(sum(rows * cols for rows, cols in shapes), self.dtype)
        self.grad: Array = np.zeros_like(self.flat)
        self.blocks = _views(self.flat, shapes)
        self.grad_blocks = _views(self.grad, shapes)
        self.weights = [block[:-1] for block in self.blocks]
        self.biases = [block[-1] for block in self.blocks]
        self.weight_grads = [block[:-1] for block in self.grad_blocks]
        self.bias_grads = [block[-1] for block in self.grad_blocks]
        self.decay_mask: Array = np.zeros_like(self.flat)
        for block in _views(self.decay_mask, shapes):
            block[:-1] = 1.0

    @property
    def size(self) -> int:
        return int(self.flat.size)

    def split(self, flat: Array) -> tuple[list[Array], list[Array]]:
        """Per-layer ``(W_l, b_l)`` views of any array laid out like ``flat``: a gradient, or an
        optimizer's velocities or moments."""
        blocks = _views(flat, [block.shape for block in self.blocks])
        return [block[:-1] for block in blocks], [block[-1] for block in blocks]


def _views(flat: Array, shapes: Sequence[tuple[int, int]]) -> list[Array]:
    """Consecutive blocks of ``flat`` with the given shapes, as views."""
    views, offset = [], 0
    for rows, cols in shapes:
        views.append(flat[offset : offset + rows * cols].reshape(rows, cols))
        offset += rows * cols
    return views


def with_ones(X: Array, dtype: np.dtype[Any] | None = None) -> Array:
    """``[X, 1]``: a new array holding ``X`` and a last column of ones, the layout engines train on."""
    out = np.empty((X.shape[0], X.shape[1] + 1), dtype or X.dtype)
    out[:, :-1] = X
    out[:, -1] = 1.0
    return out


def per_step(learning_rates: float | Sequence[float], count: int) -> Sequence[float]:
    """One learning rate for each of ``count`` steps: ``learning_rates`` itself, or one number
    repeated."""
    if not isinstance(learning_rates, Sequence):
        return [float(learning_rates)] * count
    if len(learning_rates) != count:
        raise InputError(f"{len(learning_rates)} learning rates for {count} steps")
    return learning_rates


class Engine(ABC):
    """The arithmetic of a network with a softmax output and one hidden activation.

    An engine works on a :class:`Parameters` it is given, never on copies, so several engines may take
    turns on one network. Training methods take prepared batches ``X1 = [X, 1]`` ``(m, n_inputs + 1)``
    and one-hot targets ``Y`` ``(m, n_classes)``, of the parameters' dtype; what they return may be a
    buffer the engine reuses, valid until its next call. Every engine must give, step for step, the
    numbers :mod:`glassnet.reference` defines; the tests check each one against it.

    A sigmoid's ``e^-z`` overflows to infinity far below zero, which gives the exact limit 0; callers
    that want no warning for it run the engine under ``np.errstate(over="ignore")``, as the training
    loop does once an epoch (not once a step: entering it costs about a microsecond).
    """

    #: The name the settings use: ``engine = "numpy"``.
    name: ClassVar[str]

    def __init__(self, params: Parameters, activation: str) -> None:
        self.params = params
        self.activation_name = activation
        self.activation: Activation = get_activation(activation)

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.params.dtype

    # -- inference: plain NumPy on fresh arrays, the same for every engine
    def layer_outputs(self, X: Array) -> list[Array]:
        """Every layer's output ``[A_1, ..., A_L]`` for standardized rows ``X`` ``(n, n_inputs)``.

        ``A_L`` is the softmax probabilities ``P`` ``(n, n_classes)``. Each array is new.
        """
        outputs: list[Array] = []
        A = X
        last = len(self.params.weights) - 1
        for l, (W, b) in enumerate(zip(self.params.weights, self.params.biases, strict=True)):
            Z = A @ W + b
            if l == last:
                A = softmax(Z, out=Z)
            else:
                with np.errstate(over="ignore"):  # a sigmoid's e^-z may overflow; A is exact
                    A = self.activation.forward(Z, Z)
            outputs.append(A)
        return outputs

    # -- training
    @abstractmethod
    def forward(self, X1: Array, out: Array | None = None) -> Array:
        """The probabilities ``P`` ``(m, n_classes)`` for a prepared batch, into ``out`` if given."""

    @abstractmethod
    def backprop(self, X1: Array, Y: Array) -> list[Array]:
        """Write the gradient of the mean loss over the batch into ``params.grad``.

        Returns every layer's output ``[A_1, ..., A_L]`` from the forward pass it ran.
        """

    @abstractmethod
    def step(
        self,
        X1: Array,
        Y: Array,
        optimizer: Optimizer,
        learning_rate: float,
        *,
        dropout: float = 0.0,
        rng: np.random.Generator | None = None,
        clip_norm: float = 0.0,
        out: Array | None = None,
        sample_weight: Array | None = None,
        max_norm: float = 0.0,
    ) -> Array:
        """One step of mini-batch gradient descent: forward, backprop, update the parameters.

        Parameters
        ----------
        X1 : (m, n_inputs + 1) array
            The prepared batch.
        Y : (m, n_classes) array
            Its one-hot labels.
        optimizer : Optimizer
            Turns the gradient into the update; holds its own state (velocities, moments) and
            counts its steps.
        learning_rate : float
            This step's ``η``.
        dropout : float
            Probability of zeroing each hidden unit (inverted dropout); its masks are drawn from
            ``rng`` layer by layer as ``rng.random((m, units), dtype)``, so every engine draws the same.
        rng : numpy.random.Generator, optional
            Needed with dropout.
        clip_norm : float
            If positive, the gradient's global norm is clipped to it before the update.
        max_norm : float
            If positive, each unit's incoming weight vector (a column of its layer's ``W``, the
            bias apart) is scaled down to this norm after the update, where it is longer.
        out : (m, n_classes) array, optional
            Where to write the forward pass's probabilities.
        sample_weight : (m,) array, optional
            Each sample's weight ``wᵢ`` in the batch's cost ``(1/m) Σᵢ wᵢ cᵢ``; all 1 without.

        Returns
        -------
        P : (m, n_classes) array
            The probabilities the forward pass gave (before the update).
        """

    def steps(
        self,
        X1: Array,
        Y: Array,
        optimizer: Optimizer,
        learning_rates: float | Sequence[float],
        *,
        start: int,
        count: int,
        batch_size: int,
        dropout: float = 0.0,
        rng: np.random.Generator | None = None,
        clip_norm: float = 0.0,
        out: Array | None = None,
        sample_weight: Array | None = None,
        max_norm: float = 0.0,
    ) -> None:
        """Steps ``start .. start + count − 1`` of an epoch whose batches are consecutive rows.

        Step ``s`` trains on rows ``s · batch_size`` up to ``(s + 1) · batch_size`` of ``X1`` and
        ``Y`` (the last batch may be shorter) with learning rate ``learning_rates[s − start]`` (or
        ``learning_rates`` itself, one number for every step), and writes its probabilities to the
        same rows of ``out``. This does :meth:`step` for each; an engine may run them all in one call.
        """
        rates = per_step(learning_rates, count)
        with flushing_subnormals():  # once for the run (each step's own entry is then free)
            for s in range(start, start + count):
                rows = slice(s * batch_size, (s + 1) * batch_size)
                self.step(
                    X1[rows], Y[rows], optimizer, rates[s - start], dropout=dropout, rng=rng,
                    clip_norm=clip_norm, out=None if out is None else out[rows],
                    max_norm=max_norm,
                )  # fmt: skip

    @classmethod
    def declines(cls, settings: Any) -> str | None:
        """Why this engine cannot train with these :class:`~glassnet.settings.TrainConfig` settings.

        ``None`` when it can; every engine glassnet has trains every combination.
        """
        return None

    @classmethod
    def check(cls) -> None:
        """Raise if this engine cannot run on this machine (a compiler that fails, say)."""
        return None

    @classmethod
    def needs_compiling(cls) -> bool:
        """Whether :meth:`check` will compile code (a pause worth announcing), not load it."""
        return False

    def blas_threads(self, batch_size: int) -> int | None:
        """BLAS threads for training at this batch size: 1 for small products, else all.

        Below about 64 K multiply-adds per row of the widest layer, starting threads costs more than
        they save.
        """
        widest = max(self.params.layer_sizes)
        return 1 if batch_size * widest < 64 * 1024 else None

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
