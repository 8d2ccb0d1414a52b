"""Atomic file writes: a reader sees the old file or the new one, never half of either.

Writing a file in place is not safe: a crash, a full disk, a Ctrl-C or a ``kill -9`` halfway through
leaves a truncated file where a good one used to be. The standard remedy, used here, is

1. write the new contents to a temporary file in the *same directory* as the target
   (named ``.<basename>.<random>.tmp``, hidden on POSIX systems),
2. flush Python's buffer and ``os.fsync`` the file, so its bytes are on disk,
3. ``os.replace`` it onto the target, which POSIX guarantees to be atomic within one file system,
4. ``fsync`` the directory, so the rename itself survives a power cut.

If anything goes wrong before step 3 (an exception, ``KeyboardInterrupt``) the temporary file is
removed and the target is left exactly as it was. A process killed with ``SIGKILL`` cannot clean up
after itself: its temporary file stays behind, but the target is still intact.
:func:`remove_stale_temp_files` clears such leftovers once they are old enough to be surely dead.

The new file gets the permission bits of the file it replaces, or, for a new file, the bits an
ordinary ``open(path, "w")`` would give it (``0o666`` minus the umask, usually ``0o644``).
Ownership is not copied. If the target is a symbolic link, the link itself is replaced by the
new regular file; the file it pointed to is left alone.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from glassnet.errors import InputError

__all__ = [
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_text",
    "default_file_mode",
    "remove_stale_temp_files",
]

_WRITE_MODES = {"w": "w", "wt": "w", "w+": "w+", "wb": "wb", "w+b": "w+b", "wb+": "w+b"}

# ``tempfile.mkstemp`` names are the prefix, eight characters from this alphabet, then the suffix.
_RANDOM_PART = r"[a-z0-9_]{8}"


def _read_umask() -> int:
    """The process umask, read without changing it where the platform allows."""
    # Linux reports the umask in /proc; reading it there avoids the set-and-restore dance
    # below, which briefly changes the umask for every thread of the process.
    with (
        contextlib.suppress(OSError, ValueError),
        open("/proc/self/status", encoding="ascii", errors="replace") as status,
    ):
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def default_file_mode() -> int:
    """Permission bits for a newly created file: ``0o666`` minus the process umask.

    Returns
    -------
    int
        The bits ``open(path, "w")`` would give a new file, usually ``0o644``.
    """
    return 0o666 & ~_read_umask()


def _mode_for(target: str) -> int:
    """Permission bits the replacement of ``target`` should carry."""
    try:
        st = os.stat(target, follow_symlinks=False)
    except FileNotFoundError:
        return default_file_mode()
    if stat.S_ISREG(st.st_mode):
        return stat.S_IMODE(st.st_mode)
    return default_file_mode()


def _fsync_directory(directory: str) -> None:
    """Make a rename inside ``directory`` durable (POSIX only)."""
    if os.name == "nt":  # Windows cannot open a directory as a file; NTFS journals renames.
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:
        # Some file systems (certain network and FUSE mounts) do not support fsync on a
        # directory. The file's bytes are already on disk and the rename has happened;
        # failing the whole write now would report an error for a file that is in place.
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike[str],
    mode: str = "wb",
    *,
    encoding: str | None = None,
    newline: str | None = None,
) -> Iterator[IO[Any]]:
    """Open a temporary file that replaces ``path`` only when the ``with`` block succeeds.

    Parameters
    ----------
    path : str or os.PathLike
        The file to create or replace. Its directory must exist.
    mode : {"wb", "w", "wt", "w+b", "w+"}
        How to open the temporary file: binary (the default) or text.
    encoding, newline : str, optional
        Passed to :func:`open` for text modes; ``encoding`` defaults to UTF-8.

    Yields
    ------
    file object
        The open temporary file ``.<basename>.<random>.tmp`` in the target's directory.

    Raises
    ------
    ValueError
        If ``mode`` is not a write mode, or ``encoding``/``newline`` is given for binary mode.
    OSError
        If the directory is missing or not writable, the disk is full, and so on. The target
        is then unchanged and the temporary file removed.

    Examples
    --------
    >>> with atomic_write("numbers.txt", "w") as f:  # doctest: +SKIP
    ...     f.write("1 2 3\\n")
    """
    mode, encoding = _open_mode(mode, encoding, newline)
    target = os.fspath(path)
    directory, basename = os.path.split(os.path.abspath(target))
    if not basename:
        raise InputError(f"atomic_write: {target!r} names a directory, not a file")
    file_mode = _mode_for(target)
    try:
        file, temp_path = _open_temp_file(directory, basename, mode, encoding, newline)
    except OSError as exc:  # a missing or read-only folder: name the file asked for
        raise _naming(exc, target) from None
    try:
        with file:
            _name_and_chmod(file, temp_path, file_mode)
            yield file
            file.flush()
            os.fsync(file.fileno())  # step 2: the bytes are on disk
        if not hasattr(os, "fchmod"):
            os.chmod(temp_path, file_mode)
        os.replace(temp_path, target)  # step 3: the atomic swap
    except BaseException as exc:
        # BaseException, not Exception: a Ctrl-C in the middle of a write must not leave
        # the temporary file behind either.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_path)
        if isinstance(exc, OSError) and exc.filename in (None, temp_path) and exc.strerror:
            # A full disk or a failed rename names the file being written, not the hidden
            # temporary file (which is gone) or nothing at all.
            raise _naming(exc, target) from None
        raise
    _fsync_directory(directory)  # step 4: the rename survives a power cut


def _naming(exc: OSError, target: str) -> OSError:
    """``exc`` again (the same type, by its errno), naming ``target`` as the file."""
    strerror = exc.strerror or str(exc)
    if os.path.isdir(target):
        strerror += " (it is a folder; give a file name)"
    renamed = OSError(exc.errno, strerror, target)
    renamed.__traceback__ = exc.__traceback__
    return renamed


def _open_mode(mode: str, encoding: str | None, newline: str | None) -> tuple[str, str | None]:
    """The canonical ``open`` mode for ``mode``, and the encoding (UTF-8 for text by default)."""
    if mode not in _WRITE_MODES:
        raise InputError(f"atomic_write mode must be one of {sorted(_WRITE_MODES)}, got {mode!r}")
    mode = _WRITE_MODES[mode]
    binary = "b" in mode
    if binary and (encoding is not None or newline is not None):
        raise InputError("atomic_write: encoding and newline apply to text modes only")
    if not binary and encoding is None:
        encoding = "utf-8"
    return mode, encoding


def _open_temp_file(
    directory: str, basename: str, mode: str, encoding: str | None, newline: str | None
) -> tuple[IO[Any], str]:
    """Step 1: create and open ``.<basename>.<random>.tmp`` in ``directory``; return it and its path."""
    fd, temp_path = tempfile.mkstemp(prefix=f".{basename}.", suffix=".tmp", dir=directory)
    try:
        file = os.fdopen(fd, mode, encoding=encoding, newline=newline)
    except BaseException:
        os.close(fd)
        os.unlink(temp_path)
        raise
    return file, temp_path


def _name_and_chmod(file: IO[Any], temp_path: str, file_mode: int) -> None:
    """Name the file object by its path, as open() would, instead of by the bare fd; set its mode."""
    buffered: Any = getattr(file, "buffer", file)
    buffered.raw.name = temp_path
    if hasattr(os, "fchmod"):
        os.fchmod(file.fileno(), file_mode)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes | bytearray | memoryview) -> None:
    """Replace ``path`` with ``data`` atomically.

    Parameters
    ----------
    path : str or os.PathLike
        The file to create or replace.
    data : bytes-like
        The complete new contents.
    """
    with atomic_write(path, "wb") as file:
        file.write(data)


def atomic_write_text(
    path: str | os.PathLike[str],
    text: str,
    *,
    encoding: str = "utf-8",
    newline: str | None = None,
) -> None:
    """Replace ``path`` with ``text`` atomically.

    Parameters
    ----------
    path : str or os.PathLike
        The file to create or replace.
    text : str
        The complete new contents.
    encoding : str, default "utf-8"
        How to encode ``text``.
    newline : str, optional
        Newline translation, as for :func:`open`.
    """
    with atomic_write(path, "w", encoding=encoding, newline=newline) as file:
        file.write(text)


def remove_stale_temp_files(
    path: str | os.PathLike[str], *, older_than_seconds: float = 3600.0
) -> list[Path]:
    """Remove temporary files that an interrupted :func:`atomic_write` of ``path`` left behind.

    Only a process killed outright (``SIGKILL``, a power cut) leaves one: every other failure
    removes its own. A file is removed only if all of these hold, so that a write still in
    progress in another process is never disturbed:

    - its name is exactly ``.<basename of path>.<8 random characters>.tmp``;
    - it is a regular file (not a symbolic link) owned by the current user;
    - it was last modified more than ``older_than_seconds`` ago. A live writer modifies its
      temporary file continuously, so one untouched for an hour is dead.

    Parameters
    ----------
    path : str or os.PathLike
        The target whose leftovers to remove.
    older_than_seconds : float, default 3600
        Minimum age, by modification time, of a file to remove.

    Returns
    -------
    list of pathlib.Path
        The files removed. Files that vanish or cannot be removed meanwhile are skipped.
    """
    target = Path(os.path.abspath(os.fspath(path)))
    pattern = re.compile(re.escape(f".{target.name}.") + _RANDOM_PART + re.escape(".tmp"))
    cutoff = time.time() - older_than_seconds
    uid = os.getuid() if hasattr(os, "getuid") else None
    removed: list[Path] = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        if not pattern.fullmatch(entry.name):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode) or (uid is not None and st.st_uid != uid):
                continue
            if st.st_mtime >= cutoff:
                continue
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed
