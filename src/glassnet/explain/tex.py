"""The walkthrough's formulas, from the post's notation in Unicode to TeX for a typeset page.

The walkthrough writes its formulas as a terminal shows them, ``∇Θ⁽²⁾C = (1/m) δ⁽²⁾ A⁽²⁾ᵀ``.
:func:`to_tex` turns one into the TeX a page typesets, ``\\nabla_{\\Theta^{(2)}} C =
\\frac{1}{m} \\delta^{(2)} A^{(2)\\top}``, so the Markdown page and the terminal are written from
the same string and cannot drift apart. :func:`inline_math` does the same for the formulas inside
prose: a `code` span or a word written in the notation becomes ``$…$``.

The notation is small and fixed: layer superscripts ``⁽ˡ⁾``, a transpose ``ᵀ``, gradients
``∇`` with what they differentiate by written after them (``∇ŶC``, ``∇Z⁽²⁾Ŷ``, ``∇bC``), hats,
a handful of Greek letters and operators, and words such as ``softmax`` and ``where``.
"""

from __future__ import annotations

import re

__all__ = ["inline_math", "is_math", "shapes_tex", "to_tex"]

_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹ˡᴸ", "0123456789lL")
#: One symbol of the notation each, as TeX.
_SYMBOLS = {
    "Θ": r"\Theta",
    "θ": r"\theta",
    "σ": r"\sigma",
    "δ": r"\delta",
    "α": r"\alpha",
    "η": r"\eta",
    "ε": r"\varepsilon",
    "Σ": r"\sum",
    "∂": r"\partial",
    "⊙": r"\odot",
    "−": "-",
    "→": r"\to",
    "⇒": r"\Rightarrow",
    "←": r"\leftarrow",
    "×": r"\times",
    "‖": r"\Vert",
    "≈": r"\approx",
    "·": r"\cdot",
    "Ŷ": r"\hat{Y}",
    "ŷ": r"\hat{y}",
    "ᵢ": "_i",
    "ⱼ": "_j",
    "ₖ": "_k",
    "²": "^{2}",
    "ᵀ": r"^{\top}",
    "{": r"\{",
    "}": r"\}",
    "%": r"\%",
}
#: Words, as TeX: functions upright, connecting words as text.
_WORDS = {
    "softmax": r"\operatorname{softmax}",
    "diag": r"\operatorname{diag}",
    "relu": r"\operatorname{relu}",
    "log": r"\log",
    "tanh": r"\tanh",
    "exp": r"\exp",
    "where": r"\ \text{where}\ ",
    "else": r"\ \text{else}\ ",
}
#: Characters that mark a piece of prose as written in the notation.
_MATH_MARKS = set("⁽ᵀ∇ŶŷΘσδ‖∂⊙ΣᵢⱼαεΘθ")
_TOKEN = re.compile(
    r"(?P<sup>⁽[⁰¹²³⁴⁵⁶⁷⁸⁹ˡᴸ]+⁾ᵀ?)"
    r"|(?P<frac>\((?P<num>\d+)/(?P<den>\w)\))"
    r"|(?P<word>[A-Za-z]{2,})"
    r"|(?P<gap> {3,})"
    r"|(?P<other>.)",
    re.DOTALL,
)


def to_tex(formula: str) -> str:
    """One formula in the post's Unicode notation as TeX (for ``$…$`` or ``$$…$$``).

    ``to_tex("Z⁽¹⁾ = Θ⁽¹⁾ A⁽¹⁾ + b⁽¹⁾")`` is ``"Z^{(1)} = \\Theta^{(1)} A^{(1)} + b^{(1)}"``;
    ``to_tex("∇Θ⁽²⁾C")`` is ``"\\nabla_{\\Theta^{(2)}} C"``; three spaces or more separate two
    formulas on one line (``\\qquad``).
    """
    pieces = [_piece(m) for m in _TOKEN.finditer(formula)]
    tex = _gradients("".join(pieces))
    tex = re.sub(r"(\\[A-Za-z]+) (?=[^A-Za-z ])", r"\1", tex)  # \Theta ^{(1)} -> \Theta^{(1)}
    return re.sub(r"(?<!\\) {2,}", " ", tex).strip()


