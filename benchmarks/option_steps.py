"""Each optimizer and option's cost on one engine, over SGD's: the engine's steps alone.

2,000 steps of the post's network (784-50x6-10 sigmoid, N(0, 1) weights, batch 10) on 20,000
random rows, through ``engine.steps`` in runs of 40 as the training loop calls it, one BLAS thread,
for SGD, momentum, Nesterov, RMSprop, Adam, AdamW (λ = 10⁻⁴), and SGD with weight decay (10⁻⁴),
clipping (norm 1) and dropout (0.2). Timed on the calling thread's CPU clock
(``time.thread_time``), which load from other programs disturbs less than the wall clock; five
interleaved rounds, the median. To compare two versions of glassnet, run it once with each on
``PYTHONPATH``. ::

    python benchmarks/option_steps.py [float32|float64] [numba,numpy]
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

import numpy as np
from threadpoolctl import threadpool_limits

from glassnet import Network
from glassnet.engine import with_ones
from glassnet.optimizers import make_optimizer

#: option: (optimizer, learning rate, settings)
OPTIONS: list[tuple[str, dict[str, float], float]] = [
    ("sgd", {}, 0.002),
    ("momentum", {}, 0.002),
    ("nesterov", {}, 0.002),
    ("rmsprop", {}, 0.001),
    ("adam", {}, 0.001),
    ("adamw", {"weight_decay": 1e-4}, 0.001),
    ("sgd+decay", {"weight_decay": 1e-4}, 0.002),
    ("sgd+clip", {"clip": 1.0}, 0.002),
    ("sgd+dropout", {"dropout": 0.2}, 0.002),
]
N, STEPS, RUN = 20_000, 2000, 40


def contenders(
    engine: str, dtype: str, X1: np.ndarray, Y: np.ndarray
) -> dict[str, Callable[[], float]]:
    out: dict[str, Callable[[], float]] = {}
    for name, extra, lr in OPTIONS:
        net = Network([784] + [50] * 6 + [10], "sigmoid", initializer="normal", seed=0, dtype=dtype)
        eng = net.use_engine(engine)
        decay = {"weight_decay": extra["weight_decay"]} if "weight_decay" in extra else {}
        opt = make_optimizer(name.split("+")[0], lr, **decay)
        rng = np.random.default_rng(1)
        P = np.empty((N, 10), dtype)

        def run(eng=eng, opt=opt, extra=extra, lr=lr, rng=rng, P=P) -> float:  # type: ignore[no-untyped-def]
            began = time.thread_time()
            for s in range(0, STEPS, RUN):
                eng.steps(
                    X1, Y, opt, lr, start=s, count=RUN, batch_size=10,
                    dropout=extra.get("dropout", 0.0), rng=rng, clip_norm=extra.get("clip", 0.0),
                    out=P,
                )  # fmt: skip
            return time.thread_time() - began

        out[name] = run
    return out


def main() -> None:
    dtype = sys.argv[1] if len(sys.argv) > 1 else "float32"
    engines = sys.argv[2].split(",") if len(sys.argv) > 2 else ["numba", "numpy"]
    rng = np.random.default_rng(0)
    X1 = with_ones(rng.normal(size=(N, 784)).astype(dtype))
    Y = np.eye(10, dtype=dtype)[rng.integers(0, 10, N)]
    with threadpool_limits(1), np.errstate(over="ignore", invalid="ignore"):
        for engine in engines:
            runs = contenders(engine, dtype, X1, Y)
            for run in runs.values():
                run()  # warm up (and compile)
            times: dict[str, list[float]] = {name: [] for name in runs}
            for _ in range(5):
                for name, run in runs.items():
                    times[name].append(run())
            base = statistics.median(times["sgd"])
            for name, values in times.items():
                median = statistics.median(values)
                print(
                    f"{engine:6s} {dtype} {name:12s} {median * 1e3:7.1f} ms/{STEPS} steps  "
                    f"{median / base:4.2f}x sgd"
                )


if __name__ == "__main__":
    main()
