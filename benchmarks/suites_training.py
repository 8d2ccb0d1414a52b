"""The training suites: the gradients' sanity check, the post's run and the wide network.

Each suite builds its contenders from the same initial weights and the same standardized images,
times them interleaved (:func:`harness.summarize`) and returns the JSON section of its figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import numpy as np
from contenders import (
    default_torch_threads,
    glassnet_contender,
    glassnet_network,
    products_contender,
    reference_contender,
    reference_network,
    restore_torch_threads,
    sgd_torch_contenders,
    sklearn_classifier,
    sklearn_contender,
    torch_model,
)
from harness import EPOCH, Timed, have, summarize
from numpy.typing import NDArray
from step import core_gflops, step_flops
from threadpoolctl import threadpool_limits

from glassnet.datasets.preprocess import one_hot
from glassnet.engine import available_engines
from glassnet.reference import one_hot_columns

POST_SIZES = [784, 50, 50, 50, 50, 50, 50, 10]
WIDE_SIZES = [784, 512, 512, 10]


def n_parameters(sizes: Sequence[int]) -> int:
    return sum(a * b + b for a, b in pairwise(sizes))


def add_best_pytorch(res: dict[str, Any]) -> None:
    """``res["pytorch"]``: the faster of the ``pytorch_{n}_threads`` figures, with its threads."""
    torch_names = [k for k in res if k.startswith("pytorch_")]
    if torch_names:
        best = min(torch_names, key=lambda k: res[k]["median"])
        res["pytorch"] = dict(res[best], threads=int(best.split("_")[1]))


# ---------------------------------------------------------------------------- sanity
def sanity_check(data: dict[str, Any], std: Any) -> dict[str, Any]:
    """The contenders compute the same gradients from the same weights (float64, one batch)."""
    net = glassnet_network(POST_SIZES, "sigmoid", "float64", "normal")
    X = std.transform(data["train_images"][:10], np.float64)
    y = data["train_labels"][:10]
    gw, gb = net.backprop(X, one_hot(y, 10, np.float64))
    ref = reference_network(POST_SIZES, "sigmoid", "float64", "normal", net)
    rw, rb = ref.backprop(np.ascontiguousarray(X.T), one_hot_columns(y, 10, "float64"))
    out: dict[str, Any] = {
        "reference_vs_glassnet": max(
            max(rel(g, r.T) for g, r in zip(gw, rw, strict=True)),
            max(rel(g, r[:, 0]) for g, r in zip(gb, rb, strict=True)),
        )
    }
    if have("torch"):
        out["pytorch_vs_glassnet"] = torch_gradient_difference(net, X, y, gw, gb)
    return out


def rel(a: NDArray[Any], b: NDArray[Any]) -> float:
    """The largest difference between ``a`` and ``b``, relative to ``a``'s largest entry."""
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), 1e-300))


def torch_gradient_difference(
    net: Any, X: NDArray[Any], y: NDArray[Any], gw: list[Any], gb: list[Any]
) -> float:
    """How far PyTorch's autograd, from ``net``'s weights, is from glassnet's gradients."""
    import torch

    model = torch_model(POST_SIZES, "sigmoid", "float64", init_from=net)
    loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(X)), torch.from_numpy(y))
    loss.backward()
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    return max(
        max(rel(g, lin.weight.grad.numpy().T) for g, lin in zip(gw, linears, strict=True)),
        max(rel(g, lin.bias.grad.numpy()) for g, lin in zip(gb, linears, strict=True)),
    )


def glassnet_engines(
    sizes: list[int],
    activation: str,
    dtype: str,
    initializer: str | None,
    rows: NDArray[Any],
    labels: NDArray[Any],
    batch: int,
    lr: float,
) -> dict[str, Timed]:
    """glassnet on each engine installed, from the same weights: ``glassnet`` (the NumPy engine)
    and ``glassnet_numba`` (the compiled one, where it runs)."""
    out: dict[str, Timed] = {}
    for engine in available_engines():
        net = glassnet_network(sizes, activation, dtype, initializer)
        key = "glassnet" if engine == "numpy" else f"glassnet_{engine}"
        out[key] = glassnet_contender(net, rows, labels, batch, engine=engine, learning_rate=lr)
    return out


# ---------------------------------------------------------------------------- the post's run
def bench_post(data: dict[str, Any], std: Any, cfg: dict[str, Any]) -> dict[str, Any]:
    """The post's run: 784-50x6-10 sigmoid, batch 10, lr 0.002, float64 and float32."""
    batch, lr = 10, 0.002
    n = cfg["post_batches"] * batch
    rows, labels = data["train_images"][:n], data["train_labels"][:n]
    result: dict[str, Any] = {
        "batches_timed": cfg["post_batches"],
        "batch_size": batch,
        "samples_timed": n,
        "learning_rate": lr,
        "dtypes": {},
    }
    for dtype in ("float64", "float32"):
        default_threads = default_torch_threads()
        contenders = post_contenders(std, cfg, rows, labels, dtype, batch, lr)
        res = summarize(contenders, cfg["reps"])
        restore_torch_threads(default_threads)
        add_best_pytorch(res)
        result["dtypes"][dtype] = res
    for dtype, res in result["dtypes"].items():
        res["arithmetic_limit"] = arithmetic_limit(dtype, batch)
    f32 = result["dtypes"]["float32"]
    result["seed_preset_projected_seconds_float32"] = 1000 * f32["glassnet"]["median"]
    if "glassnet_numba" in f32:
        result["seed_preset_projected_seconds_float32_numba"] = (
            1000 * f32["glassnet_numba"]["median"]
        )
    return result


