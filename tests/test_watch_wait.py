"""``glassnet watch RUN`` started before the run has made its folder waits for it, a bounded time."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from glassnet.web.runview import wait_for_run_folder


def test_watch_waits_for_a_run_that_has_only_just_started(tmp_path: Path) -> None:
    run, said = tmp_path / "run", []

    def start_the_run() -> None:
        time.sleep(0.5)
        run.mkdir()
        (run / "settings.toml").write_text("epochs = 1\n")

    threading.Thread(target=start_the_run).start()
    assert wait_for_run_folder(run, 10.0, said.append) == run
    assert len(said) == 1 and "waiting up to 10 s" in said[0]


def test_watch_stops_waiting_with_one_line_when_no_run_appears(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(ValueError, match="no such run folder"):
        wait_for_run_folder(tmp_path / "never", 0.6, lambda line: None)
    assert 0.6 <= time.monotonic() - started < 5.0


def test_a_folder_holding_something_else_is_refused_at_once(tmp_path: Path) -> None:
    (tmp_path / "photo.png").write_bytes(b"")
    started = time.monotonic()
    with pytest.raises(ValueError, match="not a run folder"):
        wait_for_run_folder(tmp_path, 30.0, lambda line: None)
    assert time.monotonic() - started < 1.0
