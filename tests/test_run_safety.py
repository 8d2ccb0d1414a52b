"""A run folder in the face of signals, kills, a second process, and runs that never start.

SIGTERM stops a run as Ctrl-C does, with a checkpoint; a killed run loses at most an epoch; one
process trains in a folder at a time; resuming with fewer epochs than were trained is refused
without losing anything; a run that fails before its first epoch leaves no folder behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import (
    glassnet_command,
    isolated_env,
    one_line_error,
    reaped,
    run_glassnet,
    wait_for_epochs,
)

from glassnet import Network, RunSettings, checkpoint, runs

pytestmark = pytest.mark.mnist
SMALL = ["--train-limit", "1000", "--hidden", "16", "--batch-size", "50", "--preset", "fast"]


def start_training(tmp: Path, mnist_dir: Path, epochs: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*glassnet_command(), "train", *SMALL, "--epochs", str(epochs), "--data-dir",
         str(mnist_dir), "--out", "run", "--quiet"],
        cwd=tmp, env=isolated_env(tmp), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


@pytest.mark.slow
def test_sigterm_saves_a_checkpoint_and_the_run_resumes(mnist_dir: Path, tmp_path: Path) -> None:
    child = start_training(tmp_path, mnist_dir, epochs=400)
    with reaped(child):
        wait_for_epochs(tmp_path / "run", child, 2)
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=60)
    assert child.returncode == 128 + signal.SIGTERM
    line = one_line_error(err)
    assert line.startswith("glassnet: terminated; epoch ") and "--resume run" in line
    saved = int(line.split("epoch ")[1].split(" ")[0])
    state = checkpoint.load_checkpoint(
        tmp_path / "run" / runs.CHECKPOINT, Network([784, 16, 10], "relu")
    )
    assert state.epoch == saved >= 2
    done = run_glassnet(
        ["train", "--resume", "run", "--epochs", str(saved + 1), "--data-dir", str(mnist_dir)],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert f"resuming after epoch {saved}" in done.stderr


@pytest.mark.slow
def test_a_killed_run_loses_at_most_the_epoch_it_was_in(mnist_dir: Path, tmp_path: Path) -> None:
    """Epochs of a fortieth of a second: every one is checkpointed, not every ten seconds."""
    child = start_training(tmp_path, mnist_dir, epochs=400)
    with reaped(child):
        seen = wait_for_epochs(tmp_path / "run", child, 5)
        child.kill()
        child.wait(timeout=30)
    state = checkpoint.load_checkpoint(
        tmp_path / "run" / runs.CHECKPOINT, Network([784, 16, 10], "relu")
    )
    history = json.loads((tmp_path / "run" / runs.HISTORY_JSON).read_text())
    assert state.epoch >= seen >= 5
    assert state.epoch == len(history["rows"])  # the two are written together


def test_one_process_trains_in_a_folder_at_a_time(tmp_path: Path) -> None:
    with runs.RunLock(tmp_path):
        assert runs.running(tmp_path) == os.getpid()
        with pytest.raises(runs.RunBusyError, match=rf"process {os.getpid()}"):
            runs.RunLock(tmp_path).__enter__()
    assert runs.running(tmp_path) is None
    assert not (tmp_path / runs.LOCK).exists()
    with runs.RunLock(tmp_path):  # free again
        pass


@pytest.mark.slow
def test_a_second_command_is_refused_and_runs_shows_the_first_as_running(
    mnist_dir: Path, tmp_path: Path
) -> None:
    child = start_training(tmp_path, mnist_dir, epochs=400)
    with reaped(child):
        wait_for_epochs(tmp_path / "run", child, 1)
        second = run_glassnet(["train", "--resume", "run", "--data-dir", str(mnist_dir)], tmp_path)
        listing = run_glassnet(["runs", "--runs-dir", "."], tmp_path)
        child.kill()
    assert second.returncode == 1
    assert f"training in this folder already (process {child.pid})" in one_line_error(
        second.stderr, "train"
    )
    assert f"running (process {child.pid})" in listing.stdout


@pytest.mark.slow
def test_resuming_with_fewer_epochs_than_trained_is_refused_and_keeps_the_checkpoint(
    mnist_dir: Path, tmp_path: Path
) -> None:
    child = start_training(tmp_path, mnist_dir, epochs=400)
    with reaped(child):
        wait_for_epochs(tmp_path / "run", child, 3)
        child.kill()
        child.wait(timeout=30)
    before = (tmp_path / "run" / runs.CHECKPOINT).read_bytes()
    trained = checkpoint.load_checkpoint(
        tmp_path / "run" / runs.CHECKPOINT, Network([784, 16, 10], "relu")
    )
    result = run_glassnet(
        ["train", "--resume", "run", "--epochs", str(trained.epoch), "--data-dir", str(mnist_dir)],
        tmp_path,
    )
    assert result.returncode == 1
    assert f"trained {trained.epoch} of its epochs already" in one_line_error(
        result.stderr, "train"
    )
    assert (tmp_path / "run" / runs.CHECKPOINT).read_bytes() == before
    assert not (tmp_path / "run" / runs.MODEL).exists()


@pytest.mark.slow
def test_a_run_that_fails_before_its_first_epoch_leaves_nothing(
    mnist_dir: Path, tmp_path: Path
) -> None:
    # One training image, nine tenths of it held out: nothing left to train on, found only once
    # the data is split, after the folder is made.
    settings = RunSettings.resolve(
        None, None, {"data_dir": str(mnist_dir), "train_limit": 1, "validation_split": 0.9}
    )
    with pytest.raises(ValueError, match="no training samples left after the validation split"):
        runs.run(settings, tmp_path / "new")
    assert not (tmp_path / "new").exists()
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError):
        runs.run(settings, tmp_path / "empty")
    assert (tmp_path / "empty").is_dir() and not any((tmp_path / "empty").iterdir())


@pytest.mark.slow
def test_interrupting_the_command_before_training_begins_leaves_no_folder(
    mnist_dir: Path, tmp_path: Path
) -> None:
    """SIGTERM while the data is loading: exit 143, nothing written."""
    env = isolated_env(tmp_path)
    env["PYTHONFAULTHANDLER"] = "1"
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import signal, os, glassnet.runs.execute as e\n"
         "real = e._load_data\n"
         "def slow(s):\n"
         "    os.kill(os.getpid(), signal.SIGTERM)\n"
         "    return real(s)\n"
         "e._load_data = slow\n"
         "from glassnet.cli import main\n"
         f"raise SystemExit(main(['train', *{SMALL!r}, '--data-dir', {str(mnist_dir)!r}, "
         "'--out', 'run']))\n"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    with reaped(child):
        _, err = child.communicate(timeout=60)
    assert child.returncode == 128 + signal.SIGTERM
    assert one_line_error(err) == "glassnet: terminated"
    assert not (tmp_path / "run").exists()
