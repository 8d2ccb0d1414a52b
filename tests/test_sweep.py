"""Tests of glassnet sweep: the spec and its checks, the trials it makes, the sweep folder, and whole
sweeps on real Dask clusters: a scheduler and two workers started here as separate processes (one
killed mid-trial), the default local cluster, and Ctrl-C followed by a run that finishes the rest.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("distributed")

from helpers import glassnet_command, isolated_env, listing, one_line_error, reaped, run_main

from glassnet.errors import GlassnetError
from glassnet.settings import RunSettings
from glassnet.sweep import (
    SweepFolder,
    SweepInterrupted,
    TrialOutcome,
    execute,
    make_trials,
    read_spec,
    run_sweep,
    run_trial,
)
from glassnet.sweep.cluster import usable_cores
from glassnet.sweep.results import (
    FIGURE_COLUMNS,
    best_row,
    rank_figure,
    result_rows,
    results_csv,
)
from glassnet.sweep.stopping import Stopped, stop_requests
from glassnet.sweep.trials import value_text
from glassnet.sweep.worker import figures, outcome_of

GRID_AND_RANGES = """\
[sweep]
samples = 3
seed = 7

[settings]
preset = "fast"
epochs = 1
train_limit = 3000
validation_split = 0.1

[grid]
hidden = [[16], [32]]

[ranges]
learning_rate = { log_uniform = [0.01, 0.3] }
"""


def write_spec(folder: Path, text: str = GRID_AND_RANGES, name: str = "spec.toml") -> Path:
    path = folder / name
    path.write_bytes(text.encode("utf-8", errors="surrogateescape"))
    return path


def spec_with(**tables: str) -> str:
    """A spec of the given tables' bodies, e.g. ``spec_with(grid='hidden = [[8]]')``."""
    return "".join(f"[{name}]\n{body}\n\n" for name, body in tables.items())


# ------------------------------------------------------------------------------- the spec
@pytest.mark.parametrize(
    ("text", "says"),
    [
        (spec_with(grid="lerning_rate = [0.1]"), "[grid]: unknown setting 'lerning_rate'"),
        (spec_with(settings="colour = 1", grid="epochs = [1]"), "[settings]: unknown setting"),
        (spec_with(grid="hidden = []"), "hidden must be a non-empty list"),
        (spec_with(grid="activation = ['relu', 'softplus']"), "activation must be one of"),
        (spec_with(ranges="dropout = { uniform = [0.3, 0.3] }"), "is an empty range"),
        (spec_with(ranges="dropout = { uniform = [0.5, 0.1] }"), "is an empty range"),
        (spec_with(ranges="dropout = { uniform = [0.0, 1.5] }"), "dropout must be a number"),
        (spec_with(ranges="learning_rate = { log_uniform = [0, 1] }"), "learning rate must be"),
        (spec_with(ranges="weight_decay = { log_uniform = [0, 1] }"), "needs a low end above 0"),
        (spec_with(ranges="activation = { uniform = [0, 1] }"), "use { choice = [...] }"),
        (spec_with(ranges="batch_size = { normal = [16, 64] }"), "must be one of"),
        (spec_with(ranges="batch_size = { uniform = [16.5, 32] }"), "must be a whole number"),
        (spec_with(ranges="epochs = { choice = [] }"), "must be a non-empty list"),
        (spec_with(settings="epochs = 2", grid="epochs = [1, 2]"), "in both [settings] and [grid]"),
        (spec_with(settings="epochs = 2"), "nothing to sweep"),
        (spec_with(sweep="samples = 3", grid="epochs = [1]"), "sweep the seed instead"),
        (spec_with(sweep="samples = 0", ranges="dropout = { uniform = [0, 0.5] }"), "samples must"),
        (spec_with(sweep="rank = 'loss'", grid="epochs = [1]"), "rank must be one of"),
        (spec_with(trials="n = 1"), "unknown table or key 'trials'"),
        (
            spec_with(grid=f"seed = {list(range(101))}\nbatch_size = {list(range(1, 101))}"),
            "make 10,100 trials, more than 10,000",
        ),
        ("[grid\nhidden = [[8]]", "not valid TOML"),
        ("[grid]\nhidden = [[8]] # \udcff", "not UTF-8 text"),
    ],
)
def test_a_spec_that_cannot_run_is_refused_in_one_line(
    tmp_path: Path, text: str, says: str
) -> None:
    spec = write_spec(tmp_path, text)
    with pytest.raises(ValueError) as refused:
        make_trials(read_spec(spec))
    message = str(refused.value)
    assert says in message and str(spec) in message
    assert "\n" not in message


def test_a_setting_no_trial_uses_is_refused(tmp_path: Path) -> None:
    text = spec_with(settings="optimizer = 'adam'", grid="momentum = [0.5, 0.9]")
    with pytest.raises(ValueError, match="momentum does not apply to optimizer adam"):
        make_trials(read_spec(write_spec(tmp_path, text)))
    # ... but one that some trials use is fine.
    text = spec_with(settings="momentum = 0.5", grid="optimizer = ['sgd', 'momentum']")
    assert len(make_trials(read_spec(write_spec(tmp_path, text)))) == 2


