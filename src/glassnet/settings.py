"""Every setting of a training run, and one table of the values each may take.

:data:`RULES` says, for every setting, what it accepts: a whole number of at least 1, a number in
``[0, 0.95]``, one name of a registry (activations, optimizers, schedules, initializers, engines).
Everything that checks a setting asks the table: :class:`TrainConfig` and :class:`RunSettings` when
they are made, the command line (its options, their types and choices are derived from the table),
and settings files. A range is written once.

Two objects hold the settings:

- :class:`TrainConfig`, the training loop's: epochs, batch size, optimizer, regularization, the
  engine, ...;
- :class:`RunSettings`, a whole run's: the data, the network, and a ``TrainConfig``.

Settings files and run folders store them flat, one ``key = value`` line each (``settings.toml``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from glassnet import schedules
from glassnet.activations import ACTIVATIONS
from glassnet.datasets.datasettings import DATA_SETTINGS, SCALINGS, check_data_source
from glassnet.engine import ENGINE_CHOICES
from glassnet.errors import InputError, short
from glassnet.initializers import INITIALIZERS
from glassnet.optimizers import OPTIMIZERS, Optimizer, make_optimizer
from glassnet.presets import PRESETS, get_preset
from glassnet.rules import Rule, parse_sizes

DTYPES = ("float32", "float64")


#: Every setting of a run: what it accepts, its command-line help, and the group it belongs to.
RULES: dict[str, Rule] = {
    "preset": Rule(
        "choice",
        "a named recipe: its settings, then --config's, then the options given here",
        choices=lambda: tuple(PRESETS),
        group="run",
    ),
    # -- the data
    **DATA_SETTINGS,  # dataset, data_dir, data, target, ..., scaling, data_sha256
    "train_limit": Rule(
        "whole",
        "train on the first N training images only",
        low=1,
        optional=True,
        group="data",
        metavar="N",
    ),
    # -- the network
    "hidden": Rule(
        "sizes",
        "hidden layer sizes, comma-separated, e.g. 50,50,50",
        group="network",
        metavar="SIZES",
    ),
    "activation": Rule(
        "choice",
        "the hidden layers' activation",
        choices=lambda: tuple(ACTIVATIONS),
        group="network",
    ),
    "initializer": Rule(
        "choice",
        "normal is the post's N(0,1); default glorot for sigmoid/tanh, he for relu",
        choices=lambda: tuple(INITIALIZERS),
        optional=True,
        group="network",
    ),
    "dtype": Rule(
        "choice",
        "precision of the weights and the arithmetic",
        choices=lambda: DTYPES,
        group="network",
    ),
    # -- the training loop
    "epochs": Rule("whole", "passes over the training set", low=1),
    "batch_size": Rule("whole", "samples per gradient step", low=1),
    "optimizer": Rule("choice", "how a gradient becomes a step", choices=lambda: tuple(OPTIMIZERS)),
    **Optimizer.COMMON,  # learning_rate, weight_decay
    **{name: rule for cls in OPTIMIZERS.values() for name, rule in cls.settings.items()},
    "dropout": Rule("number", "drop probability of hidden units", low=0.0, high=0.95),
    "clip_norm": Rule("number", "clip the global gradient norm to this (0: off)", low=0.0),
    **schedules.SETTINGS,
    "validation_split": Rule(
        "number", "fraction of the training set held out for validation", low=0.0, high=0.9
    ),
    "patience": Rule(
        "whole", "stop after this many epochs without a better validation loss", low=0
    ),
    "augment_shift": Rule(
        "whole",
        "shift training images by up to this many pixels each epoch",
        low=0,
        metavar="PIXELS",
    ),
    "standardize": Rule("flag", "standardize inputs with the training set's statistics"),
    "seed": Rule("whole", "seed of every random draw", low=0),
    "engine": Rule(
        "choice",
        "what trains: auto picks the fastest installed engine for the settings",
        choices=lambda: ENGINE_CHOICES,
    ),
}


@dataclass
class TrainConfig:
    """Every setting of the training loop, with its default. Invalid values raise ``ValueError``.

    :data:`RULES` says what each field accepts.
    """

    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 0.1
    optimizer: str = "sgd"
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    weight_decay: float = 0.0
    dropout: float = 0.0
    clip_norm: float = 0.0
    schedule: str = "constant"
    warmup_epochs: float = 0.0
    step_epochs: float = 10.0
    gamma: float = 0.1
    lr_floor: float = 0.0
    validation_split: float = 0.0
    patience: int = 0
    augment_shift: int = 0
    standardize: bool = True
    seed: int = 0
    engine: str = "auto"

    def __post_init__(self) -> None:
        for f in fields(self):
            name = f.name
            setattr(self, name, RULES[name].check(name.replace("_", " "), getattr(self, name)))
        self._check_schedule()

    def _check_schedule(self) -> None:
        """What the settings make, checked as well as the settings: the learning rate at every
        point of the run must be a finite number, at most the rate given."""
        schedule = self.make_schedule(1)
        for t in np.linspace(0.0, float(self.epochs), 33):
            factor = schedule(float(t))
            if not (math.isfinite(factor) and 0.0 <= factor <= 1.0):
                raise InputError(
                    f"the {self.schedule} schedule's learning rate at epoch {t:g} is "
                    f"{short(factor)} times the rate: check its settings"
                )

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def from_keywords(cls, settings: Mapping[str, Any]) -> TrainConfig:
        """The settings given as keywords; an unknown name is refused, naming the known ones."""
        unknown = sorted(set(settings) - set(cls.field_names()))
        if unknown:
            raise InputError(
                f"unknown training setting {unknown[0]!r}; the settings are "
                f"{', '.join(cls.field_names())}"
            )
        return cls(**settings)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> TrainConfig:
        """The training fields of a run's flat settings; other keys are left to the caller."""
        return cls(**{k: v for k, v in settings.items() if k in cls.field_names()})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def unused(self, names: Iterable[str]) -> list[str]:
        """Which of ``names`` these settings would ignore, each with why, e.g.
        ``"momentum does not apply to optimizer adam (it takes beta1, beta2, weight_decay)"``."""
        optimizer, schedule = OPTIMIZERS[self.optimizer], self.schedule
        optimizer_options = {n for cls in OPTIMIZERS.values() for n in cls.settings}
        schedule_options = {n for uses in schedules.USES.values() for n in uses}
        found = []
        for name in names:
            if name in optimizer_options and name not in optimizer.settings:
                takes = ", ".join([*optimizer.settings, "weight_decay"])
                found.append(
                    f"{name} does not apply to optimizer {self.optimizer} (it takes {takes})"
                )
            elif name in schedule_options and name not in schedules.USES[schedule]:
                takes = ", ".join(schedules.USES[schedule]) or "no other setting"
                found.append(f"{name} does not apply to schedule {schedule} (it takes {takes})")
        return found

    def make_optimizer(self) -> Optimizer:
        """The optimizer these settings name, given the options it takes."""
        cls = OPTIMIZERS[self.optimizer]
        options = {name: getattr(self, name) for name in cls.settings}
        return make_optimizer(
            self.optimizer, self.learning_rate, weight_decay=self.weight_decay, **options
        )

    def make_schedule(self, steps_per_epoch: int) -> schedules.Schedule:
        """The learning-rate multiplier these settings describe, for this many steps an epoch."""
        return schedules.make_schedule(
            self.schedule,
            epochs=self.epochs,
            warmup_epochs=self.warmup_epochs,
            step_epochs=self.step_epochs,
            gamma=self.gamma,
            floor=self.lr_floor,
            steps_per_epoch=steps_per_epoch,
        )


