"""What a class or column name may be, decided where the data enters.

A run records its data's class names and feature columns (in ``settings.toml`` and the model
file), prints them in its tables, and shows them on a page. The model file holds names of at most
:data:`MAX_NAME` characters and text of at most :data:`MAX_TEXT`, free of control and format
characters (a newline, an escape sequence, a direction override would make them print as something
else). A folder of pictures or a table whose names break those rules is refused here, in one line
naming the folder or column, before a picture is decoded or a network trained, rather than after
the training when the model file cannot be written.
"""

from __future__ import annotations

from collections.abc import Sequence

from glassnet.errors import FormatError, printable
from glassnet.modelfile.checks import MAX_NAME, MAX_TEXT, name_problem

__all__ = ["MAX_NAME", "MAX_TEXT", "check_names", "name_problem"]


def check_names(names: Sequence[str], what: str, where: object, fix: str) -> None:
    """Refuse the first name of ``names`` that a run could not record.

    ``what`` says what the names are (``"class folder"``, ``"class"``), ``where`` what holds them
    (a folder, a file and column), ``fix`` what to do (``"rename the folder"``).

    Raises
    ------
    glassnet.errors.FormatError
        One line: ``WHERE: WHAT 'NAME' PROBLEM; FIX``, the name shown escaped and cut short.
    """
    for name in names:
        problem = name_problem(name)
        if problem is not None:
            shown = printable(ascii(name) if "not valid UTF-8" in problem else repr(name), 60)
            raise FormatError(
                f"{printable(where, 160)}: {what} {shown} {problem}; a model records its class "
                f"and column names, and they must print as they are: {fix}"
            )
