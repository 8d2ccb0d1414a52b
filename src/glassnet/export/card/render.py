"""A model card as text for a terminal, or as Markdown for a repository or a model hub.

Both forms show the same blocks in the same order. In Markdown every character that could start
markup (``*``, ``_``, ``|``, ``<``, backquotes, ...) is escaped, so a class name or setting read from
a file is shown as written and cannot turn into a link, HTML or a broken table.
"""

from __future__ import annotations

import re

from glassnet.export.card.parts import Block, Card, Field, Note

__all__ = ["to_markdown", "to_text"]

#: Labels are padded to the longest in their section, up to this width.
MAX_LABEL_WIDTH = 22
#: Characters that can start markup anywhere in a line; "#", "+" and "-" matter only at a line's
#: start, where this module writes its own text. "(" matters only after "]", escaped here.
_MARKUP = re.compile(r"([\\`*_\[\]<>|~&])")


# -------------------------------------------------------------------------------------------- text
def to_text(card: Card) -> str:
    """The card as aligned plain text: sections, indented fields, tables with padded columns."""
    lines = [card.title]
    for section in card.sections:
        lines += ["", section.title]
        fields = [b for b in section.blocks if isinstance(b, Field)]
        width = min(max((len(f.label) for f in fields), default=0), MAX_LABEL_WIDTH)
        for block in section.blocks:
            lines += _text_block(block, width)
    return "\n".join(lines) + "\n"


def _text_block(block: Block, width: int) -> list[str]:
    if isinstance(block, Field):
        return [f"  {block.label.ljust(width)}  {block.value}"]
    if isinstance(block, Note):
        return [f"  {block.text}"]
    widths = [
        max(len(cell) for cell in column) for column in zip(block.columns, *block.rows, strict=True)
    ]
    return [f"  {block.caption}:"] + [
        "    " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in (block.columns, *block.rows)
    ]


# ---------------------------------------------------------------------------------------- markdown
def to_markdown(card: Card) -> str:
    """The card as Markdown: a heading per section, fields as a list, tables as tables."""
    lines = [f"# {md(card.title)}"]
    for section in card.sections:
        lines += ["", f"## {md(section.title)}", ""]
        previous: Block | None = None
        for block in section.blocks:
            if previous is not None and not (
                isinstance(block, Field) and isinstance(previous, Field)
            ):
                lines.append("")  # a blank line ends a list, a table or a paragraph
            lines += _markdown_block(block)
            previous = block
    return "\n".join(lines) + "\n"


def _markdown_block(block: Block) -> list[str]:
    if isinstance(block, Field):
        return [f"- **{md(block.label)}**: {md(block.value)}"]
    if isinstance(block, Note):
        return [md(block.text)]
    return [
        f"**{md(block.caption)}**",
        "",
        _row(block.columns),
        _row(("---",) * len(block.columns)),
        *(_row(row) for row in block.rows),
    ]


def _row(cells: tuple[str, ...]) -> str:
    return "| " + " | ".join(cell if cell == "---" else md(cell) for cell in cells) + " |"


def md(text: str) -> str:
    """``text`` with every Markdown markup character escaped by a backslash."""
    return _MARKUP.sub(r"\\\1", text)
