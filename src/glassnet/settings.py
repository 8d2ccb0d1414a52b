"""A whole run's settings: its data, its network and its training loop.

:class:`RunSettings` is what ``glassnet train``, settings files, sweeps and :func:`glassnet.runs.run`
work with: the data (a dataset glassnet knows, a folder of pictures, a table), the network (hidden
layers, activation, dtype) and a :class:`~glassnet.config.TrainConfig`. Every setting is checked
against the one table of :mod:`glassnet.config` when the object is made; this module adds what only
a whole run knows: the presets' names, the datasets' names, and that the data has one source.

Settings files and run folders store them flat, one ``key = value`` line each (``settings.toml``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any

from glassnet.config import DTYPES, SCALINGS, TRAINING_FIELDS, TrainConfig
from glassnet.config import RULES as BASE_RULES
from glassnet.datasets.datasettings import DatasetRule, check_data_source
from glassnet.errors import InputError, short
from glassnet.presets import PRESETS, get_preset
from glassnet.rules import Rule, parse_sizes

#: Every setting of a run (:data:`glassnet.config.RULES`), with ``preset`` and ``dataset`` checked
#: against the recipes and the datasets glassnet knows.
RULES: dict[str, Rule] = {
    **BASE_RULES,
    "preset": replace(BASE_RULES["preset"], kind="choice", choices=lambda: tuple(PRESETS)),
    "dataset": DatasetRule(*(getattr(BASE_RULES["dataset"], f.name) for f in fields(Rule))),
}


#: The settings of a run that describe its data and network rather than the training loop.
RUN_FIELDS = tuple(name for name in RULES if name not in TRAINING_FIELDS)


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
    class_weight: str = "none"
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

    @staticmethod
    def defaults(preset: str = "default") -> dict[str, Any]:
        """The flat settings ``preset`` gives where nothing overrides them, as :meth:`to_dict` has
        them, without making (and checking) an object: what ``--help`` shows as each default."""
        flat: dict[str, Any] = {
            f.name: f.default_factory() if f.default_factory is not MISSING else f.default
            for f in fields(RunSettings)
            if f.name != "training"
        }
        flat.update(
            {
                f.name: f.default_factory() if f.default_factory is not MISSING else f.default
                for f in fields(TrainConfig)
            }
        )
        flat.update({"validation_split": 0.0, **get_preset(preset), "preset": preset})
        return flat

    def label(self) -> str:
        """The preset's name, or ``"<preset>-custom"`` when the recipe differs from the preset's:
        the network (hidden layers, activation, dtype) or the training loop's settings, but for
        the seed and the engine, which change no part of the recipe."""
        recipe = ["hidden", "activation", "dtype", *TRAINING_FIELDS]
        mine, theirs = self.to_dict(), RunSettings.defaults(self.preset)
        same = all(mine[k] == theirs[k] for k in recipe if k not in ("seed", "engine"))
        return self.preset if same else f"{self.preset}-custom"

    def to_dict(self) -> dict[str, Any]:
        """Flat settings, as ``settings.toml`` stores them."""
        flat = {name: getattr(self, name) for name in RUN_FIELDS}
        flat["hidden"] = list(self.hidden)
        flat.update(self.training.to_dict())
        return flat


__all__ = ["DTYPES", "RULES", "RUN_FIELDS", "SCALINGS", "RunSettings", "TrainConfig", "parse_sizes"]