def _piece(match: re.Match[str]) -> str:
    if match.group("sup"):
        text = match.group("sup")
        transposed = text.endswith("ᵀ")
        inner = text.strip("⁽⁾ᵀ").translate(_SUPERSCRIPT)
        return "^{(" + inner + ")" + (r"\top" if transposed else "") + "}"
    if match.group("frac"):
        return r"\frac{" + match.group("num") + "}{" + match.group("den") + "}"
    if match.group("word"):
        word = match.group("word")
        if word in _WORDS:
            return _WORDS[word]
        return word if len(word) <= 2 else r"\text{" + word + "}"  # bC: two symbols
    if match.group("gap"):
        return r" \qquad "
    char = match.group("other")
    symbol = _SYMBOLS.get(char, char)
    # A command followed by a letter would run into it (\thetah): keep them apart.
    return symbol + " " if symbol.startswith("\\") and symbol[-1].isalpha() else symbol


# ∇ and what it differentiates by: one symbol with its superscript, when another symbol follows
# (∇Θ⁽²⁾C, ∇ŶC, ∇Z⁽²⁾Ŷ, ∇bC); a bare ∇ otherwise (∇C, ‖∇C‖).
_ATOM = r"(?:\\hat\{[A-Za-z]\}|\\[A-Za-z]+(?![A-Za-z{]) ?|[A-Za-z])(?:\^\{\([^)]*\)\})?"
_NABLA = re.compile(r"∇(?P<by>" + _ATOM + r")(?=\\hat\{|[A-Za-z])")


def _gradients(tex: str) -> str:
    tex = _NABLA.sub(lambda m: r"\nabla_{" + m.group("by").strip() + "} ", tex)
    return tex.replace("∇", r"\nabla ")


def shapes_tex(shapes: str) -> str:
    """The shapes beside an equation, ``(3×784)(784×75) + (3×1) → 3×75``, as TeX: numbers and
    operators as math, words as text."""
    out = []
    for piece in re.split(r"(×|→|⊙|,)", shapes):
        if piece in ("×", "→", "⊙"):
            out.append(_SYMBOLS[piece] + " ")
        elif piece == ",":
            out.append(r",\ ")
        elif re.search(r"[A-Za-z]", piece):
            out.append(r"\text{" + piece.replace("{", "").replace("}", "") + "}")
        else:
            out.append(piece)
    return "".join(out).strip()


def is_math(text: str) -> bool:
    """Whether a piece of prose is written in the notation (it has a superscript, a ∇, a hat...)."""
    return any(c in _MATH_MARKS for c in text)


_CODE = re.compile(r"`([^`]+)`")
_MATH_WORD = re.compile(r"(?<![\w`$])([^\s`$]*[⁽ᵀ∇ŶŷΘσδ‖∂⊙Σᵢⱼαεθ][^\s`$]*?)([,.:;!?]*)(?=\s|$)")


def inline_math(text: str) -> str:
    """Prose with its formulas as ``$…$``: each `code` span written in the notation, and each
    word outside code spans that is (``Z⁽¹⁾,`` becomes ``$Z^{(1)}$,``)."""
    parts = _CODE.split(text)
    out = []
    for k, part in enumerate(parts):
        if k % 2:  # inside backticks
            out.append(f"${to_tex(part)}$" if is_math(part) else f"`{part}`")
        else:
            out.append(_MATH_WORD.sub(_math_word, part))
    return "".join(out)


def _math_word(match: re.Match[str]) -> str:
    word, after = match.group(1), match.group(2)
    opening = ""
    while word.startswith("(") and word.count("(") > word.count(")"):
        opening, word = opening + "(", word[1:]
    return f"{opening}${to_tex(word)}${after}"
