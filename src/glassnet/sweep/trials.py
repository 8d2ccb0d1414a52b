"""A sweep's trials: the grid's combinations, each with every draw of the ranges.

With a grid of ``G`` combinations and ``samples = N``, the ranges are drawn ``N`` times (from a
generator seeded with the spec's ``seed``) and every draw is tried with every combination: ``G × N``
trials, in the order combination by combination. Drawing once for all combinations makes them
comparable: each combination meets the same learning rates. The same spec always gives the same
trials, which is how a sweep run again knows which of them are finished.

Each trial's settings are a whole run's (:class:`glassnet.settings.RunSettings`): the spec's
``[settings]`` (a preset first, if named), then its grid values and draws, checked by the settings
table before any trial starts.

A study's trials are not known in advance: each is made from the values its sampler chose
(:func:`study_trial`), its id from Optuna's trial number. :func:`check_study` makes its trials at
the corners of the space first, so that a spec that cannot run is refused before anything starts.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from glassnet.errors import InputError
from glassnet.settings import RunSettings
from glassnet.sweep.spec import Range, SweepSpec

#: Drawn numbers keep this many significant digits, so settings files and tables stay readable.
DIGITS = 4


@dataclass(frozen=True)
class Trial:
    """One run of a sweep.

    Attributes
    ----------
    id : str
        ``"trial-001"``, ...: its folder's name in the sweep folder.
    settings : dict
        Every setting of the run, flat, as ``settings.toml`` holds them.
    swept : dict
        The values of the swept settings (the grid's, then the ranges'), for tables and plots.
    """

    id: str
    settings: dict[str, Any]
    swept: dict[str, Any]

    def run_settings(self) -> RunSettings:
        return RunSettings.from_dict(self.settings, self.id)


def make_trials(spec: SweepSpec, data_dir: str | None = None) -> list[Trial]:
    """Every trial of ``spec``, each one's settings checked; ``data_dir`` overrides the spec's.

    A relative ``data_dir`` is made absolute here, so that workers started elsewhere find the data.
    Raises ``ValueError`` naming the trial and setting when a trial's settings are not valid, or
    when a setting given in the spec applies to none of the trials (``momentum`` with Adam only).
    """
    points = [
        dict(zip(spec.grid, values, strict=True))
        for values in itertools.product(*spec.grid.values())
    ]
    rng = np.random.default_rng(spec.seed)
    draws = [{name: draw(r, rng) for name, r in spec.ranges.items()} for _ in range(spec.samples)]
    combos = [{**point, **drawn} for point in points for drawn in draws]
    width = max(3, len(str(len(combos))))
    trials = [
        _trial(spec, f"trial-{number:0{width}d}", swept, data_dir)
        for number, swept in enumerate(combos, start=1)
    ]
    _refuse_unused(spec, trials)
    return trials


def study_trial(
    spec: SweepSpec, number: int, swept: Mapping[str, Any], data_dir: str | None = None
) -> Trial:
    """The trial of a study that Optuna numbers ``number`` (from 0), with the sampler's values;
    its id does not depend on ``trials``, which a study run again may raise."""
    return _trial(spec, trial_id(number), dict(swept), data_dir)


def trial_id(number: int) -> str:
    """The id of a study's trial that Optuna numbers ``number``: ``trial-001`` for 0."""
    return f"trial-{number + 1:03d}"


def check_study(spec: SweepSpec, data_dir: str | None = None) -> Trial:
    """Refuse a study whose trials could not run: its trials at the low and the high ends of every
    range (the first and the last choices) must be valid runs, and hold out validation data for
    the sampler and the pruner to judge them by. Returns the first of them."""
    corners = [
        {name: r.values[0] if r.kind == "choice" else _end(r, 0) for name, r in spec.ranges.items()},
        {name: r.values[-1] if r.kind == "choice" else _end(r, 1) for name, r in spec.ranges.items()},
    ]  # fmt: skip
    trials = [study_trial(spec, i, swept, data_dir) for i, swept in enumerate(corners)]
    _refuse_unused(spec, trials)
    if not trials[0].settings.get("validation_split"):
        raise InputError(
            f'{spec.path}: search = "{spec.search}" judges each trial by its validation '
            "accuracy; hold some training data out with validation_split = 0.1 in [settings]"
        )
    return trials[0]


def _end(values: Range, which: int) -> Any:
    end = values.values[which]
    return int(math.ceil(end) if which == 0 else math.floor(end)) if values.whole else end


def _trial(spec: SweepSpec, trial_id: str, swept: dict[str, Any], data_dir: str | None) -> Trial:
    """A trial's settings, checked: the spec's, then its swept values; ``data_dir`` made absolute,
    so that workers started elsewhere find the data."""
    file = {**spec.settings, **swept}
    where = data_dir if data_dir is not None else file.get("data_dir")
    if isinstance(where, str):
        file["data_dir"] = str(Path(where).expanduser().resolve())
    settings = RunSettings.resolve(
        None, file, source=f"{spec.path}: {trial_id} ({describe(swept)})"
    )
    return Trial(trial_id, settings.to_dict(), swept)


def draw(values: Range, rng: np.random.Generator) -> Any:
    """One value from ``values``: uniform or log-uniform between its ends, or one of its choices."""
    if values.kind == "choice":
        return values.values[int(rng.integers(len(values.values)))]
    low, high = values.values
    if values.whole:
        # Whole numbers: each as likely as its share of the range (of its logarithm's).
        low, high = math.ceil(low) - 0.5, math.floor(high) + 0.5
    if values.kind == "log_uniform":
        x = math.exp(rng.uniform(math.log(low), math.log(high)))
    else:
        x = float(rng.uniform(low, high))
    if values.whole:
        return int(min(max(round(x), math.ceil(values.values[0])), math.floor(values.values[1])))
    return float(f"{x:.{DIGITS}g}")


def describe(swept: Mapping[str, Any]) -> str:
    """``"hidden=[128] learning_rate=0.01"``: a trial's swept values on one line."""
    return " ".join(f"{name}={value_text(value)}" for name, value in swept.items())


def value_text(value: Any) -> str:
    """A swept value as tables and plots show it: ``[128,64]``, ``0.0123``, ``relu``."""
    if isinstance(value, list):
        return "[" + ",".join(str(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:.{DIGITS}g}"
    return str(value)


def _refuse_unused(spec: SweepSpec, trials: list[Trial]) -> None:
    """A setting the spec gives that no trial's optimizer or schedule takes is a mistake to say."""
    names = [*spec.settings, *spec.swept]
    unused_everywhere: dict[str, str] | None = None
    for trial in trials:
        reasons = dict(text.split(" ", 1) for text in trial.run_settings().training.unused(names))
        if unused_everywhere is None:
            unused_everywhere = reasons
        else:
            unused_everywhere = {k: v for k, v in unused_everywhere.items() if k in reasons}
    if unused_everywhere:
        name, why = next(iter(unused_everywhere.items()))
        raise InputError(f"{spec.path}: setting {name} {why}, in every trial")


__all__ = [
    "DIGITS",
    "Trial",
    "check_study",
    "describe",
    "draw",
    "make_trials",
    "study_trial",
    "trial_id",
    "value_text",
]
