"""The drawing page in a real browser: draw a digit with the mouse, read the bars, clear.

Runs ``glassnet serve`` as a subprocess and drives headless Chromium through Playwright. Skipped
when Playwright or ``/usr/bin/chromium`` is missing. A screenshot is kept in
``test-artifacts/browser.png`` for a person to look at.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from subprocesses import start_server

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")


def mnist_folder() -> Path | None:
    configured = os.environ.get("GLASSNET_TEST_MNIST")
    folder = (
        Path(configured)
        if configured
        else Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "mnist"
    )
    return folder if all((folder / name).is_file() for name in MNIST_FILES) else None


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bool]:
    """A small network, trained for a few seconds on real MNIST when it is available.

    Returns the file and whether the network was trained.
    """
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
    path = tmp_path_factory.mktemp("browser") / "model.safetensors"
    net.save(path)
    return path, folder is not None


@pytest.fixture(scope="module")
def server_url(
    model_file: tuple[Path, bool], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    server = start_server(model_file[0], tmp_path_factory.mktemp("serve"))
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (install Debian's chromium package)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright package is missing"
    )
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield chromium
        finally:
            chromium.close()


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
    values = page.eval_on_selector_all(
        "#bars .bar", "bars => bars.map(b => Number(b.dataset.probability))"
    )
    return [float(v) for v in values]


def test_draw_a_digit_see_the_prediction_and_clear(
    browser: Any, server_url: str, model_file: tuple[Path, bool]
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 820}, device_scale_factor=1)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("requestfailed", lambda r: problems.append(f"{r.url}: {r.failure}"))
    try:
        page.goto(server_url)
        page.wait_for_selector("body[data-ready='true']", timeout=10_000)
        assert page.locator("#bars .bar").count() == 10
        assert page.locator("#layers canvas").count() == 2  # two hidden layers
        assert probabilities(page) == [0.0] * 10

        draw_seven(page)
        page.wait_for_function(
            "document.querySelector('#prediction').dataset.state === 'answer'", timeout=10_000
        )
        # The last stroke's answer may still be on its way: wait until none is pending.
        page.wait_for_timeout(300)
        shown = probabilities(page)
        assert len(shown) == 10 and sum(shown) == pytest.approx(1.0, abs=2e-3)
        best = page.locator("#bars .bar.best")
        assert best.count() == 1
        predicted = page.locator("#predicted-class").inner_text()
        assert predicted == best.get_attribute("data-class")
        assert "It reads" in page.locator("#prediction").inner_text()
        if model_file[1]:
            assert predicted == "7", f"a trained network read the drawn 7 as {predicted}"
        ink = page.evaluate(
            "(() => { const c = document.querySelector('#input').getContext('2d');"
            " return Array.from(c.getImageData(0, 0, 28, 28).data).filter((v, i) => i % 4 === 0"
            " && v > 0).length; })()"
        )
        assert ink > 20  # the 28x28 preview shows the prepared digit

        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "browser.png"), full_page=True)

        page.click("#clear")
        page.wait_for_function(
            "document.querySelector('#prediction').dataset.state === 'empty'", timeout=5_000
        )
        page.wait_for_timeout(200)  # a late answer for the cleared drawing must not come back
        assert probabilities(page) == [0.0] * 10
        assert page.locator("#bars .bar.best").count() == 0
        assert page.locator("#prediction").inner_text() == "Draw a digit"
        blank = page.evaluate(
            "(() => { const c = document.querySelector('#canvas').getContext('2d');"
            " return Array.from(c.getImageData(0, 0, 280, 280).data).every((v, i) => i % 4 === 3"
            " || v === 0); })()"
        )
        assert blank
        assert problems == []
    finally:
        context.close()


def test_keyboard_reaches_clear_and_escape_clears(browser: Any, server_url: str) -> None:
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    page = context.new_page()
    try:
        page.goto(server_url)
        page.wait_for_selector("body[data-ready='true']", timeout=10_000)
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "canvas"
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "clear"
        draw_seven(page)
        page.wait_for_function(
            "document.querySelector('#prediction').dataset.state === 'answer'", timeout=10_000
        )
        page.keyboard.press("Escape")
        page.wait_for_function(
            "document.querySelector('#prediction').dataset.state === 'empty'", timeout=5_000
        )
        assert probabilities(page) == [0.0] * 10
    finally:
        context.close()
