"""Run folders: every training run keeps what it used and what it produced, side by side.

A run folder holds::

    settings.toml        every setting the run used; ``glassnet train --config`` repeats it
    history.json         one row of figures per epoch (see :class:`glassnet.training.History`)
    history.csv          the same rows, for a spreadsheet
    model.safetensors    the trained network (see docs/model-format.md)
    checkpoint.safetensors   while training: the last completed epoch, for ``--resume``
    .lock                while training: the process that trains in it (see :class:`RunLock`)
    plots/               pictures of the run (``glassnet plot``)

Every file is written atomically, so a crash leaves the previous version or none, never half of one.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from glassnet.atomic import atomic_write_text
from glassnet.errors import InputError, printable, short
from glassnet.tensorfile import open_regular_file

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SETTINGS = "settings.toml"
HISTORY_JSON = "history.json"
HISTORY_CSV = "history.csv"
MODEL = "model.safetensors"
CHECKPOINT = "checkpoint.safetensors"
LOCK = ".lock"


def open_run_file(path: str | os.PathLike[str]) -> BinaryIO:
    """Open one of a run folder's files for reading, refusing anything but a regular file
    (:func:`glassnet.tensorfile.open_regular_file`: a FIFO or a device would hang its reader)."""
    return open_regular_file(path)


def new_run_dir(root: str | Path, label: str) -> Path:
    """Create and return ``root/<date>-<time>-<label>``, unique even within one second."""
    base = Path(root)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for attempt in range(1000):
        name = f"{stamp}-{label}" + (f"-{attempt + 1}" if attempt else "")
        try:
            (base / name).mkdir(parents=True)
        except FileExistsError:
            continue
        return base / name
    raise FileExistsError(f"could not create a new run folder under {base}")


def to_toml(settings: Mapping[str, Any]) -> str:
    """Flat settings (strings, numbers, booleans, lists of numbers) as a TOML document."""
    lines = []
    for key, value in settings.items():
        if value is None:
            continue
        lines.append(f"{key} = {_toml_value(value, key)}")
    return "\n".join(lines) + "\n"


def _toml_value(value: Any, key: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(f"setting {key} is not a finite number: {value}")
        return repr(value)
    if isinstance(value, str):
        check_recordable(value, key)
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v, key) for v in value) + "]"
    raise TypeError(f"setting {key} has a type TOML cannot hold here: {type(value).__name__}")


#: Longest text a run records (the model file's own limit for its records' text).
MAX_RECORDED_TEXT = 10_000


def check_recordable(text: str, key: str) -> None:
    """Refuse text a run could not write and read back: not encodable as UTF-8 (a file name
    that is not UTF-8), holding control or format characters (a newline, an escape sequence, a
    direction override), or longer than :data:`MAX_RECORDED_TEXT`. One line names the setting."""
    import unicodedata

    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(
            f"{key} {printable(ascii(text), 120)} is not valid UTF-8 text; a run records it in "
            "settings.toml and the model file, which hold UTF-8 only: rename it"
        ) from None
    if len(text) > MAX_RECORDED_TEXT:
        raise InputError(
            f"{key} is {len(text):,} characters long; a run records at most {MAX_RECORDED_TEXT:,}"
        )
    bad = next((c for c in text if unicodedata.category(c) in ("Cc", "Cf")), None)
    if bad is not None:
        raise InputError(
            f"{key} {printable(text, 120)} holds the control character U+{ord(bad):04X}; a run "
            "records it, and it would print as something else: rename it"
        )


def write_settings(run_dir: Path, settings: Mapping[str, Any]) -> Path:
    path = run_dir / SETTINGS
    header = "# glassnet training settings; repeat this run with: glassnet train --config <file>\n"
    atomic_write_text(path, header + to_toml(settings))
    return path


#: A settings file holds a few dozen short lines; anything much larger is not one.
MAX_SETTINGS_BYTES = 64 * 1024


def read_settings(path: str | Path, *, regular: bool = False) -> dict[str, Any]:
    """Read a settings file; a ``ValueError`` names the file and the problem.

    At most :data:`MAX_SETTINGS_BYTES` are read, whatever the file is (``/dev/zero`` included).
    With ``regular`` (and always for a run folder's own ``settings.toml``, given as the folder) only
    a regular file is read (see :func:`open_run_file`); otherwise a pipe is read too, as
    ``--config <(...)`` gives one. Brackets nested deeper than any settings file's (TOML built to
    exhaust the parser's recursion) are refused before it is parsed.
    """
    file = Path(path)
    if file.is_dir():
        file, regular = file / SETTINGS, True
    with open_run_file(file) if regular else open(file, "rb") as handle:
        data = handle.read(MAX_SETTINGS_BYTES + 1)
    if len(data) > MAX_SETTINGS_BYTES:
        raise InputError(
            f"{file}: larger than any settings file ({MAX_SETTINGS_BYTES // 1024} KiB at most)"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{file}: not a settings file (not UTF-8 text)") from None
    depth = toml_nesting(text)
    if depth > MAX_SETTINGS_DEPTH:
        raise InputError(
            f"{file}: not a settings file (brackets nested {depth:,} deep; settings are flat)"
        )
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{file}: not valid TOML: {' '.join(str(exc).split())[:200]}") from None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise InputError(f"{file}: not a settings file ({type(exc).__name__})") from None


#: Deepest nesting of brackets a settings file may hold (its lists are flat).
MAX_SETTINGS_DEPTH = 8


def toml_nesting(text: str) -> int:
    """How deep ``[`` and ``{`` nest in ``text``, outside strings and comments (roughly: enough to
    refuse a document built to exhaust the parser's recursion before it is parsed)."""
    depth = deepest = 0
    quote = ""
    comment = False
    previous = ""
    for c in text:
        if comment:
            comment = c != "\n"
        elif quote:
            if c == quote and previous != "\\":
                quote = ""
        elif c in "\"'":
            quote = c
        elif c == "#":
            comment = True
        elif c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth = max(0, depth - 1)
        previous = c if previous != "\\" else ""
    return deepest


def write_history(run_dir: Path, history: Any) -> None:
    """Write ``history.json`` and ``history.csv`` for a :class:`~glassnet.training.History`."""
    data = history.to_dict()
    atomic_write_text(run_dir / HISTORY_JSON, json.dumps(data, indent=1) + "\n")
    columns: list[str] = []
    for row in data["rows"]:
        columns += [k for k in row if k not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in data["rows"]:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    atomic_write_text(run_dir / HISTORY_CSV, buffer.getvalue())


#: A thousand epochs of a deep network's history take a few megabytes.
MAX_HISTORY_BYTES = 64 * 1024 * 1024


def read_history(run_dir: str | Path) -> dict[str, Any]:
    """Read and check a run's ``history.json``: every row an object of numbers (or nulls), so that
    what reads it (plots, tables) can rely on it; a ``ValueError`` names the file and the fault."""
    path = Path(run_dir) / HISTORY_JSON
    with open_run_file(path) as handle:
        raw = handle.read(MAX_HISTORY_BYTES + 1)
    if len(raw) > MAX_HISTORY_BYTES:
        raise InputError(f"{path}: larger than any glassnet history ({MAX_HISTORY_BYTES:,} bytes)")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError too
        raise InputError(f"{path}: not valid JSON: {type(exc).__name__}") from None
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
        raise InputError(f"{path}: not a glassnet history (no list of rows)")
    for i, row in enumerate(data["rows"], start=1):
        _check_row(row, f"{path}: row {i}")
    for key in ("stopped",):
        if not isinstance(data.get(key, ""), str):
            raise InputError(f"{path}: {key} must be text")
    if data.get("test_accuracy") is not None and not _finite(data["test_accuracy"]):
        raise InputError(
            f"{path}: test_accuracy must be a number or null, got {short(data['test_accuracy'])}"
        )
    return data


def _finite(value: Any) -> bool:
    """Whether ``value`` is a number (not a boolean) that a float holds, finite: JSON's integers
    may be too large for one (``math.isfinite(10**400)`` raises ``OverflowError``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def _check_row(row: Any, where: str) -> None:
    if not isinstance(row, dict):
        raise InputError(f"{where} is not an object")
    for key, value in row.items():
        if key == "epoch" and not (
            isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**53
        ):
            raise InputError(f"{where}: epoch must be a whole number, got {short(value, 40)}")
        if value is not None and not _finite(value):
            raise InputError(
                f"{where}: {short(key, 40)} must be a number or null, got {short(value, 40)}"
            )


@dataclass(frozen=True)
class RunSummary:
    """The headline figures of one run folder."""

    path: Path
    settings: dict[str, Any]
    epochs: int
    test_accuracy: float | None
    val_accuracy: float | None
    seconds: float
    stopped: str


def summarize(run_dir: str | Path) -> RunSummary:
    folder = Path(run_dir)
    settings = (
        read_settings(folder / SETTINGS, regular=True) if (folder / SETTINGS).exists() else {}
    )
    history = read_history(folder) if (folder / HISTORY_JSON).exists() else {"rows": []}
    rows = history["rows"]
    last = rows[-1] if rows else {}
    return RunSummary(
        path=folder,
        settings=settings,
        epochs=len(rows),
        test_accuracy=history.get("test_accuracy", last.get("test_accuracy")),
        val_accuracy=last.get("val_accuracy"),
        seconds=float(sum(r.get("seconds") or 0.0 for r in rows)),
        stopped=str(history.get("stopped", "")),
    )


def list_runs(root: str | Path) -> list[RunSummary]:
    """Every run folder under ``root`` (those with a settings file), oldest first."""
    base = Path(root)
    if not base.is_dir():
        return []
    folders = sorted(p for p in base.iterdir() if (p / SETTINGS).is_file())
    return [summarize(p) for p in folders]


class RunLock:
    """Hold a run folder for one training process at a time.

    The lock is an advisory ``flock`` on ``<folder>/.lock``, which also records the holder's process
    id; the operating system releases it when the process ends, however it ends. A second process
    trying to train in the folder gets a ``RunBusyError`` naming the first. Where ``fcntl`` does not
    exist (Windows) runs are not locked.
    """

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / LOCK
        self.handle: Any = None

    def __enter__(self) -> RunLock:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not on POSIX
            return self
        if self.path.exists() or self.path.is_symlink():
            open_run_file(self.path).close()  # a pipe or a device is refused, not waited on
        handle = open(self.path, "a+", encoding="ascii")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = printable(handle.read(32).strip(), 32) or "another process"
            handle.close()
            raise RunBusyError(
                f"{self.path.parent}: a run is training in this folder already (process {holder})"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self.handle = handle
        return self

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None:
            self.path.unlink(missing_ok=True)  # before unlocking, so no waiter sees a stale file
            self.handle.close()
            self.handle = None


class RunBusyError(InputError):
    """Another process is training in the run folder."""


def running(folder: str | Path) -> int | None:
    """The process id training in ``folder`` now, or ``None``."""
    path = Path(folder) / LOCK
    try:
        import fcntl

        with open_run_file(path) as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                text = handle.read(32).decode("ascii", "replace").strip()
                return int(text) if text.isdigit() else -1
            fcntl.flock(handle, fcntl.LOCK_UN)
    except (ImportError, OSError, InputError):
        return None
    return None
