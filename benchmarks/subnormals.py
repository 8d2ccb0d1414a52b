"""The `seed` preset's epoch at its start and late in training, with subnormals flushed and not.

The post's initialization (standard-normal weights) saturates the first sigmoid layer; as training
goes on more of its outputs, and of the derivatives and deltas made from them, fall below float32's
normal range (subnormals), which many x86 CPUs compute far more slowly. The engines flush them to
zero while they train (``glassnet.engine.subnormals``). This script measures what that is worth:

1. ``--train N`` trains the `seed` preset's network (784-50x6-10 sigmoid, N(0, 1) weights, float32,
   batch 10, learning rate 0.002) on MNIST's 60,000 training images for N epochs on the compiled
   engine, saving the weights after epochs 1 and N (and every 50) into ``--weights DIR``;
2. then, from the weights of epoch 1 and of the last epoch saved, it times steady-state epochs of
   the engine's steps, interleaved in rounds: each engine, start and late weights, with the engines'
   flushing on and with it turned off; and it counts the subnormal numbers one epoch's steps make.

    python benchmarks/subnormals.py --train 435          # once: some 10 minutes on 2 cores
    python benchmarks/subnormals.py [--rounds 5] [--images 20000]
    python benchmarks/subnormals.py --micro              # only: are subnormals slow on this CPU?
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from harness import HERE, find_data_dir, load_mnist, machine_info
from threadpoolctl import threadpool_limits

from glassnet import Network
from glassnet.engine import available_engines, with_ones
from glassnet.optimizers import SGD

SIZES = [784] + [50] * 6 + [10]
BATCH, LR = 10, 0.002
SMALLEST_NORMAL = float(np.finfo(np.float32).tiny)


def train(data: dict[str, Any], epochs: int, weights: Path) -> None:
    X, y = data["train_images"], data["train_labels"]
    net = Network(SIZES, "sigmoid", initializer="normal", seed=0, dtype="float32")
    weights.mkdir(parents=True, exist_ok=True)

    def save(row: dict[str, Any], state: Any) -> None:
        epoch = row["epoch"]
        if epoch in (1, epochs) or epoch % 50 == 0:
            np.save(weights / f"seed_epoch{epoch}.npy", net.get_flat_parameters())
            print(f"epoch {epoch}: {row['seconds']:.3f} s", file=sys.stderr, flush=True)

    net.fit(
        X, y, epochs=epochs, batch_size=BATCH, learning_rate=LR, optimizer="sgd", engine="numba",
        callbacks=[save], progress=False, seed=0, validation_split=0.0,
    )  # fmt: skip


def subnormal_share(net: Network, X1: np.ndarray, Y: np.ndarray) -> float:
    """The share of the first hidden layer's outputs that are subnormal, over the images."""
    A = net.engine.layer_outputs(X1[:, :-1])[0]
    return float(np.mean((A != 0) & (np.abs(A) < SMALLEST_NORMAL)))


