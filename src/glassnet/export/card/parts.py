"""The pieces a model card is made of, and how a value read from a file is shown safely.

A :class:`Card` is a title and :class:`Section` s; a section is a list of blocks, each a labelled
:class:`Field`, a :class:`Table` or a :class:`Note`. They hold plain text only, so the same card can
be printed for a terminal or written as Markdown (:mod:`glassnet.export.card.render`).

A model file may come from anyone, and its free-form fields (class names, settings, figures) are
whatever its writer put there. :func:`shown` turns any such value into one short printable line:
control characters (a terminal's escape sequences among them) are escaped, long values are cut.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Block", "Card", "Field", "Note", "Section", "Table", "count", "percent", "shown"]

#: Values longer than this are cut, with "..." at the end.
MAX_VALUE_CHARS = 200


@dataclass(frozen=True)
class Field:
    """One labelled value: ``architecture: 784-256-10, ...``."""

    label: str
    value: str


@dataclass(frozen=True)
class Table:
    """A captioned table of text cells, one tuple per row."""

    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Note:
    """A sentence, such as what the file does not hold and how to measure it."""

    text: str


Block = Field | Table | Note


@dataclass
class Section:
    """A titled part of the card."""

    title: str
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Card:
    """A model card: a title and its sections, in order."""

    title: str
    sections: list[Section]


def shown(value: Any, limit: int = MAX_VALUE_CHARS) -> str:
    """``value`` as one printable line of at most ``limit`` characters.

    Strings are shown as they are, other JSON values as compact JSON; any character that is not
    printable (newlines, escape sequences) appears as its Python escape, such as ``\\x1b``.
    """
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def count(n: int) -> str:
    """A whole number with thousands separators: ``10,000``."""
    return f"{n:,}"


def percent(fraction: float) -> str:
    """A fraction as a percentage with two decimals: ``98.31%``."""
    return f"{fraction:.2%}"
