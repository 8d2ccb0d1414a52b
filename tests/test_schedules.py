"""Tests for learning-rate schedules: values at chosen progress, warm-up hand-over, validation."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from glassnet import Network
from glassnet.schedules import (
    Constant,
    Cosine,
    Exponential,
    StepDecay,
    Warmup,
    make_schedule,
)


@pytest.mark.parametrize("t", [0.0, 0.5, 3.0, 1000.0])
def test_constant(t: float) -> None:
    assert Constant()(t) == 1.0


def test_step_decay_drops_by_gamma_at_each_boundary() -> None:
    s = StepDecay(step_epochs=3, gamma=0.5)
    assert [s(t) for t in (0.0, 2.999, 3.0, 5.5, 6.0, 9.0)] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.125]


def test_exponential_is_gamma_to_the_progress() -> None:
    s = Exponential(gamma=0.9)
    assert s(0.0) == 1.0
    assert s(1.0) == pytest.approx(0.9, rel=1e-15)
    assert s(2.5) == pytest.approx(0.9**2 * math.sqrt(0.9), rel=1e-14)


def test_cosine_from_one_to_the_floor_then_flat() -> None:
    s = Cosine(epochs=10, floor=0.1)
    assert s(0.0) == pytest.approx(1.0, rel=1e-15)
    assert s(5.0) == pytest.approx(0.1 + 0.9 * 0.5, rel=1e-15)  # half-way: cos(pi/2) = 0
    # A quarter of the way: (1 + cos(pi/4)) / 2 = (1 + 1/sqrt 2) / 2
    assert s(2.5) == pytest.approx(0.1 + 0.9 * (1 + 1 / math.sqrt(2)) / 2, rel=1e-14)
    assert s(10.0) == pytest.approx(0.1, rel=1e-14)
    assert s(25.0) == pytest.approx(0.1, rel=1e-14)
    values = [s(t) for t in np.linspace(0, 10, 41)]
    assert all(a >= b for a, b in itertools.pairwise(values))


def test_warmup_ramps_linearly_then_hands_over_with_the_inner_clock_reset() -> None:
    s = Warmup(epochs=2, then=Exponential(0.5), steps_per_epoch=4)
    # During warm-up the factor counts the step about to be taken: (t + 1/steps) / w.
    assert s(0.0) == pytest.approx(0.25 / 2)
    assert s(0.25) == pytest.approx(0.5 / 2)
    assert s(1.0) == pytest.approx(1.25 / 2)
    assert s(1.75) == pytest.approx(1.0)
    ramp = [s(k / 4) for k in range(8)]
    assert all(0 < a < b for a, b in itertools.pairwise(ramp))
    # After it the inner schedule runs from its own t = 0.
    assert s(2.0) == 1.0
    assert s(3.0) == pytest.approx(0.5)
    assert s(4.0) == pytest.approx(0.25)


def test_make_schedule_builds_each_kind() -> None:
    assert make_schedule("constant")(7.0) == 1.0
    step = make_schedule("step", step_epochs=2, gamma=0.5)
    assert [step(t) for t in (1.9, 2.0, 4.0)] == [1.0, 0.5, 0.25]
    assert make_schedule("exponential", gamma=0.8)(2.0) == pytest.approx(0.64)
    cosine = make_schedule("cosine", epochs=4, floor=0.2)
    assert cosine(2.0) == pytest.approx(0.6)
    assert cosine(4.0) == pytest.approx(0.2)


def test_make_schedule_cosine_spans_the_epochs_after_the_warmup() -> None:
    s = make_schedule("cosine", epochs=10, warmup_epochs=2, steps_per_epoch=5)
    assert s(0.0) == pytest.approx((0 + 1 / 5) / 2)
    assert s(2.0) == pytest.approx(1.0)  # warm-up over: the cosine starts at its top
    assert s(6.0) == pytest.approx(0.5)  # half of the remaining 8 epochs
    assert s(10.0) == pytest.approx(0.0, abs=1e-15)


def test_make_schedule_combines_warmup_with_step_decay() -> None:
    s = make_schedule(
        "step", epochs=10, warmup_epochs=1, step_epochs=3, gamma=0.1, steps_per_epoch=4
    )
    assert [s(t) for t in (0.0, 0.25, 0.5, 0.75)] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert s(1.0) == 1.0
    assert s(3.99) == 1.0
    assert s(4.0) == pytest.approx(0.1)  # three epochs after the warm-up ended


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "linear"}, "unknown schedule"),
        ({"name": "constant", "warmup_epochs": -1}, "warm-up"),
        ({"name": "step", "step_epochs": 0}, "step"),
        ({"name": "step", "gamma": 0.0}, "gamma"),
        ({"name": "step", "gamma": 1.5}, "gamma"),
        ({"name": "exponential", "gamma": 0.0}, "gamma"),
        ({"name": "exponential", "gamma": 2.0}, "gamma"),
        ({"name": "cosine", "epochs": 5, "floor": 1.5}, "floor"),
        ({"name": "cosine", "epochs": 5, "floor": -0.1}, "floor"),
    ],
)
def test_make_schedule_rejects_invalid_settings(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_schedule(**kwargs)


def test_schedule_classes_reject_invalid_settings() -> None:
    with pytest.raises(ValueError):
        Cosine(epochs=0)
    with pytest.raises(ValueError):
        Warmup(epochs=0)
    with pytest.raises(ValueError):
        StepDecay(step_epochs=-1)


def test_training_records_the_scheduled_rate() -> None:
    """The loop evaluates the schedule before every step; a row keeps the epoch's last rate."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = rng.integers(0, 2, 40)
    net = Network([3, 4, 2], "tanh", seed=0, dtype="float64")
    history = net.fit(
        X, y, epochs=3, batch_size=10, learning_rate=0.2, schedule="step", step_epochs=1, gamma=0.5
    )
    # Four steps per epoch; the last step of epoch e runs at t = e - 1 + 3/4.
    assert history.column("learning_rate") == pytest.approx([0.2, 0.1, 0.05])
