"""A whole sweep, in one call: spec in, every trial run on Dask and recorded as it finishes.

:func:`run_sweep` makes and checks every trial first, then reaches the cluster, and only then makes
(or reopens) the sweep folder: a spec that cannot run or a scheduler that cannot be reached leaves
nothing behind. It skips the trials the folder records as finished, hands the rest to the cluster
and records each outcome the moment it arrives, with ``results.csv`` rewritten each time. At the
end it ranks the trials, copies the best one's model beside them and draws the picture.

Dask looks after the rest: a worker that dies mid-trial has its trial given to another worker (up
to the scheduler's ``allowed-failures``, 3 by default, after which the trial is recorded as
failed, and the sweep goes on). Ctrl-C or SIGTERM, at any point, cancels the trials not yet
finished and raises :class:`SweepInterrupted` once everything finished is recorded (see
:mod:`~glassnet.sweep.stopping` for why the signals are only noted where they arrive); running the
same sweep again finishes the rest.

A study (``search = "tpe"``, ``trials = N``) goes the same way, but its trials are asked of the
sampler as workers free up, and pruned as they report (:mod:`~glassnet.sweep.study`); the folder
keeps the study's journal beside the trials, and running the sweep again goes on with the study.
"""

from __future__ import annotations

import json
import signal
import sys
import time
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from tqdm.auto import tqdm

from glassnet.atomic import atomic_write_text
from glassnet.errors import GlassnetError
from glassnet.sweep.cluster import WORKER_WAIT_SECONDS, Cluster, WorkerWatch, connect
from glassnet.sweep.folder import (
    FINISHED,
    PLOT,
    RESULTS,
    SEARCH_PLOT,
    STUDY,
    Listing,
    SweepFolder,
    study_listing,
)
from glassnet.sweep.results import best_row, epochs_saved, rank_figure, result_rows, results_csv
from glassnet.sweep.spec import SweepSpec
from glassnet.sweep.stopping import POLL_SECONDS, Stopped, StopRequest, stop_requests
from glassnet.sweep.trials import Trial, check_study, describe, make_trials
from glassnet.sweep.worker import FAILED, TrialOutcome, outcome_of, run_trial


@dataclass
class SweepResult:
    """What a sweep left in its folder, and how this run of it went."""

    folder: Path
    trials: list[Trial]
    rows: list[dict[str, Any]]
    #: The figure that ranked the trials, and the best trial's row (None if none finished).
    figure: str
    best: Mapping[str, Any] | None
    #: Trials run this time, and trials found finished already.
    ran: int = 0
    skipped: int = 0
    best_model: Path | None = None
    plot: Path | None = None
    #: Why there is no plot, when drawing it failed.
    plot_error: str = ""
    cluster: str = ""
    failed: list[dict[str, Any]] = field(default_factory=list)
    #: A study's storage, in words (its name, file and kind); empty for a grid or random sweep.
    study: str = ""
    #: The picture of a study's history, when drawn.
    search_plot: Path | None = None
    #: The epochs that pruned trials did not run, and the epochs all trials would have run.
    epochs_saved: int = 0
    epochs_planned: int = 0


class SweepInterrupted(Stopped):
    """Ctrl-C or SIGTERM stopped the sweep.

    Attributes
    ----------
    signum : int
        ``signal.SIGINT`` (Ctrl-C) or ``signal.SIGTERM``.
    result : SweepResult or None
        What the sweep folder records by then; None when the sweep stopped before it made the
        folder (while its cluster started).
    """

    def __init__(self, result: SweepResult | None, signum: int = signal.SIGINT) -> None:
        super().__init__(signum)
        self.result = result


