"""The compiled engine's kernels: whole training steps as Numba functions, no Python inside.

Everything here follows the NumPy engine (:mod:`glassnet.engine.numpy`): rows are samples, each
layer's weights and biases are one block ``Wb = [W; b]``, each hidden layer's output is kept as
``[A, 1]`` so that one matrix product gives ``A @ W + b``. What changes is where the work runs:

- the matrix products call BLAS's ``gemm`` directly (SciPy's BLAS), with the ``beta`` NumPy does not
  expose: for plain SGD each weight gradient is added straight into its block,
  ``Wb ← Wb + [A, 1]ᵀ (−η delta)``, so no gradient is written and no update pass is made;
- the elementwise work (activations and their derivatives, softmax, the output delta, dropout, the
  optimizers' updates) is compiled loops instead of some fifty NumPy calls a step;
- a run of steps is one call, so no Python runs between them.

Buffers are one flat array ``ws``; ``layout[k, l]`` is where layer ``l``'s ``[A, 1]`` (k = 0),
its output before dropout (k = 1) and its delta (k = 2) start. Activations and optimizers are numbered
as in :data:`ACTIVATION_CODES` and :data:`OPTIMIZER_CODES`.
"""

from __future__ import annotations

import math

import numba.np.linalg
import numpy as np
from numba import njit, types
from numba.extending import overload

from glassnet.activations import LEAKY_SLOPE

#: Rewrites allowed: reassociation (vectorized sums), fused multiply-add, signed zeros. Not the
#: finite-math ones: a sigmoid's e^-z overflows to infinity on purpose.
FASTMATH = {"reassoc", "contract", "nsz"}
ACTIVATION_CODES = {"sigmoid": 0, "tanh": 1, "relu": 2, "leaky_relu": 3}
OPTIMIZER_CODES = {"sgd": 0, "momentum": 1, "nesterov": 2, "rmsprop": 3, "adam": 4, "adamw": 5}
OUTS, ACTS, DELTAS = 0, 1, 2

# BLAS's gemm, reached through the helper Numba itself uses for np.dot (SciPy's BLAS underneath).
# Named by symbol rather than by address, the functions calling it can be cached on disk.
numba.np.linalg.ensure_blas()
_xxgemm = types.ExternalFunction(
    "numba_xxgemm",
    types.intc(
        types.char, types.char, types.char, types.intp, types.intp, types.intp, types.voidptr,
        types.voidptr, types.intp, types.voidptr, types.intp, types.voidptr, types.voidptr,
        types.intp,
    ),
)  # fmt: skip
_N, _T = 78, 84  # "N" and "T", as BLAS reads its transpose flags


@njit(cache=True)
def gemm(ta, tb, m, n, k, A, lda, B, ldb, beta, C, ldc, scalars):
    """Row-major ``C (m×n) = op(A) op(B) + beta C``, ``op`` transposing where the flag is ``_T``.

    BLAS is column-major, where a row-major matrix reads as its transpose, so this asks it for
    ``Cᵀ = op(B)ᵀ op(A)ᵀ + beta Cᵀ``. ``scalars`` (two of ``C``'s dtype) holds alpha and beta, which
    BLAS takes by address.
    """
    scalars[0], scalars[1] = 1.0, beta
    kind = 115 if C.itemsize == 4 else 100  # "s" (float32) or "d" (float64)
    _xxgemm(
        kind, tb, ta, n, m, k, scalars[0:].ctypes, B.ctypes, ldb, A.ctypes, lda,
        scalars[1:].ctypes, C.ctypes, ldc,
    )  # fmt: skip


@njit(cache=True)
def view(buffer, start, rows, cols):
    """``buffer[start:]`` seen as a C-ordered ``(rows, cols)`` matrix."""
    return buffer[start : start + rows * cols].reshape(rows, cols)


@njit(cache=True, fastmath=FASTMATH)
def activate(code, A, n):
    """``A[:, :n] ← f(A[:, :n])`` in place. ``A`` is C-ordered (so its rows are plain vectors to
    the compiler) and may be a layer's ``[A, 1]``, whose last column stays as it is."""
    zero, slope = A.dtype.type(0.0), A.dtype.type(LEAKY_SLOPE)
    for i in range(A.shape[0]):
        row = A[i]
        if code == 0:
            sigmoid_row(row, n)
        elif code == 1:
            for j in range(n):
                row[j] = math.tanh(row[j])
        elif code == 2:
            for j in range(n):
                row[j] = max(row[j], zero)
        else:
            for j in range(n):
                row[j] = max(row[j], slope * row[j])


