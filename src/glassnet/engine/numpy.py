"""The NumPy engine: the reference's formulas, laid out for speed.

It computes what :mod:`glassnet.reference` defines, and the tests hold it to that, step by step. It
differs in how, and each difference buys time (``docs/reading-the-code.md`` has the measurements):

- **Rows are samples.** ``Z_l = A_{l-1} @ W_l + b_l`` with ``W_l = Θ_lᵀ``, as NumPy code is written;
  the post's ``∇Θ C = (1/m) δ aᵀ`` becomes ``dC/dW_l = A_{l-1}ᵀ @ delta_l`` with ``1/m`` in the delta.
- **Weights and biases in one block.** Each layer's input carries a column of ones, so
  ``[A, 1] @ Wb_l`` is the forward product and ``[A, 1]ᵀ @ delta_l`` gives the weight gradient and, as
  its last row, the bias gradient (the ones sum ``delta_l`` over the batch): one product each, where
  the reference spends a product, a broadcast addition and a reduction.
- **Buffers.** Every intermediate array of a batch size is allocated once (:class:`_Workspace`) and
  written in place with ``out=``: at batch 10 a step's time goes to the number of NumPy calls, not to
  arithmetic.
- **``−η`` folded in.** For plain SGD the output delta is multiplied by ``−η``; by linearity the factor
  rides through every product, the gradients arrive as the update, and the update is one addition.
  Adam's ``1 − β₁`` rides the same way (``Optimizer.gradient_factor``): its moments' update is a
  pass shorter.
- **The first layer's input gradient is skipped**: nothing needs ``dC/dX``.
- **Subnormals flushed to zero** while it trains (:mod:`glassnet.engine.subnormals`), as in every
  engine: the post's saturated sigmoids make them, and many x86 CPUs compute them slowly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from glassnet.engine.base import Array, Engine, Parameters, per_step, with_ones
from glassnet.engine.subnormals import flushing_subnormals
from glassnet.errors import InputError
from glassnet.losses import softmax, softmax_cross_entropy_delta
from glassnet.optimizers import clip_global_norm, clip_unit_norms

if TYPE_CHECKING:
    from glassnet.optimizers import Optimizer


class _Workspace:
    """Buffers for one batch size ``m``, allocated once and reused by every step.

    ``activations[l]`` holds layer ``l + 1``'s output ``A`` (for hidden layers the activation works
    in place on ``Z``); ``outputs[l]`` holds ``[A, 1]`` (after dropout, when there is dropout), what
    the next layer's product reads; ``outputs_T[l]`` is its transpose, for the gradient products.
    """

    def __init__(self, params: Parameters, m: int, dropout: bool) -> None:
        sizes, dtype = params.layer_sizes, params.dtype
        hidden = sizes[1:-1]
        self.m = m
        self.activations = [np.empty((m, n), dtype) for n in sizes[1:]]  # A_1 .. A_L (A_L = P)
        self.outputs = [with_ones(np.empty((m, n), dtype)) for n in hidden]
        self.output_values = [out[:, :-1] for out in self.outputs]  # the A part of [A, 1]
        self.outputs_T = [out.T for out in self.outputs]  # (n_l + 1, m)
        self.deltas = [np.empty((m, n), dtype) for n in sizes[1:]]  # dC/dZ_l, (m, n_l)
        self.scratch = [np.empty((m, n), dtype) for n in hidden]
        # Dropout's masks, every hidden layer's drawn in one call: (m, units) blocks one after the
        # other, the order in which every engine draws them.
        self.draws = np.empty(m * sum(hidden) if dropout else 0, dtype)
        self.masks, start = [], 0
        for n in hidden if dropout else []:
            self.masks.append(self.draws[start : start + m * n].reshape(m, n))
            start += m * n
        self.row = np.empty((m, 1), dtype)  # softmax's row maxima and sums
        self.probabilities = self.activations[-1]  # where the last forward pass wrote P


class NumpyEngine(Engine):
    """The default engine: NumPy calls on reused buffers, BLAS for the products."""

    name: ClassVar[str] = "numpy"

    def __init__(self, params: Parameters, activation: str) -> None:
        super().__init__(params, activation)
        self._hidden_blocks = params.blocks[:-1]
        self._weights_T = [W.T for W in params.weights]  # views, made once for the backward pass
        # What the optimizers take: one flat array each, so an update is a few NumPy calls.
        self._groups = ([params.flat], [params.grad], [params.decay_mask])
        self._workspaces: dict[tuple[int, bool], _Workspace] = {}
        self._batch_key: tuple[int, ...] = ()
        self._batch_views: list[tuple[Array, Array, Array | None, Array | None]] = []

    def _workspace(self, m: int, dropout: bool = False) -> _Workspace:
        key = (m, dropout)
        ws = self._workspaces.get(key)
        if ws is None:
            if len(self._workspaces) > 8:  # odd batch sizes (a last partial batch) come and go
                self._workspaces.clear()
            ws = self._workspaces[key] = _Workspace(self.params, m, dropout)
        return ws

    # -- the interface
    def forward(self, X1: Array, out: Array | None = None) -> Array:
        return self._forward(X1, self._workspace(X1.shape[0]), out=out)

    def backprop(self, X1: Array, Y: Array) -> list[Array]:
        ws = self._workspace(X1.shape[0])
        self._forward(X1, ws)
        self._backprop(X1, Y, ws)
        return ws.activations

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
        if dropout > 0.0 and rng is None:
            raise InputError("dropout needs a random generator")
        with flushing_subnormals():
            return self._step(
                X1, Y, optimizer, learning_rate, dropout, rng, clip_norm, out, sample_weight,
                max_norm,
            )  # fmt: skip

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
        batches = self._batches(X1, Y, out, sample_weight, batch_size)
        rates = per_step(learning_rates, count)
        with flushing_subnormals():
            for s in range(start, start + count):
                xb, yb, pb, wb = batches[s]
                self._step(
                    xb, yb, optimizer, rates[s - start], dropout, rng, clip_norm, pb, wb, max_norm
                )

    def _batches(
        self, X1: Array, Y: Array, out: Array | None, weights: Array | None, batch_size: int
    ) -> list[tuple[Array, Array, Array | None, Array | None]]:
        """Each step's views of an epoch's arrays, made once for as long as the arrays stay the
        same (a training run): at batch 10 three slices a step cost about 1% of it."""
        key = (id(X1), id(Y), id(out), id(weights), batch_size, len(X1))
        if self._batch_key != key:
            n = len(X1)
            self._batch_views = [
                (X1[lo : lo + batch_size], Y[lo : lo + batch_size],
                 None if out is None else out[lo : lo + batch_size],
                 None if weights is None else weights[lo : lo + batch_size])
                for lo in range(0, n, batch_size)
            ]  # fmt: skip
            self._batch_key = key
        return self._batch_views

    def _step(
        self,
        X1: Array,
        Y: Array,
        optimizer: Optimizer,
        learning_rate: float,
        dropout: float,
        rng: np.random.Generator | None,
        clip_norm: float,
        out: Array | None,
        weights: Array | None = None,
        max_norm: float = 0.0,
    ) -> Array:
        ws = self._workspace(X1.shape[0], dropout > 0.0)
        P = self._forward(X1, ws, dropout, rng, out)
        params, grads, decay = self._groups
        # Clipping needs the plain gradient's norm, so only an unclipped step may fold.
        factor = None if clip_norm else optimizer.folded_factor(learning_rate)
        if factor is not None:
            self._backprop(X1, Y, ws, dropout, factor, weights)
            optimizer.step_folded(params, grads)
        else:
            # A factor the optimizer's first pass would apply rides through the products instead
            # (Adam's 1 − β₁), but for clipping, which needs the plain gradient's norm.
            scale = 1.0 if clip_norm else optimizer.gradient_factor()
            self._backprop(X1, Y, ws, dropout, scale, weights)
            if clip_norm:
                clip_global_norm(grads, clip_norm)
            optimizer.step(params, grads, decay, learning_rate=learning_rate, scaled_by=scale)
        if max_norm:
            clip_unit_norms(self.params.blocks, max_norm)
        return P

    # -- the math
    def _forward(
        self,
        X1: Array,
        ws: _Workspace,
        dropout: float = 0.0,
        rng: np.random.Generator | None = None,
        out: Array | None = None,
    ) -> Array:
        """Forward pass into the workspace; returns the probabilities ``P`` (``out`` if given)."""
        f = self.activation.forward
        A_prev = X1
        if dropout > 0.0:  # every layer's mask at once: three calls a step, not three a layer
            rng.random(out=ws.draws, dtype=self.dtype)  # type: ignore[union-attr]
            np.greater_equal(ws.draws, dropout, out=ws.draws)
            ws.draws *= 1.0 / (1.0 - dropout)  # inverted dropout: 1/(1 - p) where kept, else 0
        for l, Wb in enumerate(self._hidden_blocks):
            Z = ws.activations[l]
            np.dot(A_prev, Wb, out=Z)  # Z_l = [A_{l-1}, 1] @ Wb_l = A_{l-1} @ W_l + b_l
            f(Z, Z)  # A_l = f(Z_l), in place
            if dropout > 0.0:
                np.multiply(Z, ws.masks[l], out=ws.output_values[l])
            else:
                ws.output_values[l][...] = Z
            A_prev = ws.outputs[l]
        P = ws.activations[-1] if out is None else out
        np.dot(A_prev, self.params.blocks[-1], out=P)  # the output layer's scores Z_L
        ws.probabilities = softmax(P, out=P, row=ws.row)
        return ws.probabilities

    def _backprop(
        self,
        X1: Array,
        Y: Array,
        ws: _Workspace,
        dropout: float = 0.0,
        scale: float = 1.0,
        weights: Array | None = None,
    ) -> None:
        """Backward pass after :meth:`_forward` on the same batch; writes ``params.grad``.

        With ``scale`` the gradients come out multiplied by it, the factor carried from the output
        delta through every product; with ``weights`` ``(m,)``, each sample's delta is multiplied
        by its weight (the weighted cost ``(1/m) Σᵢ wᵢ cᵢ``).
        """
        f_prime = self.activation.backward
        grad_blocks = self.params.grad_blocks
        # delta_L = (P − Y) / m, times scale; see glassnet.losses for why it is P − Y.
        delta = softmax_cross_entropy_delta(ws.probabilities, Y, out=ws.deltas[-1], scale=scale)
        if weights is not None:
            delta *= weights[:, None]
        for l in range(len(grad_blocks) - 1, 0, -1):
            # dC/dWb_l = [A_{l-1}, 1]ᵀ @ delta_l: the weight gradients, and as the last row the
            # bias gradients (the ones column sums delta_l over the batch).
            np.dot(ws.outputs_T[l - 1], delta, out=grad_blocks[l])
            back = np.dot(delta, self._weights_T[l], out=ws.deltas[l - 1])  # dC/dA_{l-1}
            if dropout > 0.0:
                back *= ws.masks[l - 1]
            delta = f_prime(ws.activations[l - 1], back, ws.scratch[l - 1])  # dC/dZ_{l-1}
        # The first layer, whose inputs need no gradient. np.matmul gives the same bits as np.dot
        # here and is faster for this product of a transposed batch at small batches.
        np.matmul(X1.T, delta, out=grad_blocks[0])

    def __repr__(self) -> str:
        return "NumpyEngine()"


__all__ = ["NumpyEngine"]