def run_sweep(
    spec: SweepSpec,
    out: str | Path,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    data_dir: str | None = None,
    log: TextIO | None = None,
    progress: bool | None = None,
    wait_seconds: float = WORKER_WAIT_SECONDS,
) -> SweepResult:
    """Run every trial of ``spec`` not yet finished in the sweep folder ``out``.

    Parameters
    ----------
    spec : SweepSpec
        From :func:`glassnet.sweep.read_spec`.
    out : path
        The sweep folder: new, empty, or holding this same sweep.
    scheduler : str, optional
        A Dask scheduler's address, ``tcp://host:port``; by default a local cluster.
    workers : int, optional
        The local cluster's workers (default: one per usable core).
    data_dir : str, optional
        Where the dataset is, for every trial (overrides the spec's ``data_dir``).
    log : text stream, optional
        Where to say what happens: a line to start, and one per finished trial.
    progress : bool, optional
        A progress bar over trials; by default when standard error is a terminal.
    """
    body: Callable[[Cluster, SweepFolder, StopRequest], SweepResult]
    if spec.study:
        first = check_study(spec, data_dir)
        from glassnet.sweep.search import require_optuna, space_listing

        require_optuna()
        shared = {k: v for k, v in first.settings.items() if k not in spec.ranges}
        listing: Listing = study_listing(spec.search, spec.pruner, space_listing(spec), shared)
        epochs = int(first.settings["epochs"])

        def body(cluster: Cluster, folder: SweepFolder, stop: StopRequest) -> SweepResult:
            return _study_sweep(
                cluster, folder, spec, epochs, data_dir, log, progress, stop, wait_seconds
            )

        found = SweepFolder.find(out, listing)
        if found is not None and len(found.finished()) >= (spec.trials or 0):
            with found.lock():  # nothing to run: no cluster needed
                from glassnet.sweep.study import Study

                study = Study(found, spec, epochs, data_dir)
                records = found.records()
                trials = study.trials(records)
                _say(log, f"glassnet sweep: all {spec.trials} trials finished already in {out}")
                return _finish(spec, found, trials, records, 0, len(trials), ())
    else:
        trials = make_trials(spec, data_dir)
        listing = trials

        def body(cluster: Cluster, folder: SweepFolder, stop: StopRequest) -> SweepResult:
            return _sweep(cluster, folder, spec, trials, log, progress, stop, wait_seconds)

        found = SweepFolder.find(out, trials)
        if found is not None and found.finished() >= {t.id for t in trials}:
            with found.lock():  # nothing to run: no cluster needed
                _say(
                    log,
                    f"glassnet sweep: all {len(trials)} trials finished already in {found.path}",
                )
                return _finish(spec, found, trials, found.records(), 0, len(trials))
    with stop_requests() as stop:
        try:
            with connect(scheduler, workers, wait_seconds=wait_seconds, stop=stop) as cluster:
                stop.check()  # a signal while the cluster started
                folder = SweepFolder.prepare(out, spec.text, listing)
                with folder.lock():
                    result = body(cluster, folder, stop)
                    result.cluster = cluster.description
        except SweepInterrupted:
            raise
        except Stopped as stopped:  # before the sweep folder was made: nothing to record
            raise SweepInterrupted(None, stopped.signum) from None
        if stop.signum is not None:  # a signal while the results were written: say so
            raise SweepInterrupted(result, stop.signum)
        return result


def _sweep(
    cluster: Cluster,
    folder: SweepFolder,
    spec: SweepSpec,
    trials: Sequence[Trial],
    log: TextIO | None,
    progress: bool | None,
    stop: StopRequest,
    wait_seconds: float = WORKER_WAIT_SECONDS,
) -> SweepResult:
    """Run the trials not finished in ``folder``, then rank them; a signal stops it after
    recording what finished."""
    folder.remove_stale()
    records = folder.records()
    finished = folder.finished()
    todo = [t for t in trials if t.id not in finished]
    _say(
        log,
        f"glassnet sweep: {len(trials)} trials, {len(finished)} finished already, "
        f"{len(todo)} to run on {cluster.description}; sweep folder {folder.path}",
    )
    ran: list[str] = []
    try:
        _run_trials(
            cluster.client, todo, folder, records, spec, trials, ran, log, progress, stop,
            wait_seconds,
        )  # fmt: skip
    except KeyboardInterrupt as exc:  # Stopped, or a second signal raised where it came
        result = _finish(spec, folder, trials, records, len(ran), len(finished))
        signum: int = stop.signum or getattr(exc, "signum", None) or signal.SIGINT  # the first
        raise SweepInterrupted(result, signum) from None
    return _finish(spec, folder, trials, records, len(ran), len(finished))


