"""The training loop's settings, and the one table of what every setting of a run accepts.

:data:`RULES` says, for every setting, what it accepts: a whole number of at least 1, a number in
``[0, 0.95]``, one name of a registry (activations, optimizers, schedules, initializers, engines).
Everything that checks a setting asks the table: :class:`TrainConfig` when it is made, a run's
settings (:class:`glassnet.settings.RunSettings`), model files, the command line (its options, their
types and choices are derived from the table) and settings files. A range is written once.

:class:`TrainConfig` holds the training loop's settings (epochs, batch size, optimizer,
regularization, the engine, ...); it is what :meth:`glassnet.Network.fit` and
:func:`glassnet.training.train` take. It is checked when it is made, and trusted after.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

import numpy as np

from glassnet import schedules
from glassnet.activations import ACTIVATIONS
from glassnet.engine import ENGINE_CHOICES
from glassnet.errors import InputError, short
from glassnet.initializers import INITIALIZERS
from glassnet.optimizers import OPTIMIZERS, Optimizer, make_optimizer
from glassnet.rules import Rule

DTYPES = ("float32", "float64")

#: How a run scales its inputs: standardize (the training set's mean 0 and spread 1), unit (to
#: [0, 1], as tutorials divide pixels by 255, or each column by its range), none (raw values).
SCALINGS = ("standardize", "unit", "none")

#: How a run weighs its samples' losses: all alike, or each class alike (``balanced``).
CLASS_WEIGHTS = ("none", "balanced")


#: The data's settings. Which names a dataset may take is the catalogue's to say: the settings of
#: a run check ``dataset`` against it (:class:`glassnet.datasets.datasettings.DatasetRule`).
DATA_RULES: dict[str, Rule] = {
    "dataset": Rule(
        "text",
        "mnist, fashion-mnist, kmnist, emnist-digits, emnist-letters, emnist-balanced, "
        "emnist-byclass, emnist-bymerge, emnist-mnist, or idx:DIR (default: mnist)",
        group="data",
    ),
    "data_dir": Rule(
        "text",
        "folder holding the four IDX files (or a folder of one folder per dataset)",
        optional=True,
        group="data",
    ),
    "data": Rule(
        "text",
        "your own data: a folder of pictures (DIR/<class>/*.png|jpg) or a table (.csv, .parquet)",
        optional=True,
        group="data",
    ),
    "target": Rule("text", "a table's column of classes", optional=True, group="data"),
    "features": Rule(
        "text",
        "a table's feature columns, comma-separated (default: all but the target)",
        optional=True,
        group="data",
    ),
    "test_split": Rule(
        "number",
        "share of your own data held out for testing, per class, seeded (default: 0.2; a "
        "folder with train/ and test/ is split already)",
        low=0.01,
        high=0.9,
        optional=True,
        group="data",
    ),
    "image_size": Rule(
        "whole",
        "pictures are resized to N x N pixels (default: 28)",
        low=1,
        high=1024,
        optional=True,
        group="data",
    ),
    "color": Rule(
        "choice",
        "pictures in gray (default) or rgb",
        choices=lambda: ("gray", "rgb"),
        optional=True,
        group="data",
    ),
    "image_prep": Rule(
        "choice",
        "resize (default): stretch each picture to --image-size; mnist: crop the ink, fit it in "
        "20x20 and centre it in 28x28, as glassnet predict does",
        choices=lambda: ("resize", "mnist"),
        optional=True,
        group="data",
    ),
    "scaling": Rule(
        "choice",
        "inputs standardized (default), scaled to [0, 1] (unit: pixels / 255, a table's columns "
        "by their range), or left raw (none)",
        choices=lambda: SCALINGS,
        group="data",
    ),
    "class_weight": Rule(
        "choice",
        "balanced: weigh each sample by n / (classes x its class's count), so every class counts "
        "alike in the loss however rare",
        choices=lambda: CLASS_WEIGHTS,
        group="data",
    ),
    "data_sha256": Rule(
        "text",
        "refuse data whose SHA-256 differs (every run records its data's)",
        optional=True,
        group="data",
    ),
}


#: Every setting of a run: what it accepts, its help, and the group it belongs to. ``preset`` names a
#: recipe of :mod:`glassnet.presets` and ``dataset`` one of the catalogue's datasets;
#: :mod:`glassnet.settings` checks those names, the rest is checked here.
RULES: dict[str, Rule] = {
    "preset": Rule(
        "text",
        "a named recipe: its settings, then --config's, then the options given here",
        group="run",
    ),
    # -- the data
    **DATA_RULES,  # dataset, data_dir, data, target, ..., scaling, data_sha256
    "train_limit": Rule(
        "whole",
        "train on the first N training images only",
        low=1,
        optional=True,
        group="data",
    ),
    # -- the network
    "hidden": Rule(
        "sizes",
        "hidden layer sizes, comma-separated, e.g. 50,50,50",
        group="network",
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
    "max_norm": Rule(
        "number",
        "max-norm: after every step, scale each unit's incoming weights down to at most this "
        "norm (0: off)",
        low=0.0,
    ),
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
    ),
    "augment_affine": Rule(
        "numbers",
        "turn, scale and shear training images at random each epoch: up to DEGREES either way, "
        "by a factor in 1 +- SCALE, sheared up to SHEAR degrees, e.g. 15,0.15,15 (default: off)",
        parts=(
            ("degrees", Rule("number", low=0.0, high=180.0)),
            ("scale", Rule("number", low=0.0, high=0.9)),
            ("shear", Rule("number", low=0.0, high=60.0)),
        ),
    ),
    "augment_elastic": Rule(
        "numbers",
        "elastic distortion of training images each epoch (Simard et al. 2003): random "
        "displacements smoothed by a Gaussian of width SIGMA pixels, times ALPHA, e.g. 34,4 "
        "(default: off)",
        parts=(
            ("alpha", Rule("number", low=0.0, high=1000.0)),
            ("sigma", Rule("number", low=0.0, high=100.0, open_low=True)),
        ),
    ),
    "augment_flip": Rule(
        "flag",
        "mirror each training image left to right with probability 1/2, drawn afresh each "
        "epoch, for pictures whose mirror image is of the same class (clothes, say); never for "
        "digits or letters",
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
    """Every setting of the training loop, with its default, checked when it is made.

    :data:`RULES` says what each field accepts; an invalid value raises
    :class:`~glassnet.errors.InputError` naming the setting. Pass one to
    :meth:`glassnet.Network.fit` or :func:`glassnet.training.train` as ``config=``.
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
    max_norm: float = 0.0
    schedule: str = "constant"
    warmup_epochs: float = 0.0
    step_epochs: float = 10.0
    gamma: float = 0.1
    lr_floor: float = 0.0
    validation_split: float = 0.0
    patience: int = 0
    augment_shift: int = 0
    augment_affine: list[float] = field(default_factory=list)
    augment_elastic: list[float] = field(default_factory=list)
    augment_flip: bool = False
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


#: The settings of the training loop, by name.
TRAINING_FIELDS = tuple(f.name for f in fields(TrainConfig))


def _parameters_section() -> str:
    """The numpydoc ``Parameters`` of :class:`TrainConfig`, written from :data:`RULES`, so that the
    API reference says what each setting accepts in the words the checks use."""
    kinds = {
        "whole": "int",
        "number": "float",
        "choice": "str",
        "flag": "bool",
        "numbers": "list of float",
    }
    lines = ["", "    Parameters", "    ----------"]
    for f in fields(TrainConfig):
        rule = RULES[f.name]
        default = f.default_factory() if f.default_factory is not MISSING else f.default
        lines.append(f"    {f.name} : {kinds.get(rule.kind, 'object')}, default {default!r}")
        lines.append(f"        {rule.help[0].upper()}{rule.help[1:]} ({rule.allowed()}).")
    return "\n".join(lines) + "\n"


TrainConfig.__doc__ = (TrainConfig.__doc__ or "").rstrip() + "\n" + _parameters_section()

__all__ = ["DTYPES", "RULES", "SCALINGS", "TRAINING_FIELDS", "TrainConfig"]
