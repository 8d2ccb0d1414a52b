"""The sweep folder: the spec, the list of trials, and each finished trial as it finishes.

A sweep folder holds::

    sweep.toml               the spec, as it was given
    trials.json              every trial's id, swept values and full settings (a study's: its
                             search, pruner, space and shared settings; its trials are its own)
    study.journal            a study's Optuna storage: every trial asked, reported and told
    trials/trial-001/        a finished trial: its run folder (settings.toml, history.json and
                             .csv, model.safetensors) and trial.json, how it ended and its figures
    results.csv              one row per trial (see glassnet.sweep.results)
    accuracy.png             accuracy against each swept setting, the best trial marked
    search.png               a study's history: the best so far, and each trial's epochs
    best-model.safetensors   the best trial's model, and best-settings.toml to repeat it
    .lock                    while a sweep runs in it

Nothing here is ever half-written. A new sweep folder is made whole beside its place and renamed
into it; a trial's folder likewise, so it either holds a whole record or does not exist; every
file is written atomically. Running a sweep again in its folder finds which trials are finished
there, and refuses a folder that holds a different sweep.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from glassnet.atomic import atomic_write_bytes, atomic_write_text
from glassnet.errors import InputError
from glassnet.runs import RunBusyError, RunLock
from glassnet.sweep.spec import FIGURES
from glassnet.sweep.trials import Trial
from glassnet.sweep.worker import DIVERGED, DONE, FAILED, PRUNED, TrialOutcome
from glassnet.tensorfile import read_regular_file

SPEC = "sweep.toml"
TRIALS = "trials.json"
TRIALS_DIR = "trials"
RECORD = "trial.json"
RESULTS = "results.csv"
PLOT = "accuracy.png"
SEARCH_PLOT = "search.png"
STUDY = "study.journal"
BEST_MODEL = "best-model.safetensors"
BEST_SETTINGS = "best-settings.toml"
#: Settings that say where things are rather than what a trial is: a sweep run again may change them.
WHERE = ("data_dir",)
#: How trials ended that a sweep run again leaves as they are.
FINISHED = (DONE, DIVERGED, PRUNED)
#: What a sweep folder is told to hold: its trials, or for a study what makes it that study.
Listing = Sequence[Trial] | Mapping[str, Any]


class SweepFolder:
    """An existing sweep folder (make one with :meth:`prepare`)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @classmethod
    def prepare(cls, path: str | Path, spec_text: str, trials: Listing) -> SweepFolder:
        """The sweep folder at ``path``: made whole if new (or empty), else checked to hold these
        trials (a study's: :func:`study_listing`); a ``ValueError`` says why it cannot be used."""
        target = Path(path)
        found = cls.find(target, trials)
        if found is not None:
            return found
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = _new_temp_dir(target)
        try:
            (temp / TRIALS_DIR).mkdir()
            atomic_write_text(temp / SPEC, spec_text)
            atomic_write_text(temp / TRIALS, json.dumps(_listing(trials), indent=1) + "\n")
            if target.is_dir():
                target.rmdir()  # empty, as checked; the rename needs the name free
            os.rename(temp, target)
        except BaseException as exc:
            shutil.rmtree(temp, ignore_errors=True)
            # The name taken (an OSError from rmdir or rename): another sweep made it meanwhile.
            # Anything else, Ctrl-C among them, goes on up.
            if isinstance(exc, OSError) and target.is_dir() and any(target.iterdir()):
                folder = cls(target)
                folder.check_same(trials)
                return folder
            raise
        return cls(target)

    @classmethod
    def find(cls, path: str | Path, trials: Listing) -> SweepFolder | None:
        """The sweep folder at ``path`` if it holds these trials; None if there is none yet (no
        folder, or an empty one); a ``ValueError`` if something else is there."""
        target = Path(path)
        if target.exists() and not target.is_dir():
            raise InputError(f"{target}: exists and is not a folder; choose another --out")
        if not (target.is_dir() and any(target.iterdir())):
            return None
        folder = cls(target)
        folder.check_same(trials)
        return folder

    def check_same(self, trials: Listing) -> None:
        """Refuse a folder that is not a sweep's, or holds a sweep of other trials."""
        listing = self.path / TRIALS
        try:
            stored = json.loads(read_regular_file(listing).decode("utf-8"))
        except FileNotFoundError:
            raise InputError(
                f"{self.path}: not a sweep folder (no {TRIALS}); choose another --out"
            ) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{listing}: not valid JSON: {exc}") from None
        if _comparable(stored) != _comparable(_listing(trials)):
            raise InputError(
                f"{self.path}: holds another sweep (its trials differ from this spec's); give "
                "another --out, or remove the folder to start again"
            )

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the folder for this process: a second sweep in it stops with one line."""
        try:
            with RunLock(self.path):
                yield
        except RunBusyError as exc:
            holder = str(exc).rsplit("(process ", 1)[-1].rstrip(")")
            raise RunBusyError(
                f"{self.path}: a sweep is running in this folder already (process {holder})"
            ) from None

    # ------------------------------------------------------------------ trials
    def trial_dir(self, trial_id: str) -> Path:
        return self.path / TRIALS_DIR / trial_id

    def records(self) -> dict[str, dict[str, Any]]:
        """Every recorded trial's ``trial.json``, by trial id."""
        found = {}
        for record in sorted((self.path / TRIALS_DIR).glob(f"*/{RECORD}")):
            if record.parent.name.startswith("."):
                continue
            try:
                data = json.loads(read_regular_file(record).decode("utf-8"))
            except (OSError, ValueError):
                continue  # unreadable (or a pipe, never waited on): as if not run; it runs again
            if _valid_record(data, record.parent.name):
                found[record.parent.name] = data
        return found

    def finished(self) -> set[str]:
        """The ids of trials recorded as done, diverged or pruned."""
        return {k for k, r in self.records().items() if r.get("status") in FINISHED}

    def record(self, outcome: TrialOutcome) -> Path:
        """Write a trial's files and ``trial.json`` into its folder, all at once."""
        target = self.trial_dir(outcome.id)
        temp = _new_temp_dir(target)
        try:
            for name, data in outcome.files.items():
                atomic_write_bytes(temp / name, data)
            atomic_write_text(temp / RECORD, json.dumps(outcome.record(), indent=1) + "\n")
            if target.exists():  # an earlier failure's record, replaced by this one
                shutil.rmtree(target)
            os.rename(temp, target)
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise
        return target

    def remove_stale(self) -> None:
        """Clear what a sweep killed while recording left: half-made trial folders."""
        for temp in (self.path / TRIALS_DIR).glob(".*.tmp"):
            shutil.rmtree(temp, ignore_errors=True)

    def copy_best(self, trial_id: str) -> Path | None:
        """Copy the best trial's model and settings to the sweep folder; the model's new path."""
        source = self.trial_dir(trial_id)
        model = source / "model.safetensors"
        if not model.is_file():
            return None
        atomic_write_bytes(self.path / BEST_MODEL, read_regular_file(model))
        atomic_write_bytes(self.path / BEST_SETTINGS, read_regular_file(source / "settings.toml"))
        return self.path / BEST_MODEL