def _run_trials(
    client: Any,
    todo: Sequence[Trial],
    folder: SweepFolder,
    records: dict[str, dict[str, Any]],
    spec: SweepSpec,
    trials: Sequence[Trial],
    ran: list[str],
    log: TextIO | None,
    progress: bool | None,
    stop: StopRequest,
    wait_seconds: float = WORKER_WAIT_SECONDS,
) -> None:
    """Hand ``todo`` to the cluster; record each outcome (its id in ``ran``), and rewrite
    results.csv, as it arrives. Raises :class:`Stopped` when ``stop`` says a signal came, having
    recorded every outcome that arrived before it."""
    from distributed import as_completed

    # Keys name the trial, and differ between sweeps sharing a cluster.
    token = uuid.uuid4().hex[:8]
    futures = {
        client.submit(run_trial, trial, key=f"glassnet-{trial.id}-{token}", pure=False): trial
        for trial in todo
    }
    bar = _bar(len(trials), len(trials) - len(todo), progress)
    pending = as_completed(futures, loop=client.loop)
    workers = WorkerWatch(client, wait_seconds)
    try:
        # Polled rather than iterated: waiting inside Dask, a stop request would wait with it.
        while not pending.is_empty():
            stop.check()
            workers.check(str(folder.path))
            finished = pending.next_batch(block=False)
            if not finished:
                time.sleep(POLL_SECONDS)
            for future in finished:
                trial = futures[future]
                outcome = outcome_of(future, trial)
                folder.record(outcome)
                records[trial.id] = outcome.record()
                ran.append(trial.id)
                write_results(folder, spec, trials, records)
                bar.update(1)
                if log is not None:
                    bar.write(_finished_line(trial, outcome), file=log)
    except BaseException:
        client.cancel(list(futures), force=True)
        raise
    finally:
        bar.close()


def _study_sweep(
    cluster: Cluster,
    folder: SweepFolder,
    spec: SweepSpec,
    epochs: int,
    data_dir: str | None,
    log: TextIO | None,
    progress: bool | None,
    stop: StopRequest,
    wait_seconds: float = WORKER_WAIT_SECONDS,
) -> SweepResult:
    """Run the study's trials until ``spec.trials`` of them are finished in ``folder`` (see
    :mod:`~glassnet.sweep.study`), then rank them; a signal stops it after recording what
    finished, and the study goes on when the sweep runs again."""
    from glassnet.sweep.search import STORAGE_KIND, STUDY_NAME
    from glassnet.sweep.study import Study

    folder.remove_stale()
    records = folder.records()
    study = Study(folder, spec, epochs, data_dir)
    study.reconcile(records)
    finished = study.finished(records)
    count = max(0, (spec.trials or 0) - finished)
    _say(
        log,
        f"glassnet sweep: a study of {spec.trials} trials ({spec.search} sampler, "
        f"{spec.pruner} pruner), {finished} finished already, {count} to run on "
        f"{cluster.description}; study {STUDY_NAME!r} in {study.path}, {STORAGE_KIND}",
    )
    ran: list[str] = []
    bar = _bar(spec.trials or 0, finished, progress)
    workers = WorkerWatch(cluster.client, wait_seconds)

    def record(trial: Trial, outcome: TrialOutcome) -> None:
        folder.record(outcome)
        records[trial.id] = outcome.record()
        ran.append(trial.id)
        write_results(folder, spec, study.trials(records), records)
        if outcome.status in FINISHED:
            bar.update(1)
        if log is not None:
            bar.write(_finished_line(trial, outcome), file=log)

    def check() -> None:
        stop.check()
        workers.check(str(folder.path))

    try:
        study.run(cluster.client, count, record, check, lambda: time.sleep(POLL_SECONDS))
    except KeyboardInterrupt as exc:  # Stopped, or a second signal raised where it came
        result = _finish(spec, folder, study.trials(records), records, len(ran), finished, ran)
        signum: int = stop.signum or getattr(exc, "signum", None) or signal.SIGINT  # the first
        raise SweepInterrupted(result, signum) from None
    finally:
        bar.close()
    return _finish(spec, folder, study.trials(records), records, len(ran), finished, ran)


