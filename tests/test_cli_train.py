"""``glassnet train`` and ``glassnet evaluate`` end to end, on slices of the real MNIST.

What is checked: a run folder holds exactly what the README promises; ``evaluate`` agrees with
``train``; ``--config`` repeats a run bit for bit and options override it; the post's preset
learns; a diverging run stops in its first epoch with a message that says what to try and leaves
an earlier checkpoint alone; Ctrl-C saves a checkpoint from which ``--resume`` finishes with
weights bit-identical to an uninterrupted run; and ``kill -9`` in the middle of writing a
checkpoint leaves the previous one intact and loadable.

Runs are kept to a few seconds each with ``--train-limit`` and small hidden layers.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import (  # the shared command-line test helpers
    ctrl_c_reaches_the_child,
    glassnet_command,
    isolated_env,
    listing,
    one_line_error,
    reaped,
    run_glassnet,
    run_main,
)

from glassnet import Network, checkpoint
from glassnet.modelfile import read_model_file, read_model_header
from glassnet.runs import (
    CHECKPOINT,
    HISTORY_CSV,
    HISTORY_JSON,
    LOCK,
    MODEL,
    SETTINGS,
    read_settings,
)

pytestmark = [pytest.mark.mnist, pytest.mark.slow]  # every test here trains on real MNIST
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")

RUN_FILES = {SETTINGS, HISTORY_JSON, HISTORY_CSV, MODEL}
SMALL = ["--train-limit", "2000", "--hidden", "16", "--epochs", "2", "-q"]
# Settings whose every piece of state must survive an interruption: the optimizer's velocities,
# the generator that shuffles, drops units and shifts images, the seeds that distort them,
# and a schedule that needs the epoch.
RESUMABLE = [
    "--train-limit", "20000", "--hidden", "48", "--batch-size", "10", "--epochs", "4",
    "--optimizer", "momentum", "--learning-rate", "0.01", "--dropout", "0.1",
    "--augment-shift", "1", "--augment-affine", "10,0.1,10", "--augment-elastic", "20,4",
    "--schedule", "cosine",
]  # fmt: skip
RESUMABLE_LAYERS = [784, 48, 10]
MNIST_TEST_CLASS_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
ACCURACY_LINE = re.compile(
    r"^test accuracy (\d+\.\d\d)% \((\d+)/10000\) after (\d+) epochs? in [\d.]+ s; "
    r"model saved to (.+)$"
)


# ------------------------------------------------------------------------------------ helpers
def tensors_of(model: Path) -> dict[str, np.ndarray]:
    return read_model_file(model)[0]


def assert_bit_identical(a: Path, b: Path) -> None:
    first, second = tensors_of(a), tensors_of(b)
    assert first.keys() == second.keys()
    for name in first:
        assert first[name].dtype == second[name].dtype, name
        assert first[name].tobytes() == second[name].tobytes(), f"{name} differs"


def history_rows(run: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads((run / HISTORY_JSON).read_text())["rows"]
    return rows


def temp_files(folder: Path) -> list[str]:
    """Hidden and temporary files, but for the lock a training process holds (or held)."""
    return sorted(
        p.name
        for p in folder.iterdir()
        if (p.name.startswith(".") or ".tmp" in p.name) and p.name != LOCK
    )


def write_config(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


# ------------------------------------------------------------------------- a complete run
@pytest.fixture(scope="module")
def first_run(
    mnist_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """``glassnet train`` (the installed command) on 2,000 images: the run folder and the result."""
    tmp = tmp_path_factory.mktemp("first")
    args = ["train", "--data-dir", str(mnist_dir), "--out", "run", "--seed", "3", *SMALL[:-1]]
    result = run_glassnet(args, tmp)
    assert result.returncode == 0, result.stderr
    return tmp / "run", result


def test_run_folder_holds_settings_history_and_model_only(
    first_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    run, result = first_run
    assert {p.name for p in run.iterdir()} == RUN_FILES  # no checkpoint left, no temp files
    assert "Traceback" not in result.stderr
    assert "epoch 2/2" in result.stderr

    settings = read_settings(run / SETTINGS)
    assert settings["hidden"] == [16]
    assert settings["train_limit"] == 2000
    assert settings["epochs"] == 2
    assert settings["seed"] == 3

    rows = history_rows(run)
    assert [row["epoch"] for row in rows] == [1, 2]
    for row in rows:
        for key in ("train_loss", "train_accuracy", "test_accuracy", "learning_rate"):
            assert np.isfinite(row[key]), key
        assert {"grad_norm_1", "grad_norm_2", "weight_norm_2", "saturation_1"} <= row.keys()
    with open(run / HISTORY_CSV, newline="") as file:
        table = list(csv.DictReader(file))
    assert [float(r["train_loss"]) for r in table] == [row["train_loss"] for row in rows]
    assert [r["val_loss"] for r in table] == ["", ""]  # no validation split: empty cells


def test_stdout_ends_with_the_test_accuracy(
    first_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    run, result = first_run
    last = result.stdout.strip().splitlines()[-1]
    match = ACCURACY_LINE.match(last)
    assert match, last
    percent, correct, epochs, model = match.groups()
    assert int(epochs) == 2
    assert Path(model) == Path("run") / MODEL
    assert float(percent) == pytest.approx(int(correct) / 100, abs=0.005)
    assert int(correct) > 7000  # 2,000 images, two epochs: far above chance
    metrics = read_model_header(run / MODEL)["metrics"]
    assert round(metrics["test_accuracy"] * 10000) == int(correct)
    assert history_rows(run)[-1]["test_accuracy"] == metrics["test_accuracy"]


def parse_evaluate(out: str) -> tuple[int, list[tuple[int, int, int]], np.ndarray]:
    """Correct count, per-class (class, correct, total), and the confusion matrix."""
    accuracy = re.search(r"^mnist test accuracy [\d.]+% \((\d+)/10000\)$", out, re.MULTILINE)
    assert accuracy, out
    per_class = [
        (int(m[1]), int(m[2]), int(m[3]))
        for m in re.finditer(r"^\s+(\d+) \S+\s+[\d.]+%\s+\((\d+)/(\d+)\)$", out, re.MULTILINE)
    ]
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("true \\ predicted"))
    assert lines[start + 1].split() == [str(k) for k in range(10)]
    rows = [[int(v) for v in line.split()] for line in lines[start + 2 : start + 12]]
    assert [row[0] for row in rows] == list(range(10))  # each row starts with its true class
    return int(accuracy[1]), per_class, np.array([row[1:] for row in rows])


def test_evaluate_agrees_with_train(
    first_run: tuple[Path, subprocess.CompletedProcess[str]], mnist_dir: Path
) -> None:
    run, result = first_run
    evaluated = run_glassnet(["evaluate", str(run / MODEL), "--data-dir", str(mnist_dir)], run)
    assert evaluated.returncode == 0, evaluated.stderr
    assert evaluated.stderr == ""
    correct, per_class, confusion = parse_evaluate(evaluated.stdout)

    assert confusion.shape == (10, 10)
    assert confusion.sum() == 10000
    assert confusion.sum(axis=1).tolist() == MNIST_TEST_CLASS_COUNTS  # row sums: true classes
    assert int(np.trace(confusion)) == correct
    assert per_class == [(k, int(confusion[k, k]), MNIST_TEST_CLASS_COUNTS[k]) for k in range(10)]
    trained = ACCURACY_LINE.match(result.stdout.strip().splitlines()[-1])
    assert trained and int(trained[2]) == correct


def test_config_repeats_the_run_bit_for_bit(
    first_run: tuple[Path, subprocess.CompletedProcess[str]],
    isolated: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run, _ = first_run
    code, out, err = run_main(["train", "--config", str(run / SETTINGS), "--out", "again"], capsys)
    assert code == 0, err
    again = isolated / "again"
    assert {p.name for p in again.iterdir()} == RUN_FILES
    assert read_settings(again / SETTINGS) == read_settings(run / SETTINGS)
    assert_bit_identical(run / MODEL, again / MODEL)
    assert [r["train_loss"] for r in history_rows(again)] == [
        r["train_loss"] for r in history_rows(run)
    ]
    assert out.startswith("test accuracy ")


def test_options_override_the_config_file(
    first_run: tuple[Path, subprocess.CompletedProcess[str]],
    isolated: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run, _ = first_run
    args = ["train", "--config", str(run / SETTINGS), "--out", "changed", "-q",
            "--epochs", "1", "--hidden", "8,6", "--learning-rate", "0.2", "--activation", "tanh"]  # fmt: skip
    code, _, err = run_main(args, capsys)
    assert code == 0, err
    changed = isolated / "changed"
    settings = read_settings(changed / SETTINGS)
    assert settings["epochs"] == 1
    assert settings["hidden"] == [8, 6]
    assert settings["learning_rate"] == 0.2
    assert settings["activation"] == "tanh"
    assert settings["train_limit"] == 2000  # from the file
    assert settings["seed"] == 3  # from the file
    header = read_model_header(changed / MODEL)
    assert header["layer_sizes"] == [784, 8, 6, 10]
    assert header["activation"] == "tanh"
    assert len(history_rows(changed)) == 1


def test_unknown_config_key_is_one_line(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(isolated / "c.toml", ["epochs = 1", "epochz = 3"])
    before = listing(isolated)
    code, out, err = run_main(["train", "--config", str(config), "--out", "run"], capsys)
    assert code == 1
    line = one_line_error(err, "train")
    assert "'epochz'" in line and "c.toml" in line
    assert out == ""
    assert listing(isolated) == before


def test_config_that_is_not_toml_is_one_line(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(isolated / "c.toml", ["epochs = [1,", "", "hidden = 3"])
    code, _, err = run_main(["train", "--config", str(config), "--runs-dir", "runs"], capsys)
    assert code == 1
    assert "not valid TOML" in one_line_error(err, "train")
    code, _, err = run_main(["train", "--config", "missing.toml", "--runs-dir", "runs"], capsys)
    assert code == 1
    assert "missing.toml" in one_line_error(err, "train")
    assert sorted(listing(isolated)) == ["c.toml"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('epochs = "ten"', "epochs"),
        ("epochs = 1.5", "epochs"),
        ("hidden = [16, -3]", "-3"),
        ('activation = "nope"', "'nope'"),
        ("learning_rate = nan", "learning rate"),
        ("seed = -1", "seed"),
        ('hidden = "50,x"', "hidden"),
        ("hidden = 0", "hidden"),
        ("dataset = 5", "dataset"),
        ("data_dir = 5", "data_dir"),
        ('train_limit = "abc"', "train_limit"),
        ("train_limit = -5", "train_limit"),
        ("train_limit = 0", "train_limit"),
        ('standardize = "no"', "standardize"),
    ],
)  # fmt: skip
def test_bad_config_value_is_one_line(
    line: str, expected: str, mnist_dir: Path, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = line.split()[0]
    base = {
        "data_dir": json.dumps(str(mnist_dir)),
        "epochs": "1",
        "hidden": "[4]",
        "train_limit": "500",
    }
    base.pop(key, None)
    config = write_config(isolated / "c.toml", [f"{k} = {v}" for k, v in base.items()] + [line])
    before = listing(isolated)
    code, out, err = run_main(["train", "--config", str(config), "--out", "run", "-q"], capsys)
    assert code == 1, out
    assert expected in one_line_error(err, "train")
    assert listing(isolated) == before


# ------------------------------------------------------------------------------- learning
def test_the_seed_preset_learns_epoch_by_epoch(
    mnist_dir: Path, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["train", "--preset", "seed", "--epochs", "3", "--train-limit", "6000",
            "--data-dir", str(mnist_dir), "--out", "seed", "-q"]  # fmt: skip
    code, _, err = run_main(args, capsys)
    assert code == 0, err
    settings = read_settings(isolated / "seed" / SETTINGS)
    assert settings["hidden"] == [50] * 6
    assert settings["activation"] == "sigmoid"
    assert settings["batch_size"] == 10
    rows = history_rows(isolated / "seed")
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    for before, after in itertools.pairwise(rows):
        assert after["train_loss"] < before["train_loss"]
        assert after["train_accuracy"] > before["train_accuracy"]
        assert after["test_accuracy"] > before["test_accuracy"]
    # The post's network shows the vanishing gradient: the first layer learns far slower.
    assert rows[0]["grad_norm_1"] < rows[0]["grad_norm_7"] / 5


def test_divergence_stops_in_the_first_epoch(
    mnist_dir: Path, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["train", "--data-dir", str(mnist_dir), "--out", "run", "--learning-rate", "1e6",
            "--batch-size", "16", *SMALL]  # fmt: skip
    code, out, err = run_main(args, capsys)
    assert code == 1
    line = one_line_error(err, "train")
    match = re.search(r"diverged in epoch 1( \(step (\d+)\))?:", line)
    assert match, line
    if match[2]:
        assert int(match[2]) < 2000 // 16  # caught within the first epoch's 125 steps
    assert "NaN or infinite" in line or "loss rose" in line  # what happened
    assert "--learning-rate" in line and "--clip-norm" in line  # what to try
    assert out == ""
    # Stopped before its first epoch ended, the run leaves nothing: no model, no checkpoint, no
    # folder holding only its settings.
    assert not (isolated / "run").exists()


class CtrlCAfter(io.StringIO):
    """Standard error that presses Ctrl-C as the line ``trigger`` is printed, as a user would."""

    def __init__(self, trigger: str) -> None:
        super().__init__()
        self.trigger: str | None = trigger

    def write(self, text: str) -> int:
        written = super().write(text)
        if self.trigger is not None and text.startswith(self.trigger):
            self.trigger = None
            raise KeyboardInterrupt
        return written


def test_divergence_on_resume_leaves_the_checkpoint_alone(
    mnist_dir: Path,
    isolated: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stderr = CtrlCAfter("epoch 1/3")
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stderr", stderr)
        args = ["train", "--data-dir", str(mnist_dir), "--out", "run", *SMALL[:-1], "--epochs", "3"]
        code, _, _ = run_main(args, capsys)
    err = stderr.getvalue()
    assert code == 130, err
    assert "glassnet train --resume run" in err
    run = isolated / "run"
    saved = {p.name: p.read_bytes() for p in run.iterdir()}
    assert CHECKPOINT in saved and MODEL not in saved

    settings = (run / SETTINGS).read_text()
    (run / SETTINGS).write_text(
        re.sub(r"(?m)^learning_rate = .*$", "learning_rate = 1000000.0", settings)
    )
    saved[SETTINGS] = (run / SETTINGS).read_bytes()
    code, out, err = run_main(["train", "--resume", str(run), "-q"], capsys)
    assert code == 1
    line = one_line_error(err, "train")
    assert "diverged in epoch 2" in line and "--learning-rate" in line
    assert out == ""
    assert {p.name: p.read_bytes() for p in run.iterdir()} == saved  # byte for byte, no model


def test_resume_errors_are_one_line(
    first_run: tuple[Path, subprocess.CompletedProcess[str]],
    mnist_dir: Path,
    isolated: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run_main(["train", "--resume", "nowhere"], capsys)
    assert code == 1
    assert "not a run folder" in one_line_error(err, "train")

    finished = isolated / "finished"
    shutil.copytree(first_run[0], finished)
    before = listing(isolated)
    code, out, err = run_main(
        ["train", "--resume", str(finished), "--data-dir", str(mnist_dir)], capsys
    )
    assert code == 1
    assert "no checkpoint to resume from" in one_line_error(err, "train")
    assert out == ""
    assert listing(isolated) == before


# ---------------------------------------------------------------- interruption and resume
@pytest.fixture(scope="module")
def straight_run(mnist_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted 4-epoch run with the RESUMABLE settings."""
    tmp = tmp_path_factory.mktemp("straight")
    result = run_glassnet(
        ["train", *RESUMABLE, "--data-dir", str(mnist_dir), "--out", "run", "-q"], tmp
    )
    assert result.returncode == 0, result.stderr
    return tmp / "run"


