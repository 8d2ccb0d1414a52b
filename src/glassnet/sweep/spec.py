"""A sweep's spec file: what every trial shares, the grid, and the ranges to sample.

A spec is a TOML file of four tables, each optional but ``[grid]`` or ``[ranges]``::

    [sweep]                     # how trials are made
    samples = 8                 # draws of the ranges for each grid point (default 1)
    seed = 0                    # the draws' seed: the same spec always gives the same trials
    rank = "final_val_accuracy" # the figure that picks the best trial (default: this, or
                                # final_test_accuracy when the trials hold no validation split)

    [settings]                  # every trial's settings, as a settings.toml holds them
    preset = "fast"
    epochs = 3
    validation_split = 0.1

    [grid]                      # every combination of these values
    hidden = [[128], [256, 128]]
    optimizer = ["sgd", "nesterov"]

    [ranges]                    # each trial draws one value of each
    learning_rate = { log_uniform = [0.001, 0.3] }
    dropout = { uniform = [0.0, 0.3] }
    batch_size = { choice = [16, 32, 64] }

That is a grid search, or a random one: every trial is known before any runs. A *study* instead
asks one of Optuna's samplers for each next trial, learning from those that finished, and may stop
trials that fall behind after an epoch (a pruner)::

    [sweep]
    search = "tpe"              # "grid" and "random": the trials above; "tpe" (Optuna's TPE
                                # sampler), "qmc" (quasi-random), or "random" with trials = N
    trials = 30                 # how many trials the sampler runs to an end
    pruner = "asha"             # "none" (default), "asha", "hyperband" or "median"
    seed = 0                    # the sampler's seed

    [settings]
    epochs = 6
    validation_split = 0.1      # a study learns from the validation accuracy: it needs some

    [ranges]                    # the search space, in the same words
    learning_rate = { log_uniform = [0.001, 0.3] }
    hidden = { choice = [[64], [128], [256]] }

A study's swept settings are all in ``[ranges]``: ``log_uniform`` and ``uniform`` become Optuna's
float (or, for whole-number settings, int) distributions, log-scaled or not, and ``choice`` a
categorical one. Each trial reports its validation accuracy after every epoch; the pruner compares
it with the other trials' at that epoch.

Setting names are those of ``glassnet train`` (:data:`glassnet.settings.RULES`). A range of a whole
number (``batch_size``, ``epochs``) draws whole numbers. :func:`read_spec` checks the file's shape
and every name, value list and range end against the settings table, so a spec that cannot run is
refused before anything is made; each trial's full settings are checked again as they are made.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from glassnet.errors import InputError, short
from glassnet.rules import parse_sizes
from glassnet.runs.folder import MAX_SETTINGS_DEPTH, toml_nesting
from glassnet.settings import RULES, RUN_FIELDS, TrainConfig
from glassnet.tensorfile import open_regular_file

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

#: The tables a spec may hold.
TABLES = ("sweep", "settings", "grid", "ranges")
#: The figures a trial records, any of which may rank the trials.
FIGURES = ("final_val_accuracy", "best_val_accuracy", "final_test_accuracy", "best_test_accuracy")
#: The most trials a spec may make: a bound on a grid grown by mistake, before it is made.
MAX_TRIALS = 10_000
#: How a range draws its values.
RANGE_KINDS = ("uniform", "log_uniform", "choice")
#: How trials are chosen: made up front (a grid, random draws), or asked of an Optuna sampler.
SEARCHES = ("grid", "random", "tpe", "qmc")
#: The searches that are always studies (``random`` is one when given ``trials``).
SAMPLERS = ("tpe", "qmc")
#: Optuna's pruners by their names here: successive halving (ASHA), Hyperband, the median rule.
PRUNERS = ("none", "asha", "hyperband", "median")
#: Keys of ``[sweep]``, and what each must be.
SWEEP_KEYS = {"samples": "a whole number, at least 1", "seed": "a whole number, at least 0",
              "rank": "one of " + ", ".join(FIGURES),
              "search": "one of " + ", ".join(f'"{s}"' for s in SEARCHES),
              "trials": f"a whole number from 1 to {MAX_TRIALS:,}",
              "pruner": "one of " + ", ".join(f'"{p}"' for p in PRUNERS)}  # fmt: skip


@dataclass(frozen=True)
class Range:
    """Where one setting's values are drawn from.

    ``kind`` is ``"uniform"`` or ``"log_uniform"`` (``values`` holds the two ends, low < high) or
    ``"choice"`` (``values`` holds the choices); ``whole`` ranges draw whole numbers.
    """

    kind: str
    values: tuple[Any, ...]
    whole: bool = False


@dataclass(frozen=True)
class SweepSpec:
    """A checked spec: the shared settings, the grid and the ranges, and how to draw and rank."""

    path: Path
    text: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, list[Any]] = field(default_factory=dict)
    ranges: dict[str, Range] = field(default_factory=dict)
    samples: int = 1
    seed: int = 0
    rank: str | None = None
    #: ``grid`` or ``random`` (trials made up front), or a sampler's name.
    search: str = "grid"
    #: A study's number of trials (None: not a study).
    trials: int | None = None
    pruner: str = "none"

    @property
    def swept(self) -> list[str]:
        """The settings that vary between trials: the grid's, then the ranges'."""
        return [*self.grid, *self.ranges]

    @property
    def study(self) -> bool:
        """Whether an Optuna sampler chooses the trials, one at a time, as others finish."""
        return self.trials is not None


#: The largest spec file read: a spec is a few lines of settings.
MAX_SPEC_BYTES = 1 << 20


def read_spec(path: str | Path) -> SweepSpec:
    """Read and check a spec file; a ``ValueError`` names the file, the table and the problem."""
    file = Path(path)
    try:
        with open_regular_file(file) as opened:
            data = opened.read(MAX_SPEC_BYTES + 1)
        if len(data) > MAX_SPEC_BYTES:
            raise InputError(
                f"{file}: larger than any spec file ({MAX_SPEC_BYTES:,} bytes at most)"
            )
        text = data.decode("utf-8")
        depth = toml_nesting(text)
        if depth > MAX_SETTINGS_DEPTH:
            raise InputError(f"{file}: not a spec file (brackets nested {depth:,} deep)")
        document = tomllib.loads(text)
    except UnicodeDecodeError:
        raise InputError(f"{file}: not a spec file: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{file}: not valid TOML: {exc}") from None
    except (RecursionError, MemoryError) as exc:
        raise InputError(f"{file}: not a spec file ({type(exc).__name__})") from None
    return parse_spec(document, file, text)


def parse_spec(document: Mapping[str, Any], path: Path, text: str = "") -> SweepSpec:
    """Check a spec's parsed TOML (see the module docstring for its shape); ``text`` is the file's
    own text, which the sweep folder keeps."""
    unknown = [name for name in document if name not in TABLES]
    if unknown:
        raise InputError(
            f"{path}: unknown table or key {short(unknown[0])}; a spec holds the tables "
            f"{', '.join(f'[{t}]' for t in TABLES)}"
        )
    tables = {name: _table(document, name, path) for name in TABLES}
    for name, table in tables.items():
        if name != "sweep":
            _check_names(table, f"{path} [{name}]")
    _check_disjoint(tables, path)
    grid = {
        name: _grid_values(name, values, f"{path} [grid]")
        for name, values in tables["grid"].items()
    }
    ranges = {
        name: _range(name, text, f"{path} [ranges]") for name, text in tables["ranges"].items()
    }
    if not grid and not ranges:
        raise InputError(f"{path}: nothing to sweep; give settings to vary in [grid] or [ranges]")
    options = _sweep_options(tables["sweep"], f"{path} [sweep]")
    if options["search"] is None:  # as before searches had names: random draws if any ranges
        options["search"] = "random" if ranges else "grid"
    if options["trials"] is not None:
        _check_study(options, grid, path)
        return SweepSpec(path, text, dict(tables["settings"]), grid, ranges, **options)
    if options["search"] in SAMPLERS:
        raise InputError(
            f'{path} [sweep]: search = "{options["search"]}" asks a sampler for each trial; '
            "say how many with trials = N"
        )
    if options["pruner"] != "none":
        raise InputError(
            f'{path} [sweep]: pruner stops the trials of a study early; give search = "tpe" '
            '(or "random") and trials = N'
        )
    if options["samples"] > 1 and not ranges:
        raise InputError(
            f"{path} [sweep]: samples draws the [ranges], and there are none; to repeat each "
            "trial, sweep the seed instead: seed = [0, 1, 2] in [grid]"
        )
    count = math.prod(len(values) for values in grid.values()) * options["samples"]
    if count > MAX_TRIALS:
        raise InputError(
            f"{path}: the grid and samples make {count:,} trials, more than {MAX_TRIALS:,}; "
            "sweep fewer values, or draw them from [ranges]"
        )
    return SweepSpec(path, text, dict(tables["settings"]), grid, ranges, **options)


def _table(document: Mapping[str, Any], name: str, path: Path) -> dict[str, Any]:
    table = document.get(name, {})
    if not isinstance(table, dict):
        raise InputError(f"{path}: [{name}] must be a table, got {short(table)}")
    return table


def _check_names(table: Mapping[str, Any], where: str) -> None:
    known = sorted({*RUN_FIELDS, *TrainConfig.field_names()})
    for name in table:
        if name not in known:
            raise InputError(
                f"{where}: unknown setting {short(name)}; known settings are {', '.join(known)}"
            )


def _check_disjoint(tables: Mapping[str, Mapping[str, Any]], path: Path) -> None:
    """A setting fixed in one table and varied in another would leave the reader guessing."""
    seen: dict[str, str] = {}
    for table in ("settings", "grid", "ranges"):
        for name in tables[table]:
            if name in seen:
                raise InputError(
                    f"{path}: setting {name} is in both [{seen[name]}] and [{table}]; "
                    "give it in one of them"
                )
            seen[name] = table


def _grid_values(name: str, values: Any, where: str) -> list[Any]:
    """A grid entry: a non-empty list of values, each one the setting accepts."""
    if not isinstance(values, list) or not values:
        raise InputError(
            f"{where}: {name} must be a non-empty list of values, like {name} = "
            f"{_example(name)}; got {short(values)}"
        )
    for value in values:
        _check_value(name, value, where)
    if name == "hidden":  # "128,64" as the command line writes it, a list like every other
        return [parse_sizes(v) if isinstance(v, str) else v for v in values]
    return list(values)


def _range(name: str, text: Any, where: str) -> Range:
    """A ranges entry: ``{ uniform = [low, high] }``, ``{ log_uniform = [...] }`` or
    ``{ choice = [...] }``, its ends or choices accepted by the setting."""
    if not isinstance(text, dict) or len(text) != 1 or next(iter(text)) not in RANGE_KINDS:
        raise InputError(
            f"{where}: {name} must be one of {{ uniform = [low, high] }}, "
            f"{{ log_uniform = [low, high] }} or {{ choice = [a, b, ...] }}; got {short(text)}"
        )
    kind, values = next(iter(text.items()))
    if kind == "choice":
        return Range(kind, tuple(_grid_values(name, values, f"{where} {name}.choice")))
    rule = RULES[name]
    if rule.kind not in ("whole", "number"):
        raise InputError(
            f"{where}: {name} is not a number, so it has no {kind} range; use {{ choice = [...] }}"
        )
    if not (isinstance(values, list) and len(values) == 2):
        raise InputError(f"{where}: {name}.{kind} must be [low, high], got {short(values)}")
    for value in values:
        _check_value(name, value, where)
    low, high = (float(v) for v in values)
    if not low < high:
        raise InputError(
            f"{where}: {name}.{kind} = {short(values)} is an empty range; low must be below high"
        )
    if kind == "log_uniform" and low <= 0:
        raise InputError(f"{where}: {name}.log_uniform needs a low end above 0, got {low:g}")
    return Range(kind, (low, high), whole=rule.kind == "whole")


def _check_value(name: str, value: Any, where: str) -> None:
    """A value the settings table accepts for ``name`` (hidden sizes as a list or "128,64")."""
    try:
        if name == "hidden" and isinstance(value, str):
            parse_sizes(value)
        else:
            RULES[name].check(name.replace("_", " "), value)
    except ValueError as exc:
        raise InputError(f"{where}: {exc}") from None


def _sweep_options(table: Mapping[str, Any], where: str) -> dict[str, Any]:
    for key in table:
        if key not in SWEEP_KEYS:
            raise InputError(
                f"{where}: unknown key {short(key)}; [sweep] takes {', '.join(SWEEP_KEYS)}"
            )
    samples, seed, rank = table.get("samples", 1), table.get("seed", 0), table.get("rank")
    search, trials, pruner = table.get("search"), table.get("trials"), table.get("pruner", "none")
    if not _whole(samples) or samples < 1:
        raise InputError(f"{where}: samples must be {SWEEP_KEYS['samples']}, got {short(samples)}")
    if not _whole(seed) or seed < 0:
        raise InputError(f"{where}: seed must be {SWEEP_KEYS['seed']}, got {short(seed)}")
    if rank is not None and rank not in FIGURES:
        raise InputError(f"{where}: rank must be {SWEEP_KEYS['rank']}, got {short(rank)}")
    if search is not None and search not in SEARCHES:
        raise InputError(f"{where}: search must be {SWEEP_KEYS['search']}, got {short(search)}")
    if trials is not None and (not _whole(trials) or not 1 <= trials <= MAX_TRIALS):
        raise InputError(f"{where}: trials must be {SWEEP_KEYS['trials']}, got {short(trials)}")
    if pruner not in PRUNERS:
        raise InputError(f"{where}: pruner must be {SWEEP_KEYS['pruner']}, got {short(pruner)}")
    if "samples" in table and trials is not None:
        raise InputError(
            f"{where}: samples draws the ranges up front and trials asks a sampler for each "
            "trial; give one of them"
        )
    return {
        "samples": samples, "seed": seed, "rank": rank, "search": search, "trials": trials,
        "pruner": pruner,
    }  # fmt: skip


def _check_study(options: Mapping[str, Any], grid: Mapping[str, Any], path: Path) -> None:
    """What a study needs beyond the rest: a sampler, its space in [ranges], and a figure it may
    learn from (never the test set's, which would tune the trials to it)."""
    where = f"{path} [sweep]"
    if options["search"] == "grid":
        raise InputError(
            f"{where}: a grid's trials are its combinations; trials = N counts the trials of a "
            'sampler: search = "tpe", "qmc" or "random"'
        )
    if grid:
        raise InputError(
            f"{path} [grid]: a study draws every swept setting from [ranges]; "
            f"write a list of values as {next(iter(grid))} = {{ choice = [...] }} there"
        )
    if options["rank"] is not None and "test" in options["rank"]:
        raise InputError(
            f"{where}: a study learns from its rank figure, and {options['rank']} would tune the "
            "trials to the test set; rank by final_val_accuracy or best_val_accuracy"
        )


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _example(name: str) -> str:
    rule = RULES[name]
    if rule.kind == "choice" and rule.choices is not None:
        return "[" + ", ".join(f'"{c}"' for c in list(rule.choices())[:2]) + "]"
    return {"sizes": "[[128], [256, 128]]", "whole": "[16, 32]", "flag": "[true, false]"}.get(
        rule.kind, "[0.01, 0.1]"
    )


__all__ = [
    "FIGURES",
    "MAX_TRIALS",
    "PRUNERS",
    "RANGE_KINDS",
    "SAMPLERS",
    "SEARCHES",
    "TABLES",
    "Range",
    "SweepSpec",
    "parse_spec",
    "read_spec",
]
