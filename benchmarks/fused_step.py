"""What fusing the elementwise work of a training step would gain: a measured proposal.

At batch 10 the post's network spends most of a step on NumPy call overhead rather than arithmetic:
each hidden layer costs a matrix product plus six small elementwise calls forward (sigmoid's five
and the copy into the ``[A, 1]`` buffer) and three backward. This script times one training step of
784-50x6-10 sigmoid at batch 10 two ways on identical data:

- ``numpy``: glassnet's own ``Network._forward`` / ``_backprop`` / ``SGD.step``, as trained;
- ``fused``: the same products (``np.dot`` into the same buffers), with each layer's elementwise
  work done by one small Numba kernel: forward, sigmoid and the copy into ``[A, 1]`` in one pass;
  backward, ``delta * a * (1 - a)`` in one pass; SGD's update in one pass.

It checks that both give the same gradients and parameters, then prints microseconds per step.
Numba is not a glassnet dependency; this script runs only where it is installed::

    pip install numba && python benchmarks/fused_step.py
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np

import glassnet
from glassnet.optimizers import SGD

try:
    import numba
except ImportError:  # pragma: no cover - an optional measurement
    sys.exit("fused_step.py needs numba: pip install numba")


@numba.njit(cache=True, fastmath=False)
def sigmoid_into(Z, A_aug, cap):  # type: ignore[no-untyped-def]
    """A = 1 / (1 + e^-min(-z, cap)) written to Z (for the derivative) and to A_aug[:, :-1]."""
    m, n = Z.shape
    for i in range(m):
        for j in range(n):
            a = 1.0 / (1.0 + np.exp(min(-Z[i, j], cap)))
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
def sgd_update(p, g, lr):  # type: ignore[no-untyped-def]
    for k in range(p.size):
        p[k] -= lr * g[k]


def fused_step(net, X, Y, ws, lr, cap):  # type: ignore[no-untyped-def]
    A_prev = X
    blocks = net._blocks
    for layer in range(len(blocks) - 1):
        Z = ws.activations[layer]
        np.dot(A_prev, blocks[layer], out=Z)
        sigmoid_into(Z, ws.outputs[layer], cap)
        A_prev = ws.outputs[layer]
    P = ws.activations[-1]
    np.dot(A_prev, blocks[-1], out=P)
    glassnet.losses.softmax(P, out=P, row=ws.row)
    delta = glassnet.losses.softmax_cross_entropy_delta(P, Y, out=ws.deltas[-1])
    for layer in range(len(blocks) - 1, -1, -1):
        A_prev = X if layer == 0 else ws.outputs[layer - 1]
        np.dot(A_prev.T, delta, out=net._grad_blocks[layer])
        if layer == 0:
            break
        back = np.dot(delta, net._weights_T[layer], out=ws.deltas[layer - 1])
        sigmoid_backward(ws.activations[layer - 1], back)
        delta = back
    sgd_update(net._params, net._grads, lr)


def numpy_step(net, X, Y, ws, optimizer, params, grads, decay):  # type: ignore[no-untyped-def]
    net._forward(X, ws)
    net._backprop(X, Y, ws)
    optimizer.step(params, grads, decay)


def main() -> None:
    dtype = sys.argv[1] if len(sys.argv) > 1 else "float32"
    rng = np.random.default_rng(0)
    steps, lr = 2000, 0.002
    X = np.ones((steps * 10, 785), dtype)
    X[:, :-1] = rng.normal(size=(steps * 10, 784))
    Y = np.eye(10, dtype=dtype)[rng.integers(0, 10, steps * 10)]

    def network():  # type: ignore[no-untyped-def]
        return glassnet.Network(
            [784] + [50] * 6 + [10], "sigmoid", initializer="normal", seed=0, dtype=dtype
        )

    a, b = network(), network()
    ws_a, ws_b = a._workspace(10), b._workspace(10)
    optimizer = SGD(lr)
    params, grads, decay = a.parameter_groups
    cap = float(np.log(np.finfo(dtype).max) - 1.0)
    for i in range(20):  # the same steps both ways: the results must agree
        rows = slice(i * 10, i * 10 + 10)
        numpy_step(a, X[rows], Y[rows], ws_a, optimizer, params, grads, decay)
        fused_step(b, X[rows], Y[rows], ws_b, lr, cap)
    tolerance = 1e-4 if dtype == "float32" else 1e-10
    drift = float(np.max(np.abs(a._params - b._params)))
    assert drift < tolerance, f"fused and NumPy steps disagree by {drift}"

    def timed(step) -> float:  # type: ignore[no-untyped-def]
        runs = []
        for _ in range(7):
            start = time.perf_counter()
            for i in range(steps):
                step(i)
            runs.append((time.perf_counter() - start) / steps * 1e6)
        return statistics.median(runs)

    rows = [slice(i * 10, i * 10 + 10) for i in range(steps)]
    numpy_us = timed(
        lambda i: numpy_step(a, X[rows[i]], Y[rows[i]], ws_a, optimizer, params, grads, decay)
    )
    fused_us = timed(lambda i: fused_step(b, X[rows[i]], Y[rows[i]], ws_b, lr, cap))
    print(f"784-50x6-10 sigmoid, batch 10, {dtype}, SGD; parameters agree to {drift:.1e}")
    print(f"  glassnet (NumPy calls): {numpy_us:6.1f} us/step  {numpy_us * 6000 / 1e6:.2f} s/epoch")
    print(f"  fused elementwise work: {fused_us:6.1f} us/step  {fused_us * 6000 / 1e6:.2f} s/epoch")
    print(f"  gain: {numpy_us / fused_us:.2f}x (numba {numba.__version__})")


if __name__ == "__main__":
    main()
