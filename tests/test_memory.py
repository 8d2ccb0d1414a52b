"""Sizes that would not fit, and settings whose consequences overflow, are refused up front."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from helpers import listing, one_line_error, run_glassnet

import glassnet.memory
from glassnet import Network, TrainConfig, memory
from glassnet.schedules import StepDecay


def test_estimates_count_the_big_arrays() -> None:
    sizes = [784, 50, 50, 50, 50, 50, 50, 10]
    assert memory.n_parameters(sizes) == 52_510  # the post's network
    assert memory.network_bytes(sizes, 4) == 3 * 52_510 * 4
    sgd = memory.training_bytes(sizes, 4, 60_000, 10, "sgd")
    adam = memory.training_bytes(sizes, 4, 60_000, 10, "adam")
    assert adam - sgd == 2 * 52_510 * 4  # Adam's two moments
    assert sgd > 2 * 60_000 * 785 * 4  # the data, as given and shuffled
    assert memory.describe(1536) == "1.5 KiB" and memory.describe(3 * 2**30) == "3.0 GiB"


def test_a_network_that_cannot_fit_is_refused_before_allocating() -> None:
    with pytest.raises(memory.NotEnoughMemory, match=r"784-10000000000-10 needs about 86\.\d TiB"):
        Network([784, 10**10, 10])


def test_the_limit_is_the_memory_available_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(glassnet.memory, "available_bytes", lambda: 100_000)
    with pytest.raises(memory.NotEnoughMemory, match=r"this machine has 97\.7 KiB available"):
        Network([100, 100, 10])
    Network([10, 5, 3])  # 1,104 bytes: fits


@pytest.mark.slow
def test_gradcheck_refuses_a_check_that_would_take_days(tmp_path: Path) -> None:
    for args, expected in (
        (["--inputs", "100000000"], "700,000,114 parameters"),
        (["--batch-size", "100000000"], "at batch 100,000,000"),
    ):
        result = run_glassnet(["gradcheck", *args], tmp_path, timeout=60)
        assert result.returncode == 1
        line = one_line_error(result.stderr, "gradcheck")
        assert expected in line and "hours" in line
        assert result.stdout == ""


@pytest.mark.slow
@pytest.mark.mnist
def test_train_refuses_a_network_that_would_not_fit_and_makes_no_folder(
    mnist_dir: Path, tmp_path: Path
) -> None:
    result = run_glassnet(
        ["train", "--hidden", "10000000", "--data-dir", str(mnist_dir), "--out", "run"], tmp_path
    )
    assert result.returncode == 1
    line = one_line_error(result.stderr, "train")
    assert "hidden = [10000000] (7,950,000,010 parameters)" in line and "GiB" in line
    assert listing(tmp_path) == {}


def test_a_step_schedule_with_a_tiny_step_stays_finite() -> None:
    schedule = StepDecay(5e-324, 0.5)
    assert schedule(0.0) == 1.0
    assert schedule(0.5) == 0.0  # infinitely many halvings
    assert StepDecay(5e-324, 1.0)(3.0) == 1.0
    config = TrainConfig(schedule="step", step_epochs=5e-324, gamma=0.5, epochs=3)
    assert all(math.isfinite(config.make_schedule(10)(t)) for t in (0.0, 1.5, 3.0))


def test_settings_whose_schedule_misbehaves_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The learning rate the settings make is checked over the whole run, not only the settings."""

    def broken(self: TrainConfig, steps_per_epoch: int) -> object:
        return lambda t: math.nan if t > 1 else 1.0

    monkeypatch.setattr(TrainConfig, "make_schedule", broken)
    with pytest.raises(ValueError, match=r"learning rate at epoch [\d.]+ is nan times the rate"):
        TrainConfig(epochs=3)
