"""Where one training step's time goes: the reference's step beside each engine's.

One SGD step of the post's network (784-50x6-10 sigmoid, batch 10, learning rate 0.002), timed
several ways on the same batches from the same weights, each on one BLAS thread (glassnet trains
products this small on one):

- ``reference``: :class:`glassnet.reference.ReferenceNetwork`, the post's formulas one NumPy
  expression each, samples as columns, every result a fresh array;
- ``numpy, unfolded``: the NumPy engine with ``−η`` kept out of the backward pass (the update is
  then two passes over the parameters), which isolates what the fused ``[W; b]`` blocks and the
  reused buffers buy;
- ``numpy``: the NumPy engine as it trains: ``−η`` folded into the output delta;
- every other engine installed (``numba``, with glassnet's ``fast`` extra).

It first checks that every variant reaches the reference's parameters, then prints the median
microseconds per step, and the arithmetic limit: the step's multiply-adds (forward, the weight
gradients, and the backward products of every layer but the first) at the best rate one core
reached on a large matrix product in this run. ::

    python benchmarks/step.py [float32|float64] [--steps N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from itertools import pairwise

import numpy as np
from threadpoolctl import threadpool_limits

from glassnet import Network
from glassnet.engine import available_engines, with_ones
from glassnet.optimizers import SGD
from glassnet.reference import ReferenceNetwork, one_hot_columns

SIZES = [784] + [50] * 6 + [10]
BATCH, LEARNING_RATE = 10, 0.002


class UnfoldedSGD(SGD):
    """Plain SGD that never takes the folded route: gradients first, then ``θ ← θ − η g``."""

    def folded_factor(self, learning_rate: float | None = None) -> float | None:
        return None


def step_flops(sizes: list[int], m: int) -> int:
    """Multiply-adds times 2 of one step: forward, weight gradients, and backward products of every
    layer but the first (whose inputs need no gradient)."""
    products = [fan_in * fan_out for fan_in, fan_out in pairwise(sizes)]
    return 2 * m * (2 * sum(products) + sum(products[1:]))


def core_gflops(dtype: str) -> float:
    """The best rate of a large matrix product on one core, GFLOP/s."""
    a = np.random.default_rng(0).normal(size=(512, 512)).astype(dtype)
    best = np.inf
    for _ in range(20):
        start = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - start)
    return 2 * 512**3 / best / 1e9


def variants(dtype: str, X: np.ndarray, labels: np.ndarray) -> dict[str, Callable[[int], None]]:
    """Each variant as ``step(i)``, all from the same starting weights."""
    start = Network(SIZES, "sigmoid", initializer="normal", seed=0, dtype=dtype)
    ref = ReferenceNetwork(SIZES, "sigmoid", initializer="normal", seed=0, dtype=dtype)
    Y = np.eye(10, dtype=dtype)[labels]
    Yc = one_hot_columns(labels, 10, dtype)
    X1 = with_ones(X)
    batches = len(X) // BATCH
    steps: dict[str, Callable[[int], None]] = {}

    def reference(i: int) -> None:
        rows = slice((i % batches) * BATCH, (i % batches + 1) * BATCH)
        ref.update_mini_batch(X[rows].T, Yc[:, rows], LEARNING_RATE)

    steps["reference"] = reference
    runs = [("numpy, unfolded", "numpy", UnfoldedSGD)] + [(n, n, SGD) for n in available_engines()]
    for label, engine_name, optimizer_class in runs:
        net = Network(SIZES, "sigmoid", initializer="normal", seed=0, dtype=dtype)
        net.set_flat_parameters(start.get_flat_parameters())
        engine, optimizer = net.use_engine(engine_name), optimizer_class(LEARNING_RATE)

        def step(i: int, engine=engine, optimizer=optimizer) -> None:  # type: ignore[no-untyped-def]
            rows = slice((i % batches) * BATCH, (i % batches + 1) * BATCH)
            engine.step(X1[rows], Y[rows], optimizer, LEARNING_RATE)

        step.network = net  # type: ignore[attr-defined]
        steps[label] = step
    steps["reference"].network = ref  # type: ignore[attr-defined]
    return steps


def parameters(network: object) -> np.ndarray:
    if isinstance(network, ReferenceNetwork):
        blocks = [
            np.vstack([t.T, b.T]) for t, b in zip(network.thetas, network.biases, strict=True)
        ]
        return np.concatenate([b.ravel() for b in blocks])
    return network.get_flat_parameters()  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dtype", nargs="?", default="float32", choices=["float32", "float64"])
    parser.add_argument("--steps", type=int, default=3000, help="steps per timing (default 3000)")
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    X = rng.normal(size=(2000, SIZES[0])).astype(args.dtype)
    labels = rng.integers(0, 10, 2000)
    with threadpool_limits(1), np.errstate(over="ignore"):
        steps = variants(args.dtype, X, labels)
        for step in steps.values():  # warm up (and compile), then compare the parameters
            for i in range(50):
                step(i)
        reached = {name: parameters(step.network) for name, step in steps.items()}  # type: ignore[attr-defined]
        for name, theta in reached.items():
            error = np.linalg.norm(theta - reached["reference"]) / np.linalg.norm(
                reached["reference"]
            )
            print(f"{name:>18}: after 50 steps, {error:.1e} from the reference's parameters")
        times: dict[str, list[float]] = {name: [] for name in steps}
        for _ in range(5):  # interleaved, so that load from elsewhere slows all alike
            for name, step in steps.items():
                start = time.perf_counter()
                for i in range(args.steps):
                    step(i)
                times[name].append((time.perf_counter() - start) / args.steps * 1e6)
        rate = core_gflops(args.dtype)
    limit = step_flops(SIZES, BATCH) / (rate * 1e3)
    print(
        f"\none step of 784-50x6-10 sigmoid, batch {BATCH}, {args.dtype}, one thread (median of 5)"
    )
    reference = statistics.median(times["reference"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:>18}: {median:7.1f} µs   {reference / median:4.2f}x the reference")
    print(
        f"{'arithmetic limit':>18}: {limit:7.1f} µs   ({step_flops(SIZES, BATCH) / 1e6:.2f} MFLOP "
        f"at {rate:.0f} GFLOP/s, one core's best on a 512x512 product)"
    )


if __name__ == "__main__":
    main()