# ----------------------------------------------------------------------------- the trials
def test_trials_are_the_grid_times_the_draws_each_a_checked_run(tmp_path: Path) -> None:
    spec = read_spec(write_spec(tmp_path))
    trials = make_trials(spec, data_dir="relative/mnist")
    assert len(trials) == 2 * 3
    assert len({t.id for t in trials}) == len(trials)
    # Every draw meets every grid point: the same three learning rates under each width.
    rates = [
        [t.swept["learning_rate"] for t in trials if t.swept["hidden"] == h] for h in ([16], [32])
    ]
    assert rates[0] == rates[1] and len(set(rates[0])) == 3
    for trial in trials:
        settings = RunSettings.from_dict(trial.settings)  # a whole run's settings, valid
        assert settings.hidden == trial.swept["hidden"]
        assert settings.training.learning_rate == trial.swept["learning_rate"]
        assert 0.01 <= settings.training.learning_rate <= 0.3
        assert settings.training.epochs == 1 and settings.training.schedule == "cosine"  # preset
        assert Path(settings.data_dir or "").is_absolute()
    # The same spec, the same trials; another seed, other draws.
    assert make_trials(spec, data_dir="relative/mnist") == trials
    reseeded = read_spec(write_spec(tmp_path, GRID_AND_RANGES.replace("seed = 7", "seed = 8")))
    assert [t.swept for t in make_trials(reseeded)] != [t.swept for t in trials]


def test_hidden_sizes_may_be_written_as_on_the_command_line(tmp_path: Path) -> None:
    trials = make_trials(read_spec(write_spec(tmp_path, spec_with(grid='hidden = [[8], "16,8"]'))))
    assert [t.swept["hidden"] for t in trials] == [[8], [16, 8]]
    assert [t.settings["hidden"] for t in trials] == [[8], [16, 8]]


def test_draws_cover_their_ranges_as_promised(tmp_path: Path) -> None:
    text = spec_with(
        sweep="samples = 400",
        ranges="learning_rate = { log_uniform = [0.0001, 1.0] }\n"
        "batch_size = { log_uniform = [8, 256] }\n"
        "dropout = { uniform = [0.1, 0.5] }\n"
        "activation = { choice = ['relu', 'tanh'] }",
    )
    trials = make_trials(read_spec(write_spec(tmp_path, text)))
    rates = np.array([t.swept["learning_rate"] for t in trials])
    decades = np.floor(np.log10(rates))
    # Log-uniform: each of the four decades gets about a quarter of the draws.
    assert set(decades) == {-4, -3, -2, -1}
    assert all(abs(np.mean(decades == d) - 0.25) < 0.08 for d in (-4, -3, -2, -1))
    sizes = [t.swept["batch_size"] for t in trials]
    assert all(isinstance(s, int) and 8 <= s <= 256 for s in sizes)
    assert np.mean(np.array(sizes) < math.sqrt(8 * 256)) == pytest.approx(0.5, abs=0.08)
    dropouts = np.array([t.swept["dropout"] for t in trials])
    assert dropouts.min() >= 0.1 and dropouts.max() <= 0.5
    assert abs(np.mean(dropouts < 0.3) - 0.5) < 0.08
    assert {t.swept["activation"] for t in trials} == {"relu", "tanh"}


# ---------------------------------------------------------------- the folder and the results
def outcome(trial_id: str, status: str, val: float | None, test: float | None) -> TrialOutcome:
    figures = {
        "final_val_accuracy": val,
        "best_val_accuracy": val,
        "final_test_accuracy": test,
        "best_test_accuracy": test,
        "epochs": 1,
    }
    files = {"model.safetensors": b"model of " + trial_id.encode(), "settings.toml": b"x = 1\n"}
    return TrialOutcome(
        trial_id, status, figures, 1.0, "here", "", files if status == "done" else {}
    )


def test_the_folder_records_trials_whole_and_refuses_another_sweep(tmp_path: Path) -> None:
    spec = read_spec(write_spec(tmp_path))
    trials = make_trials(spec)
    out = tmp_path / "sweeps" / "one"
    folder = SweepFolder.prepare(out, "spec text", trials)
    assert SweepFolder.find(out, trials) is not None
    assert [p.name for p in out.parent.iterdir()] == ["one"]  # made whole, no temporary left
    folder.record(outcome(trials[0].id, "failed", None, None))
    folder.record(outcome(trials[1].id, "diverged", None, None))
    assert folder.finished() == {trials[1].id}  # a failed trial runs again
    folder.record(outcome(trials[0].id, "done", 0.9, 0.8))  # ... and its record is replaced
    assert folder.finished() == {trials[0].id, trials[1].id}
    assert (folder.trial_dir(trials[0].id) / "model.safetensors").read_bytes().endswith(b"001")
    (out / "trials" / ".trial-003.abc.tmp").mkdir()  # left by a sweep killed while recording
    folder.remove_stale()
    assert sorted(p.name for p in (out / "trials").iterdir()) == [trials[0].id, trials[1].id]
    # A record that is not one glassnet wrote counts as none: that trial runs again.
    record = folder.trial_dir(trials[1].id) / "trial.json"
    good = json.loads(record.read_text())
    for hostile in ({**good, "final_val_accuracy": "0.99"}, {**good, "id": "trial-005"}, [good]):
        record.write_text(json.dumps(hostile))
        assert folder.finished() == {trials[0].id}
    record.write_text("{not json")
    assert folder.finished() == {trials[0].id}
    other = make_trials(read_spec(write_spec(tmp_path, GRID_AND_RANGES.replace("7", "8"))))
    with pytest.raises(ValueError, match="holds another sweep"):
        SweepFolder.prepare(out, "spec text", other)
    with pytest.raises(ValueError, match="not a sweep folder"):
        SweepFolder.prepare(tmp_path, "spec text", trials)  # a folder holding other things


