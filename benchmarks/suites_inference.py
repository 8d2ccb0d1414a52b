"""Inference: one-image latency and 10,000-image throughput of ``predict_proba``, and PyTorch's."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from contenders import glassnet_network, torch_model, torch_thread_counts
from harness import have, median, summary
from numpy.typing import NDArray

INFERENCE_SIZES = [784, 256, 10]


def bench_inference(data: dict[str, Any], std: Any, cfg: dict[str, Any]) -> dict[str, Any]:
    """One-image latency and 10,000-image throughput of ``predict_proba`` (784-256-10 ReLU)."""
    net = glassnet_network(INFERENCE_SIZES, "relu", "float32")
    net.standardizer = std
    one = data["test_images"][:1]  # (1, 784) uint8: a raw image as a row
    many = data["test_images"][:10_000]
    res: dict[str, Any] = {
        "network": "784-256-10 relu float32, random weights, standardizer "
        "fitted on the training images"
    }
    res["glassnet"] = {
        "one_image": latency(lambda: net.predict_proba(one), cfg["latency_calls"]),
        "10000_images": throughput(
            lambda: net.predict_proba(many), cfg["throughput_reps"], len(many)
        ),
    }
    if have("torch"):
        res["pytorch"] = torch_inference(net, std, one, many, cfg)
    return res


def latency(fn: Callable[[], Any], calls: int) -> dict[str, float]:
    """The median, p10 and p90 of ``calls`` calls of ``fn``, each timed alone after 100 warm-ups."""
    for _ in range(100):
        fn()
    ts = []
    for _ in range(calls):
        t0 = time.perf_counter_ns()
        fn()
        ts.append((time.perf_counter_ns() - t0) * 1e-9)
    ts.sort()
    return {
        "median": median(ts),
        "p10": ts[len(ts) // 10],
        "p90": ts[len(ts) * 9 // 10],
        "calls": len(ts),
    }


def throughput(fn: Callable[[], Any], reps: int, images: int) -> dict[str, Any]:
    """``reps`` timed calls of ``fn`` on ``images`` images after one warm-up call."""
    fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return dict(summary(ts), images_per_second=images / median(ts))


def torch_inference(
    net: Any, std: Any, one: NDArray[Any], many: NDArray[Any], cfg: dict[str, Any]
) -> dict[str, Any]:
    """The same figures for an ``inference_mode`` forward pass of PyTorch from ``net``'s weights,
    with the same standardizing, at each thread count."""
    import torch

    model = torch_model(INFERENCE_SIZES, "relu", "float32", init_from=net).eval()
    mean, scale = float(std.mean[0]), float(std.scale[0])

    def torch_predict(x: NDArray[Any]) -> Any:
        with torch.inference_mode():
            t = (torch.from_numpy(x).to(torch.float32) - mean) / scale
            return torch.softmax(model(t), dim=1).numpy()

    default_threads = torch.get_num_threads()
    out: dict[str, Any] = {}
    for threads in torch_thread_counts():
        torch.set_num_threads(threads)
        out[f"{threads}_threads"] = {
            "one_image": latency(lambda: torch_predict(one), cfg["latency_calls"]),
            "10000_images": throughput(
                lambda: torch_predict(many), cfg["throughput_reps"], len(many)
            ),
        }
    torch.set_num_threads(default_threads)
    return out
