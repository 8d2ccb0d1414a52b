"""Tests for a run as one library call: glassnet.runs.run and resume, from Python."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import numpy as np
import pytest

from glassnet import Network, RunSettings, datasets, runs
from glassnet.engine import select_engine

pytestmark = pytest.mark.mnist


def small(mnist_dir: Path, **overrides: object) -> RunSettings:
    return RunSettings.resolve(
        "fast",
        None,
        {"data_dir": str(mnist_dir), "train_limit": 2000, "hidden": [32], "epochs": 2, **overrides},
    )


@pytest.mark.slow
def test_a_run_from_python_leaves_the_same_folder_the_command_does(
    mnist_dir: Path, tmp_path: Path
) -> None:
    log = io.StringIO()
    result = runs.run(small(mnist_dir), tmp_path / "run", log=log)
    assert result.folder == tmp_path / "run"
    assert sorted(p.name for p in result.folder.iterdir()) == sorted(
        [runs.SETTINGS, runs.HISTORY_JSON, runs.HISTORY_CSV, runs.MODEL]
    )
    assert len(result.history.rows) == 2 and result.history.test_accuracy == result.test_accuracy
    assert result.test_accuracy > 0.8 and result.test_size == 10_000
    assert result.warning is None
    saved = Network.load(result.folder / runs.MODEL)
    np.testing.assert_array_equal(saved.get_flat_parameters(), result.network.get_flat_parameters())
    metrics = saved.metrics
    predicted = saved.predict(datasets.load("mnist", mnist_dir).test_images)
    labels = datasets.load("mnist", mnist_dir).test_labels
    for k in range(10):
        mine = labels == k
        assert metrics["per_class_accuracy"][k] == pytest.approx(np.mean(predicted[mine] == k))
    true, guess, count = metrics["most_confused"][0]
    assert count == np.count_nonzero((labels == true) & (predicted == guess)) > 0
    assert all(a[2] >= b[2] for a, b in itertools.pairwise(metrics["most_confused"]))
    assert metrics["test_size"] == 10_000
    stored = runs.read_settings(result.folder)
    assert RunSettings.from_dict(stored) == result.settings
    assert stored["initializer"] == "he"  # the default it resolved to, written down
    lines = log.getvalue().splitlines()
    engine = select_engine("auto").name  # numba where glassnet[fast] works, else numpy
    assert f"{engine} engine" in lines[0] and "2,000 training images of mnist" in lines[0]
    assert sum(line.startswith("epoch ") for line in lines) == 2


def test_nothing_is_made_when_the_data_cannot_be_loaded(tmp_path: Path) -> None:
    settings = RunSettings.resolve(None, None, {"data_dir": str(tmp_path / "nowhere")})
    with pytest.raises(FileNotFoundError):
        runs.run(settings, tmp_path / "run")
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_an_interrupted_run_resumes_to_the_same_bits(
    mnist_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    straight = runs.run(small(mnist_dir, epochs=3), tmp_path / "straight")

    real_train = runs.execute.train

    def train_then_stop(*args: object, **kwargs: object) -> object:
        callbacks = list(kwargs.pop("callbacks"))  # type: ignore[call-overload]

        def stop_after_two(row: dict[str, object], state: object) -> None:
            for callback in callbacks:
                callback(row, state)
            if row["epoch"] == 2:
                raise KeyboardInterrupt  # as Ctrl-C would, after the epoch was kept

        return real_train(*args, callbacks=[stop_after_two], **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(runs.execute, "CHECKPOINT_SECONDS", 0.0)  # a checkpoint every epoch
    with monkeypatch.context() as patch:
        patch.setattr(runs.execute, "train", train_then_stop)
        with pytest.raises(runs.RunInterrupted) as info:
            runs.run(small(mnist_dir, epochs=3), tmp_path / "cut")
    assert info.value.epoch == 2 and info.value.folder == tmp_path / "cut"
    assert (tmp_path / "cut" / runs.CHECKPOINT).is_file()
    resumed = runs.resume(tmp_path / "cut")
    np.testing.assert_array_equal(
        resumed.network.get_flat_parameters(), straight.network.get_flat_parameters()
    )
    assert not (tmp_path / "cut" / runs.CHECKPOINT).exists()