@pytest.mark.parametrize("meanwhile", ["another sweep made it", "and Ctrl-C came"])
def test_a_folder_made_by_another_sweep_meanwhile_is_used_but_ctrl_c_is_not_taken_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, meanwhile: str
) -> None:
    from glassnet.sweep import folder as sweep_folder

    spec = read_spec(write_spec(tmp_path))
    trials = make_trials(spec)
    out = tmp_path / "sweep"
    write = sweep_folder.atomic_write_text

    def racing(path: Path, text: str) -> None:
        write(path, text)
        if path.name == "trials.json":
            monkeypatch.setattr(sweep_folder, "atomic_write_text", write)
            SweepFolder.prepare(out, spec.text, trials)  # the same sweep, started beside this one
            if meanwhile == "and Ctrl-C came":
                raise KeyboardInterrupt

    monkeypatch.setattr(sweep_folder, "atomic_write_text", racing)
    if meanwhile == "and Ctrl-C came":
        with pytest.raises(KeyboardInterrupt):
            SweepFolder.prepare(out, spec.text, trials)
    else:
        assert SweepFolder.prepare(out, spec.text, trials).path == out
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary


def test_results_rank_by_validation_when_there_is_some(tmp_path: Path) -> None:
    trials = make_trials(read_spec(write_spec(tmp_path)))
    records = {
        trials[0].id: outcome(trials[0].id, "done", 0.90, 0.99).record(),
        trials[1].id: outcome(trials[1].id, "done", 0.95, 0.91).record(),
        trials[2].id: outcome(trials[2].id, "diverged", None, None).record(),
    }
    rows = result_rows(trials, records)
    assert [r["status"] for r in rows] == ["done", "done", "diverged", *["not run"] * 3]
    figure = rank_figure(rows)
    assert figure == "final_val_accuracy"
    assert best_row(rows, figure)["trial"] == trials[1].id  # not the best on the test set
    assert best_row(rows, "final_test_accuracy")["trial"] == trials[0].id
    parsed = list(csv.DictReader(results_csv(rows, ["hidden", "learning_rate"]).splitlines()))
    assert [r["trial"] for r in parsed] == [t.id for t in trials]
    assert parsed[1]["final_val_accuracy"] == "0.95" and parsed[3]["final_val_accuracy"] == ""
    no_val = {k: {**r, "final_val_accuracy": None} for k, r in records.items()}
    assert rank_figure(result_rows(trials, no_val)) == "final_test_accuracy"


def test_every_column_of_results_csv_says_what_the_trial_records(tmp_path: Path) -> None:
    spec = read_spec(write_spec(tmp_path))
    trials = make_trials(spec)
    folder = SweepFolder.prepare(tmp_path / "sweep", spec.text, trials)
    history = {
        "rows": [
            {"val_accuracy": 0.5, "test_accuracy": 0.4},
            {"val_accuracy": 0.7, "test_accuracy": 0.66},
            {"val_accuracy": 0.6, "test_accuracy": 0.65},
        ],
        "best_epoch": 2,
        "test_accuracy": 0.61,
    }
    found = figures(history, trials[0].settings)
    assert found == {
        "epochs": 3,
        "final_val_accuracy": 0.6,  # the last epoch's: the model saved is the last epoch's
        "best_val_accuracy": 0.7,
        "final_test_accuracy": 0.61,  # the saved model's, on the whole test set
        "best_test_accuracy": 0.66,
    }
    # With early stopping the saved model is the best epoch's, and so are its final figures.
    restored = figures(history, {**trials[0].settings, "patience": 3})
    assert (restored["final_val_accuracy"], restored["final_test_accuracy"]) == (0.7, 0.61)
    done = TrialOutcome(trials[0].id, "done", found, 12.34567, "tcp://127.0.0.1:4000")
    diverged = TrialOutcome(
        trials[1].id, "diverged", figures({"rows": history["rows"][:1]}, {}), 2.0, "w1",
        "TrainingDivergedError: the loss became nan in epoch 2",
    )  # fmt: skip
    failed = TrialOutcome(trials[2].id, "failed", error="KilledWorker: all its workers died")
    for outcome in (done, diverged, failed):
        folder.record(outcome)
    execute.write_results(folder, spec, trials, folder.records())
    rows = read_results(folder.path)
    assert list(rows[0]) == [
        "trial", "status", "hidden", "learning_rate", "final_val_accuracy", "best_val_accuracy",
        "final_test_accuracy", "best_test_accuracy", "epochs", "seconds", "worker", "error",
    ]  # fmt: skip

    def swept(i: int) -> dict[str, str]:
        return {"hidden": f"[{trials[i].swept['hidden'][0]}]",
                "learning_rate": str(trials[i].swept["learning_rate"])}  # fmt: skip

    empty = dict.fromkeys([*FIGURE_COLUMNS, "worker", "error"], "")
    assert rows == [
        {"trial": "trial-001", "status": "done", **swept(0), "final_val_accuracy": "0.6",
         "best_val_accuracy": "0.7", "final_test_accuracy": "0.61", "best_test_accuracy": "0.66",
         "epochs": "3", "seconds": "12.346", "worker": "tcp://127.0.0.1:4000", "error": ""},
        {"trial": "trial-002", "status": "diverged", **swept(1), "final_val_accuracy": "0.5",
         "best_val_accuracy": "0.5", "final_test_accuracy": "0.4", "best_test_accuracy": "0.4",
         "epochs": "1", "seconds": "2.0", "worker": "w1",
         "error": "TrainingDivergedError: the loss became nan in epoch 2"},
        {"trial": "trial-003", "status": "failed", **swept(2), **empty, "seconds": "0.0",
         "error": "KilledWorker: all its workers died"},
        *({"trial": t.id, "status": "not run", **swept(i), **empty}
          for i, t in enumerate(trials) if i >= 3),
    ]  # fmt: skip


