"""A study on the cluster: each trial asked of the sampler as a worker frees up, judged after every
epoch, told how it ended.

The machine running the sweep alone holds the study (:mod:`~glassnet.sweep.search`). It keeps as
many trials running as the cluster has worker threads, no more: a trial asked later is asked of a
sampler that knows more. Each running trial reports its validation accuracy after every epoch
through a Dask queue (:class:`~glassnet.sweep.worker.StudyLink`); the loop here reports it to the
study, asks the pruner, and sends the verdict back, while the trial waits for it.

How nothing is run twice or lost, whatever stops the sweep:

- a trial's outcome is written to the sweep folder first, then told to the study; a sweep killed
  between the two finds the record when it runs again, and tells the study then;
- a trial the study shows running when the sweep starts again was cut off with the sweep (the
  folder's lock says no other sweep is running): it is told as failed, and its values are queued
  (``enqueue_trial``) so that the next trial asked tries them again;
- a worker killed mid-trial costs that trial's epochs so far: Dask runs it again on another worker
  (its reports then repeat epochs the study has, which it ignores), or, past Dask's retries, it is
  recorded as failed and the study goes on; running the sweep again runs another trial in its place.
"""

from __future__ import annotations

import time
import uuid
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from glassnet.sweep.folder import FINISHED, STUDY, SweepFolder
from glassnet.sweep.search import open_study, space, swept_values
from glassnet.sweep.spec import SweepSpec
from glassnet.sweep.trials import Trial, study_trial, trial_id
from glassnet.sweep.worker import (
    DIVERGED,
    DONE,
    PRUNED,
    StudyLink,
    TrialOutcome,
    outcome_of,
    run_trial,
)

#: How often the loop asks the scheduler how many worker threads the cluster has.
LOOK_SECONDS = 1.0
#: Called with each trial and its outcome as it arrives, to record it, before the study is told.
Record = Callable[[Trial, TrialOutcome], None]


@dataclass
class _Running:
    """A trial handed to the cluster: Optuna's handle on it, the trial, and its verdict queue."""

    asked: Any
    trial: Trial
    verdicts: Any


class Study:
    """The study of a sweep folder, reconciled with the folder's records when opened."""

    def __init__(self, folder: SweepFolder, spec: SweepSpec, epochs: int, data_dir: str | None):
        self.folder, self.spec, self.data_dir = folder, spec, data_dir
        self.path = folder.path / STUDY
        self.study = open_study(self.path, spec, epochs)
        self.space = space(spec)
        self.figure = spec.rank or "final_val_accuracy"

    def reconcile(self, records: Mapping[str, Mapping[str, Any]]) -> None:
        """Tell the study what it missed: trials recorded but never told, and trials cut off with
        the sweep (told as failed, their values queued to be tried again)."""
        from optuna.trial import TrialState

        for frozen in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            record = records.get(trial_id(frozen.number))
            if record is not None:
                self.tell(frozen.number, record)
                continue
            self.study.tell(frozen.number, state=TrialState.FAIL, skip_if_finished=True)
            if set(frozen.params) == set(self.space):  # else cut off before it had its values
                self.study.enqueue_trial(frozen.params, user_attrs={"retry_of": frozen.number})

    def trial(self, frozen: Any) -> Trial:
        """The sweep's trial for one of the study's."""
        swept = swept_values(self.spec, frozen.params)
        return study_trial(self.spec, frozen.number, swept, self.data_dir)

    def trials(self, records: Mapping[str, Any]) -> list[Trial]:
        """The study's trials that the folder records, in the order they were asked."""
        frozen = self.study.get_trials(deepcopy=False)
        return [self.trial(t) for t in frozen if trial_id(t.number) in records]

    def finished(self, records: Mapping[str, Mapping[str, Any]]) -> int:
        """How many of the study's trials the folder records as finished (done, diverged, pruned)."""
        return sum(1 for t in self.trials(records) if records[t.id].get("status") in FINISHED)

    def tell(self, number: int, record: Mapping[str, Any]) -> None:
        """Tell the study how a trial ended: its value if done; pruned if pruned or diverged (so
        that the sampler learns to keep away, from the epochs it ran); else failed."""
        from optuna.trial import TrialState

        status, value = record.get("status"), record.get(self.figure)
        if status == DONE and value is not None:
            self.study.tell(number, float(value), skip_if_finished=True)
        elif status in (PRUNED, DIVERGED):
            self.study.tell(number, state=TrialState.PRUNED, skip_if_finished=True)
        else:
            self.study.tell(number, state=TrialState.FAIL, skip_if_finished=True)

    def run(
        self,
        client: Any,
        count: int,
        record: Record,
        check: Callable[[], None],
        wait: Callable[[], None],
    ) -> None:
        """Ask for ``count`` trials, at most one per worker thread at a time, and run them; pass
        each outcome to ``record``, then tell the study. ``check`` raises to stop (a signal, a
        cluster without workers): the running trials are cancelled, and told to stop at their
        next epoch wherever Dask cannot cancel them (running on a worker of another cluster).
        ``wait`` is called when nothing happened."""
        from distributed import Queue

        token = uuid.uuid4().hex[:8]
        link = StudyLink(f"glassnet-{token}-reports", f"glassnet-{token}-verdicts-")
        reports = Queue(link.reports, client=client)
        running: dict[Any, _Running] = {}
        asked, slots, next_look = 0, 1, 0.0
        try:
            while asked < count or running:
                check()
                if asked < count and time.monotonic() >= next_look:  # workers join and leave
                    slots, next_look = _threads(client), time.monotonic() + LOOK_SECONDS
                while asked < count and len(running) < slots:
                    asked += 1
                    handle = self.study.ask(self.space)
                    trial = self.trial(handle)
                    future = client.submit(
                        run_trial, trial, link, key=f"glassnet-{trial.id}-{token}", pure=False
                    )
                    verdicts = Queue(link.verdicts + trial.id, client=client)
                    running[future] = _Running(handle, trial, verdicts)
                answered = self._answer(reports.get(batch=True), running)
                ended = [future for future in running if future.done()]
                for future in ended:
                    item = running.pop(future)
                    outcome = outcome_of(future, item.trial)
                    record(item.trial, outcome)
                    self.tell(item.asked.number, outcome.record())
                if not (answered or ended):
                    wait()
        except BaseException:
            client.cancel(list(running), force=True)
            for item in running.values():
                item.verdicts.put({"epoch": None, "prune": True})
            raise

    def _answer(self, reports: list[Mapping[str, Any]], running: Mapping[Any, _Running]) -> bool:
        """Report each epoch's figure to the study and send the pruner's verdict back."""
        by_id = {item.trial.id: item for item in running.values()}
        for report in reports:
            item = by_id.get(report.get("trial", ""))
            if item is None:  # a late report of a trial recorded already: nothing waits on it
                continue
            epoch, value = int(report["epoch"]), report.get("value")
            prune = False
            if value is not None:
                with warnings.catch_warnings():  # a retried trial repeats epochs: ignored
                    warnings.simplefilter("ignore")
                    item.asked.report(float(value), epoch)
                # A trial past its last epoch has nothing left to save: it ends done.
                last = epoch >= int(item.trial.settings["epochs"])
                prune = not last and bool(item.asked.should_prune())
            item.verdicts.put({"epoch": epoch, "prune": prune})
        return bool(reports)


def _threads(client: Any) -> int:
    """The cluster's worker threads now: how many trials may run at once (at least one)."""
    workers = client.scheduler_info(n_workers=-1).get("workers", {})
    return max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))


__all__ = ["Record", "Study"]
