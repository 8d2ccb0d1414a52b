"""Rules for settings: what values one setting accepts, checked one way everywhere.

A :class:`Rule` describes a setting's values (a whole number of at least 1, a number in ``[0, 0.95]``,
one of a registry's names), checks a value against it with a message that names the setting, parses
it from a command-line word, and says in words what it accepts. The components declare the rules of
their own settings beside the code that needs them (an optimizer its momentum, a schedule its decay
factor), and :mod:`glassnet.settings` gathers them into one table.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from glassnet.errors import InputError, short


def text_problem(text: str, limit: float) -> str | None:
    """What makes ``text`` unfit to record and print (as a few words), or ``None``.

    Settings, class names and columns are written to files and printed to terminals and pages:
    at most ``limit`` characters, valid UTF-8, free of control and format characters
    (a newline, an escape sequence, a direction override would make them print as something else).
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid UTF-8 text"
    if len(text) > limit:
        return f"is {len(text):,} characters long; the limit is {limit:,}"
    bad = next((c for c in text if unicodedata.category(c) in ("Cc", "Cf")), None)
    if bad is not None:
        return f"holds the control character U+{ord(bad):04X}"
    return None


@dataclass(frozen=True)
class Rule:
    """What one setting accepts (how the command line spells it is :mod:`glassnet.cli.options`'s).

    ``kind`` is ``"whole"`` (an integer), ``"number"`` (a finite real), ``"choice"`` (one of
    ``choices()``), ``"sizes"`` (a list of positive whole numbers), ``"numbers"`` (a fixed number
    of numbers, each named and ruled by one of ``parts``, or an empty list: off), ``"text"`` or
    ``"flag"`` (true or false). Numbers lie in ``[low, high]``; ``open_low``/``open_high`` exclude
    that end. ``optional`` settings may be ``None`` (not set).
    """

    kind: str
    help: str = ""
    low: float = -math.inf
    high: float = math.inf
    open_low: bool = False
    open_high: bool = False
    choices: Callable[[], Sequence[str]] | None = None
    optional: bool = False
    group: str = "training"
    parts: tuple[tuple[str, Rule], ...] = ()

    def allowed(self) -> str:
        """The accepted values in words: ``"a whole number, at least 1"``."""
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices() if self.choices else ())
        if self.kind == "sizes":
            return "a list of positive whole numbers, like [128, 64]"
        if self.kind == "numbers":
            each = "; ".join(f"{name} {rule.allowed()}" for name, rule in self.parts)
            names = ",".join(name.upper() for name, _ in self.parts)
            return f"{len(self.parts)} numbers {names} ({each}), or off"
        if self.kind == "flag":
            return "true or false"
        if self.kind == "text":
            return "a string"
        noun = "a whole number" if self.kind == "whole" else "a number"
        return noun + self._range()

    def _range(self) -> str:
        low, high = _plain(self.low), _plain(self.high)
        if self.high == math.inf:
            return f" greater than {low}" if self.open_low else f", at least {low}"
        below = f"below {high}" if self.open_high else f"at most {high}"
        above = f"greater than {low}" if self.open_low else f"from {low}"
        return f" {above} and {below}" if self.open_low else f" {above}, {below}"

    def check(self, name: str, value: Any) -> Any:
        """``value`` if the setting may hold it (a whole float as an int for ``"whole"``)."""
        if value is None and self.optional:
            return None
        if self.kind == "numbers":
            return self._check_numbers(name, value)
        ok = {
            "whole": _is_whole,
            "number": _is_number,
            "flag": lambda v: isinstance(v, (bool, np.bool_)),
            "text": lambda v: isinstance(v, str),
            "choice": lambda v: (
                isinstance(v, str) and self.choices is not None and v in self.choices()
            ),
            "sizes": lambda v: (
                isinstance(v, (list, tuple)) and all(_is_whole(n) and n > 0 for n in v)
            ),
        }[self.kind](value)
        if ok and self.kind in ("whole", "number"):
            ok = self._in_range(float(value))
        if not ok:
            raise InputError(f"{name} must be {self.allowed()}, got {short(value)}")
        # Unprintable text is refused here; its length where it is recorded, which can say how
        # to record less (a table's --features, say).
        problem = text_problem(value, math.inf) if self.kind == "text" else None
        if problem is not None:
            raise InputError(f"{name} {short(value)} {problem}")
        if self.kind == "sizes":
            return [int(n) for n in value]
        if self.kind == "whole":
            return int(value)
        if self.kind == "number":
            return float(value)
        return bool(value) if self.kind == "flag" else value

    def _check_numbers(self, name: str, value: Any) -> list[float]:
        """A list of ``len(parts)`` numbers, each within its part's rule, or ``[]`` (off). Without
        ``parts`` (the kind alone, as a model file from another version is read), any list of
        finite numbers."""
        if not isinstance(value, (list, tuple)) or not (
            len(value) in (0, len(self.parts)) or not self.parts
        ):
            raise InputError(f"{name} must be {self.allowed()}, got {short(value)}")
        if not self.parts:
            if not all(_is_number(v) for v in value):
                raise InputError(f"{name} must be a list of numbers, got {short(value)}")
            return [float(v) for v in value]
        if not value:
            return []
        return [
            rule.check(f"{name}'s {part}", number)
            for (part, rule), number in zip(self.parts, value, strict=True)
        ]

    def _in_range(self, x: float) -> bool:
        above = x > self.low if self.open_low else x >= self.low
        below = x < self.high if self.open_high else x <= self.high
        return above and below

    def parse(self, text: str) -> Any:
        """A command-line word as this setting's value; a ``ValueError`` says why it is not one."""
        if self.kind == "sizes":
            return parse_sizes(text)
        if self.kind == "numbers":
            return self._parse_numbers(text)
        if self.kind not in ("whole", "number"):
            return text
        try:
            value: float = int(text) if self.kind == "whole" else float(text)
        except ValueError:
            noun = "a whole number" if self.kind == "whole" else "a number"
            raise InputError(f"must be {noun}, got {text!r}") from None
        if not math.isfinite(value):
            raise InputError(f"must be a finite number, got {text!r}")
        if not self._in_range(float(value)):
            raise InputError(f"must be {self.allowed()}, got {text!r}")
        return value

    def _parse_numbers(self, text: str) -> list[float]:
        """``"34,4"`` as ``[34.0, 4.0]``; ``""``, ``"off"`` or ``"none"`` as ``[]``."""
        if text.strip().lower() in ("", "off", "none"):
            return []
        words = [word.strip() for word in text.split(",")]
        names = ",".join(name.upper() for name, _ in self.parts)
        if len(words) != len(self.parts):
            raise InputError(
                f"must be {len(self.parts)} comma-separated numbers {names}, or off, got {text!r}"
            )
        numbers = []
        for (part, rule), word in zip(self.parts, words, strict=True):
            try:
                numbers.append(float(rule.parse(word)))
            except ValueError as exc:
                raise InputError(f"{part.upper()} (in {text!r}) {exc}") from None
        return numbers


def _plain(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _is_whole(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _is_number(v: Any) -> bool:
    return (
        isinstance(v, (int, float, np.integer, np.floating))
        and not isinstance(v, (bool, np.bool_))
        and math.isfinite(v)
    )


def parse_sizes(text: str) -> list[int]:
    """Hidden layer sizes as comma-separated whole numbers: ``"50,50,50"``; empty for none."""
    if text.strip() == "":
        return []
    sizes = []
    for part in text.split(","):
        try:
            size = int(part.strip())
        except ValueError:
            raise InputError(
                f"hidden layer sizes must be comma-separated whole numbers like 128,64; "
                f"{part.strip()!r} in {text!r} is not one"
            ) from None
        if size < 1:
            raise InputError(f"every hidden layer needs at least 1 unit, got {size}")
        sizes.append(size)
    return sizes


FRACTION: dict[str, Any] = {"low": 0.0, "high": 1.0, "open_high": True}
"""Keyword arguments of a rule for a number in ``[0, 1)``, such as a momentum."""


__all__ = ["FRACTION", "Rule", "parse_sizes", "short"]
