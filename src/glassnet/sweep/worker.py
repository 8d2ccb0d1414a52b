"""What runs on a worker: one trial, an ordinary training run, its files sent back whole.

:func:`run_trial` trains a trial with :func:`glassnet.runs.run` in a temporary folder on the worker,
then returns the run folder's files as bytes with the trial's figures (a :class:`TrialOutcome`).
The machine that runs the sweep writes them into the sweep folder; so workers need no shared disk,
only glassnet and the data, and a worker killed halfway leaves nothing in the sweep folder: the
scheduler gives its trial to another worker, and only a whole outcome is ever recorded.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from glassnet.errors import TrainingDivergedError, one_line
from glassnet.runs import (
    HISTORY_CSV,
    HISTORY_JSON,
    MODEL,
    SETTINGS,
    run,
    write_history,
    write_settings,
)
from glassnet.sweep.trials import Trial
from glassnet.tensorfile import read_regular_file

#: The files of a finished run that a trial sends back (a checkpoint never outlives a finished run).
RUN_FILES = (SETTINGS, HISTORY_JSON, HISTORY_CSV, MODEL)
#: What a trial's record says of how it ended. Done and diverged trials are finished: a sweep run
#: again skips them. A failed trial (bad data on a worker, a worker that kept dying) runs again.
DONE, DIVERGED, FAILED = "done", "diverged", "failed"


@dataclass
class TrialOutcome:
    """How a trial ended, its figures, and its run folder's files.

    Attributes
    ----------
    id : str
    status : {"done", "diverged", "failed"}
    figures : dict
        ``final_val_accuracy``, ``best_val_accuracy``, ``final_test_accuracy``,
        ``best_test_accuracy`` (None where the run had no such data) and ``epochs``. *Final* is
        the saved model's: the last epoch's, or with ``patience`` the epoch it restored.
    seconds : float
        The trial's wall time on its worker, loading the data included.
    worker : str
        The Dask worker's address, or ``host:pid`` outside Dask.
    error : str
        One line saying why, for a diverged or failed trial.
    files : dict of str to bytes
        The run folder's files by name.
    """

    id: str
    status: str
    figures: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    worker: str = ""
    error: str = ""
    files: dict[str, bytes] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """What ``trial.json`` keeps: everything but the files."""
        return {
            "id": self.id,
            "status": self.status,
            **self.figures,
            "seconds": round(self.seconds, 3),
            "worker": self.worker,
            "error": self.error,
        }


def run_trial(trial: Trial) -> TrialOutcome:
    """Train ``trial`` in a temporary folder and return its outcome; never raises for a trial that
    fails, so that one bad trial does not stop the others."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"glassnet-{trial.id}-") as temp:
        folder = Path(temp) / "run"
        try:
            result = run(trial.run_settings(), folder, log=None, verbose=0, progress=False)
        except TrainingDivergedError as exc:
            # For the record: the settings that diverged, and the epochs before it did (a run
            # that diverges in its first epoch leaves no folder of its own).
            folder.mkdir(exist_ok=True)
            if not (folder / SETTINGS).is_file():
                write_settings(folder, trial.settings)
            if exc.history is not None:
                write_history(folder, exc.history)
            return _outcome(
                trial, DIVERGED, folder, started, f"{type(exc).__name__}: {one_line(exc)}"
            )
        except Exception as exc:  # any error is this trial's, recorded for the user to read
            return _outcome(
                trial, FAILED, folder, started, f"{type(exc).__name__}: {one_line(exc)}"
            )
        outcome = _outcome(trial, DONE, folder, started)
        outcome.figures["final_test_accuracy"] = result.test_accuracy
        return outcome


def _outcome(
    trial: Trial, status: str, folder: Path, started: float, error: str = ""
) -> TrialOutcome:
    """The outcome of a trial whose run (whole or partial) is in ``folder``."""
    files = {
        name: read_regular_file(folder / name) for name in RUN_FILES if (folder / name).is_file()
    }
    found: dict[str, Any] = {}
    if HISTORY_JSON in files:
        found = figures(json.loads(files[HISTORY_JSON]), trial.settings)
    return TrialOutcome(
        trial.id,
        status,
        found,
        time.perf_counter() - started,
        worker_name(),
        error,
        files,
    )


def figures(history: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, Any]:
    """A run's headline figures from its ``history.json`` and settings (see :class:`TrialOutcome`)."""
    rows = list(history.get("rows", []))
    model_epoch = len(rows)
    if settings.get("patience") and history.get("best_epoch"):
        model_epoch = int(history["best_epoch"])  # early stopping restored that epoch's weights
    found: dict[str, Any] = {"epochs": len(rows)}
    for split in ("val", "test"):
        values = [r.get(f"{split}_accuracy") for r in rows]
        known = [v for v in values if v is not None]
        found[f"final_{split}_accuracy"] = values[model_epoch - 1] if model_epoch else None
        found[f"best_{split}_accuracy"] = max(known) if known else None
    if history.get("test_accuracy") is not None:
        found["final_test_accuracy"] = history["test_accuracy"]
    return found


def worker_name() -> str:
    """This Dask worker's address; ``host:pid`` when not on one."""
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"{socket.gethostname()}:{os.getpid()}"


__all__ = ["DIVERGED", "DONE", "FAILED", "RUN_FILES", "TrialOutcome", "figures", "run_trial"]