def arithmetic_limit(dtype: str, batch: int) -> dict[str, Any]:
    """An epoch of the post's steps at one core's best rate on a large product: the products'
    multiply-adds alone (forward, weight gradients, backward but for the first layer)."""
    with threadpool_limits(1):
        rate = core_gflops(dtype)
    flop = step_flops(POST_SIZES, batch)
    seconds = flop / (rate * 1e9) * EPOCH / batch
    return {
        "median": seconds,
        "step_flop": flop,
        "core_gflops": rate,
        "steps_per_epoch": EPOCH // batch,
    }


def post_contenders(
    std: Any,
    cfg: dict[str, Any],
    rows: NDArray[Any],
    labels: NDArray[Any],
    dtype: str,
    batch: int,
    lr: float,
) -> dict[str, Timed]:
    """glassnet, the reference (default and 1 BLAS thread) and PyTorch, from the same weights."""
    X = std.transform(rows, dtype)
    contenders: dict[str, Timed] = {}
    net = glassnet_network(POST_SIZES, "sigmoid", dtype, "normal")
    contenders.update(
        glassnet_engines(POST_SIZES, "sigmoid", dtype, "normal", rows, labels, batch, lr)
    )
    ref = reference_network(POST_SIZES, "sigmoid", dtype, "normal", net)
    Xc, Yc = np.ascontiguousarray(X.T), one_hot_columns(labels, 10, dtype)
    contenders["reference"] = reference_contender(ref, Xc, Yc, batch, lr)
    contenders["reference_1_thread"] = reference_contender(ref, Xc, Yc, batch, lr, threads=1)
    if have("torch"):
        # PyTorch times a shorter slice: it has no per-epoch fixed cost to amortize, and
        # its per-step cost is high enough that the full slice would dominate the run.
        m = cfg["torch_post_batches"] * batch
        contenders.update(
            sgd_torch_contenders(POST_SIZES, "sigmoid", dtype, net, X[:m], labels[:m], batch, lr)
        )
    return contenders


# ---------------------------------------------------------------------------- the wide network
def bench_wide(data: dict[str, Any], std: Any, cfg: dict[str, Any]) -> dict[str, Any]:
    """784-512-512-10 ReLU, batch 256, float32: seconds per epoch and achieved GFLOP/s."""
    batch, lr, dtype = 256, 0.01, "float32"
    n = cfg["wide_batches"] * batch
    rows, labels = data["train_images"][:n], data["train_labels"][:n]
    default_threads = default_torch_threads()
    contenders, clf = wide_contenders(std, rows, labels, batch, lr, dtype)
    times = summarize(contenders, cfg["reps"])
    restore_torch_threads(default_threads)
    flop_per_epoch = 6.0 * n_parameters(WIDE_SIZES) * EPOCH
    res: dict[str, Any] = {
        "batches_timed": cfg["wide_batches"],
        "batch_size": batch,
        "samples_timed": n,
        "learning_rate": lr,
        "dtype": dtype,
        "parameters": n_parameters(WIDE_SIZES),
        "flop_per_epoch_6P": flop_per_epoch,
    }
    for name, figures in times.items():
        res[name] = dict(figures, gflops=flop_per_epoch / figures["median"] / 1e9)
    add_best_pytorch(res)
    if clf is not None:
        res["scikit-learn"]["coef_dtype"] = str(clf.coefs_[0].dtype)
    return res


def wide_contenders(
    std: Any, rows: NDArray[Any], labels: NDArray[Any], batch: int, lr: float, dtype: str
) -> tuple[dict[str, Timed], Any]:
    """glassnet and the reference (default and 1 BLAS thread), PyTorch, scikit-learn.

    Also returns scikit-learn's classifier (``None`` without scikit-learn), whose weights' dtype
    the report names.
    """
    X = std.transform(rows, dtype)
    contenders: dict[str, Timed] = {}
    net = glassnet_network(WIDE_SIZES, "relu", dtype)
    contenders.update(glassnet_engines(WIDE_SIZES, "relu", dtype, None, rows, labels, batch, lr))
    ref = reference_network(WIDE_SIZES, "relu", dtype, "he", net)
    contenders["glassnet_1_thread"] = glassnet_contender(
        net, rows, labels, batch, threads=1, engine="numpy", learning_rate=lr
    )
    Xc, Yc = np.ascontiguousarray(X.T), one_hot_columns(labels, 10, dtype)
    contenders["reference"] = reference_contender(ref, Xc, Yc, batch, lr)
    contenders["reference_1_thread"] = reference_contender(ref, Xc, Yc, batch, lr, threads=1)
    if have("torch"):
        contenders.update(
            sgd_torch_contenders(WIDE_SIZES, "relu", dtype, net, X, labels, batch, lr)
        )
    if "numba" in available_engines():
        contenders["products"] = products_contender(WIDE_SIZES, len(rows), batch, dtype)
    clf = None
    if have("sklearn"):
        clf = sklearn_classifier(WIDE_SIZES[1:-1], "relu", "sgd", lr, batch, {})
        contenders["scikit-learn"] = sklearn_contender(clf, X, labels)
    return contenders, clf