def micro() -> None:
    """Does this CPU compute subnormals slowly? A multiply over the post's 52,510 parameters and
    its first layer's weight-gradient product, with normal and with subnormal numbers, one core."""

    def best(f: Any, n: int = 200) -> float:
        times = []
        for _ in range(5):
            began = time.perf_counter()
            for _ in range(n):
                f()
            times.append((time.perf_counter() - began) / n)
        return min(times) * 1e6

    rng = np.random.default_rng(0)
    x = (rng.random(52_510) + 0.5).astype(np.float32)
    tiny = (x * np.float32(1e-39)).astype(np.float32)
    y = np.empty_like(x)
    a = rng.random((10, 785)).astype(np.float32)
    d = rng.random((10, 50)).astype(np.float32)
    d_tiny = (d * np.float32(1e-39)).astype(np.float32)
    g = np.empty((785, 50), np.float32)
    with threadpool_limits(1):
        print(
            f"multiply, normal in and out:      {best(lambda: np.multiply(x, 0.5, out=y)):.1f} µs"
        )
        small = np.float32(1e-39)
        print(
            f"multiply, every output subnormal: {best(lambda: np.multiply(x, small, out=y)):.1f} µs"
        )
        print(
            f"multiply, every input subnormal:  {best(lambda: np.multiply(tiny, 0.5, out=y)):.1f} µs"
        )
        print(f"(785x10)(10x50) sgemm, normal:    {best(lambda: np.matmul(a.T, d, out=g)):.1f} µs")
        print(
            f"(785x10)(10x50) sgemm, subnormal: {best(lambda: np.matmul(a.T, d_tiny, out=g)):.1f} µs"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=int, metavar="EPOCHS", help="train and save the weights")
    parser.add_argument("--weights", type=Path, default=HERE / "results" / "seed_weights")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--data-dir")
    parser.add_argument("--micro", action="store_true", help="only: are subnormals slow here?")
    args = parser.parse_args()
    if args.micro:
        micro()
        return
    data, _ = load_mnist(find_data_dir(args.data_dir))
    if args.train:
        train(data, args.train, args.weights)
        return
    saved = sorted(args.weights.glob("seed_epoch*.npy"), key=lambda p: int(p.stem[10:]))
    if len(saved) < 2:
        raise SystemExit(f"no trained weights in {args.weights}: run with --train EPOCHS first")
    late = saved[-1]
    start = args.weights / "seed_epoch1.npy"
    from glassnet.preprocess import Standardizer

    std = Standardizer.fit(data["train_images"])
    n = args.images
    X1 = with_ones(std.transform(data["train_images"][:n], np.float32))
    Y = np.eye(10, dtype=np.float32)[data["train_labels"][:n]]
    P = np.empty((n, 10), np.float32)
    steps = -(-n // BATCH)

    import glassnet.engine.numba as numba_module
    import glassnet.engine.numpy as numpy_module

    modules = {"numpy": numpy_module, "numba": numba_module}
    real = {name: module.flushing_subnormals for name, module in modules.items()}
    cases: dict[str, Any] = {}
    for engine in available_engines():
        for label, path in (("epoch 1", start), (f"epoch {late.stem[10:]}", late)):
            for flush in (True, False):
                net = Network(SIZES, "sigmoid", seed=0, dtype="float32")
                net.set_flat_parameters(np.load(path))
                cases[(engine, label, flush)] = (net, net.use_engine(engine), np.load(path))

    def epoch(case: Any, flush: bool, engine: str) -> float:
        net, eng, start_weights = case
        net.set_flat_parameters(start_weights)  # every timed epoch starts from the same weights
        module = modules[engine]
        module.flushing_subnormals = real[engine] if flush else contextlib.nullcontext  # type: ignore[attr-defined]
        try:
            began = time.perf_counter()
            for s in range(0, steps, 40):
                eng.steps(
                    X1, Y, SGD(LR), LR, start=s, count=min(40, steps - s), batch_size=BATCH, out=P
                )
            return (time.perf_counter() - began) * 60_000 / n
        finally:
            module.flushing_subnormals = real[engine]  # type: ignore[attr-defined]

    times: dict[Any, list[float]] = {key: [] for key in cases}
    with threadpool_limits(1), np.errstate(over="ignore", invalid="ignore"):
        for key, case in cases.items():
            epoch(case, key[2], key[0])  # warm up
        for _ in range(args.rounds):
            for key, case in cases.items():
                time.sleep(0.2)
                times[key].append(epoch(case, key[2], key[0]))
    info = machine_info()
    print(f"CPU: {info['cpu_model']}, {info['cpus_available']} cores; float32, batch {BATCH}, "
          f"{n} images per timed epoch, scaled to 60,000; median of {args.rounds} rounds")  # fmt: skip
    print("| engine | weights | first-layer outputs subnormal | flushing on | flushing off |")
    print("|---|---|---|---|---|")
    for engine in available_engines():
        for label in dict.fromkeys(k[1] for k in cases if k[0] == engine):
            net = cases[(engine, label, True)][0]
            net.set_flat_parameters(cases[(engine, label, True)][2])
            share = subnormal_share(net, X1, Y)
            on = statistics.median(times[(engine, label, True)])
            off = statistics.median(times[(engine, label, False)])
            print(f"| {engine} | {label} | {share:.2%} | {on:.3f} s | {off:.3f} s |")


if __name__ == "__main__":
    main()
