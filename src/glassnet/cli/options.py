"""Argument types shared by the subcommands: each rejects a bad value with a clear reason."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def positive_int(text: str) -> int:
    """A whole number >= 1."""
    return _whole(text, 1)


def nonnegative_int(text: str) -> int:
    """A whole number >= 0."""
    return _whole(text, 0)


def positive_float(text: str) -> float:
    """A finite number > 0."""
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text!r}")
    return value


def nonnegative_float(text: str) -> float:
    """A finite number >= 0."""
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text!r}")
    return value


def fraction(upper: float) -> Callable[[str], float]:
    """A number in ``[0, upper]``."""

    def parse(text: str) -> float:
        value = _number(text)
        if not 0 <= value <= upper:
            raise argparse.ArgumentTypeError(f"must lie between 0 and {upper}, got {text!r}")
        return value

    return parse


def layer_sizes(text: str) -> list[int]:
    """Hidden layer sizes as comma-separated whole numbers: ``50,50,50``; empty for none."""
    if text.strip() == "":
        return []
    sizes = []
    for part in text.split(","):
        try:
            size = int(part.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"hidden layer sizes must be comma-separated whole numbers like 128,64; "
                f"{part.strip()!r} in {text!r} is not one"
            ) from None
        if size < 1:
            raise argparse.ArgumentTypeError(
                f"every hidden layer needs at least 1 unit, got {size}"
            )
        sizes.append(size)
    return sizes


def _whole(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"must be at least {low}, got {text!r}")
    return value


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value
