"""The compiled engine: the NumPy engine's arithmetic as compiled code, runs of steps in one call.

Installed with ``pip install glassnet[fast]`` (Numba and SciPy, whose BLAS it calls). It lays out the
numbers exactly as the NumPy engine does (the same :class:`~glassnet.engine.Parameters`, ``[X, 1]``
batches, ``[A, 1]`` buffers) and computes the same formulas, which the tests hold to the reference
like every engine. Where the time goes instead is in :mod:`glassnet.engine.kernels`: BLAS products
called with the update folded into them, compiled elementwise loops, and no Python between steps.

Any optimizer works: the six glassnet defines update inside the compiled loop, in one vectorized
pass over the parameters whose per-step scalars (the learning rate, Adam's bias corrections,
clipping's factor) are computed once a step; another optimizer is handed the gradient, step by step,
through its own ``step``. Like every engine it trains with subnormals flushed to zero
(:mod:`glassnet.engine.subnormals`). Compiled code is cached on disk, so only the first run on a
machine compiles (some ten seconds, announced in one line on standard error).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from glassnet.engine import kernels
from glassnet.engine.base import Array, Engine, Parameters, per_step
from glassnet.engine.subnormals import flushing_subnormals
from glassnet.errors import InputError
from glassnet.optimizers import OPTIMIZERS, clip_global_norm, clip_unit_norms

if TYPE_CHECKING:
    from glassnet.optimizers import Optimizer

#: Where each optimizer keeps the state the kernels update: its first and second array.
_STATE = {"momentum": ("velocity", None), "nesterov": ("velocity", None),
          "rmsprop": ("square_average", None), "adam": ("m", "v"), "adamw": ("m", "v")}  # fmt: skip


class NumbaEngine(Engine):
    """Whole training steps compiled with Numba; the products through BLAS."""

    name: ClassVar[str] = "numba"

    def __init__(self, params: Parameters, activation: str) -> None:
        super().__init__(params, activation)
        sizes = params.layer_sizes
        self._sizes = np.array(sizes, np.int64)
        blocks = [(a + 1) * b for a, b in pairwise(sizes)]
        self._offsets = np.cumsum([0, *blocks[:-1]]).astype(np.int64)
        self._code = kernels.ACTIVATION_CODES[activation]
        self._scalars = np.empty(2, self.dtype)
        self._rows = 0  # how many rows the buffers hold
        self._ws: Array = np.empty(0, self.dtype)
        self._layout = np.zeros((3, len(sizes) - 1), np.int64)
        self._P: Array = np.empty((0, sizes[-1]), self.dtype)
        self._no_draws: Array = np.empty(0, self.dtype)
        self._no_weights: Array = np.empty(0, self.dtype)
        self._no_state: Array = np.empty(0, self.dtype)

    @classmethod
    def check(cls) -> None:
        """Compile (or load from the disk cache) every kernel, in both dtypes, on a tiny network:
        a machine where Numba cannot compile them fails here, not in the middle of a run."""
        from glassnet.optimizers import Adam

        for dtype in (np.float32, np.float64):
            engine = cls(Parameters([3, 2, 2], np.dtype(dtype)), "sigmoid")
            X1, Y = np.ones((2, 4), dtype), np.eye(2, dtype=dtype)
            engine.backprop(X1, Y)
            engine.step(X1, Y, Adam(), 0.1, dropout=0.5, rng=np.random.default_rng(0))

    @classmethod
    def needs_compiling(cls) -> bool:
        """Whether Numba's disk cache lacks the kernels (the first run on a machine, or kernels
        changed since they were cached): then :meth:`check` compiles them, some ten seconds."""
        try:
            dispatchers: tuple[Any, ...] = (kernels.train_steps, kernels.forward, kernels.backward)
            # an index that is empty, or stale for this source, means compiling
            return any(not kernel._cache._cache_file._load_index() for kernel in dispatchers)
        except Exception:  # a Numba whose cache is laid out otherwise: nothing to announce
            return False

    def _reserve(self, m: int) -> None:
        """Buffers for batches of up to ``m`` rows: per layer ``[A, 1]``, ``A`` and the delta."""
        if m <= self._rows:
            return
        sizes, start = self.params.layer_sizes, 0
        for l, n in enumerate(sizes[1:]):
            hidden = l < len(sizes) - 2
            for kind, length in (
                (kernels.OUTS, m * (n + 1) if hidden else 0),
                (kernels.ACTS, m * n if hidden else 0),
                (kernels.DELTAS, m * n),
            ):
                self._layout[kind, l], start = start, start + length
        self._ws = np.zeros(start, self.dtype)
        for l, n in enumerate(sizes[1:-1]):
            kernels.view(self._ws, self._layout[kernels.OUTS, l], m, n + 1)[:, n] = 1.0
        self._P = np.empty((m, sizes[-1]), self.dtype)
        self._rows = m

    # -- the interface
    def forward(self, X1: Array, out: Array | None = None) -> Array:
        m = X1.shape[0]
        self._reserve(m)
        P = self._P[:m] if out is None else out
        kernels.forward(
            X1, self.params.flat, self._sizes, self._offsets, self._layout, self._ws,
            self._no_draws, 1.0, self._code, P, self._scalars,
        )  # fmt: skip
        return P

    def backprop(self, X1: Array, Y: Array) -> list[Array]:
        P = self.forward(X1)
        m = X1.shape[0]
        kernels.backward(
            X1, Y, self.params.flat, self.params.grad, self._sizes, self._offsets, self._layout,
            self._ws, self._no_draws, 1.0, self._code, P, 1.0, False, self._scalars,
            self._no_weights,
        )  # fmt: skip
        hidden = [
            kernels.view(self._ws, self._layout[kernels.OUTS, l], m, n + 1)[:, :n]
            for l, n in enumerate(self.params.layer_sizes[1:-1])
        ]
        return [*hidden, P]

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
        P = self._P_for(X1.shape[0]) if out is None else out
        self.steps(
            X1, Y, optimizer, learning_rate, start=0, count=1, batch_size=X1.shape[0],
            dropout=dropout, rng=rng, clip_norm=clip_norm, out=P, sample_weight=sample_weight,
            max_norm=max_norm,
        )  # fmt: skip
        return P

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
        if dropout > 0.0 and rng is None:
            raise InputError("dropout needs a random generator")
        weights = self._no_weights if sample_weight is None else sample_weight
        if type(optimizer) is not OPTIMIZERS.get(optimizer.name):
            # An optimizer of one's own: the compiled gradient, then its own update.
            with flushing_subnormals():
                self._own_optimizer_steps(
                    X1, Y, optimizer, per_step(learning_rates, count), start, count, batch_size,
                    dropout, rng, clip_norm, out, weights, max_norm,
                )  # fmt: skip
            return
        self._reserve(batch_size)
        rates = np.asarray(per_step(learning_rates, count), np.float64)
        first, second = self._state(optimizer)
        with flushing_subnormals():
            kernels.train_steps(
                X1, Y, self._P_for(X1.shape[0]) if out is None else out, self.params.flat,
                self.params.grad, first, second, self._sizes, self._offsets,
                self._layout, self._ws, self._draws(X1.shape[0], start, count, batch_size, dropout, rng),
                1.0 - dropout, self._code, kernels.OPTIMIZER_CODES[optimizer.name],
                _hyperparameters(optimizer), rates, float(clip_norm), float(max_norm),
                optimizer.iterations, start, count, batch_size, self._scalars, weights,
            )  # fmt: skip
        optimizer.iterations += count

    # -- helpers
    def _own_optimizer_steps(
        self,
        X1: Array,
        Y: Array,
        optimizer: Optimizer,
        rates: Sequence[float],
        start: int,
        count: int,
        batch_size: int,
        dropout: float,
        rng: Any,
        clip_norm: float,
        out: Array | None,
        weights: Array,
        max_norm: float = 0.0,
    ) -> None:
        """Steps with an optimizer the kernels do not know: each step's gradient compiled, then
        the optimizer's own ``step``."""
        params = self.params
        self._reserve(batch_size)
        for s in range(start, start + count):
            lo, hi = s * batch_size, min((s + 1) * batch_size, X1.shape[0])
            P = self._P[: hi - lo] if out is None else out[lo:hi]
            draws = self._draws(X1.shape[0], s, 1, batch_size, dropout, rng)
            kernels.forward(
                X1[lo:hi], params.flat, self._sizes, self._offsets, self._layout, self._ws, draws,
                1.0 - dropout, self._code, P, self._scalars,
            )  # fmt: skip
            kernels.backward(
                X1[lo:hi], Y[lo:hi], params.flat, params.grad, self._sizes, self._offsets,
                self._layout, self._ws, draws, 1.0 - dropout, self._code, P, 1.0, False,
                self._scalars, weights[lo:hi] if weights.shape[0] else weights,
            )  # fmt: skip
            if clip_norm:
                clip_global_norm([params.grad], clip_norm)
            optimizer.step(
                [params.flat], [params.grad], [params.decay_mask], learning_rate=rates[s - start]
            )
            if max_norm:
                clip_unit_norms(params.blocks, max_norm)

    def _P_for(self, m: int) -> Array:
        self._reserve(m)
        return self._P[:m]

    def _draws(self, n: int, start: int, count: int, batch: int, dropout: float, rng: Any) -> Array:
        """Every uniform number dropout needs for these steps, drawn in the order every engine
        draws them: step by step, hidden layer by hidden layer, ``(m, units)`` each."""
        if dropout <= 0.0:
            return self._no_draws
        rows = sum(min(batch, n - s * batch) for s in range(start, start + count))
        units = sum(self.params.layer_sizes[1:-1])
        draws: Array = rng.random(rows * units, dtype=self.dtype)
        return draws

    def _state(self, optimizer: Optimizer) -> tuple[Array, Array]:
        """The optimizer's state arrays, made if this is its first step."""
        optimizer.prepare([self.params.flat])
        names = _STATE.get(optimizer.name, (None, None))
        state = optimizer.state[0]
        return tuple(  # type: ignore[return-value]
            self._no_state if name is None else state[name] for name in names
        )

    def __repr__(self) -> str:
        return "NumbaEngine()"


def _hyperparameters(optimizer: Optimizer) -> Array:
    """(momentum, rho, eps, beta1, beta2, weight decay), 0 where the optimizer has none."""
    names = ("momentum", "rho", "eps", "beta1", "beta2", "weight_decay")
    return np.array([float(getattr(optimizer, name, 0.0)) for name in names])


__all__ = ["NumbaEngine"]
