"""Argument types shared by the subcommands: each rejects a bad value with a clear reason."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from glassnet.errors import InputError
from glassnet.rules import Rule

if TYPE_CHECKING:
    from glassnet.config import TrainConfig


def positive_int(text: str) -> int:
    """A whole number >= 1."""
    return int(_parser(Rule("whole", low=1))(text))


def nonnegative_int(text: str) -> int:
    """A whole number >= 0."""
    return int(_parser(Rule("whole", low=0))(text))


#: A check estimated to take longer than this is refused before it starts (gradcheck, explain);
#: one over WARN_SECONDS says how long it will take before it starts.
MAX_SECONDS, WARN_SECONDS = 300.0, 10.0


def duration(seconds: float) -> str:
    """An estimated time in words: ``"40 s"``, ``"12 minutes"``, ``"14 hours"``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds / 3600:,.0f} hours"


def nonnegative_number(text: str) -> float:
    """A finite number >= 0."""
    return float(_parser(Rule("number", low=0.0))(text))


def layer_sizes(text: str) -> list[int]:
    """Hidden layer sizes as comma-separated whole numbers: ``50,50,50``; empty for none."""
    return list(_parser(Rule("sizes"))(text))


#: Each setting's option is --NAME with dashes; these settings have another spelling besides.
FLAGS = {"learning_rate": ("--lr",)}
#: What an option's value is called in --help, where the kind's word ("N", "X") says too little.
METAVARS = {
    "dataset": "NAME",
    "data_dir": "DIR",
    "data": "PATH",
    "target": "COLUMN",
    "features": "COLUMNS",
    "test_split": "X",
    "data_sha256": "HEX",
    "train_limit": "N",
    "hidden": "SIZES",
    "learning_rate": "RATE",
    "augment_shift": "PIXELS",
    "augment_affine": "DEGREES,SCALE,SHEAR",
    "augment_elastic": "ALPHA,SIGMA",
}
#: The flags that are options, ``--NAME`` turning one on and ``--no-NAME`` off (over a settings
#: file's); ``standardize`` is the ``scaling`` setting's on the command line.
SWITCHES = ("augment_flip",)


def add_setting(parser: Any, name: str, rule: Rule, default: Any = None) -> None:
    """An option for the setting ``name``, its type, choices and help derived from its ``rule``;
    ``default`` (what the setting is when the option is not given) is shown in the help."""
    flags = ["--" + name.replace("_", "-"), *FLAGS.get(name, ())]
    if rule.kind == "flag":  # not given: None, so that a settings file's value stands
        shown = "" if default is None else f" (default: {'on' if default else 'off'})"
        parser.add_argument(
            *flags,
            dest=name,
            action=argparse.BooleanOptionalAction,
            default=None,
            help=(rule.help + shown) or None,
        )
        return
    metavar = METAVARS.get(name) or {"whole": "N", "number": "X"}.get(rule.kind)
    text = rule.help
    if default is not None and "default" not in text:  # a rule may say its default in its words
        shown = ",".join(map(str, default)) if isinstance(default, list) else default
        text = f"{text} (default: {shown})" if text else f"default: {shown}"
    kwargs: dict[str, Any] = {"dest": name, "help": text or None, "metavar": metavar}
    if rule.kind == "choice" and rule.choices is not None:
        kwargs["choices"] = list(rule.choices())
    else:
        kwargs["type"] = _parser(rule)
    parser.add_argument(*flags, **kwargs)


def _parser(rule: Rule) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return rule.parse(text)
        except ValueError as exc:  # argparse shows an ArgumentTypeError's own words
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def refuse_inapplicable(given: Mapping[str, Any], config: TrainConfig) -> None:
    """A ``ValueError`` for an option given here that the chosen optimizer or schedule ignores."""
    unused = config.unused(given)
    if unused:
        name, why = unused[0].split(" ", 1)
        raise InputError(f"--{name.replace('_', '-')} {why}")
