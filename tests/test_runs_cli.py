"""``glassnet runs``, ``glassnet plot`` and ``glassnet compare`` on small real run folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import glassnet
from glassnet import runs
from glassnet.cli import main
from glassnet.cli.runs import format_seconds, table
from glassnet.training import train


def make_run(folder: Path, *, hidden: list[int], activation: str, preset: str) -> Path:
    """Train a tiny network on 8x8 synthetic images and keep it as ``glassnet train`` would."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 150)
    images = rng.random((150, 8, 8)) * 0.5
    for i, label in enumerate(labels):
        images[i, :, 3 * label : 3 * label + 2] += 0.5
    network = glassnet.Network([64, *hidden, 3], activation, seed=0)
    history = train(
        network,
        images[:120],
        labels[:120],
        test_data=(images[120:], labels[120:]),
        epochs=3,
        batch_size=10,
        learning_rate=0.3,
        seed=0,
    )
    settings = {
        "preset": preset,
        "dataset": "no-such-dataset",
        "hidden": hidden,
        "activation": activation,
        "epochs": 3,
        "seed": 0,
    }
    folder.mkdir(parents=True)
    runs.write_settings(folder, settings)
    history.test_accuracy = network.score(images[120:], labels[120:])
    runs.write_history(folder, history)
    network.save(folder / runs.MODEL, settings=settings, metrics={})
    return folder


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    make_run(
        root / "20250101-000000-synthetic-deep",
        hidden=[10, 10, 10],
        activation="sigmoid",
        preset="deep",
    )
    make_run(root / "20250101-000100-synthetic-wide", hidden=[32], activation="relu", preset="wide")
    return root


def one_line_error(err: str, command: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"glassnet {command}: error: ")
    assert "Traceback" not in err
    return lines[0]


def test_runs_lists_every_run_as_an_aligned_table(
    runs_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["runs", "--runs-dir", str(runs_dir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "run",
        "preset",
        "dataset",
        "network",
        "epochs",
        "test",
        "acc",
        "time",
        "note",
    ]
    assert "20250101-000000-synthetic-deep" in lines[1] and "10x3 sigmoid" in lines[1]
    assert "20250101-000100-synthetic-wide" in lines[2] and "32 relu" in lines[2]
    column = lines[0].index("preset")
    assert lines[1][column:].startswith("deep") and lines[2][column:].startswith("wide")
    summary = runs.summarize(runs_dir / "20250101-000000-synthetic-deep")
    assert summary.test_accuracy is not None
    assert f"{summary.test_accuracy:.2%}" in lines[1]


def test_runs_marks_unfinished_and_damaged_runs(
    runs_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = runs_dir / "20250101-000000-synthetic-deep"
    unfinished = tmp_path / "a-unfinished"
    unfinished.mkdir()
    for name in (runs.SETTINGS, runs.HISTORY_JSON):
        (unfinished / name).write_bytes((source / name).read_bytes())
    (unfinished / runs.CHECKPOINT).write_bytes(b"")
    damaged = tmp_path / "b-damaged"
    damaged.mkdir()
    (damaged / runs.SETTINGS).write_text("hidden = [\n")
    assert main(["runs", "--runs-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "unfinished; --resume continues it" in out
    assert "b-damaged" in out and "unreadable" in out


def test_runs_with_no_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "--runs-dir", str(tmp_path)]) == 0
    assert "no run folders" in capsys.readouterr().err
    assert main(["runs", "--runs-dir", str(tmp_path / "missing")]) == 1
    assert "no such folder" in one_line_error(capsys.readouterr().err, "runs")


@pytest.mark.slow
def test_compare_writes_a_png(
    runs_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "both.png"
    folders = [str(p) for p in sorted(runs_dir.iterdir())]
    assert main(["compare", *folders, "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_compare_errors_are_one_line(
    runs_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = str(next(runs_dir.iterdir()))
    assert main(["compare", run, str(tmp_path / "missing"), "--out", str(tmp_path / "c.png")]) == 1
    assert "no such run folder" in one_line_error(capsys.readouterr().err, "compare")
    assert main(["compare", run, "--out", str(tmp_path / "c.jpg")]) == 1
    assert ".png" in one_line_error(capsys.readouterr().err, "compare")


@pytest.mark.slow
def test_plot_prints_the_paths_and_what_it_skipped(
    runs_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "no-model"
    folder.mkdir()
    source = runs_dir / "20250101-000100-synthetic-wide"
    for name in (runs.SETTINGS, runs.HISTORY_JSON):
        (folder / name).write_bytes((source / name).read_bytes())
    assert main(["plot", str(folder)]) == 0
    captured = capsys.readouterr()
    printed = [Path(line) for line in captured.out.splitlines()]
    assert [p.name for p in printed] == ["curves.png", "learning_rate.png", "gradients.png"]
    assert all(p.is_file() for p in printed)
    assert "skipped weights.png, weight_changes.png, confusion.png, mistakes.png" in captured.err
    assert "model.safetensors" in captured.err


def test_plot_a_missing_run_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plot", str(tmp_path / "missing")]) == 1
    assert "no such run folder" in one_line_error(capsys.readouterr().err, "plot")


def test_subcommands_have_examples(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("runs", "plot", "compare"):
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        assert f"glassnet {command}" in capsys.readouterr().out.split("examples:")[1]


def test_format_seconds_and_table() -> None:
    assert format_seconds(53.94) == "53.9 s"
    assert format_seconds(125) == "2 m 05 s"
    assert format_seconds(3720) == "1 h 02 m"
    text = table([["a", "12"], ["bbb", "3"]], header=["run", "epochs"])
    assert text.splitlines() == ["run  epochs", "a        12", "bbb       3"]
