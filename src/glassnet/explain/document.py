"""A walkthrough as a list of blocks, and the two ways it is shown: a terminal and Markdown.

The walkthrough (:mod:`glassnet.explain.walkthrough`) says *what* to show as blocks: headings,
paragraphs, equations with the shapes they produce, blocks of numbers, and tables. This module
says *how*: :func:`render_terminal` for a terminal (with colour where it has it, plain when piped)
and :func:`render_markdown` for a page of documentation. The two show the same words and
numbers; on the page the formulas are typeset: each equation as display math (``$$…$$``, from
:func:`glassnet.explain.tex.to_tex`) with its shapes beside it, and the formulas in prose and
tables as inline math (``$…$``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from glassnet.explain.tex import inline_math, is_math, shapes_tex, to_tex

__all__ = [
    "Block",
    "Equation",
    "Heading",
    "Numbers",
    "Paragraph",
    "Table",
    "render_markdown",
    "render_terminal",
]


@dataclass(frozen=True)
class Heading:
    """A heading; a formula in `backticks` is typeset on a page, shown plain in a terminal."""

    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    """Prose; ``code`` in backticks is shown as code."""

    text: str


@dataclass(frozen=True)
class Equation:
    """One of the post's equations, and the shapes it multiplies and produces."""

    formula: str
    shapes: str = ""


@dataclass(frozen=True)
class Numbers:
    """Preformatted lines of numbers (a matrix, part of one, a vector)."""

    caption: str
    lines: list[str]


@dataclass(frozen=True)
class Table:
    """Rows of cells under a header; a cell ``pass`` or ``FAIL`` is coloured in a terminal."""

    header: list[str]
    rows: list[list[str]]
    align: str = field(default="")  # per column, "l" or "r"; right for all but the first by default


Block = Heading | Paragraph | Equation | Numbers | Table

# ANSI styles for a terminal that has colour.
_BOLD, _DIM, _RESET = "\033[1m", "\033[2m", "\033[0m"
_CYAN, _YELLOW, _GREEN, _RED = "\033[36m", "\033[33m", "\033[32m", "\033[31m"
_CODE = re.compile(r"`([^`]+)`")


# ------------------------------------------------------------------------------------- Markdown
def render_markdown(blocks: list[Block]) -> str:
    """The blocks as a Markdown document."""
    out: list[str] = []
    for block in blocks:
        out.append(_markdown_block(block))
    return "\n\n".join(out).rstrip() + "\n"


def _markdown_block(block: Block) -> str:
    if isinstance(block, Heading):
        return f"{'#' * block.level} {inline_math(block.text)}"
    if isinstance(block, Paragraph):
        return _wrap(inline_math(block.text), 100)
    if isinstance(block, Equation):
        shapes = rf" \qquad {{\color{{gray}} {shapes_tex(block.shapes)}}}" if block.shapes else ""
        return f"$$\n{to_tex(block.formula)}{shapes}\n$$"
    if isinstance(block, Numbers):
        caption = f"{inline_math(block.caption)}\n\n" if block.caption else ""
        return caption + "```text\n" + "\n".join(block.lines) + "\n```"
    align = _aligns(block)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = [_row([_math_cell(c) for c in block.header]), _row(rule)]
    lines += [_row([_math_cell(c) for c in r]) for r in block.rows]
    return "\n".join(lines)


def _math_cell(text: str) -> str:
    """A table cell or heading: a formula alone as ``$…$``, words with formulas in them as prose."""
    if is_math(text) and ", " not in text and not re.search(r"[A-Za-z]{3,} [A-Za-z]{3,}", text):
        return inline_math(f"`{text}`")
    return inline_math(text)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


# ------------------------------------------------------------------------------------- terminal
def render_terminal(blocks: list[Block], colour: bool = False, width: int = 100) -> str:
    """The blocks as text for a terminal, in colour if ``colour``."""

    def paint(text: str, *styles: str) -> str:
        return "".join(styles) + text + _RESET if colour else text

    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            underline = "=" if block.level == 1 else "-"
            text = block.text.replace("`", "")  # a formula in a heading is typeset on a page only
            out.append(paint(text, _BOLD, _CYAN) + "\n" + paint(underline * len(text), _DIM))
        elif isinstance(block, Paragraph):
            text = _wrap(block.text, width)
            out.append(_CODE.sub(lambda m: paint(m.group(1), _YELLOW), text))
        elif isinstance(block, Equation):
            shapes = "      " + paint(block.shapes, _DIM) if block.shapes else ""
            out.append("    " + paint(block.formula, _BOLD, _YELLOW) + shapes)
        elif isinstance(block, Numbers):
            caption = block.caption + "\n" if block.caption else ""
            caption = _CODE.sub(lambda m: paint(m.group(1), _YELLOW), caption)
            out.append(caption + "\n".join("    " + line for line in block.lines))
        else:
            out.append(_terminal_table(block, paint))
    return "\n\n".join(out).rstrip() + "\n"


def _terminal_table(table: Table, paint: Callable[..., str]) -> str:
    rows = [table.header, *table.rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(table.header))]
    align = _aligns(table)
    lines = []
    for k, row in enumerate(rows):
        cells = []
        for i, cell in enumerate(row):
            if cell == "pass":
                shown = paint(cell, _GREEN)
            elif cell == "FAIL":
                shown = paint(cell, _BOLD, _RED)
            elif k == 0 and cell:
                shown = paint(cell, _BOLD)
            else:
                shown = cell
            padding = " " * (widths[i] - len(cell))  # outside the colour codes
            cells.append(padding + shown if align[i] == "r" else shown + padding)
        lines.append("    " + "  ".join(cells).rstrip())
    return "\n".join(lines)


def _aligns(table: Table) -> str:
    n = len(table.header)
    return table.align or "l" + "r" * (n - 1)


def _wrap(text: str, width: int) -> str:
    """Wrap prose at ``width`` without breaking inside a `code` span or ``$…$``."""
    words = re.findall(r"`[^`]*`\S*|\$[^$]*\$\S*|\S+", text)
    lines: list[str] = []
    line = ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return "\n".join(lines)
