"""Learning-rate schedules: the post's first named next step, learning-rate decay.

A schedule maps training progress ``t``, counted in epochs and fractional within one (``t = 2.5`` is
half-way through the third epoch), to a factor on the base learning rate. The training loop evaluates
it before every step. Schedules combine: :class:`Warmup` ramps linearly up to the base rate and then
hands over to any other schedule, whose clock starts when the warm-up ends.

==============  =========================================================
constant        1
step            γ^⌊t / step_epochs⌋
exponential     γ^t
cosine          floor + (1 − floor) (1 + cos(π t / T)) / 2,  t ≤ T
warmup          (t + 1/steps) / w for t < w, then the inner schedule at t − w
==============  =========================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from glassnet.errors import InputError
from glassnet.rules import Rule


class Schedule:
    """Base class: ``schedule(t)`` is the learning-rate factor at progress ``t`` (in epochs)."""

    def __call__(self, t: float) -> float:
        raise NotImplementedError


@dataclass(frozen=True)
class Constant(Schedule):
    """The post's choice: the same rate throughout."""

    def __call__(self, t: float) -> float:
        return 1.0


@dataclass(frozen=True)
class StepDecay(Schedule):
    """Multiply the rate by ``gamma`` every ``step_epochs`` epochs."""

    step_epochs: float
    gamma: float = 0.1

    def __post_init__(self) -> None:
        SETTINGS["step_epochs"].check("step decay's step_epochs", self.step_epochs)
        SETTINGS["gamma"].check("step decay's gamma", self.gamma)

    def __call__(self, t: float) -> float:
        steps = (
            t / self.step_epochs
        )  # may overflow for a tiny step_epochs: then as many as you like
        if not math.isfinite(steps):
            return 1.0 if self.gamma == 1.0 or t <= 0 else 0.0
        return float(self.gamma ** math.floor(steps))


@dataclass(frozen=True)
class Exponential(Schedule):
    """Multiply the rate by ``gamma`` per epoch, smoothly within each epoch."""

    gamma: float = 0.95

    def __post_init__(self) -> None:
        SETTINGS["gamma"].check("exponential decay's gamma", self.gamma)

    def __call__(self, t: float) -> float:
        return float(self.gamma**t)


@dataclass(frozen=True)
class Cosine(Schedule):
    """Half a cosine from 1 down to ``floor`` over ``epochs`` epochs (then ``floor``)."""

    epochs: float
    floor: float = 0.0

    def __post_init__(self) -> None:
        if not self.epochs > 0:
            raise InputError(f"cosine decay needs epochs > 0, got {self.epochs!r}")
        SETTINGS["lr_floor"].check("cosine decay's floor", self.floor)

    def __call__(self, t: float) -> float:
        progress = min(max(t / self.epochs, 0.0), 1.0)
        return self.floor + (1.0 - self.floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


@dataclass(frozen=True)
class Warmup(Schedule):
    """Ramp linearly from near zero to the full rate over ``epochs``, then follow ``then``.

    Large steps on random weights can throw a network far off before its statistics settle; a short
    warm-up lets adaptive optimizers and large learning rates start gently.
    """

    epochs: float
    then: Schedule = field(default_factory=Constant)
    steps_per_epoch: int = 1

    def __post_init__(self) -> None:
        if self.epochs <= 0:
            raise InputError("warm-up needs epochs > 0")

    def __call__(self, t: float) -> float:
        if t < self.epochs:
            # Count the step about to be taken, so the very first step is not at rate zero.
            return min(1.0, (t + 1.0 / max(self.steps_per_epoch, 1)) / self.epochs)
        return self.then(t - self.epochs)


SCHEDULES = ("constant", "step", "exponential", "cosine")

#: The settings each schedule reads (besides warmup_epochs, which goes with any of them).
USES: dict[str, tuple[str, ...]] = {
    "constant": (),
    "step": ("step_epochs", "gamma"),
    "exponential": ("gamma",),
    "cosine": ("lr_floor",),
}

#: The training settings that describe a schedule, and what values each accepts.
SETTINGS: dict[str, Rule] = {
    "schedule": Rule("choice", "learning-rate schedule", choices=lambda: SCHEDULES),
    "warmup_epochs": Rule("number", "ramp the learning rate up over these epochs", low=0.0),
    "step_epochs": Rule("number", "step schedule: epochs per step", low=0.0, open_low=True),
    "gamma": Rule("number", "step/exponential decay factor", low=0.0, high=1.0, open_low=True),
    "lr_floor": Rule("number", "cosine: final fraction of the rate", low=0.0, high=1.0),
}


def make_schedule(
    name: str = "constant",
    *,
    epochs: int = 1,
    warmup_epochs: float = 0.0,
    step_epochs: float = 10.0,
    gamma: float = 0.1,
    floor: float = 0.0,
    steps_per_epoch: int = 1,
) -> Schedule:
    """Build a schedule from command-line style settings.

    ``cosine`` spans the epochs left after the warm-up; ``gamma`` is the factor of ``step`` and
    ``exponential`` decay.
    """
    decay_epochs = max(epochs - warmup_epochs, 1e-9)
    schedule: Schedule
    if name == "constant":
        schedule = Constant()
    elif name == "step":
        schedule = StepDecay(step_epochs, gamma)
    elif name == "exponential":
        schedule = Exponential(gamma)
    elif name == "cosine":
        schedule = Cosine(decay_epochs, floor)
    else:
        raise InputError(f"unknown schedule {name!r}; choose one of {', '.join(SCHEDULES)}")
    SETTINGS["warmup_epochs"].check("warm-up epochs", warmup_epochs)
    if warmup_epochs > 0:
        schedule = Warmup(warmup_epochs, schedule, steps_per_epoch)
    return schedule
