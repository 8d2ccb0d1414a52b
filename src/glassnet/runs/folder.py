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
from typing import Any

from glassnet.atomic import atomic_write_text
from glassnet.errors import InputError

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
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v, key) for v in value) + "]"
    raise TypeError(f"setting {key} has a type TOML cannot hold here: {type(value).__name__}")


def write_settings(run_dir: Path, settings: Mapping[str, Any]) -> Path:
    path = run_dir / SETTINGS
    header = "# glassnet training settings; repeat this run with: glassnet train --config <file>\n"
    atomic_write_text(path, header + to_toml(settings))
    return path


#: A settings file holds a few dozen short lines; anything much larger is not one.
MAX_SETTINGS_BYTES = 64 * 1024


def read_settings(path: str | Path) -> dict[str, Any]:
    """Read a settings file; a ``ValueError`` names the file and the problem.

    At most :data:`MAX_SETTINGS_BYTES` are read, whatever the file is (``/dev/zero`` included).
    """
    file = Path(path)
    if file.is_dir():
        file = file / SETTINGS
    with open(file, "rb") as handle:
        data = handle.read(MAX_SETTINGS_BYTES + 1)
    if len(data) > MAX_SETTINGS_BYTES:
        raise InputError(
            f"{file}: larger than any settings file ({MAX_SETTINGS_BYTES // 1024} KiB at most)"
        )
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"{file}: not a settings file (not UTF-8 text)") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{file}: not valid TOML: {' '.join(str(exc).split())[:200]}") from None


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
    with open(path, "rb") as handle:
        raw = handle.read(MAX_HISTORY_BYTES + 1)
    if len(raw) > MAX_HISTORY_BYTES:
        raise InputError(f"{path}: larger than any glassnet history ({MAX_HISTORY_BYTES:,} bytes)")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InputError(f"{path}: not valid JSON: {type(exc).__name__}") from None
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
        raise InputError(f"{path}: not a glassnet history (no list of rows)")
    for i, row in enumerate(data["rows"], start=1):
        _check_row(row, f"{path}: row {i}")
    for key in ("stopped",):
        if not isinstance(data.get(key, ""), str):
            raise InputError(f"{path}: {key} must be text")
    return data


def _check_row(row: Any, where: str) -> None:
    if not isinstance(row, dict):
        raise InputError(f"{where} is not an object")
    for key, value in row.items():
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if key == "epoch" and not (isinstance(value, int) and not isinstance(value, bool)):
            raise InputError(f"{where}: epoch must be a whole number, got {value!r:.40}")
        if not (number and math.isfinite(value)) and value is not None:
            raise InputError(f"{where}: {key!r:.40} must be a number or null, got {value!r:.40}")


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
    settings = read_settings(folder / SETTINGS) if (folder / SETTINGS).exists() else {}
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
        handle = open(self.path, "a+", encoding="ascii")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
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

        with open(path, encoding="ascii") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                text = handle.read().strip()
                return int(text) if text.isdigit() else -1
            fcntl.flock(handle, fcntl.LOCK_UN)
    except (ImportError, OSError):
        return None
    return None
