"""The exceptions glassnet raises on bad input, and the one way it turns an error into a message.

Every message is one line that names what is wrong, so the command line can print it as it is.
Everything glassnet raises for something the user gave it derives from :class:`GlassnetError`; the
command line shows those (and the operating system's errors: a missing file, a full disk) as one
line and exits 1. Any other exception is a bug in glassnet, and the command line says so.
"""

from __future__ import annotations

import unicodedata

#: How long a message may be before its middle is cut.
MESSAGE_LIMIT = 400


class GlassnetError(Exception):
    """Base class: something the user gave glassnet is not usable."""


class InputError(GlassnetError, ValueError):
    """A value given to glassnet (a setting, an array, a name, a number) is not one it can use.

    A ``ValueError`` too, so ``except ValueError`` catches it as it catches NumPy's.
    """


class FormatError(GlassnetError, ValueError):
    """A file's bytes are not what its format promises (IDX, model file, image)."""


class DatasetNotFoundError(GlassnetError, FileNotFoundError):
    """A dataset's files are nowhere glassnet looks, and cannot be downloaded."""


class DownloadError(GlassnetError):
    """Every mirror failed, or what came back did not match its SHA-256 digest."""


class TrainingDivergedError(GlassnetError, FloatingPointError):
    """The loss became NaN or infinite, or rose far above where it started, during training.

    ``history`` holds the :class:`~glassnet.training.History` of the epochs before it happened.
    """

    history: object | None = None


# ------------------------------------------------------------------------------------ messages
def cut(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` at most ``limit`` characters long, its middle replaced by ``...`` if it was longer.

    The middle, not the end: a message's end usually says what to do about it.
    """
    if len(text) <= limit:
        return text
    head = max(1, (limit - 3) * 2 // 3)
    tail = max(0, limit - 3 - head)
    return text[:head] + "..." + (text[-tail:] if tail else "")


def printable(text: object, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` fit to print on a terminal: control and format characters (escape sequences,
    newlines, bidi controls) shown as ``\\x1b``-style escapes, and at most ``limit`` characters."""
    shown = "".join(
        c if unicodedata.category(c) not in ("Cc", "Cf") else repr(c)[1:-1] for c in str(text)
    )
    return cut(shown, limit)


def one_line(error: BaseException | str, limit: int = MESSAGE_LIMIT) -> str:
    """An error as one printable line of at most ``limit`` characters.

    Runs of whitespace (newlines included) become one space; an operating-system error names its
    file; an error with no message is named by its type.
    """
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        text = f"{error.filename}: {error.strerror}"
    else:
        text = " ".join(str(error).split()) or (
            error if isinstance(error, str) else type(error).__name__
        )
    return printable(text, limit)


def short(value: object, limit: int = 60) -> str:
    """``repr(value)`` as one printable line of at most ``limit`` characters, for quoting a value
    in a message."""
    return printable(repr(value), limit)


__all__ = [
    "DatasetNotFoundError",
    "DownloadError",
    "FormatError",
    "GlassnetError",
    "InputError",
    "TrainingDivergedError",
    "cut",
    "one_line",
    "printable",
    "short",
]
