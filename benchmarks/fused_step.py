"""What compiling the training step would gain: a measured proposal, not part of glassnet.

At batch 10 the post's network spends most of a step on the cost of calling NumPy rather than on
arithmetic: each hidden layer costs a matrix product plus five small elementwise calls forward
(sigmoid's four and the copy into the ``[A, 1]`` buffer) and two more products and three
elementwise calls backward. This script times one SGD step of 784-50x6-10 sigmoid at batch 10
three ways, on identical data from identical weights:

- ``numpy``: glassnet itself, as it trains: ``Network._forward``, ``Network._backprop`` with
  ``-η`` folded into the output delta, and ``SGD.step_folded``;
- ``fused elementwise``: the same ``np.dot`` products into the same buffers, with each layer's
  elementwise work (sigmoid and the copy; the derivative) and the update as small Numba kernels;
- ``whole step``: one Numba function for the whole step. Its products are still calls to BLAS
  (Numba's ``np.dot``, through SciPy's BLAS bindings); everything between them is compiled loops,
  so no NumPy call and no Python runs inside a step.

It checks that all three reach the same parameters, then prints microseconds per step (one BLAS
thread, as glassnet uses at this size). Numba is not a glassnet dependency; this script runs only
where it is installed::

    pip install numba scipy && python benchmarks/fused_step.py [float32|float64]
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

import glassnet
from glassnet.optimizers import SGD

try:
    import numba
except ImportError:  # pragma: no cover - an optional measurement
    sys.exit("fused_step.py needs numba (and scipy): pip install numba scipy")

SIZES = [784] + [50] * 6 + [10]
BATCH, LEARNING_RATE, STEPS = 10, 0.002, 2000


# ---------------------------------------------------------------------------- fused elementwise


@numba.njit(cache=True)
def sigmoid_into(Z, A_aug):  # type: ignore[no-untyped-def]
    """A = 1 / (1 + e^-z), written to Z (for the derivative) and to A_aug[:, :-1]."""
    m, n = Z.shape
    for i in range(m):
        for j in range(n):
            a = 1.0 / (1.0 + np.exp(-Z[i, j]))
            Z[i, j] = a
            A_aug[i, j] = a


@numba.njit(cache=True)
def sigmoid_backward(A, delta):  # type: ignore[no-untyped-def]
    m, n = A.shape
    for i in range(m):
        for j in range(n):
            a = A[i, j]
            delta[i, j] *= a - a * a


@numba.njit(cache=True)
def add_into(p, g):  # type: ignore[no-untyped-def]
    for k in range(p.size):
        p[k] += g[k]


def fused_elementwise_step(net, X, Y, ws, lr):  # type: ignore[no-untyped-def]
    A_prev = X
    blocks = net._blocks
    for layer in range(len(blocks) - 1):
        Z = ws.activations[layer]
        np.dot(A_prev, blocks[layer], out=Z)
        sigmoid_into(Z, ws.outputs[layer])
        A_prev = ws.outputs[layer]
    P = ws.activations[-1]
    np.dot(A_prev, blocks[-1], out=P)
    glassnet.losses.softmax(P, out=P, row=ws.row)
    delta = glassnet.losses.softmax_cross_entropy_delta(P, Y, out=ws.deltas[-1], scale=-lr)
    for layer in range(len(blocks) - 1, 0, -1):
        np.dot(ws.outputs[layer - 1].T, delta, out=net._grad_blocks[layer])
        back = np.dot(delta, net._weights_T[layer], out=ws.deltas[layer - 1])
        sigmoid_backward(ws.activations[layer - 1], back)
        delta = back
    np.dot(X.T, delta, out=net._grad_blocks[0])
    add_into(net._params, net._grads)


# ---------------------------------------------------------------------------- whole step


@numba.njit(cache=True)
def whole_step(X, Y, Wb, W_T, grads_Wb, Z, A_aug, P, deltas, params, grads, lr):  # type: ignore[no-untyped-def]
    """One SGD step: glassnet's math and buffers, with only the products left to BLAS."""
    L = len(Wb)
    m = X.shape[0]
    A_prev = X
    for layer in range(L - 1):
        Zl, Al = Z[layer], A_aug[layer]
        np.dot(A_prev, Wb[layer], Zl)
        for i in range(m):
            for j in range(Zl.shape[1]):
                a = 1.0 / (1.0 + np.exp(-Zl[i, j]))
                Zl[i, j] = a
                Al[i, j] = a
        A_prev = Al
    np.dot(A_prev, Wb[L - 1], P)
    delta = deltas[L - 1]
    scale = -lr / m
    for i in range(m):  # softmax, and the output delta (P - Y) (-η / m)
        top = P[i, 0]
        for j in range(1, P.shape[1]):
            top = max(top, P[i, j])
        total = 0.0
        for j in range(P.shape[1]):
            P[i, j] = np.exp(P[i, j] - top)
            total += P[i, j]
        for j in range(P.shape[1]):
            P[i, j] /= total
            delta[i, j] = (P[i, j] - Y[i, j]) * scale
    for layer in range(L - 1, 0, -1):
        np.dot(A_aug[layer - 1].T, delta, grads_Wb[layer])
        back = deltas[layer - 1]
        np.dot(delta, W_T[layer], back)
        A = Z[layer - 1]
        for i in range(m):
            for j in range(back.shape[1]):
                a = A[i, j]
                back[i, j] *= a - a * a
        delta = back
    np.dot(X.T, delta, grads_Wb[0])
    for k in range(params.size):
        params[k] += grads[k]