def sigmoid_row(row, n):
    """``row[:n] ← 1 / (1 + e^−row[:n])``, with an ``e^x`` written to be vectorized."""
    raise NotImplementedError  # compiled only: see _sigmoid_row


# The sigmoid's e^x, vectorized: e^x = 2^k e^r with k = round(x / ln 2) and |r| ≤ ln 2 / 2, e^r by a
# polynomial and 2^k by writing k into a float's exponent bits. Accurate to a few units in the last
# place (float32: Cephes' expf polynomial; float64: the Taylor series to r^13). x is bounded so that
# 2^k is a normal number: far out the sigmoid is within one part in 10^38 (float32) of 0 or 1. The
# rounding adds and subtracts 1.5 · 2^23 (2^52): no reassociation here, which would cancel it.
_EXP_MATH = {"contract", "nsz"}
_EXP32 = (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 0.5)
_EXP64 = tuple(1.0 / math.factorial(k) for k in range(13, 1, -1))


@overload(sigmoid_row, jit_options={"fastmath": _EXP_MATH})
def _sigmoid_row(row, n):
    if row.dtype == types.float32:
        f, bits_type, magic, bound, shift, bias = np.float32, np.int32, 12582912.0, 87.0, 23, 127
        hi, lo, coefficients = 0.693359375, -2.12194440e-4, _EXP32
    else:
        f, bits_type, magic, bound, shift, bias = (
            np.float64,
            np.int64,
            6755399441055744.0,
            708.0,
            52,
            1023,
        )
        hi, lo, coefficients = 6.93145751953125e-1, 1.42860682030941723212e-6, _EXP64
    c = tuple(f(x) for x in coefficients)
    log2e, magic_f, low, high = f(1.4426950408889634), f(magic), f(-bound), f(bound + 1.0)
    hi_f, lo_f, one = f(hi), f(lo), f(1.0)

    def impl(row, n):
        bits = np.empty(n, bits_type)
        scale = bits.view(f)
        for j in range(n):
            x = min(max(-row[j], low), high)
            k = (x * log2e + magic_f) - magic_f
            r = x - k * hi_f - k * lo_f
            p = c[0]
            for coefficient in c[1:]:
                p = p * r + coefficient
            row[j] = p * r * r + r + one  # e^r
            bits[j] = (bits_type(k) + bits_type(bias)) << shift
        for j in range(n):
            row[j] = one / (one + row[j] * scale[j])

    return impl


@njit(cache=True, fastmath=FASTMATH)
def through_derivative(code, A, mask, back):
    """``back ← back ⊙ mask ⊙ f'(Z)`` in place, ``f'`` written through the output ``A`` (C-ordered,
    its first ``back.shape[1]`` columns); ``mask`` is dropout's, or empty without dropout. One loop
    per case, so that each is a plain vector loop."""
    m, n = back.shape
    if mask.shape[0] > 0:
        for i in range(m):
            g, k = back[i], mask[i]
            for j in range(n):
                g[j] *= k[j]
    one, zero, slope = A.dtype.type(1.0), A.dtype.type(0.0), A.dtype.type(LEAKY_SLOPE)
    for i in range(m):
        a, g = A[i], back[i]
        if code == 0:
            for j in range(n):
                g[j] *= a[j] - a[j] * a[j]  # σ' = a (1 − a)
        elif code == 1:
            for j in range(n):
                g[j] *= one - a[j] * a[j]  # tanh' = 1 − a²
        elif code == 2:
            for j in range(n):
                g[j] = g[j] if a[j] > zero else zero
        else:
            for j in range(n):
                g[j] = g[j] if a[j] > zero else g[j] * slope