def _bar(total: int, initial: int, progress: bool | None) -> Any:
    """A progress bar over trials, on standard error, by default where it is a terminal."""
    return tqdm(
        total=total,
        initial=initial,
        unit="trial",
        desc="sweep",
        file=sys.stderr,
        disable=None if progress is None else not progress,
        leave=False,
    )


def _finished_line(trial: Trial, outcome: TrialOutcome) -> str:
    figures = outcome.figures
    parts = [f"{trial.id} {outcome.status} in {outcome.seconds:.1f} s"]
    for name, label in (("final_val_accuracy", "val"), ("final_test_accuracy", "test")):
        if figures.get(name) is not None:
            parts.append(f"{label} {figures[name]:.2%}")
    if outcome.error:
        parts.append(outcome.error)
    return f"glassnet sweep: {', '.join(parts)} ({describe(trial.swept)})"


def write_results(
    folder: SweepFolder,
    spec: SweepSpec,
    trials: Sequence[Trial],
    records: Mapping[str, Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Rewrite ``results.csv`` from the records, atomically; return its rows."""
    rows = result_rows(trials, records)
    atomic_write_text(folder.path / RESULTS, results_csv(rows, spec.swept))
    return rows


def _finish(
    spec: SweepSpec,
    folder: SweepFolder,
    trials: Sequence[Trial],
    records: Mapping[str, Mapping[str, Any]],
    ran: int,
    skipped: int,
    ran_ids: Collection[str] | None = None,
) -> SweepResult:
    """results.csv, the best trial's model beside it, and the pictures. For a study, ``ran_ids``
    names the trials run this time, and only those count as failed: a trial that failed in an
    earlier run has had another put in its place."""
    study = ran_ids is not None
    rows = write_results(folder, spec, trials, records)
    figure = rank_figure(rows, spec.rank)
    best = best_row(rows, figure)
    result = SweepResult(folder.path, list(trials), rows, figure, best, ran=ran, skipped=skipped)
    result.failed = [
        r for r in rows if r["status"] == FAILED and (ran_ids is None or r["trial"] in ran_ids)
    ]
    result.epochs_saved, result.epochs_planned = epochs_saved(rows, trials)
    if best is not None:
        result.best_model = folder.copy_best(best["trial"])
    if any(r["status"] == "done" for r in rows):
        from glassnet.sweep.plot import plot_search, plot_sweep

        try:
            result.plot = plot_sweep(
                spec, rows, figure, best["trial"] if best else None, folder.path / PLOT
            )
            if study:
                curves = {t.id: _val_curve(folder, t.id) for t in trials}
                result.search_plot = plot_search(
                    rows, curves, trials, figure, folder.path / SEARCH_PLOT
                )
        except GlassnetError as exc:
            result.plot_error = str(exc)
    if study:
        from glassnet.sweep.search import STORAGE_KIND, STUDY_NAME

        result.study = f"{STUDY_NAME!r} in {folder.path / STUDY}, {STORAGE_KIND}"
    return result


def _val_curve(folder: SweepFolder, trial_id: str) -> list[float]:
    """A recorded trial's validation accuracy after each epoch, from its history (none without)."""
    from glassnet.runs import HISTORY_JSON
    from glassnet.tensorfile import read_regular_file

    try:
        history = json.loads(read_regular_file(folder.trial_dir(trial_id) / HISTORY_JSON))
        return [float(r["val_accuracy"]) for r in history["rows"] if r["val_accuracy"] is not None]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def _say(log: TextIO | None, line: str) -> None:
    if log is not None:
        print(line, file=log, flush=True)


__all__ = ["SweepInterrupted", "SweepResult", "run_sweep", "write_results"]
