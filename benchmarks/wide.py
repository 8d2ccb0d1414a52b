"""The wide network's epoch against the routes its matrix products could take on this machine.

784-512-512-10 ReLU, batch 256, float32 (``--hidden`` and ``--batch-size`` measure another network
of two hidden layers the same way, e.g. ``--hidden 800,800 --batch-size 128``). An epoch of the
compiled engine and of PyTorch (1 and 2 threads) beside the 8 products of a training step computed
alone, each way glassnet could compute them here, all in the same interleaved rounds (median of
``--rounds``, at least five):

- ``products, SciPy's OpenBLAS``: as the compiled engine's kernels call BLAS (``gemm`` with the
  update folded in, ``beta = 1``), default threads: the engine's own floor;
- ``products, NumPy's OpenBLAS``: ``np.dot`` into preallocated buffers (the NumPy engine's BLAS,
  another OpenBLAS build), default threads;
- ``products, PyTorch's BLAS``: ``torch.mm`` with ``out=`` on 2 threads, the library PyTorch's own
  epoch runs on (MKL in the CPU wheels);
- ``products, batch split over 2 threads``: each core computes the products of half the batch on
  one BLAS thread (SciPy's OpenBLAS through the kernels' ``gemm``, from two threads at once), and
  the two halves' weight gradients are added: a route where products and elementwise work could
  overlap across the cores.

The loaded BLAS libraries (threadpoolctl) are printed first. ::

    python benchmarks/wide.py [--rounds 5] [--batches 40] [--hidden 512,512] [--batch-size 256]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from typing import Any

import numpy as np
from contenders import (
    glassnet_contender,
    glassnet_network,
    products_contender,
    sgd_torch_contenders,
)
from harness import EPOCH, Clock, Timed, find_data_dir, interleaved, load_mnist, machine_info
from numba import njit
from threadpoolctl import threadpool_info, threadpool_limits

from glassnet.engine import kernels

#: The network and batch measured; ``--hidden`` and ``--batch-size`` set them before anything runs.
SIZES = [784, 512, 512, 10]
BATCH, LR = 256, 0.01


def buffers(rows: int, batch: int) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    f = np.float32
    return {
        "X1": np.hstack([rng.normal(size=(rows, SIZES[0])), np.ones((rows, 1))]).astype(f),
        "Wb": [(rng.normal(size=(a + 1, b)) * 0.01).astype(f) for a, b in pairwise(SIZES)],
        "A": [np.ones((batch, n + 1), f) for n in SIZES[1:-1]],
        "D": [(rng.normal(size=(batch, n)) * 1e-3).astype(f) for n in SIZES[1:]],
        "G": [np.zeros((a + 1, b), f) for a, b in pairwise(SIZES)],
        "P": np.zeros((batch, SIZES[-1]), f),
    }


def products(b: dict[str, Any], x: Any, mm: Callable[..., Any], T: Callable[[Any], Any]) -> None:
    """One step's 8 products with ``mm(a, b, out)``: forward, weight gradients, back."""
    L = len(SIZES) - 1
    for l in range(L):
        A_in = x if l == 0 else b["A"][l - 1]
        out = b["P"] if l == L - 1 else b["A"][l][:, :-1]
        mm(A_in, b["Wb"][l], out)
    for l in range(L - 1, -1, -1):
        A_in = x if l == 0 else b["A"][l - 1]
        if l > 0:
            mm(b["D"][l], T(b["Wb"][l][:-1]), b["D"][l - 1])
        mm(T(A_in), b["D"][l], b["G"][l])


def numpy_products(rows: int) -> Timed:
    b = buffers(rows, BATCH)
    steps = rows // BATCH

    def mm(a: Any, w: Any, out: Any) -> None:
        if out.flags.c_contiguous:
            np.dot(a, w, out=out)
        else:  # a column slice of [A, 1]: into a buffer, then copied (NumPy needs C order)
            out[...] = a @ w

    def epoch() -> None:
        for s in range(steps):
            products(b, b["X1"][s * BATCH : (s + 1) * BATCH], mm, np.transpose)

    def run() -> tuple[float, float]:
        clock = Clock()
        epoch()
        return clock.stop(EPOCH / rows)

    return Timed(run, epoch, steps)