@njit(cache=True, fastmath=FASTMATH)
def softmax(Z):
    """``Z ← softmax(Z)`` row by row, the row's maximum subtracted first."""
    for i in range(Z.shape[0]):
        row = Z[i]
        top = row[0]
        for j in range(row.shape[0]):
            top = max(top, row[j])
        total = Z.dtype.type(0.0)
        for j in range(row.shape[0]):
            row[j] = math.exp(row[j] - top)
            total += row[j]
        for j in range(row.shape[0]):
            row[j] /= total


@njit(cache=True, fastmath=FASTMATH)
def dropout_masks(draws, keep, A, out):
    """Uniform ``draws`` become inverted dropout's mask in place (``1/keep`` where a draw is at least
    ``1 − keep``, else 0), and ``out`` gets ``A ⊙ mask``."""
    scale, p, zero = A.dtype.type(1.0 / keep), A.dtype.type(1.0 - keep), A.dtype.type(0.0)
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            mask = scale if draws[i, j] >= p else zero
            draws[i, j] = mask
            out[i, j] = A[i, j] * mask


@njit(cache=True, nogil=True)
def forward(X1, params, sizes, offsets, layout, ws, draws, keep, code, P, scalars):
    """The forward pass of a prepared batch ``X1 = [X, 1]``; the probabilities go into ``P``.

    With dropout (``keep < 1``) ``draws`` holds this step's uniform numbers, hidden layer after
    hidden layer as ``(m, units)`` blocks; they become the masks.
    """
    m, L = X1.shape[0], sizes.shape[0] - 1
    A_in, ld_in, used = X1, X1.shape[1], 0
    for l in range(L):
        k, n = sizes[l] + 1, sizes[l + 1]
        Wb = params[offsets[l] : offsets[l] + k * n]
        if l == L - 1:
            gemm(_N, _N, m, n, k, A_in, ld_in, Wb, n, 0.0, P, P.shape[1], scalars)
            softmax(P)
            return
        out = view(ws, layout[OUTS, l], m, n + 1)
        if keep < 1.0:
            A = view(ws, layout[ACTS, l], m, n)
            gemm(_N, _N, m, n, k, A_in, ld_in, Wb, n, 0.0, A, n, scalars)  # Z = [A, 1] @ Wb
            activate(code, A, n)
            dropout_masks(view(draws, used, m, n), keep, A, out)
            used += m * n
        else:
            gemm(_N, _N, m, n, k, A_in, ld_in, Wb, n, 0.0, out, n + 1, scalars)
            activate(code, out, n)
        A_in, ld_in = out, n + 1  # its last column holds ones from the start


@njit(cache=True, nogil=True)
def backward(
    X1, Y, params, grads, sizes, offsets, layout, ws, draws, keep, code, P, scale, fused, scalars,
    weights,
):  # fmt: skip
    """Backpropagate after :func:`forward` on the same batch, from the delta ``(P − Y) · scale / m``
    (each row times its sample's weight, where ``weights`` holds one per row rather than none).

    With ``fused`` (plain SGD, ``scale = −η``) each layer's weight gradient is added straight into
    its block, after the block has passed the delta one layer back; otherwise it goes to ``grads``.
    """
    m, L = X1.shape[0], sizes.shape[0] - 1
    delta = view(ws, layout[DELTAS, L - 1], m, sizes[L])
    factor = P.dtype.type(scale / m)
    for i in range(m):
        row_factor = factor * weights[i] if weights.shape[0] > 0 else factor
        for j in range(sizes[L]):
            delta[i, j] = (P[i, j] - Y[i, j]) * row_factor
    used = m * (np.sum(sizes[1:L]))  # the dropout draws: the last layer's block ends here
    for l in range(L - 1, -1, -1):
        k, n = sizes[l] + 1, sizes[l + 1]
        Wb = params[offsets[l] : offsets[l] + k * n]
        if l > 0:
            A_in = view(ws, layout[OUTS, l - 1], m, k)
            back = view(ws, layout[DELTAS, l - 1], m, k - 1)
            gemm(_N, _T, m, k - 1, n, delta, n, Wb, n, 0.0, back, k - 1, scalars)  # delta @ Wᵀ
            if keep < 1.0:
                used -= m * (k - 1)
                A = view(ws, layout[ACTS, l - 1], m, k - 1)
                through_derivative(code, A, view(draws, used, m, k - 1), back)
            else:
                through_derivative(code, A_in, draws[:0].reshape(0, 0), back)
        else:
            A_in = X1
        if fused:  # Wb += [A, 1]ᵀ delta: the update itself
            gemm(_T, _N, k, n, m, A_in, A_in.shape[1], delta, n, 1.0, Wb, n, scalars)
        else:  # dC/dWb = [A, 1]ᵀ delta
            G = grads[offsets[l] : offsets[l] + k * n]
            gemm(_T, _N, k, n, m, A_in, A_in.shape[1], delta, n, 0.0, G, n, scalars)
        if l > 0:
            delta = back


