"""The pages' figures, read in a real browser: the drawing page's output δ labelled by class,
its gradient bars to a linear scale with the scale said, the unit tiles' numbers explained; the
live page's colours meaning one thing each, and its "change since the start" view."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import chromium, draw_seven, reaped, start_server, start_watch, trained_model

from glassnet import Network
from glassnet.history import History
from glassnet.runs.folder import write_history, write_settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def _page(browser: Any) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return context, page, problems


def test_the_backward_view_labels_its_output_delta_and_scales_its_bars(
    browser: Any, tmp_path: Path
) -> None:
    model = tmp_path / "model.safetensors"
    trained_model(model)
    server = start_server(model, tmp_path)
    context, page, problems = _page(browser)
    try:
        page.goto(server.url)
        page.wait_for_selector("body[data-ready='true']", timeout=10_000)
        draw_seven(page)
        page.wait_for_selector("#backward[data-state='answer']", timeout=10_000)
        page.wait_for_timeout(400)
        label = int(page.locator("#backward").get_attribute("data-label") or -1)
        rows = page.eval_on_selector_all(
            "#output-deltas li",
            "items => items.map(i => [i.querySelector('.size-label').textContent,"
            " Number(i.dataset.delta)])",
        )
        assert [name for name, _ in rows] == [str(k) for k in range(10)]  # labelled by class
        deltas = np.array([d for _, d in rows])
        assert deltas[label] < 0 and np.all(np.delete(deltas, label) >= 0)
        assert abs(deltas.sum()) < 1e-4  # ŷ − y sums to 1 − 1
        captions = page.eval_on_selector_all("#deltas figcaption", "c => c.map(x => x.textContent)")
        assert captions[-1].startswith("Output δ = (ŷ − y), one square per class (10)")
        assert not any(re.search(r"y · \d", c) for c in captions)
        norms = page.eval_on_selector_all(
            "#gradient-sizes li", "items => items.map(i => Number(i.dataset.norm))"
        )
        widths = page.eval_on_selector_all(
            "#gradient-sizes .size-fill",
            "fills => fills.map(f => f.getBoundingClientRect().width)",
        )
        track = page.eval_on_selector(
            "#gradient-sizes .bar-track", "t => t.getBoundingClientRect().width"
        )
        # Linear: each bar is its norm over the largest, of the track's width.
        np.testing.assert_allclose(
            np.array(widths) / track, np.array(norms) / max(norms), atol=0.02
        )
        assert "linear" in page.locator("#gradient-scale").inner_text()
        assert "‖∇‖" in page.locator("#unit-gradients figcaption").first.inner_text()
        assert problems == []
    finally:
        context.close()
        server.stop()


def test_the_live_page_keeps_one_colour_per_meaning_and_shows_the_change(
    browser: Any, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    start = Network([784, 12, 10], "sigmoid", seed=3, dtype="float64")
    write_settings(run, {"hidden": [12], "activation": "sigmoid", "seed": 3, "epochs": 2,
                         "initializer": start.initializer, "dtype": "float64"})  # fmt: skip
    rows = [
        {"epoch": e, "train_loss": 1.0 / e, "val_loss": 1.1 / e, "train_accuracy": 0.5 + e / 10,
         "val_accuracy": 0.4 + e / 10, "bias_grad_norm_1": 0.1 / e, "bias_grad_norm_2": 1.0 / e}
        for e in (1, 2)
    ]  # fmt: skip
    write_history(run, History(rows, "completed", None, 0.6))
    start.weights[0][:392, 0] += 0.3
    start.save(run / "model.safetensors")
    watch, url = start_watch(run, tmp_path / "watch.err")
    context, page, problems = _page(browser)
    try:
        with reaped(watch):
            page.goto(url)
            page.wait_for_selector("#weights canvas", timeout=10_000)
            colours = {
                chart: page.eval_on_selector_all(
                    f"#{chart}-legend .legend-item",
                    "items => items.map(i => [i.textContent,"
                    " i.querySelector('.swatch').style.background])",
                )
                for chart in ("loss", "accuracy", "gradient")
            }
            parts = {name: colour for name, colour in colours["loss"] + colours["accuracy"]}
            layers = dict(colours["gradient"])
            assert parts["training"] == dict(colours["accuracy"])["training"]
            assert set(parts.values()).isdisjoint(layers.values()), (parts, layers)
            page.click("#show-change")
            page.wait_for_selector("#weights[data-view='change']", timeout=5_000)
            assert "Change since the start" in page.locator("#weights-note").inner_text()
            assert problems == []
    finally:
        context.close()
