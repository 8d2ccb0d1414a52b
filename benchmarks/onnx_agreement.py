"""How closely an exported ONNX file agrees with glassnet, and how fast each runs, on a test set.

Exports the model file to ONNX (in a temporary folder), runs it in onnxruntime on every test image,
and prints the largest difference between any of its probabilities and glassnet's, how many images
the two classify differently, both accuracies, and each one's time for the whole test set (the
median of five runs, after one to warm up). ::

    python benchmarks/onnx_agreement.py MODEL [--dataset mnist] [--data-dir DIR]

Needs ``glassnet[onnx]`` (onnx and onnxruntime).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime

import glassnet


def median_seconds(work: Callable[[], Any], repeats: int = 5) -> float:
    work()  # warm-up: first-call allocations, thread pools
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("--dataset", default=None)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()

    network = glassnet.load(args.model)
    name = args.dataset or network.training_settings.get("dataset") or "mnist"
    data = glassnet.datasets.load(name, data_dir=args.data_dir)
    images = data.test_images
    pixels = images.reshape(len(images), -1).astype(np.float32)
    with tempfile.TemporaryDirectory() as folder:
        path = network.to_onnx(Path(folder) / "model.onnx")
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    probabilities, classes = session.run(None, {"pixels": pixels})
    expected = network.predict_proba(images)
    differ = int(np.count_nonzero(classes != expected.argmax(axis=1)))
    onnx_seconds = median_seconds(lambda: session.run(None, {"pixels": pixels}))
    glassnet_seconds = median_seconds(lambda: network.predict_proba(images))
    print(f"{args.model}: {network!r}, {len(images):,} {name} test images")
    print(f"largest difference in a probability  {np.max(np.abs(probabilities - expected)):.2g}")
    print(f"images classified differently        {differ}")
    print(
        f"accuracy                             onnxruntime {np.mean(classes == data.test_labels):.2%}"
        f", glassnet {np.mean(expected.argmax(axis=1) == data.test_labels):.2%}"
    )
    print(
        f"time for the test set                onnxruntime {onnx_seconds * 1000:.0f} ms, "
        f"glassnet {glassnet_seconds * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