@njit(cache=True, fastmath=FASTMATH)
def clip_factor(grads, max_norm):
    """What the gradient is multiplied by so that its norm is at most ``max_norm``: 1 when it is
    already. The optimizers' update applies it as it reads each gradient, so clipping costs one
    pass over the gradient (its norm), not two."""
    total = 0.0
    for i in range(grads.shape[0]):  # indexed, so that the loop is vectorized
        x = np.float64(grads[i])
        total += x * x
    total = math.sqrt(total)
    return max_norm / total if total > max_norm else 1.0


@njit(cache=True, nogil=True)
def coefficients(opt, hyper, lr, t, out):
    """Step ``t``'s scalars, computed once per step rather than once per parameter: (η, μ, ρ, ε,
    β₁, β₂, coupled λ, decoupled λ, Adam's ``η / (1 − β₁ᵗ)``, Adam's ``1 / √(1 − β₂ᵗ)``)."""
    lam = hyper[5]
    out[0], out[1], out[2], out[3], out[4], out[5] = (
        lr, hyper[0], hyper[1], hyper[2], hyper[3], hyper[4]
    )  # fmt: skip
    out[6] = lam if opt != 5 else 0.0  # L2 regularization, coupled into the gradient
    out[7] = lam if opt == 5 else 0.0  # AdamW: θ ← θ − ηλθ, apart from the adaptive step
    out[8] = lr / (1.0 - hyper[3] ** t) if opt >= 4 else 0.0
    out[9] = 1.0 / math.sqrt(1.0 - hyper[4] ** t) if opt >= 4 else 0.0


@njit(cache=True, nogil=True)
def update(opt, params, grads, first, second, sizes, offsets, c, gscale):
    """One optimizer step over every layer's block, as :mod:`glassnet.optimizers` defines it:
    weight decay on each block's weight rows, never on its bias row (the network's decay mask),
    the gradient read times ``gscale`` (gradient clipping's factor, or 1). ``c`` holds the step's
    :func:`coefficients`; ``first`` and ``second`` are the optimizer's state (velocity or square
    average; Adam's moments)."""
    for l in range(sizes.shape[0] - 1):
        k, n = sizes[l] + 1, sizes[l + 1]
        lo = offsets[l]
        bias = lo + (k - 1) * n
        update_span(opt, params, grads, first, second, lo, bias, c, c[6], c[7], gscale)
        update_span(opt, params, grads, first, second, bias, bias + n, c, 0.0, 0.0, gscale)


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def update_span(opt, params, grads, first, second, lo, hi, c, coupled, decoupled, gscale):
    """:func:`update` on ``params[lo:hi]``, with decay ``coupled`` (L2, into the gradient) or
    ``decoupled`` (AdamW's). One plain loop per optimizer, branch-free inside, so that each is
    vectorized (``error_model="numpy"``: a division by zero gives infinity rather than a Python
    exception, which would keep the loop scalar; and indices from 0 over slices, which spares
    the check for negative indices that would too)."""
    params, grads = params[lo:hi], grads[lo:hi]
    first, second = first[lo:hi], second[lo:hi]  # empty where the optimizer keeps none
    f = params.dtype.type
    lr_t, mu, rho, eps, b1, b2 = f(c[0]), f(c[1]), f(c[2]), f(c[3]), f(c[4]), f(c[5])
    step_size, root_correction = f(c[8]), f(c[9])
    lam, lam_w, scale, one = f(coupled), f(decoupled), f(gscale), f(1.0)
    if opt == 0:
        for i in range(params.shape[0]):
            p = params[i]
            g = grads[i] * scale + lam * p
            params[i] = p - lr_t * g
    elif opt <= 2:
        nesterov = opt == 2
        for i in range(params.shape[0]):
            p = params[i]
            g = grads[i] * scale + lam * p
            v = mu * first[i] - lr_t * g
            first[i] = v
            params[i] = p + (mu * v - lr_t * g) if nesterov else p + v
    elif opt == 3:
        for i in range(params.shape[0]):
            p = params[i]
            g = grads[i] * scale + lam * p
            s = rho * first[i] + (one - rho) * g * g
            first[i] = s
            params[i] = p - lr_t * g / (math.sqrt(s) + eps)
    else:
        for i in range(params.shape[0]):
            p = params[i]
            g = grads[i] * scale + lam * p
            p -= lr_t * (lam_w * p)
            mo = b1 * first[i] + (one - b1) * g
            ve = b2 * second[i] + (one - b2) * g * g
            first[i], second[i] = mo, ve
            p -= step_size * mo / (math.sqrt(ve) * root_correction + eps)
            params[i] = p


