"""The live page in a real browser: it follows a run while it trains, epoch by epoch.

The run trains in this process, in a thread, writing its folder as a training run does (the
checkpoint and the history after every epoch, under the run's lock; the model at the end), a
little slowly so the page can be seen to follow. ``glassnet watch`` runs as a subprocess and
headless Chromium reads its page. A screenshot is kept in ``test-artifacts/browser-watch.png``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import ARTIFACTS, chromium, finish, reaped, start_watch, train_into

from glassnet.runs.folder import RunLock

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EPOCHS = 6


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def epochs_shown(page: Any) -> int:
    return int(page.locator("#run-status").get_attribute("data-epochs") or 0)


def test_the_page_follows_a_run_as_it_trains(browser: Any, tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "settings.toml").write_text("epochs = 6\n")
    go_on = threading.Event()
    failures: list[BaseException] = []

    def train() -> None:
        try:
            with RunLock(run):
                go_on.wait(30)
                net = train_into(run, EPOCHS, after_epoch=lambda row: time.sleep(0.8))
                finish(run, net, test_accuracy=0.25)
        except BaseException as exc:  # reported by the test below
            failures.append(exc)

    trainer = threading.Thread(target=train, daemon=True)
    trainer.start()
    watch, url = start_watch(run, tmp_path / "watch.err")
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        with reaped(watch):
            page.goto(url)
            page.wait_for_selector("body[data-ready='true']", timeout=10_000)
            assert "waiting for the first epoch" in page.locator("#run-status").inner_text()
            assert page.locator("#run-status").get_attribute("data-training") == "true"
            go_on.set()

            # Epoch by epoch: the status, the curves and the weights follow.
            page.wait_for_function(
                "() => Number(document.querySelector('#run-status').dataset.epochs) >= 1",
                timeout=20_000,
            )
            first = epochs_shown(page)
            page.wait_for_selector("#weights canvas", timeout=10_000)
            first_weights = page.locator("#weights").get_attribute("data-epoch")
            page.wait_for_function(
                f"() => Number(document.querySelector('#run-status').dataset.epochs) > {first}",
                timeout=20_000,
            )
            assert "training…" in page.locator("#run-status").inner_text()
            page.wait_for_function(
                f"() => document.querySelector('#weights').dataset.epoch !== '{first_weights}'",
                timeout=20_000,
            )
            shown = epochs_shown(page)
            assert 1 <= first < shown
            for chart in ("#loss-chart", "#accuracy-chart", "#gradient-chart"):
                points = int(page.locator(chart).get_attribute("data-points") or 0)
                assert points >= shown, chart  # a point per epoch, at least one line each
            assert page.locator("#gradient-chart").get_attribute("data-layers") == "2"
            assert page.locator("#gradient-chart").get_attribute("data-figure") == "bias_grad_norm"
            assert page.locator("#weights canvas").count() == 12
            assert "layer 1" in page.locator("#gradient-legend").inner_text()

            # The run ends: all epochs, the test accuracy, the trained model's weights.
            page.wait_for_function(
                "() => document.querySelector('#run-status').textContent.includes('finished')",
                timeout=30_000,
            )
            assert epochs_shown(page) == EPOCHS
            assert "test accuracy 25.00%" in page.locator("#run-status").inner_text()
            page.wait_for_function(
                "() => document.querySelector('#weights-note').textContent.includes('model')",
                timeout=10_000,
            )
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "browser-watch.png"), full_page=True)
            assert problems == []
            requests = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
            assert all(name.startswith(url.rstrip("/")) for name in requests), requests
    finally:
        go_on.set()
        context.close()
        trainer.join(timeout=60)
    assert failures == []