def test_a_trial_the_cluster_cannot_give_back_is_recorded_as_failed(tmp_path: Path) -> None:
    from distributed import KilledWorker

    trial = make_trials(read_spec(write_spec(tmp_path)))[0]

    class Lost:
        """A future whose trial's workers all died (past the scheduler's allowed failures)."""

        def result(self) -> None:
            last_worker = SimpleNamespace(address="tcp://127.0.0.1:1")
            raise KilledWorker(f"glassnet-{trial.id}-0", last_worker, 0)  # type: ignore[arg-type]

    outcome = outcome_of(Lost(), trial)
    assert (outcome.id, outcome.status, outcome.files) == (trial.id, "failed", {})
    assert outcome.error.startswith(f"KilledWorker: Attempted to run task 'glassnet-{trial.id}-0'")


def test_a_signal_during_a_sweep_is_noted_where_it_arrives_even_in_a_finalizer() -> None:
    """Raised where it arrives, a Ctrl-C inside a finalizer would be printed and dropped; noted,
    it is kept, and the sweep acts on it where it can stop cleanly."""

    class Finalizer:
        def __del__(self) -> None:
            signal.raise_signal(signal.SIGINT)  # Ctrl-C, arriving while __del__ runs

    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with stop_requests() as stop:
        stop.check()  # nothing came yet
        Finalizer()
        assert stop.signum == signal.SIGINT
        with pytest.raises(Stopped) as stopped:
            stop.check()
        assert stopped.value.signum == signal.SIGINT
        with pytest.raises(KeyboardInterrupt):  # a second Ctrl-C stops at once
            signal.raise_signal(signal.SIGINT)
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    with stop_requests() as stop:
        signal.raise_signal(signal.SIGTERM)
        assert stop.signum == signal.SIGTERM


# ------------------------------------------------------------------ bad input at the command
@pytest.mark.parametrize(
    ("args", "status", "says"),
    [
        (["sweep", "missing.toml"], 1, "missing.toml"),
        (["sweep", "bad.toml"], 1, "unknown setting 'lerning_rate'"),
        (["sweep", "empty.toml"], 1, "empty range"),
        (["sweep", "good.toml", "--scheduler", "http://x:1"], 2, "Dask scheduler's address"),
        (["sweep", "good.toml", "--workers", "0"], 2, "at least 1"),
        (
            ["sweep", "good.toml", "--workers", "2", "--scheduler", "tcp://127.0.0.1:9"],
            2,
            "--workers",
        ),
    ],
)
def test_bad_input_is_one_line_and_makes_nothing(
    isolated: Path, capsys: pytest.CaptureFixture[str], args: list[str], status: int, says: str
) -> None:
    write_spec(isolated, GRID_AND_RANGES, "good.toml")
    write_spec(isolated, spec_with(grid="lerning_rate = [0.1]"), "bad.toml")
    write_spec(isolated, spec_with(ranges="dropout = { uniform = [0.2, 0.2] }"), "empty.toml")
    before = listing(isolated)
    code, out, err = run_main(args, capsys)
    assert code == status
    assert says in one_line_error(err, "sweep" if status == 1 else None)
    assert out == ""
    assert listing(isolated) == before