@njit(cache=True, nogil=True)
def max_norm_columns(params, sizes, offsets, max_norm):
    """Max-norm: each unit's incoming weights, a column of its layer's ``W`` (the bias row
    apart), scaled by ``max_norm / norm`` where their norm is above ``max_norm``."""
    for l in range(sizes.shape[0] - 1):
        k, n = sizes[l], sizes[l + 1]
        W = params[offsets[l] : offsets[l] + k * n]  # the block's rows but its last (biases)
        squares = np.zeros(n)
        for i in range(k):
            for j in range(n):
                squares[j] += W[i * n + j] * W[i * n + j]
        for j in range(n):
            norm = math.sqrt(squares[j])
            squares[j] = max_norm / norm if norm > max_norm else 1.0
        for i in range(k):
            for j in range(n):
                W[i * n + j] *= squares[j]


@njit(cache=True, nogil=True)
def train_steps(
    X1,
    Y,
    P,
    params,
    grads,
    first,
    second,
    sizes,
    offsets,
    layout,
    ws,
    draws,
    keep,
    code,
    opt,
    hyper,
    lrs,
    clip_norm,
    max_norm,
    t0,
    start,
    count,
    batch,
    scalars,
    weights,
):
    """Steps ``start .. start + count − 1`` of an epoch whose batches are consecutive rows of ``X1``.

    Step ``s``'s learning rate is ``lrs[s − start]``; its dropout draws follow the previous step's in
    ``draws``; its probabilities go to ``P``'s rows. ``t0`` is the optimizer's step count before.
    ``weights`` holds each row's sample weight, or nothing (all alike). With ``max_norm > 0`` each
    unit's incoming weights are scaled down to that norm after each step (:func:`max_norm_columns`).
    """
    n_rows = X1.shape[0]
    hidden_units = np.sum(sizes[1:-1])
    fused = opt == 0 and hyper[5] == 0.0 and clip_norm == 0.0
    coefs = np.empty(10)
    used = 0
    for s in range(count):
        lo = (start + s) * batch
        hi = min(lo + batch, n_rows)
        m = hi - lo
        step_draws = draws[used : used + m * hidden_units] if keep < 1.0 else draws[:0]
        used += step_draws.shape[0]
        forward(
            X1[lo:hi], params, sizes, offsets, layout, ws, step_draws, keep, code, P[lo:hi], scalars
        )
        lr = lrs[s]
        scale = -lr if fused else 1.0
        backward(
            X1[lo:hi],
            Y[lo:hi],
            params,
            grads,
            sizes,
            offsets,
            layout,
            ws,
            step_draws,
            keep,
            code,
            P[lo:hi],
            scale,
            fused,
            scalars,
            weights[lo:hi] if weights.shape[0] > 0 else weights,
        )
        if not fused:
            coefficients(opt, hyper, lr, t0 + s + 1, coefs)
            gscale = clip_factor(grads, clip_norm) if clip_norm > 0.0 else 1.0
            update(opt, params, grads, first, second, sizes, offsets, coefs, gscale)
        if max_norm > 0.0:
            max_norm_columns(params, sizes, offsets, max_norm)
