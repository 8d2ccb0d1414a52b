"""Matrix-multiply rates for the wide network's shapes, and the floor of its training step.

The rates are the yardstick for the wide network's achieved GFLOP/s. The floor is the time of
the products one training step computes, each timed alone: no training loop that computes them
through NumPy's BLAS can be faster, so it says how much of an epoch is arithmetic.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Any

import numpy as np
from harness import EPOCH
from numpy.typing import NDArray
from suites_training import WIDE_SIZES

# (M, K) @ (K, N): what a batch of 256 through 784-512-512-10 multiplies
MATMUL_SHAPES = {
    "forward (256x784)@(784x512)": ((256, 784), (784, 512), False),
    "forward (256x512)@(512x512)": ((256, 512), (512, 512), False),
    "weight grad (784x256)@(256x512)": ((256, 784), (256, 512), True),  # A.T @ delta
    "input grad (256x512)@(512x512)T": ((256, 512), (512, 512), False),
}


def bench_matmul(cfg: dict[str, Any]) -> dict[str, Any]:
    """float32 matrix-multiply rate for the wide network's shapes, best of N, per thread count."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    out: dict[str, Any] = {}
    for threads in (None, 1):
        label = "default_threads" if threads is None else "1_thread"
        with threadpool_limits(limits=threads):
            rates = matmul_rates(rng, cfg["matmul_reps"] + 2)
        out[label] = {"gflops": rates, "best_gflops": max(rates.values())}
    out["best_gflops"] = max(out["default_threads"]["best_gflops"], out["1_thread"]["best_gflops"])
    out["step_products"] = bench_step_products(cfg, WIDE_SIZES, 256)
    return out


def matmul_rates(rng: np.random.Generator, reps: int) -> dict[str, float]:
    """GFLOP/s of ``np.matmul`` for each of :data:`MATMUL_SHAPES`, the best of ``reps`` calls."""
    rates: dict[str, float] = {}
    for name, (sa, sb, transpose_a) in MATMUL_SHAPES.items():
        a = rng.standard_normal(sa, dtype=np.float32)
        b = rng.standard_normal(sb, dtype=np.float32)
        left = a.T if transpose_a else a
        m, k = left.shape
        best = best_product_seconds(np.matmul, left, b, reps)
        rates[name] = 2.0 * m * k * b.shape[1] / best / 1e9
    return rates


def best_product_seconds(
    product: Callable[..., Any], left: NDArray[Any], right: NDArray[Any], reps: int
) -> float:
    """The fastest of ``reps`` calls of ``product(left, right, out=...)``, in seconds."""
    out = np.empty((left.shape[0], right.shape[1]), left.dtype)
    best = math.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        product(left, right, out=out)
        best = min(best, time.perf_counter() - t0)
    return best


def step_products(sizes: Sequence[int], m: int) -> list[tuple[str, tuple[int, int, int], bool]]:
    """The matrix products of one training step of ``sizes`` at batch ``m``, in glassnet's layout.

    Each is ``(name, (M, K, N), transpose_left)``: forward ``[A, 1] @ Wb``, the weight gradient
    ``[A, 1]ᵀ @ delta`` and, for every layer but the first, ``delta @ Wᵀ``.
    """
    products = []
    for layer, (fan_in, fan_out) in enumerate(pairwise(sizes), start=1):
        products.append((f"forward {layer}", (m, fan_in + 1, fan_out), False))
        products.append((f"weight grad {layer}", (fan_in + 1, m, fan_out), True))
        if layer > 1:
            products.append((f"back {layer}", (m, fan_out, fan_in), False))
    return products


def bench_step_products(cfg: dict[str, Any], sizes: Sequence[int], m: int) -> dict[str, Any]:
    """The floor for any NumPy training loop of ``sizes``: its step's products and nothing else.

    Every product of a step is timed alone, best of N, with default threads and with one; the
    floor takes each at its better setting and counts ``EPOCH / m`` steps.
    """
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(1)
    seconds: dict[str, float] = {}
    for name, (M, K, N), transpose_left in step_products(sizes, m):
        left = rng.standard_normal((K, M) if transpose_left else (M, K), dtype=np.float32)
        a = left.T if transpose_left else left
        b = rng.standard_normal((K, N), dtype=np.float32)
        best = math.inf
        for threads in (None, 1):
            with threadpool_limits(limits=threads):
                best = min(best, best_product_seconds(np.dot, a, b, cfg["matmul_reps"] + 2))
        seconds[name] = best
    per_step = sum(seconds.values())
    return {
        "sizes": list(sizes),
        "batch_size": m,
        "seconds": seconds,
        "floor_seconds_per_epoch": per_step * EPOCH / m,
    }