@posix_only
def test_ctrl_c_saves_a_checkpoint_and_resume_is_bit_identical(
    straight_run: Path, mnist_dir: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    child = subprocess.Popen(
        [*glassnet_command(), "train", *RESUMABLE, "--data-dir", str(mnist_dir), "--out", "run"],
        cwd=tmp_path,
        env=isolated_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=ctrl_c_reaches_the_child,
    )
    seen = []
    with reaped(child):
        assert child.stderr is not None
        for line in child.stderr:
            seen.append(line)
            if line.startswith("epoch 2/4"):
                child.send_signal(signal.SIGINT)
                break
        out, rest = child.communicate(timeout=120)
    err = "".join(seen) + rest
    assert child.returncode == 130, err
    assert "Traceback" not in err
    assert out == ""
    message = err.strip().splitlines()[-1]
    assert "interrupted" in message and f"glassnet train --resume {Path('run')}" in message
    assert {p.name for p in run.iterdir()} == {SETTINGS, HISTORY_JSON, HISTORY_CSV, CHECKPOINT}
    state = checkpoint.load_checkpoint(run / CHECKPOINT, Network(RESUMABLE_LAYERS, "relu"))
    assert state.epoch in (2, 3)  # the signal lands in epoch 3 (or, on a slow machine, 4)
    assert f"epoch {state.epoch} is saved" in message
    assert len(history_rows(run)) == state.epoch

    resumed = run_glassnet(["train", "--resume", "run", "--data-dir", str(mnist_dir)], tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming after epoch {state.epoch}" in resumed.stderr
    assert {p.name for p in run.iterdir()} == RUN_FILES
    assert_bit_identical(straight_run / MODEL, run / MODEL)
    assert [r["train_loss"] for r in history_rows(run)] == [
        r["train_loss"] for r in history_rows(straight_run)
    ]


# The child runs ``glassnet train`` with a clock that makes it checkpoint after every epoch (it
# normally waits 10 s between checkpoints). The first checkpoint is written normally; the second
# stops halfway through its temporary file, tells the parent, and waits to be killed.
KILLED_WHILE_CHECKPOINTING = textwrap.dedent(
    """
    import sys, time, types
    import glassnet.checkpoint
    import glassnet.runs.execute
    from glassnet.atomic import atomic_write
    from glassnet.cli import main

    clock = [0.0]

    def monotonic():
        clock[0] += 11.0
        return clock[0]

    glassnet.runs.execute.time = types.SimpleNamespace(
        monotonic=monotonic, perf_counter=time.perf_counter)
    real_write = glassnet.checkpoint.atomic_write_bytes
    writes = [0]

    def write(path, data):
        writes[0] += 1
        if writes[0] == 2:
            with atomic_write(path) as file:
                file.write(data[: len(data) // 2])
                file.flush()
                print("half written", flush=True)
                time.sleep(300)
        real_write(path, data)
        print(f"checkpoint {writes[0]} written", flush=True)

    glassnet.checkpoint.atomic_write_bytes = write
    sys.exit(main(sys.argv[1:]))
    """
)


@posix_only
def test_sigkill_while_checkpointing_keeps_the_previous_checkpoint(
    straight_run: Path, mnist_dir: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    with open(tmp_path.parent / f"{tmp_path.name}-stderr.txt", "w") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-c", KILLED_WHILE_CHECKPOINTING, "train", *RESUMABLE,
             "--data-dir", str(mnist_dir), "--out", "run"],
            cwd=tmp_path, env=isolated_env(tmp_path), stdout=subprocess.PIPE, stderr=stderr,
            text=True,
        )  # fmt: skip
        with reaped(child):
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "checkpoint 1 written"
            first = (run / CHECKPOINT).read_bytes()
            assert child.stdout.readline().strip() == "half written"
            temps = temp_files(run)
            assert len(temps) == 1 and temps[0].startswith(f".{CHECKPOINT}.")
            assert 0 < (run / temps[0]).stat().st_size < len(first)
            child.send_signal(signal.SIGKILL)
            assert child.wait(timeout=30) == -signal.SIGKILL
    assert (run / CHECKPOINT).read_bytes() == first  # not one byte lost or changed
    state = checkpoint.load_checkpoint(run / CHECKPOINT, Network(RESUMABLE_LAYERS, "relu"))
    assert state.epoch == 1
    assert not (run / MODEL).exists()

    resumed = run_glassnet(["train", "--resume", "run", "--data-dir", str(mnist_dir)], tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming after epoch 1" in resumed.stderr
    assert_bit_identical(straight_run / MODEL, run / MODEL)
    # What a killed process cannot clean up: its temporary file, hidden beside the target.
    assert temp_files(run) == temps


def test_a_run_checks_its_settings_once_chooses_its_engine_once_and_takes_a_short_path(
    mnist_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """From ``cli.main`` to the engine's ``steps`` through at most 8 of glassnet's frames, one
    ``TrainConfig`` made and checked, one choice of engine, said once."""
    import traceback

    from glassnet import config, engine, runs, training
    from glassnet.engine.numpy import NumpyEngine

    made, chosen, depths = [], [], []
    check = config.TrainConfig.__post_init__
    monkeypatch.setattr(config.TrainConfig, "__post_init__", lambda self: made.append(check(self)))
    choose = engine.select_engine

    def select(*args: Any, **kwargs: Any) -> Any:
        chosen.append(args)
        return choose(*args, **kwargs)

    for module in (engine, runs.execute, training):
        monkeypatch.setattr(module, "select_engine", select)
    steps = NumpyEngine.steps

    def counted(self: Any, *args: Any, **kwargs: Any) -> None:
        if not depths:
            frames = traceback.extract_stack()
            depths.append(sum("/glassnet/" in f.filename for f in frames) + 1)  # and steps
        steps(self, *args, **kwargs)

    monkeypatch.setattr(NumpyEngine, "steps", counted)
    out = tmp_path / "run"
    code, _, err = run_main(
        ["train", "--data-dir", str(mnist_dir), *SMALL[:-1], "--engine", "numpy",
         "--out", str(out)], capsys,
    )  # fmt: skip
    assert code == 0, err
    assert len(made) == 1 and len(chosen) == 1
    assert depths and depths[0] <= 8, depths
    assert err.count("numpy engine") == 1


def test_class_weight_is_a_setting_a_run_records_and_repeats(
    mnist_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    code, _, err = run_main(
        ["train", "--data-dir", str(mnist_dir), *SMALL, "--class-weight", "balanced",
         "--out", str(out)], capsys,
    )  # fmt: skip
    assert code == 0, err
    assert read_settings(out / SETTINGS)["class_weight"] == "balanced"
    code, _, err = run_main(["train", "--class-weight", "heavy"], capsys)
    assert code == 2 and "invalid choice: 'heavy'" in err
