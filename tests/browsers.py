"""Helpers for the tests that drive glassnet's pages in headless Chromium.

Imported by test_browser.py, test_browser_backward.py and test_browser_watch.py. :func:`chromium`
starts Debian's Chromium through Playwright (skipping the test when either is missing),
:func:`trained_model` writes a small network trained for a few seconds on real MNIST when the
shared copy is there, and :func:`draw_seven` and :func:`probabilities` act on the drawing page.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def mnist_folder() -> Path | None:
    """The shared MNIST copy ($GLASSNET_TEST_MNIST, or ../shared/datasets/mnist), if present."""
    configured = os.environ.get("GLASSNET_TEST_MNIST")
    folder = (
        Path(configured)
        if configured
        else Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "mnist"
    )
    return folder if all((folder / name).is_file() for name in MNIST_FILES) else None


def trained_model(path: Path) -> bool:
    """Write a 784-64-32-10 ReLU network to ``path``, trained for a few seconds on real MNIST when
    it is available; return whether it was trained."""
    from glassnet import Network
    from glassnet.datasets.preprocess import Standardizer

    net = Network([784, 64, 32, 10], "relu", seed=0)
    folder = mnist_folder()
    if folder is not None:
        from glassnet.datasets.idx import read_idx

        images = read_idx(folder / MNIST_FILES[0])[:20_000]
        labels = read_idx(folder / MNIST_FILES[1])[:20_000]
        net.fit(images, labels, epochs=2, batch_size=32, learning_rate=0.05, verbose=0)
    else:
        net.standardizer = Standardizer(np.array([33.3]), np.array([78.6]))
    net.save(path)
    return folder is not None


@contextmanager
def chromium() -> Iterator[Any]:
    """Headless Chromium, launched by Playwright; the test is skipped if either is missing."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (install Debian's chromium package)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright package is missing"
    )
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def draw_seven(page: Any) -> None:
    """Two strokes, as a person draws a 7: the top bar, then the long diagonal."""
    box = page.locator("#canvas").bounding_box()
    assert box is not None

    def at(fx: float, fy: float) -> tuple[float, float]:
        return box["x"] + fx * box["width"], box["y"] + fy * box["height"]

    strokes = [
        [(0.28, 0.22), (0.72, 0.22)],
        [(0.72, 0.22), (0.60, 0.45), (0.48, 0.80)],
    ]
    for stroke in strokes:
        page.mouse.move(*at(*stroke[0]))
        page.mouse.down()
        for point in stroke[1:]:
            page.mouse.move(*at(*point), steps=12)
        page.mouse.up()


def probabilities(page: Any) -> list[float]:
    """The ten bars' probabilities, as the page shows them."""
    values = page.eval_on_selector_all(
        "#bars .bar", "bars => bars.map(b => Number(b.dataset.probability))"
    )
    return [float(v) for v in values]