def torch_products(rows: int) -> Timed:
    import torch

    b = {k: v for k, v in buffers(rows, BATCH).items()}
    t = {
        k: ([torch.from_numpy(x) for x in v] if isinstance(v, list) else torch.from_numpy(v))
        for k, v in b.items()
    }
    steps = rows // BATCH

    def mm(a: Any, w: Any, out: Any) -> None:
        torch.mm(a, w, out=out) if out.is_contiguous() else out.copy_(a @ w)

    def epoch() -> None:
        torch.set_num_threads(2)
        for s in range(steps):
            products(t, t["X1"][s * BATCH : (s + 1) * BATCH], mm, lambda m: m.t())

    def run() -> tuple[float, float]:
        clock = Clock()
        epoch()
        return clock.stop(EPOCH / rows)

    return Timed(run, epoch, steps)


@njit(nogil=True, cache=True)
def half_step(x, W0, W1, W2, A0, A1, D0, D1, D2, G0, G1, G2, P, sizes, scalars):  # type: ignore[no-untyped-def]
    """The 8 products of a step on ``x`` (part of a batch), through the kernels' ``gemm``."""
    m = x.shape[0]
    N, T = kernels._N, kernels._T
    g = kernels.gemm
    g(N, N, m, sizes[1], sizes[0] + 1, x, x.shape[1], W0, sizes[1], 0.0, A0, A0.shape[1], scalars)
    g(N, N, m, sizes[2], sizes[1] + 1, A0, A0.shape[1], W1, sizes[2], 0.0, A1, A1.shape[1], scalars)
    g(N, N, m, sizes[3], sizes[2] + 1, A1, A1.shape[1], W2, sizes[3], 0.0, P, P.shape[1], scalars)
    g(N, T, m, sizes[2], sizes[3], D2, sizes[3], W2, sizes[3], 0.0, D1, sizes[2], scalars)
    g(T, N, sizes[2] + 1, sizes[3], m, A1, A1.shape[1], D2, sizes[3], 0.0, G2, sizes[3], scalars)
    g(N, T, m, sizes[1], sizes[2], D1, sizes[2], W1, sizes[2], 0.0, D0, sizes[1], scalars)
    g(T, N, sizes[1] + 1, sizes[2], m, A0, A0.shape[1], D1, sizes[2], 0.0, G1, sizes[2], scalars)
    g(T, N, sizes[0] + 1, sizes[1], m, x, x.shape[1], D0, sizes[1], 0.0, G0, sizes[1], scalars)


@njit(nogil=True, cache=True)
def add_into(target, other):  # type: ignore[no-untyped-def]
    flat, more = target.ravel(), other.ravel()
    for i in range(flat.shape[0]):
        flat[i] += more[i]


def split_products(rows: int) -> Timed:
    """Half the batch on each core, one BLAS thread each; the halves' gradients added."""
    half = BATCH // 2
    parts = [buffers(rows, half) for _ in range(2)]
    sizes = np.array(SIZES, np.int64)
    scalars = [np.empty(2, np.float32) for _ in range(2)]
    X1 = parts[0]["X1"]
    Wb = parts[0]["Wb"]
    steps = rows // BATCH
    pool = ThreadPoolExecutor(1)

    def work(k: int, s: int) -> None:
        b = parts[k]
        x = X1[s * BATCH + k * half : s * BATCH + (k + 1) * half]
        half_step(x, *Wb, *b["A"], *b["D"], *b["G"], b["P"], sizes, scalars[k])

    def epoch() -> None:
        with threadpool_limits(1):
            for s in range(steps):
                other = pool.submit(work, 1, s)
                work(0, s)
                other.result()
                for g0, g1 in zip(parts[0]["G"], parts[1]["G"], strict=True):
                    add_into(g0, g1)

    def run() -> tuple[float, float]:
        clock = Clock()
        epoch()
        return clock.stop(EPOCH / rows)

    return Timed(run, epoch, steps)