#: The settings of a run that describe its data and network rather than the training loop.
RUN_FIELDS = (
    "preset",
    *DATA_SETTINGS,
    "train_limit",
    "hidden",
    "activation",
    "initializer",
    "dtype",
)


@dataclass
class RunSettings:
    """A whole training run: the data, the network, and the training loop's settings.

    Make one with :meth:`resolve` (a preset, then a settings file, then single settings, each
    overriding the one before) or :meth:`from_dict` (a run's own ``settings.toml``).
    """

    preset: str = "default"
    dataset: str = "mnist"
    data_dir: str | None = None
    data: str | None = None
    target: str | None = None
    features: str | None = None
    test_split: float | None = None
    image_size: int | None = None
    color: str | None = None
    image_prep: str | None = None
    scaling: str = "standardize"
    data_sha256: str | None = None
    train_limit: int | None = None
    hidden: list[int] = field(default_factory=lambda: [256])
    activation: str = "relu"
    initializer: str | None = None
    dtype: str = "float32"
    training: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        for name in RUN_FIELDS:
            setattr(self, name, RULES[name].check(name, getattr(self, name)))
        check_data_source(self)  # one source of data, named in `dataset`

    @classmethod
    def from_dict(cls, settings: Mapping[str, Any], source: str = "settings") -> RunSettings:
        """Check flat settings (as a ``settings.toml`` holds them) and make the object.

        Every problem is a ``ValueError`` naming ``source`` and the setting.
        """
        unknown = sorted(set(settings) - set(RUN_FIELDS) - set(TrainConfig.field_names()))
        if unknown:
            known = ", ".join(sorted([*RUN_FIELDS, *TrainConfig.field_names()]))
            raise InputError(
                f"{source}: unknown setting {short(unknown[0])}; known settings are {known}"
            )
        values = dict(settings)
        if isinstance(values.get("hidden"), str):  # "128,64", as on the command line
            try:
                values["hidden"] = parse_sizes(values["hidden"])
            except ValueError as exc:
                raise InputError(f"{source}: setting hidden: {exc}") from None
        try:
            training = TrainConfig.from_settings(values)
            return cls(**{k: v for k, v in values.items() if k in RUN_FIELDS}, training=training)
        except (TypeError, ValueError) as exc:
            raise InputError(f"{source}: setting {exc}") from None

    @classmethod
    def resolve(
        cls,
        preset: str | None = None,
        file: Mapping[str, Any] | None = None,
        overrides: Mapping[str, Any] | None = None,
        source: str = "settings",
    ) -> RunSettings:
        """The preset's settings (``"default"`` unless given or named in ``file``), then ``file``'s,
        then ``overrides``: later ones win."""
        file = dict(file or {})
        name = preset or file.get("preset") or "default"
        if not isinstance(name, str) or name not in PRESETS:
            raise InputError(f"{source}: setting preset must be one of {', '.join(PRESETS)}")
        merged: dict[str, Any] = {"validation_split": 0.0, **get_preset(name), **file}
        merged.update({k: v for k, v in (overrides or {}).items() if v is not None})
        merged["preset"] = name
        return cls.from_dict(merged, source)

    def label(self) -> str:
        """The preset's name, or ``"<preset>-custom"`` when the recipe differs from the preset's:
        the network (hidden layers, activation, dtype) or the training loop's settings, but for
        the seed and the engine, which change no part of the recipe."""
        recipe = ["hidden", "activation", "dtype", *TrainConfig.field_names()]
        mine, theirs = self.to_dict(), RunSettings.resolve(self.preset).to_dict()
        same = all(mine[k] == theirs[k] for k in recipe if k not in ("seed", "engine"))
        return self.preset if same else f"{self.preset}-custom"

    def to_dict(self) -> dict[str, Any]:
        """Flat settings, as ``settings.toml`` stores them."""
        flat = {name: getattr(self, name) for name in RUN_FIELDS}
        flat["hidden"] = list(self.hidden)
        flat.update(self.training.to_dict())
        return flat


__all__ = ["DTYPES", "RULES", "RUN_FIELDS", "SCALINGS", "RunSettings", "TrainConfig", "parse_sizes"]