@pytest.mark.slow
def test_an_unreachable_scheduler_is_one_line_and_makes_nothing(
    isolated: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("glassnet.sweep.cluster.CONNECT_SECONDS", 1.0)
    write_spec(isolated)
    before = listing(isolated)
    code, out, err = run_main(["sweep", "spec.toml", "--scheduler", "tcp://127.0.0.1:9"], capsys)
    assert (code, out) == (1, "")
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in one_line_error(err, "sweep")
    assert listing(isolated) == before


@pytest.mark.slow
def test_a_scheduler_without_workers_is_one_line_and_makes_nothing(tmp_path: Path) -> None:
    from distributed import LocalCluster

    spec = read_spec(write_spec(tmp_path))
    with (
        LocalCluster(n_workers=0, dashboard_address=":0") as empty,
        pytest.raises(GlassnetError, match="has no workers") as refused,
    ):
        run_sweep(spec, tmp_path / "sweep", scheduler=empty.scheduler_address, wait_seconds=1)
    assert f"dask worker {empty.scheduler_address}" in str(refused.value)
    assert not (tmp_path / "sweep").exists()


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_waiting_for_a_worker_stops_at_once_and_makes_nothing(
    tmp_path: Path, signum: int
) -> None:
    from distributed import LocalCluster

    spec = read_spec(write_spec(tmp_path))
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signum))  # from another thread, as a
    with (  # terminal's Ctrl-C or a kill comes
        LocalCluster(n_workers=0, dashboard_address=":0") as empty,
        pytest.raises(SweepInterrupted) as stopped,
    ):
        started = time.monotonic()
        timer.start()
        run_sweep(spec, tmp_path / "sweep", scheduler=empty.scheduler_address, wait_seconds=60)
    assert time.monotonic() - started < 10  # not the 60 s it would wait for a worker
    assert (stopped.value.signum, stopped.value.result) == (signum, None)
    assert not (tmp_path / "sweep").exists()


def test_dry_run_lists_the_trials_and_makes_nothing(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_spec(isolated)
    before = listing(isolated)
    code, out, err = run_main(["sweep", "spec.toml", "--dry-run"], capsys)
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == [f"trial-00{i}" for i in range(1, 7)]
    assert "learning_rate=" in out and "6 trials" in err
    assert listing(isolated) == before


def test_importing_glassnet_loads_neither_dask_nor_scikit_learn() -> None:
    code = (
        "import sys, glassnet, glassnet.sweep; "
        "print(' '.join(m for m in sys.modules if m.split('.')[0] in "
        "('dask', 'distributed', 'sklearn', 'matplotlib')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""


# ------------------------------------------------------------------------ one trial, alone
@pytest.mark.slow
@pytest.mark.mnist
def test_a_trial_sends_back_its_run_folder_or_why_it_has_none(
    mnist_dir: Path, tmp_path: Path
) -> None:
    text = spec_with(settings="epochs = 2\ntrain_limit = 1000", grid="learning_rate = [0.05, 20.0]")
    good, bad = make_trials(read_spec(write_spec(tmp_path, text)), str(mnist_dir))
    done = run_trial(good)
    assert (done.status, done.error) == ("done", "")
    assert set(done.files) == {"settings.toml", "history.json", "history.csv", "model.safetensors"}
    history = json.loads(done.files["history.json"])
    assert done.figures["final_test_accuracy"] == history["test_accuracy"]
    assert done.figures["epochs"] == len(history["rows"]) == 2
    assert done.figures["final_val_accuracy"] is None  # no validation split, no figure
    diverged = run_trial(bad)
    assert diverged.status == "diverged" and "diverged" in diverged.error
    assert "model.safetensors" not in diverged.files
    assert b"learning_rate = 20.0" in diverged.files["settings.toml"]


# ----------------------------------------------------------------- whole sweeps on clusters
@dataclass
class DaskProcesses:
    address: str
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]]


@contextmanager
def dask_processes(
    folder: Path, n_workers: int = 2, scheduler_config: dict[str, str] | None = None
) -> Iterator[DaskProcesses]:
    """``dask scheduler`` and ``dask worker`` processes on 127.0.0.1, stopped by pid afterwards;
    ``scheduler_config`` sets ``distributed.scheduler`` options, e.g. ``allowed-failures``."""
    dask = Path(sys.executable).with_name("dask")
    if not dask.is_file():
        pytest.skip(f"no dask command beside {sys.executable}")
    env = isolated_env(folder)
    scheduler_env = {
        **env,
        **{
            "DASK_DISTRIBUTED__SCHEDULER__" + name.upper().replace("-", "_"): value
            for name, value in (scheduler_config or {}).items()
        },
    }
    scheduler_file = folder / "scheduler.json"
    with ExitStack() as stack:

        def start(*args: str, log: str) -> subprocess.Popen[bytes]:
            out = stack.enter_context(open(folder / log, "wb"))
            child = subprocess.Popen(
                [str(dask), *args],
                stdout=out,
                stderr=out,
                env=scheduler_env if args[0] == "scheduler" else env,
                cwd=folder,
            )
            return stack.enter_context(stopped(child))

        scheduler = start(
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(scheduler_file),
            log="scheduler.log",
        )
        address = wait_for(lambda: json.loads(scheduler_file.read_text())["address"], 30)
        workers = [
            start(
                "worker",
                address,
                "--no-nanny",
                "--nthreads",
                "1",
                "--no-dashboard",
                "--host",
                "127.0.0.1",
                "--name",
                f"w{i}",
                "--local-directory",
                str(folder / f"w{i}"),
                log=f"worker{i}.log",
            )
            for i in range(n_workers)
        ]
        yield DaskProcesses(address, scheduler, workers)


