"""The backward pass and "learn this" in a real browser: draw, pick a label, read the gradient
view, learn, see that label's probability rise, reset.

Runs ``glassnet serve`` as a subprocess and drives headless Chromium through Playwright, with the
model of ``test_browser.py`` (see ``browsers.py``). A screenshot is kept in
``test-artifacts/browser-backward.png``.
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
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("backward") / "model.safetensors"
    trained_model(path)
    return path


@pytest.fixture(scope="module")
def server_url(model_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = start_server(model_file, tmp_path_factory.mktemp("serve"))
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


LAYERS = 3  # the model of test_browser.py: 784-64-32-10, three weight layers


def open_page(browser: Any, server_url: str) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, device_scale_factor=1)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(server_url)
    page.wait_for_selector("body[data-ready='true']", timeout=10_000)
    return context, page, problems


def backward_for(page: Any, label: int) -> None:
    page.wait_for_selector(f"#backward[data-state='answer'][data-label='{label}']", timeout=10_000)


def settled(page: Any) -> None:
    """Let the answers to the last strokes and requests arrive."""
    page.wait_for_timeout(400)


def test_pick_a_label_read_the_gradients_learn_and_reset(browser: Any, server_url: str) -> None:
    context, page, problems = open_page(browser, server_url)
    try:
        assert page.locator("#backward").get_attribute("data-state") == "empty"
        assert page.locator("#learn").is_disabled()
        draw_seven(page)
        page.wait_for_function(
            "() => document.querySelector('#prediction').dataset.state === 'answer'"
        )
        settled(page)
        predicted = int(page.locator("#predicted-class").inner_text())
        backward_for(page, predicted)  # the label defaults to the prediction
        assert page.locator("#bars .bar.target").get_attribute("data-class") == str(predicted)

        # The gradient view: a delta grid per layer, a gradient size per layer, six unit images.
        assert page.locator("#deltas canvas").count() == LAYERS
        norms = [float(v) for v in page.eval_on_selector_all(
            "#gradient-sizes li", "items => items.map(i => i.dataset.norm)")]  # fmt: skip
        assert len(norms) == LAYERS and all(n > 0 for n in norms)
        weight_norms = page.eval_on_selector_all(
            "#gradient-sizes li", "items => items.map(i => Number(i.dataset.weightNorm))"
        )
        assert len(weight_norms) == LAYERS and all(n > 0 for n in weight_norms)
        assert page.locator("#unit-gradients canvas").count() == 6
        painted = page.evaluate(
            "(() => { const c = document.querySelector('#unit-gradients canvas');"
            " const d = c.getContext('2d').getImageData(0, 0, 28, 28).data;"
            " return new Set(Array.from(d).filter((v, i) => i % 4 === 0)).size; })()"
        )
        assert painted > 3  # an image, not a flat square

        # Pick another label: the view follows it.
        label = 3 if predicted != 3 else 5
        page.click(f"#bars .bar[data-class='{label}']")
        backward_for(page, label)
        assert page.locator(f"#bars .bar[data-class='{label}']").get_attribute("aria-pressed") == (
            "true"
        )
        before = probabilities(page)[label]
        loss_before = float(page.locator("#backward").get_attribute("data-loss"))

        page.click("#learn")
        page.wait_for_selector("#learn-result[data-after]", timeout=10_000)
        settled(page)
        result = page.locator("#learn-result")
        assert float(result.get_attribute("data-before")) == pytest.approx(before, abs=2e-4)
        assert float(result.get_attribute("data-after")) > before
        assert result.get_attribute("data-steps") == "1"
        backward_for(page, label)
        after = probabilities(page)[label]
        assert after > before  # the bars show the page's copy, which has learned
        assert float(page.locator("#backward").get_attribute("data-loss")) < loss_before

        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "browser-backward.png"), full_page=True)

        # Another page still reads with the model as it was loaded.
        other_context, other, _ = open_page(browser, server_url)
        try:
            draw_seven(other)
            other.wait_for_function(
                "() => document.querySelector('#prediction').dataset.state === 'answer'"
            )
            settled(other)
            assert probabilities(other)[label] == pytest.approx(before, abs=2e-4)
        finally:
            other_context.close()

        page.click("#reset")
        page.wait_for_function(
            "() => document.querySelector('#learn-result').dataset.steps === '0'", timeout=10_000
        )
        settled(page)
        assert probabilities(page)[label] == pytest.approx(before, abs=2e-4)
        assert page.locator("#reset").is_disabled()

        page.click("#clear")
        page.wait_for_selector("#backward[data-state='empty']", timeout=5_000)
        assert page.locator("#unit-gradients canvas").count() == 0
        assert page.locator("#bars .bar.target").count() == 0
        assert problems == []
    finally:
        context.close()


def test_learning_again_and_again_makes_the_drawing_that_label(
    browser: Any, server_url: str
) -> None:
    context, page, problems = open_page(browser, server_url)
    try:
        draw_seven(page)
        page.wait_for_function(
            "() => document.querySelector('#prediction').dataset.state === 'answer'"
        )
        settled(page)
        page.click("#bars .bar[data-class='2']")
        backward_for(page, 2)
        page.fill("#learning-rate", "0.05")
        for step in range(1, 6):
            page.click("#learn")
            page.wait_for_function(
                f"() => document.querySelector('#learn-result').dataset.steps === '{step}'",
                timeout=10_000,
            )
            page.wait_for_function("() => !document.querySelector('#learn').disabled")
        settled(page)
        assert page.locator("#predicted-class").inner_text() == "2"
        page.fill("#learning-rate", "0")
        page.click("#learn")
        page.wait_for_function(
            "() => document.querySelector('#learn-result').textContent.startsWith('Learning failed')"
        )
        assert "above 0" in page.locator("#learn-result").inner_text()
        assert [p for p in problems if "400" not in p] == []  # the refused step logs its 400
    finally:
        context.close()
