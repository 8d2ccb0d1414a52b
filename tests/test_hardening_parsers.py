"""Everything read back from a run folder is bounded and checked, as a model's header is: settings
nested thousands deep, integers too large for a float in a history or a model's metrics, a table
with a header and no rows, and a FIFO (or a device) where a run's file belongs. Each is one line or
a note in ``glassnet runs``, never a traceback, and never a wait for a writer that never comes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from helpers import finish, one_line_error, run_glassnet, run_main, train_into

from glassnet.datasets.table import read_feature_rows, read_table
from glassnet.errors import FormatError, InputError
from glassnet.runs import open_run_file, read_history, read_settings, running, summarize
from glassnet.web.runview import RunView

FIFO = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX named pipes")


@pytest.fixture
def run(tmp_path: Path) -> Path:
    folder = tmp_path / "runs" / "a"
    folder.mkdir(parents=True)
    finish(folder, train_into(folder, 2))
    return folder


def test_settings_nested_thousands_deep_are_refused(tmp_path: Path) -> None:
    for text in ["x = " + "[" * 5000 + "]" * 5000, "x = " + "{a = " * 3000 + "1" + "}" * 3000]:
        (tmp_path / "deep.toml").write_text(text + "\n")
        with pytest.raises(InputError, match=r"nested [35],000 deep"):
            read_settings(tmp_path / "deep.toml")
    (tmp_path / "ok.toml").write_text('hidden = [30, 20]\nname = "[[[[[[[[[[[[[[[[["  # [[[[[[\n')
    assert read_settings(tmp_path / "ok.toml")["hidden"] == [30, 20]


def test_a_deep_settings_file_is_one_line_at_every_door(
    run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (run / "settings.toml").write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    code, out, err = run_main(["runs", "--runs-dir", str(run.parent)], capsys)
    assert code == 0 and "unreadable" in out and "nested 5,000 deep" in out
    code, _, err = run_main(["train", "--config", str(run / "settings.toml")], capsys)
    assert code == 1 and "nested 5,000 deep" in one_line_error(err, "train")


@pytest.mark.parametrize("where", ["row", "test_accuracy"])
def test_an_integer_too_large_for_a_float_in_a_history(
    run: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    monkeypatch.chdir(run.parent)  # compare writes compare.png here
    data = json.loads((run / "history.json").read_text())
    if where == "row":
        data["rows"][0]["train_loss"] = 10**400
    else:
        data["test_accuracy"] = 10**400
    (run / "history.json").write_text(json.dumps(data))
    with pytest.raises(InputError, match="must be a number or null"):
        read_history(run)
    code, out, err = run_main(["runs", "--runs-dir", str(run.parent)], capsys)
    assert code == 0 and "unreadable" in out and not err
    for command in (["plot", str(run)], ["compare", str(run), str(run)]):
        code, _, err = run_main(command, capsys)
        assert code == 1 and "must be a number or null" in one_line_error(err, command[0])
    status = RunView(run).status()  # the watch page shows it, leaving the number out
    shown = status["rows"][0]["train_loss"] if where == "row" else status["test_accuracy"]
    assert shown is None


@pytest.mark.slow
def test_an_integer_too_large_for_a_float_in_a_models_metrics(
    run: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(run.parent)  # compare writes compare.png here
    from glassnet import load

    net = load(run / "model.safetensors")
    metrics = {"test_accuracy": 10**400, "test_size": 10**400, "seconds": 10**400}
    net.save(run / "model.safetensors", metrics=metrics)
    for command in (
        ["card", str(run / "model.safetensors")],
        ["runs", "--runs-dir", str(run.parent)],
    ):
        code, _, err = run_main(command, capsys)
        assert code == 0 and "Traceback" not in err and "internal error" not in err, err
    for command in (["plot", str(run)], ["compare", str(run), str(run)]):
        _, _, err = run_main(command, capsys)
        assert "internal error" not in err, err


def test_a_history_with_huge_seconds_lists_as_unknown_time(
    run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads((run / "history.json").read_text())
    for row in data["rows"]:
        row["seconds"] = 1.7e308
    (run / "history.json").write_text(json.dumps(data))
    code, out, err = run_main(["runs", "--runs-dir", str(run.parent)], capsys)
    assert code == 0 and "internal error" not in err and " ?" in out


def test_a_table_without_rows_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "head.csv").write_text("a,b,y\n")
    with pytest.raises(FormatError, match="no rows, only a header"):
        read_table(tmp_path / "head.csv", "y")
    with pytest.raises(FormatError, match="no rows to predict"):
        read_feature_rows(tmp_path / "head.csv", ["a", "b"])
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    empty = pa.table({"a": pa.array([], pa.float64()), "y": pa.array([], pa.string())})
    pq.write_table(empty, tmp_path / "empty.parquet")
    with pytest.raises(FormatError, match="no rows, only a header"):
        read_table(tmp_path / "empty.parquet", "y")


def test_a_value_too_large_to_standardize_names_its_column(tmp_path: Path) -> None:
    rows = [f"{i},{3e307 if i == 5 else i},{i % 2}" for i in range(30)]
    (tmp_path / "t.csv").write_text("a,b,y\n" + "\n".join(rows) + "\n")
    with pytest.raises(FormatError, match=r"column 'b' holds 3e\+307 \(data row 6\)"):
        read_table(tmp_path / "t.csv", "y")


# ------------------------------------------------------------------------- FIFOs and devices
def _fifo(path: Path) -> None:
    path.unlink(missing_ok=True)
    os.mkfifo(path)


@FIFO
@pytest.mark.timeout(30)  # without the check, opening the FIFO waits forever
@pytest.mark.parametrize("name", ["history.json", "settings.toml", ".lock"])
def test_a_fifo_in_a_run_folder_is_refused_at_once(run: Path, name: str) -> None:
    _fifo(run / name)
    started = time.monotonic()
    if name == ".lock":
        assert running(run) is None
    else:
        with pytest.raises(InputError, match="named pipe"):
            summarize(run)
    status = RunView(run).status() if name != "settings.toml" else None
    assert status is None or status["training"] is False
    assert time.monotonic() - started < 5
    with pytest.raises(InputError, match="not a regular file"):
        open_run_file(run / name)
    with pytest.raises(InputError, match="a device"):
        open_run_file("/dev/zero")


@FIFO
@pytest.mark.slow
def test_runs_and_resume_do_not_wait_on_a_fifo(tmp_path: Path, run: Path) -> None:
    _fifo(run / "history.json")
    other = run.parent / "b"
    shutil.copytree(run, other, symlinks=True, ignore=lambda d, names: ["history.json"])
    _fifo(other / ".lock")
    try:
        done = run_glassnet(["runs", "--runs-dir", str(run.parent)], tmp_path, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("glassnet runs waited on a FIFO")
    assert done.returncode == 0 and "named pipe" in done.stdout, done.stderr
    assert "Traceback" not in done.stderr
    (run / "checkpoint.safetensors").write_bytes(b"")
    done = run_glassnet(["train", "--resume", str(other)], tmp_path, timeout=60)
    assert done.returncode == 1 and "named pipe" in one_line_error(done.stderr, "train")


def test_numbers_are_checked_without_overflow() -> None:
    from glassnet.plots.history import column, n_layers

    rows = [{"epoch": 1, "train_loss": 10**400, "grad_norm_99999999999": 1.0}]
    assert column(rows, "train_loss") == ([], [])
    assert n_layers(rows) == 0


@FIFO
@pytest.mark.timeout(60)
@pytest.mark.parametrize("command", ["evaluate", "predict", "card", "serve"])
def test_a_fifo_given_as_a_model_is_refused_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    _fifo(tmp_path / "model.safetensors")
    extra = {"predict": ["x.png"], "serve": ["--no-browser"]}.get(command, [])
    code, _, err = run_main([command, str(tmp_path / "model.safetensors"), *extra], capsys)
    assert code == 1 and "named pipe" in one_line_error(err, command)