# ---------------------------------------------------------------------------- timing


def main() -> None:
    dtype = sys.argv[1] if len(sys.argv) > 1 else "float32"
    rng = np.random.default_rng(0)
    X = np.ones((STEPS * BATCH, SIZES[0] + 1), dtype)
    X[:, :-1] = rng.normal(size=(STEPS * BATCH, SIZES[0]))
    Y = np.eye(SIZES[-1], dtype=dtype)[rng.integers(0, SIZES[-1], STEPS * BATCH)]
    rows = [slice(i * BATCH, (i + 1) * BATCH) for i in range(STEPS)]

    def network():  # type: ignore[no-untyped-def]
        return glassnet.Network(SIZES, "sigmoid", initializer="normal", seed=0, dtype=dtype)

    plain, fused, whole = network(), network(), network()
    ws_plain, ws_fused, ws_whole = (net._workspace(BATCH) for net in (plain, fused, whole))
    optimizer = SGD(LEARNING_RATE)
    params, grads, _ = plain.parameter_groups
    buffers = (
        tuple(whole._blocks),
        tuple(whole._weights_T),
        tuple(whole._grad_blocks),
        tuple(ws_whole.activations[:-1]),
        tuple(ws_whole.outputs),
        ws_whole.activations[-1],
        tuple(ws_whole.deltas),
        whole._params,
        whole._grads,
    )

    def numpy_step(i: int) -> None:  # under np.errstate(over="ignore"), as the training loop is
        plain._forward(X[rows[i]], ws_plain)
        plain._backprop(X[rows[i]], Y[rows[i]], ws_plain, 0.0, optimizer.folded_factor())
        optimizer.step_folded(params, grads)

    def fused_step(i: int) -> None:
        fused_elementwise_step(fused, X[rows[i]], Y[rows[i]], ws_fused, LEARNING_RATE)

    def whole_step_call(i: int) -> None:
        whole_step(X[rows[i]], Y[rows[i]], *buffers, LEARNING_RATE)

    steps = {"numpy": numpy_step, "fused": fused_step, "whole": whole_step_call}
    with np.errstate(over="ignore"):  # a sigmoid's e^-z may overflow (see glassnet.activations)
        for i in range(20):  # the same steps every way (and compiled): the results must agree
            for step in steps.values():
                step(i)
    tolerance = 1e-4 if dtype == "float32" else 1e-10
    drift = max(float(np.max(np.abs(plain._params - other._params))) for other in (fused, whole))
    if drift >= tolerance:
        sys.exit(f"the steps disagree: parameters differ by {drift}")

    def timed(step) -> float:  # type: ignore[no-untyped-def]
        runs = []
        for _ in range(7):
            start = time.perf_counter()
            for i in range(STEPS):
                step(i)
            runs.append((time.perf_counter() - start) / STEPS * 1e6)
        return statistics.median(runs)

    with threadpool_limits(limits=1), np.errstate(over="ignore"):
        us = {name: timed(step) for name, step in steps.items()}
    print(f"784-50x6-10 sigmoid, batch 10, {dtype}, SGD; parameters agree to {drift:.1e}")
    for name, label in (
        ("numpy", "glassnet (NumPy calls)"),
        ("fused", "fused elementwise work"),
        ("whole", "whole step compiled"),
    ):
        gain = us["numpy"] / us[name]
        print(
            f"  {label:23s} {us[name]:6.1f} us/step  {us[name] * 6000 / 1e6:.2f} s/epoch"
            f"  {gain:.2f}x"
        )
    print(f"  (numba {numba.__version__}; an epoch is 6000 steps, shuffling not included)")


if __name__ == "__main__":
    main()
