"""What runs on a worker: one trial, an ordinary training run, its files sent back whole.

:func:`run_trial` trains a trial with :func:`glassnet.runs.run` in a temporary folder on the worker,
then returns the run folder's files as bytes with the trial's figures (a :class:`TrialOutcome`).
The machine that runs the sweep writes them into the sweep folder; so workers need no shared disk,
only glassnet and the data, and a worker killed halfway leaves nothing in the sweep folder: the
scheduler gives its trial to another worker, and only a whole outcome is ever recorded.

A study's trial also reports its validation accuracy after every epoch and waits for the verdict:
go on, or stop (pruned). Reports and verdicts travel through the Dask scheduler
(:class:`StudyLink`), to and from the machine running the sweep, which alone holds the study: so
workers need no shared disk and no Optuna, and a worker killed mid-trial takes nothing with it but
that trial's unfinished run. A pruned trial stops at once and sends back its settings and history
(the epochs it ran, its figures so far), never a model.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from glassnet.errors import GlassnetError, TrainingDivergedError, one_line
from glassnet.history import History, TrainingState
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
#: What a trial's record says of how it ended. Done, diverged and pruned trials are finished: a
#: sweep run again skips them. A failed trial (bad data on a worker, a worker that kept dying) runs
#: again (in a study: another trial takes its place).
DONE, DIVERGED, FAILED, PRUNED = "done", "diverged", "failed", "pruned"
#: How long a study's trial waits for the verdict on an epoch before it stops: the sweep that asked
#: for it is gone (killed, or stopped while this trial ran on a cluster of its own).
VERDICT_SECONDS = 120.0
#: How often a trial waiting for its verdict looks whether the sweep let it go.
WAIT_SLICE = 0.5


@dataclass(frozen=True)
class StudyLink:
    """Where a study's trial sends its reports, and hears back: two Dask queues' names.

    The trial puts ``{"trial": id, "epoch": n, "value": validation accuracy}`` on ``reports`` and
    waits on ``verdicts + id`` for ``{"epoch": n, "prune": bool}``; a verdict for another epoch
    (left by the same trial's run on a worker that died) is passed over.
    """

    reports: str
    verdicts: str
    seconds: float = VERDICT_SECONDS


class TrialPruned(GlassnetError):
    """The study stopped this trial after an epoch; ``history`` holds the epochs it ran."""

    def __init__(self, message: str, history: History) -> None:
        super().__init__(message)
        self.history = history


class _Reporter:
    """The epoch callback of a study's trial: report, wait for the verdict, stop if pruned."""

    def __init__(self, trial_id: str, link: StudyLink) -> None:
        from distributed import Queue

        self.trial_id, self.link = trial_id, link
        self.reports = Queue(link.reports)
        self.verdicts = Queue(link.verdicts + trial_id)

    def __call__(self, row: dict[str, Any], state: TrainingState) -> None:
        epoch, value = int(row["epoch"]), row["val_accuracy"]
        self.reports.put({"trial": self.trial_id, "epoch": epoch, "value": value})
        deadline = time.monotonic() + self.link.seconds
        while True:
            try:
                verdict = self.verdicts.get(timeout=WAIT_SLICE)
            except (TimeoutError, asyncio.TimeoutError):
                # No verdict yet: go on waiting, unless the sweep let this trial go (it stopped,
                # or was killed and the scheduler noticed) or has not answered for too long.
                if _released() or time.monotonic() > deadline:
                    raise TrialPruned(
                        f"stopped after epoch {epoch}: the sweep that ran it stopped", state.history
                    ) from None
                continue
            if verdict.get("epoch") in (epoch, None):  # None: whatever the epoch (the sweep stops)
                break
        if verdict.get("prune"):
            raise TrialPruned(f"pruned after epoch {epoch}", state.history)


@dataclass
class TrialOutcome:
    """How a trial ended, its figures, and its run folder's files.

    Attributes
    ----------
    id : str
    status : {"done", "diverged", "pruned", "failed"}
    figures : dict
        ``final_val_accuracy``, ``best_val_accuracy``, ``final_test_accuracy``,
        ``best_test_accuracy`` (None where the run had no such data) and ``epochs``. *Final* is
        the saved model's: the last epoch's, or with ``patience`` the epoch it restored.
    seconds : float
        The trial's wall time on its worker, loading the data included.
    worker : str
        The Dask worker's address, or ``host:pid`` outside Dask.
    error : str
        One line saying why, for a diverged or failed trial; for a pruned one, after which epoch.
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


def _released() -> bool:
    """Whether the Dask task running this code is no longer wanted: cancelled, or released with
    the client that asked for it (a sweep stopped, or killed)."""
    from distributed import get_worker
    from distributed.worker import thread_state

    key = getattr(thread_state, "key", None)
    task = get_worker().state.tasks.get(key) if key is not None else None
    return task is None or task.state in ("cancelled", "released", "forgotten")


def run_trial(trial: Trial, link: StudyLink | None = None) -> TrialOutcome:
    """Train ``trial`` in a temporary folder and return its outcome; never raises for a trial that
    fails, so that one bad trial does not stop the others. With ``link`` (a study's trial), report
    each epoch's validation accuracy and stop when the study prunes the trial."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"glassnet-{trial.id}-") as temp:
        folder = Path(temp) / "run"
        try:
            callbacks = [] if link is None else [_Reporter(trial.id, link)]
            result = run(
                trial.run_settings(), folder, log=None, verbose=0, progress=False,
                callbacks=callbacks,
            )  # fmt: skip
        except (TrainingDivergedError, TrialPruned) as exc:
            # For the record: the settings, and the epochs before it stopped (a run that
            # diverges in its first epoch leaves no folder of its own). The model is never sent.
            folder.mkdir(exist_ok=True)
            if not (folder / SETTINGS).is_file():
                write_settings(folder, trial.settings)
            if exc.history is not None:
                write_history(folder, exc.history)
            if isinstance(exc, TrialPruned):
                return _outcome(trial, PRUNED, folder, started, str(exc), model=False)
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


def outcome_of(future: Any, trial: Trial) -> TrialOutcome:
    """A Dask future's trial outcome, or a failed one saying why the cluster could not give it."""
    try:
        outcome: TrialOutcome = future.result()
    except Exception as exc:  # KilledWorker (its workers kept dying), or a worker without glassnet
        return TrialOutcome(trial.id, FAILED, error=f"{type(exc).__name__}: {one_line(exc)}")
    return outcome


def _outcome(
    trial: Trial, status: str, folder: Path, started: float, error: str = "", model: bool = True
) -> TrialOutcome:
    """The outcome of a trial whose run (whole or partial) is in ``folder``; without ``model``,
    its model file is left out, whatever is there."""
    names = RUN_FILES if model else tuple(n for n in RUN_FILES if n != MODEL)
    files = {name: read_regular_file(folder / name) for name in names if (folder / name).is_file()}
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


__all__ = [
    "DIVERGED",
    "DONE",
    "FAILED",
    "PRUNED",
    "RUN_FILES",
    "StudyLink",
    "TrialOutcome",
    "TrialPruned",
    "figures",
    "outcome_of",
    "run_trial",
]