def main() -> None:
    global BATCH
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--data-dir")
    parser.add_argument("--hidden", default="512,512", help="two hidden layers' sizes")
    parser.add_argument("--batch-size", type=int, default=BATCH)
    args = parser.parse_args()
    hidden = [int(n) for n in args.hidden.split(",")]
    if len(hidden) != 2:
        parser.error(
            "--hidden takes two sizes: the split route's kernel is written for three layers"
        )
    SIZES[1:3], BATCH = hidden, args.batch_size
    from glassnet.preprocess import Standardizer

    data, _ = load_mnist(find_data_dir(args.data_dir))
    n = args.batches * BATCH
    rows, labels = data["train_images"][:n], data["train_labels"][:n]
    X = Standardizer.fit(data["train_images"]).transform(rows, "float32")
    import torch

    default_threads = torch.get_num_threads()
    contenders: dict[str, Timed] = {
        "compiled engine (Network.fit)": glassnet_contender(
            glassnet_network(SIZES, "relu", "float32"),
            rows,
            labels,
            BATCH,
            engine="numba",
            learning_rate=LR,
        ),
        "NumPy engine (Network.fit)": glassnet_contender(
            glassnet_network(SIZES, "relu", "float32"),
            rows,
            labels,
            BATCH,
            engine="numpy",
            learning_rate=LR,
        ),
        "products, SciPy's OpenBLAS (the compiled engine's)": products_contender(
            SIZES, n, BATCH, "float32"
        ),
        "products, NumPy's OpenBLAS": numpy_products(n),
        "products, PyTorch's BLAS (torch.mm, 2 threads)": torch_products(n),
        "products, batch split over 2 threads": split_products(n),
    }
    torch_net = glassnet_network(SIZES, "relu", "float32")
    for name, timed in sgd_torch_contenders(
        SIZES, "relu", "float32", torch_net, X, labels, BATCH, LR
    ).items():
        contenders[name.replace("_", " ").replace("pytorch", "PyTorch")] = timed
    times = interleaved(contenders, args.rounds)
    torch.set_num_threads(default_threads)
    info = machine_info()
    print(f"CPU: {info['cpu_model']}, {info['cpus_available']} cores; "
          f"{'-'.join(map(str, SIZES))} ReLU, batch "
          f"{BATCH}, float32; {n} images per timed epoch, scaled to 60,000; median of "
          f"{args.rounds} interleaved rounds (min-max)")  # fmt: skip
    for lib in threadpool_info():
        print(f"  loaded: {lib['internal_api']} {lib.get('version')} "
              f"({lib.get('architecture')}, {lib['num_threads']} threads) "
              f"{lib['filepath'].rsplit('/', 1)[-1]}")  # fmt: skip
    torch_best = min(
        (k for k in times if k.startswith("PyTorch")),
        key=lambda k: statistics.median(times[k]["wall"]),
    )
    best_runs = times[torch_best]["wall"]
    print(f"| contender | s/epoch | PyTorch's best ({torch_best}) ÷ it, per round |")
    print("|---|---|---|")
    for name, t in times.items():
        wall = t["wall"]
        ratio = statistics.median(a / b for a, b in zip(best_runs, wall, strict=True))
        print(f"| {name} | {statistics.median(wall):.3f} s ({min(wall):.3f}-{max(wall):.3f}) "
              f"| {ratio:.2f}x |")  # fmt: skip
    print(f"load average at the end: {[round(x, 2) for x in __import__('os').getloadavg()]}",
          file=sys.stderr)  # fmt: skip


if __name__ == "__main__":
    main()