def _valid_record(data: Any, trial_id: str) -> bool:
    """Whether ``data`` is a trial record as :meth:`TrialOutcome.record` writes them; anything
    else is treated as no record at all, so that trial runs again."""
    if not isinstance(data, dict) or data.get("id") != trial_id:
        return False
    if data.get("status") not in (*FINISHED, FAILED):
        return False
    for name in (*FIGURES, "epochs", "seconds"):
        value = data.get(name)
        if value is not None and not (
            isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        ):
            return False
    return all(isinstance(data.get(name, ""), str) for name in ("worker", "error"))


def _new_temp_dir(target: Path) -> Path:
    """A new hidden folder beside ``target``, to be renamed onto it once whole. (Made with the
    permissions of any new folder, unlike ``tempfile.mkdtemp``'s owner-only ones.)"""
    temp = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.tmp"
    temp.mkdir()
    return temp


def _listing(trials: Listing) -> dict[str, Any]:
    if isinstance(trials, Mapping):
        return dict(trials)
    return {
        "trials": [{"id": t.id, "swept": t.swept, "settings": t.settings} for t in trials],
    }


def study_listing(
    search: str, pruner: str, space: Mapping[str, Any], settings: Mapping[str, Any]
) -> dict[str, Any]:
    """What makes a study the same study, for ``trials.json``: its sampler, its pruner, its space
    and the settings its trials share. Not how many trials it runs, nor its seed: a study run
    again with more trials goes on where it stopped."""
    return {"study": {"search": search, "pruner": pruner, "space": space, "settings": settings}}


def _comparable(listing: Mapping[str, Any]) -> Any:
    """The listing as JSON would give it back, without the settings that say where things are."""
    copied = json.loads(json.dumps(listing))
    study = copied.get("study")
    if isinstance(study, dict):
        if isinstance(study.get("settings"), dict):
            for name in WHERE:
                study["settings"].pop(name, None)
        return study
    trials = copied.get("trials")
    if not isinstance(trials, list):
        return None
    for trial in trials:
        for name in WHERE:
            if isinstance(trial, dict) and isinstance(trial.get("settings"), dict):
                trial["settings"].pop(name, None)
    return trials


__all__ = [
    "BEST_MODEL",
    "BEST_SETTINGS",
    "PLOT",
    "RECORD",
    "RESULTS",
    "SEARCH_PLOT",
    "SPEC",
    "STUDY",
    "TRIALS",
    "TRIALS_DIR",
    "SweepFolder",
    "study_listing",
]
