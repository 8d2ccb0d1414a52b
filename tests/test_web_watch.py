"""The live page's server: reading a run folder as it changes, its API, and ``glassnet watch``.

A run folder is written here the way a training run writes it (an epoch callback saving the
checkpoint and the history, as :mod:`glassnet.runs.execute` does), and once by a real
``glassnet train`` in a subprocess, watched by a real ``glassnet watch``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import finish, reaped, start_watch, train_into

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from glassnet.history import History  # noqa: E402
from glassnet.runs.folder import (  # noqa: E402
    CHECKPOINT,
    HISTORY_JSON,
    RunLock,
    write_history,
)
from glassnet.web.runview import RunView  # noqa: E402
from glassnet.web.server import create_watch_app  # noqa: E402

BASE = "http://127.0.0.1:8000"


# --------------------------------------------------------------------------------- the view
def test_the_view_follows_the_history_and_the_weights(tmp_path: Path) -> None:
    (tmp_path / "settings.toml").write_text('epochs = 3\nhidden = [12]\nactivation = "sigmoid"\n')
    view = RunView(tmp_path)
    empty = view.status()
    assert empty["rows"] == [] and empty["version"] is None and empty["training"] is False
    assert view.weights() == {"units": []}

    versions = []

    def after_epoch(row: dict[str, Any]) -> None:
        status = view.status()
        versions.append(status["version"])
        assert [r["epoch"] for r in status["rows"]] == list(range(1, row["epoch"] + 1))
        weights = view.weights()
        assert weights["source"] == "checkpoint" and weights["epoch"] == row["epoch"]

    net = train_into(tmp_path, 3, after_epoch)
    assert len(set(versions)) == 3  # a new version after every epoch
    status = view.status()
    assert status["settings"] == {"dataset": "mnist", "hidden": [12], "activation": "sigmoid",
                                  "epochs": 3, "learning_rate": 0.1, "batch_size": 20}  # fmt: skip
    row = status["rows"][-1]
    for key in ("train_loss", "train_accuracy", "grad_norm_1", "grad_norm_2", "learning_rate"):
        assert isinstance(row[key], float)
    weights = view.weights()
    assert weights["layer_sizes"] == [784, 12, 10] and len(weights["units"]) == 12
    image = np.array(weights["units"][0]["image"])
    expected = net.weights[0][:, 0].reshape(28, 28)
    np.testing.assert_allclose(image, expected / np.abs(expected).max(), atol=1e-3)

    finish(tmp_path, net)
    done = view.status()
    assert done["test_accuracy"] == 0.5 and done["stopped"] == "completed"
    assert view.weights()["source"] == "model"


def test_training_is_told_by_the_runs_lock(tmp_path: Path) -> None:
    (tmp_path / "settings.toml").write_text("epochs = 3\n")
    view = RunView(tmp_path)
    assert view.status()["training"] is False
    with RunLock(tmp_path):
        code = (
            "import sys; from glassnet.web.runview import RunView; "
            f"sys.exit(0 if RunView({str(tmp_path)!r}).status()['training'] else 1)"
        )
        assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0
    assert view.status()["training"] is False


def test_damaged_files_keep_the_last_good_reading_and_say_why(tmp_path: Path) -> None:
    net = train_into(tmp_path, 2)
    view = RunView(tmp_path)
    good = view.status()
    assert len(good["rows"]) == 2 and good["problem"] is None
    units = view.weights()["units"]
    history = tmp_path / HISTORY_JSON
    for damage, reason in (
        (b'{"rows": [', "not valid JSON"),
        (b'{"rows": 5}', "no list of rows"),
        (b"[1, 2]", "no list of rows"),
        (b"\xff\xfe", "not valid JSON"),
    ):
        history.write_bytes(damage)
        os.utime(history, ns=(time.time_ns(), time.time_ns()))
        status = view.status()
        assert reason in status["problem"]
        assert status["rows"] == good["rows"]
    with history.open("wb") as handle:  # a file far larger than any history: refused unread
        handle.truncate(64 << 20)
    assert "larger than any history" in view.status()["problem"]
    (tmp_path / CHECKPOINT).write_bytes(b"PK\x03\x04 not a checkpoint")
    assert view.weights()["units"] == units
    assert "checkpoint" in view.status()["problem"]
    del net


def test_rows_keep_only_numbers(tmp_path: Path) -> None:
    (tmp_path / HISTORY_JSON).write_text(
        '{"rows": [{"epoch": 1, "train_loss": NaN, "note": "<script>", "ok": true, "x": 2.5},'
        ' "not a row"], "stopped": "done", "test_accuracy": "high"}'
    )
    status = RunView(tmp_path).status()
    assert status["rows"] == [{"epoch": 1, "train_loss": None, "x": 2.5}]
    assert status["test_accuracy"] is None and status["stopped"] == "done"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX named pipes")
def test_a_pipe_in_place_of_a_file_is_refused_not_waited_on(tmp_path: Path) -> None:
    """Opening a FIFO blocks until someone writes to it: the view must not even try."""
    (tmp_path / "settings.toml").write_text("epochs = 3\n")
    for name in (HISTORY_JSON, CHECKPOINT):
        os.mkfifo(tmp_path / name)
    view = RunView(tmp_path)
    started = time.monotonic()
    status, weights = view.status(), view.weights()
    assert time.monotonic() - started < 5
    assert weights == {"units": []}
    assert RunView(tmp_path).status()["problem"].count("not a regular file") == 1
    assert "not a regular file" in view.status()["problem"]
    assert status["rows"] == []


def test_the_page_gets_the_last_epochs_of_a_very_long_history(tmp_path: Path) -> None:
    rows = [{"epoch": k, "train_loss": 1.0 / k} for k in range(1, 25_001)]
    (tmp_path / HISTORY_JSON).write_text(json.dumps({"rows": rows}))
    shown = RunView(tmp_path).status()["rows"]
    assert len(shown) == 20_000 and shown[0]["epoch"] == 5_001 and shown[-1]["epoch"] == 25_000


def test_a_forged_checkpoint_header_cannot_make_the_server_allocate(tmp_path: Path) -> None:
    from glassnet.tensorfile import encode

    forged = encode(
        {"parameters": np.zeros(10, np.float32)},
        {"format": "glassnet-checkpoint", "format_version": 1, "layer_sizes": [100000, 100000],
         "activation": "relu", "dtype": "float32"},
    )  # fmt: skip
    (tmp_path / CHECKPOINT).write_bytes(forged)
    (tmp_path / HISTORY_JSON).write_text('{"rows": []}')
    view = RunView(tmp_path)
    assert view.weights() == {"units": []}
    assert "do not fit its layer sizes" in view.status()["problem"]


@pytest.mark.parametrize("make", ["missing", "file", "empty"])
def test_only_a_run_folder_is_watched(tmp_path: Path, make: str) -> None:
    target = tmp_path / "run"
    if make == "file":
        target.write_text("x")
    elif make == "empty":
        target.mkdir()
    with pytest.raises(ValueError, match="run folder"):
        RunView(target)


# ---------------------------------------------------------------------------------- the API
@pytest.fixture
def run_folder(tmp_path: Path) -> Path:
    train_into(tmp_path, 2)
    return tmp_path


@pytest.fixture
def client(run_folder: Path) -> Iterator[TestClient]:
    with TestClient(create_watch_app(run_folder), base_url=BASE) as c:
        yield c


def test_the_api_serves_the_run_and_its_weights(client: TestClient, run_folder: Path) -> None:
    page = client.get("/")
    assert page.status_code == 200 and 'id="loss-chart"' in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    run = client.get("/api/run").json()
    assert len(run["rows"]) == 2 and run["name"] == run_folder.name
    assert run["poll_seconds"] > 0 and run["weights_version"]
    weights = client.get("/api/weights").json()
    assert weights["source"] == "checkpoint" and len(weights["units"]) == 12
    for name in ("watch.js", "charts.js", "grids.js", "style.css"):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200 and "https://" not in response.text


def test_the_rows_come_only_when_the_history_changed(client: TestClient, run_folder: Path) -> None:
    first = client.get("/api/run").json()
    again = client.get("/api/run", params={"version": first["version"]}).json()
    assert "rows" not in again and again["version"] == first["version"]
    assert client.get("/api/run", params={"version": "old"}).json()["rows"] == first["rows"]
    write_history(run_folder, History(first["rows"] + [{"epoch": 3, "train_loss": 0.5}]))
    changed = client.get("/api/run", params={"version": first["version"]}).json()
    assert changed["version"] != first["version"] and len(changed["rows"]) == 3


def test_the_api_obeys_the_pages_rules(client: TestClient) -> None:
    assert client.get("/api/run", headers={"host": "evil.example:8000"}).status_code == 403
    assert client.post("/api/run", content=b"{}").status_code == 405
    assert client.get("/api/predict").status_code == 404
    assert client.get("/static/../settings.toml").status_code == 404
    assert client.get("/history.json").status_code == 404


# ---------------------------------------------------------------------------------- the CLI
def test_watch_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from glassnet.cli import main

    assert main(["watch", str(tmp_path / "nope"), "--no-browser", "--wait", "0"]) == 1
    assert capsys.readouterr().err.strip().endswith("no such run folder")
    (tmp_path / "notes.txt").write_text("not a run")
    assert main(["watch", str(tmp_path), "--no-browser"]) == 1  # refused at once: no wait
    err = capsys.readouterr().err
    assert "not a run folder" in err and err.count("\n") == 1
    with pytest.raises(SystemExit) as exit_info:
        main(["watch", str(tmp_path), "--port", "-1"])
    assert exit_info.value.code == 2


@pytest.mark.slow
def test_watching_a_real_run_as_it_trains(tmp_path: Path) -> None:
    """A real ``glassnet train``, watched by a real ``glassnet watch``: the page's API sees the
    run training with some of its epochs, then finished with all of them and its model."""
    from helpers import mnist_folder

    data = mnist_folder()
    if data is None:
        pytest.skip("no MNIST copy (set GLASSNET_TEST_MNIST)")
    run = tmp_path / "run"
    # Epochs of about a second (batch 1), so the history is written as they end.
    command = [sys.executable, "-m", "glassnet", "train", "--data-dir", str(data), "--out",
               str(run), "--train-limit", "12000", "--hidden", "16", "--batch-size", "1",
               "--epochs", "5", "--learning-rate", "0.01", "--engine", "numpy", "-q"]  # fmt: skip
    with reaped(
        subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ) as train:
        deadline = time.monotonic() + 60
        while not (run / "settings.toml").is_file():
            assert train.poll() is None and time.monotonic() < deadline, "training did not start"
            time.sleep(0.05)
        watch, url = start_watch(run, tmp_path / "watch.err")
        with reaped(watch):
            seen: list[tuple[int, bool]] = []
            while True:
                status = httpx.get(url + "api/run", timeout=10).json()
                seen.append((len(status["rows"]), status["training"]))
                if not status["training"] and train.poll() is not None:
                    break
                assert time.monotonic() < deadline, seen
                time.sleep(0.1)
            weights = httpx.get(url + "api/weights", timeout=10).json()
            watch.terminate()
        assert train.wait(timeout=30) == 0
    assert any(0 < rows < 5 and training for rows, training in seen), seen
    assert seen[-1] == (5, False) and status["test_accuracy"] > 0.8
    assert weights["source"] == "model" and len(weights["units"]) == 16
    assert "Traceback" not in (tmp_path / "watch.err").read_text()
