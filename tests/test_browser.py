"""The drawing page in a real browser: draw a digit with the mouse, read the bars, clear.

Runs ``glassnet serve`` as a subprocess and drives headless Chromium through Playwright. Skipped
when Playwright or ``/usr/bin/chromium`` is missing. A screenshot is kept in
``test-artifacts/browser.png`` for a person to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    ARTIFACTS,
    chromium,
    draw_seven,
    probabilities,
    start_server,
    trained_model,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bool]:
    """A small network, trained for a few seconds on real MNIST when it is available.

    Returns the file and whether the network was trained.
    """
    path = tmp_path_factory.mktemp("browser") / "model.safetensors"
    return path, trained_model(path)


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
    with chromium() as launched:
        yield launched


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