@contextmanager
def stopped(child: subprocess.Popen[bytes]) -> Iterator[subprocess.Popen[bytes]]:
    """Yield ``child``; then SIGTERM it, and SIGKILL it if it has not stopped within 10 s."""
    with reaped(child):
        try:
            yield child
        finally:
            if child.poll() is None:
                child.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(timeout=10)  # if not, reaped kills it


def wait_for(probe: object, seconds: float) -> object:
    """``probe()``'s first result that is truthy and raises nothing, within ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            value = probe()  # type: ignore[operator]
            if value:
                return value
        except (OSError, ValueError, KeyError):
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"waited {seconds} s in vain for {probe}")
        time.sleep(0.05)


def read_results(out: Path) -> list[dict[str, str]]:
    with open(out / "results.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def check_complete(out: Path, n_trials: int) -> list[dict[str, str]]:
    """Every trial done once, its folder whole, and every column of its row in results.csv what
    its own files say: the swept values of trials.json, the figures of its history.json, the
    time and worker of its trial.json."""
    rows = read_results(out)
    listed = json.loads((out / "trials.json").read_text())["trials"]
    swept = list(listed[0]["swept"])
    assert list(rows[0]) == ["trial", "status", *swept, *FIGURE_COLUMNS, "worker", "error"]
    assert [r["trial"] for r in rows] == [f"trial-{i:03d}" for i in range(1, n_trials + 1)]
    assert sorted(p.name for p in (out / "trials").iterdir()) == [r["trial"] for r in rows]
    for row, trial in zip(rows, listed, strict=True):
        folder = out / "trials" / row["trial"]
        history = json.loads((folder / "history.json").read_text())
        record = json.loads((folder / "trial.json").read_text())
        val = [r["val_accuracy"] for r in history["rows"]]
        test = [r["test_accuracy"] for r in history["rows"]]
        assert row == {
            "trial": trial["id"],
            "status": "done",
            **{name: value_text(trial["swept"][name]) for name in swept},
            "final_val_accuracy": str(val[-1]),
            "best_val_accuracy": str(max(val)),
            "final_test_accuracy": str(history["test_accuracy"]),
            "best_test_accuracy": str(max(test)),
            "epochs": "1",
            "seconds": str(record["seconds"]),
            "worker": record["worker"],
            "error": "",
        }, row
        assert 0 < record["seconds"] < 600 and record["worker"].startswith("tcp://127.0.0.1:")
        assert (folder / "model.safetensors").is_file()
    best = max(rows, key=lambda r: float(r["final_val_accuracy"]))
    model = (out / "trials" / best["trial"] / "model.safetensors").read_bytes()
    assert (out / "best-model.safetensors").read_bytes() == model
    assert (out / "accuracy.png").read_bytes().startswith(b"\x89PNG")
    return rows


@pytest.mark.mnist
@pytest.mark.slow
def test_a_sweep_on_a_cluster_survives_a_worker_killed_mid_trial(
    mnist_dir: Path, tmp_path: Path
) -> None:
    from distributed import Client

    spec = write_spec(tmp_path)
    out = tmp_path / "sweep"
    with dask_processes(tmp_path) as dask, Client(dask.address, timeout=10) as client:
        wait_for(lambda: len(client.scheduler_info()["workers"]) == 2, 30)
        names = {w["name"]: a for a, w in client.scheduler_info()["workers"].items()}
        victim, survivor = names["w0"], names["w1"]
        command = [
            *glassnet_command(),
            "sweep",
            str(spec),
            "--scheduler",
            dask.address,
            "--out",
            str(out),
            "--data-dir",
            str(mnist_dir),
        ]
        err_path = tmp_path / "sweep.err"
        with (
            open(err_path, "w") as err,
            reaped(
                subprocess.Popen(
                    command,
                    stdout=subprocess.PIPE,
                    stderr=err,
                    text=True,
                    env=isolated_env(tmp_path),
                    cwd=tmp_path,
                )
            ) as sweep,
        ):
            running = wait_for(lambda: executing(client, victim), 60)
            dask.workers[0].kill()  # SIGKILL: no goodbye to the scheduler
            dask.workers[0].wait()
            stdout, _ = sweep.communicate(timeout=180)
        stderr = err_path.read_text()
        assert sweep.returncode == 0, stderr
    rows = check_complete(out, 6)
    killed_trial = str(running[0]).split("-")[1:3]  # "glassnet-trial-003-<token>"
    retried = next(r for r in rows if r["trial"] == "-".join(killed_trial))
    assert retried["worker"] == survivor  # finished by the other worker
    for row in rows:  # each trial reported finished exactly once
        assert stderr.count(f"glassnet sweep: {row['trial']} done") == 1, stderr
    assert "best: trial-" in stdout and "Traceback" not in stderr
    # Run again: every trial is finished, so nothing runs and no cluster is needed.
    before = {p: p.stat().st_mtime_ns for p in out.rglob("model.safetensors")}
    again = subprocess.run(
        [*glassnet_command(), "sweep", str(spec), "--out", str(out)],
        capture_output=True,
        text=True,
        env=isolated_env(tmp_path),
        cwd=tmp_path,
        timeout=60,
    )
    assert again.returncode == 0, again.stderr
    assert "all 6 trials finished already" in again.stderr
    assert {p: p.stat().st_mtime_ns for p in out.rglob("model.safetensors")} == before


def executing(client: object, worker: str) -> list[str]:
    """The keys of the tasks the worker is running now."""
    found = client.run(  # type: ignore[attr-defined]
        lambda dask_worker: [str(ts.key) for ts in dask_worker.state.executing], workers=[worker]
    )
    return list(found.get(worker, []))


@pytest.mark.mnist
@pytest.mark.slow
def test_a_trial_whose_worker_dies_past_the_retries_is_failed_and_the_sweep_goes_on(
    mnist_dir: Path, tmp_path: Path
) -> None:
    """With ``allowed-failures = 0`` one death is past Dask's retries: the trials the worker held
    are recorded as failed, every other trial runs to the end, and running the sweep again runs
    the failed ones."""
    from distributed import Client

    spec = write_spec(tmp_path)
    out = tmp_path / "sweep"
    with (
        dask_processes(tmp_path, scheduler_config={"allowed-failures": "0"}) as dask,
        Client(dask.address, timeout=10) as client,
    ):
        wait_for(lambda: len(client.scheduler_info()["workers"]) == 2, 30)
        names = {w["name"]: a for a, w in client.scheduler_info()["workers"].items()}
        command = [
            *glassnet_command(),
            "sweep",
            str(spec),
            "--scheduler",
            dask.address,
            "--out",
            str(out),
            "--data-dir",
            str(mnist_dir),
        ]
        with reaped(
            subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=isolated_env(tmp_path),
                cwd=tmp_path,
            )
        ) as sweep:
            running = wait_for(lambda: executing(client, names["w0"]), 60)
            dask.workers[0].kill()  # SIGKILL: no goodbye to the scheduler
            dask.workers[0].wait()
            _, stderr = sweep.communicate(timeout=180)
        killed = "-".join(str(running[0]).split("-")[1:3])  # "glassnet-trial-003-<token>"
        rows = read_results(out)
        failed = [r for r in rows if r["status"] == "failed"]
        # The trial it ran, and any it held waiting for it (as many as Dask gave it), failed.
        assert killed in [r["trial"] for r in failed] and len(failed) < 6, stderr
        assert sweep.returncode == 1, stderr
        assert f"error: {len(failed)} of 6 trials failed (" in stderr, stderr
        assert "Traceback" not in stderr
        for row in failed:
            assert row["error"].startswith("KilledWorker: Attempted to run task"), row
            assert all(row[name] == "" for name in (*FIGURE_COLUMNS[:-1], "worker")), row
            assert not (out / "trials" / row["trial"] / "model.safetensors").exists()
        others = [r for r in rows if r not in failed]
        assert [r["status"] for r in others] == ["done"] * (6 - len(failed))  # the sweep went on
        assert {r["worker"] for r in others} <= set(names.values())
        again = subprocess.run(
            command, capture_output=True, text=True, env=isolated_env(tmp_path), cwd=tmp_path,
            timeout=180,
        )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert f"{6 - len(failed)} finished already, {len(failed)} to run" in again.stderr
    check_complete(out, 6)


@pytest.mark.mnist
@pytest.mark.slow
def test_the_default_is_a_local_cluster_sized_to_the_machine(
    mnist_dir: Path, tmp_path: Path
) -> None:
    spec = read_spec(write_spec(tmp_path, GRID_AND_RANGES.replace("samples = 3", "samples = 2")))
    result = run_sweep(spec, tmp_path / "sweep", data_dir=str(mnist_dir))
    assert result.cluster.startswith(f"a local Dask cluster of {usable_cores()} worker")
    assert (result.ran, result.skipped) == (4, 0)
    rows = check_complete(tmp_path / "sweep", 4)
    assert (
        result.best is not None
        and result.best["trial"] == max(rows, key=lambda r: float(r["final_val_accuracy"]))["trial"]
    )


#: ``glassnet sweep ARGS...`` as the console script runs it, but made to wait, at one moment the
#: test chooses, until the test has sent its signal: ``python DRIVER MOMENT READY SENT ARGS...``.
#: It writes the file READY on reaching the moment, then runs Python code until the file SENT
#: appears. The moments are the two where a signal used to be lost:
#:
#: - ``finalizer``: inside a finalizer (``__del__``) in the main thread, just after the first trial
#:   is recorded. Garbage collection runs finalizers wherever the main thread allocates, Dask's
#:   futures among them; an exception raised in one is printed and dropped.
#: - ``cluster-start``: while the local cluster starts its workers.
DRIVER = """
import os, sys, time
from pathlib import Path

