"""Writing an exported file: atomically, and with any error naming the file the user asked for.

:func:`glassnet.atomic.atomic_write_bytes` writes a hidden temporary file beside the target and
renames it into place, so a failed write leaves nothing half-written. Its errors, though, name that
temporary file (``.card.md.x1y2z3ab.tmp: Permission denied``), which the user never asked for;
:func:`write_output` reports them against the target instead.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from glassnet.atomic import atomic_write_bytes

__all__ = ["same_file", "write_output"]


def write_output(path: str | os.PathLike[str], data: bytes | str) -> Path:
    """Replace ``path`` with ``data`` (text is written as UTF-8), atomically.

    Parameters
    ----------
    path : str or os.PathLike
        The file to create or replace; its folder must exist.
    data : bytes or str
        The complete contents.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OSError
        Naming ``path``: a missing folder, a directory or a device in the way, no permission, a
        full disk. Nothing is left behind.
    """
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.fspath(target))
    if target.exists() and not target.is_file():
        # A device, a pipe or a socket: renaming a file over it (as an atomic write does) would
        # replace /dev/null itself, say, rather than write to it.
        raise OSError(errno.EINVAL, "not a regular file; give a file name", os.fspath(target))
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        atomic_write_bytes(target, payload)
    except OSError as exc:
        code = exc.errno or errno.EIO
        raise OSError(code, exc.strerror or os.strerror(code), os.fspath(target)) from None
    return target


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether ``a`` and ``b`` are one file (by path, or as links to the same file)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return os.path.abspath(a) == os.path.abspath(b)