import distributed

import glassnet.sweep.execute as execute
from glassnet.cli import main


def hold():
    ready.write_text(str(os.getpid()))
    deadline = time.monotonic() + 60
    while not sent.exists() and time.monotonic() < deadline:
        pass  # Python code: a signal's handler runs here, between two of its steps


class Finalizer:
    def __del__(self):
        hold()


def write_results(*args):
    rows = write_results.original(*args)
    if moment == "finalizer" and not ready.exists():
        Finalizer()  # dropped at once: its __del__ runs now, in the main thread
    return rows


def local_cluster(*args, **kwargs):
    hold()
    return local_cluster.original(*args, **kwargs)


if __name__ == "__main__":  # not in the workers, which import this file again
    moment, ready, sent = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    write_results.original, execute.write_results = execute.write_results, write_results
    if moment == "cluster-start":
        local_cluster.original, distributed.LocalCluster = distributed.LocalCluster, local_cluster
    sys.exit(main(sys.argv[4:]))
"""


@dataclass
class Ended:
    returncode: int
    stderr: str


def stop_sweep_at(moment: str, signum: int, folder: Path, args: list[str]) -> Ended:
    """Run ``glassnet sweep ARGS`` in ``folder`` (see :data:`DRIVER`), send ``signum`` at
    ``moment`` (SIGINT to the whole process group, as Ctrl-C in a terminal does; SIGTERM to the
    sweep's process alone, as ``kill`` does), and wait at most a minute for it to stop."""
    driver = folder / "driver.py"
    driver.write_text(DRIVER)
    ready, sent = folder / "ready", folder / "sent"
    with reaped(
        subprocess.Popen(
            [sys.executable, str(driver), moment, str(ready), str(sent), "sweep", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=isolated_env(folder),
            cwd=folder,
            start_new_session=True,
        )
    ) as sweep:
        wait_for(lambda: ready.exists() or sweep.poll() is not None, 120)
        assert sweep.poll() is None, sweep.communicate()
        if signum == signal.SIGINT:
            os.killpg(sweep.pid, signal.SIGINT)
        else:
            sweep.send_signal(signum)
        sent.touch()
        _, stderr = sweep.communicate(timeout=60)
    return Ended(sweep.returncode, stderr)


def sweep_args(spec: Path, out: Path, mnist_dir: Path) -> list[str]:
    return [str(spec), "--out", str(out), "--workers", "2", "--data-dir", str(mnist_dir)]


@pytest.mark.mnist
@pytest.mark.slow
def test_ctrl_c_keeps_what_finished_and_a_second_run_finishes_the_rest(
    mnist_dir: Path, tmp_path: Path
) -> None:
    """Ctrl-C stops the sweep even when it comes at the worst moment, inside a finalizer."""
    spec = write_spec(tmp_path, GRID_AND_RANGES.replace("samples = 3", "samples = 4"))
    out = tmp_path / "sweep"
    args = sweep_args(spec, out, mnist_dir)
    stopped = stop_sweep_at("finalizer", signal.SIGINT, tmp_path, args)
    assert stopped.returncode == 130, stopped.stderr
    assert "Traceback" not in stopped.stderr and "interrupted;" in stopped.stderr
    rows = read_results(out)
    done = [r["trial"] for r in rows if r["status"] == "done"]
    assert len(rows) == 8 and 1 <= len(done) < 8
    assert {r["status"] for r in rows} <= {"done", "not run"}
    assert f"{len(done)} of 8 trials are recorded in {out}" in stopped.stderr
    before = {t: (out / "trials" / t / "model.safetensors").stat().st_mtime_ns for t in done}
    again = subprocess.run(
        [*glassnet_command(), "sweep", *args],
        capture_output=True,
        text=True,
        env=isolated_env(tmp_path),
        cwd=tmp_path,
        timeout=180,
    )
    assert again.returncode == 0, again.stderr
    assert f"{len(done)} finished already, {8 - len(done)} to run" in again.stderr
    check_complete(out, 8)
    after = {t: (out / "trials" / t / "model.safetensors").stat().st_mtime_ns for t in done}
    assert after == before  # finished trials were not run again


@pytest.mark.mnist
@pytest.mark.slow
def test_sigterm_stops_a_sweep_as_ctrl_c_does(mnist_dir: Path, tmp_path: Path) -> None:
    spec = write_spec(tmp_path)
    out = tmp_path / "sweep"
    stopped = stop_sweep_at("finalizer", signal.SIGTERM, tmp_path, sweep_args(spec, out, mnist_dir))
    assert stopped.returncode == 128 + signal.SIGTERM, stopped.stderr
    assert "Traceback" not in stopped.stderr and "terminated;" in stopped.stderr
    statuses = [r["status"] for r in read_results(out)]
    assert 1 <= statuses.count("done") < 6 and set(statuses) <= {"done", "not run"}


@pytest.mark.mnist
@pytest.mark.slow
def test_ctrl_c_while_the_cluster_starts_stops_the_sweep_and_makes_nothing(
    mnist_dir: Path, tmp_path: Path
) -> None:
    spec = write_spec(tmp_path)
    out = tmp_path / "sweep"
    args = sweep_args(spec, out, mnist_dir)
    stopped = stop_sweep_at("cluster-start", signal.SIGINT, tmp_path, args)
    assert stopped.returncode == 130, stopped.stderr
    assert "Traceback" not in stopped.stderr
    assert "interrupted while the cluster started; no trial ran" in stopped.stderr
    assert not out.exists()
