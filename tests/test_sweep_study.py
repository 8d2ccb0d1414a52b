"""Tests of glassnet sweep's studies: a search by an Optuna sampler, its trials pruned as they report.

The spec's checks, the space as Optuna's distributions, the study reconciled with the sweep folder
after a sweep that was cut off, the table and picture of a pruned search; then whole studies on a
real ``dask scheduler`` with two ``dask worker`` processes (one killed mid-trial; the sweep itself
killed with SIGKILL and run again) and on the local cluster stopped by Ctrl-C and run again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("distributed")
pytest.importorskip("optuna")

from helpers import glassnet_command, isolated_env, listing, one_line_error, reaped, run_main
from test_sweep import (
    dask_processes,
    executing,
    read_results,
    spec_with,
    stop_sweep_at,
    wait_for,
    write_spec,
)

from glassnet.sweep import SweepFolder, read_spec
from glassnet.sweep.folder import STUDY, study_listing
from glassnet.sweep.plot import plot_search
from glassnet.sweep.results import epochs_saved, format_table, result_rows
from glassnet.sweep.search import STUDY_NAME, space, swept_values
from glassnet.sweep.study import Study
from glassnet.sweep.trials import check_study, make_trials, study_trial
from glassnet.sweep.worker import TrialOutcome

STUDY_SPEC = """\
[sweep]
search = "tpe"
trials = 8
pruner = "asha"
seed = 3

[settings]
preset = "fast"
epochs = 3
train_limit = 3000
validation_split = 0.1

[ranges]
learning_rate = { log_uniform = [0.0003, 0.5] }
hidden = { choice = [[16], [32]] }
"""
RANGES = "learning_rate = { log_uniform = [0.001, 0.3] }"


# ------------------------------------------------------------------------------- the spec
@pytest.mark.parametrize(
    ("text", "says"),
    [
        (spec_with(sweep="search = 'bayes'\ntrials = 4", ranges=RANGES), "search must be one of"),
        (spec_with(sweep="search = 'tpe'", ranges=RANGES), "say how many with trials = N"),
        (spec_with(sweep="search = 'tpe'\ntrials = 0", ranges=RANGES), "trials must be a whole"),
        (spec_with(sweep="search = 'grid'\ntrials = 4", grid="epochs = [1]"), "a grid's trials"),
        (spec_with(sweep="pruner = 'asha'", ranges=RANGES), "pruner stops the trials of a study"),
        (spec_with(sweep="trials = 4\npruner = 'fast'", ranges=RANGES), "pruner must be one of"),
        (
            spec_with(sweep="search = 'tpe'\ntrials = 4", grid="hidden = [[8]]", ranges=RANGES),
            "[grid]: a study draws every swept setting from [ranges]",
        ),
        (
            spec_with(sweep="trials = 4\nrank = 'final_test_accuracy'", ranges=RANGES),
            "would tune the trials to the test set",
        ),
        (spec_with(sweep="trials = 4\nsamples = 2", ranges=RANGES), "give one of them"),
        (spec_with(sweep="search = 'tpe'\ntrials = 4", ranges=RANGES), "validation_split = 0.1"),
    ],
)
def test_a_study_that_cannot_run_is_refused_in_one_line(
    tmp_path: Path, text: str, says: str
) -> None:
    spec = write_spec(tmp_path, text)
    with pytest.raises(ValueError) as refused:
        check_study(read_spec(spec))
    message = str(refused.value)
    assert says in message and str(spec) in message and "\n" not in message


def test_specs_without_a_search_are_the_grid_and_random_sweeps_they_were(tmp_path: Path) -> None:
    grid = read_spec(write_spec(tmp_path, spec_with(grid="epochs = [1, 2]")))
    drawn = read_spec(write_spec(tmp_path, spec_with(sweep="samples = 3", ranges=RANGES)))
    assert (grid.search, grid.study, len(make_trials(grid))) == ("grid", False, 2)
    assert (drawn.search, drawn.study, len(make_trials(drawn))) == ("random", False, 3)
    named = read_spec(write_spec(tmp_path, spec_with(sweep="search = 'random'", ranges=RANGES)))
    assert make_trials(named) == make_trials(
        read_spec(write_spec(tmp_path, spec_with(ranges=RANGES)))
    )


def test_the_space_is_optunas_distributions_and_choices_come_back_as_given(
    tmp_path: Path,
) -> None:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    text = spec_with(
        sweep="search = 'tpe'\ntrials = 4",
        settings="validation_split = 0.1",
        ranges=f"{RANGES}\ndropout = {{ uniform = [0.0, 0.4] }}\n"
        "batch_size = { log_uniform = [16, 256] }\n"
        "hidden = { choice = [[64], [128, 64]] }\noptimizer = { choice = ['sgd', 'adam'] }",
    )
    spec = read_spec(write_spec(tmp_path, text))
    found = space(spec)
    assert found == {
        "learning_rate": FloatDistribution(0.001, 0.3, log=True),
        "dropout": FloatDistribution(0.0, 0.4),
        "batch_size": IntDistribution(16, 256, log=True),
        "hidden": CategoricalDistribution(["[64]", "[128,64]"]),
        "optimizer": CategoricalDistribution(["sgd", "adam"]),
    }
    params = {"learning_rate": 0.01, "dropout": 0.1, "batch_size": 32, "hidden": "[128,64]",
              "optimizer": "adam"}  # fmt: skip
    swept = swept_values(spec, params)
    assert swept["hidden"] == [128, 64] and swept["optimizer"] == "adam"
    trial = study_trial(spec, 11, swept)
    assert trial.id == "trial-012" and trial.settings["hidden"] == [128, 64]
    assert trial.settings["batch_size"] == 32 and trial.settings["validation_split"] == 0.1


def test_reading_a_study_spec_loads_no_optuna() -> None:
    code = (
        "import sys, glassnet, glassnet.sweep, glassnet.cli.sweep; "
        "print(' '.join(m for m in sys.modules if m.split('.')[0] in ('optuna', 'optuna_integration')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""


def test_dry_run_of_a_study_says_its_space_and_makes_nothing(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_spec(isolated, STUDY_SPEC)
    before = listing(isolated)
    code, out, err = run_main(["sweep", "spec.toml", "--dry-run"], capsys)
    assert code == 0
    assert out.splitlines() == [
        "learning_rate  log_uniform 0.0003, 0.5",
        "hidden  choice [16], [32]",
    ]
    assert "a study of 8 trials by the tpe sampler, asha pruner" in err
    assert listing(isolated) == before


def test_a_study_without_a_validation_split_is_one_line_and_makes_nothing(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_spec(isolated, STUDY_SPEC.replace("validation_split = 0.1", ""))
    before = listing(isolated)
    code, out, err = run_main(["sweep", "spec.toml"], capsys)
    assert (code, out) == (1, "")
    assert "validation_split = 0.1 in [settings]" in one_line_error(err, "sweep")
    assert listing(isolated) == before


# ----------------------------------------------------------- the study and the sweep folder
def record(trial_id: str, status: str, epochs: int, val: float | None) -> TrialOutcome:
    figures = {"final_val_accuracy": val, "best_val_accuracy": val, "final_test_accuracy": val,
               "best_test_accuracy": val, "epochs": epochs}  # fmt: skip
    return TrialOutcome(trial_id, status, figures, 1.0, "tcp://127.0.0.1:1")


def test_a_study_cut_off_is_reconciled_with_its_folder_when_opened_again(tmp_path: Path) -> None:
    """A trial recorded but never told is told; a trial cut off while running is told as failed
    and its values are queued, to be the next trial asked."""
    spec = read_spec(write_spec(tmp_path, STUDY_SPEC))
    first = check_study(spec)
    listing_ = study_listing(spec.search, spec.pruner, {}, first.settings)
    folder = SweepFolder.prepare(tmp_path / "sweep", spec.text, listing_)
    study = Study(folder, spec, 3, None)
    told, recorded_only, cut_off = (study.study.ask(study.space) for _ in range(3))
    for handle, status in ((told, "done"), (recorded_only, "pruned")):
        handle.report(0.4, 1)
        folder.record(record(study.trial(handle).id, status, 1, 0.4))
    study.study.tell(told.number, 0.4)
    assert [t.state.name for t in study.study.trials] == ["COMPLETE", "RUNNING", "RUNNING"]

    again = Study(folder, spec, 3, None)  # as a sweep run again opens it
    records = folder.records()
    again.reconcile(records)
    states = [t.state.name for t in again.study.trials]
    assert states == ["COMPLETE", "PRUNED", "FAIL", "WAITING"]
    assert again.finished(records) == 2
    assert [t.id for t in again.trials(records)] == ["trial-001", "trial-002"]
    retry = again.study.ask(again.space)
    assert retry.params == cut_off.params and retry.user_attrs == {"retry_of": 2}


def test_a_journal_left_by_a_sweep_killed_mid_write_opens_at_once_and_whole(
    tmp_path: Path,
) -> None:
    """The journal's lock file and a last line cut short, as SIGKILL mid-write would leave them:
    Optuna would wait 30 s for the lock, and fail on the next line appended after the cut one."""
    spec = read_spec(write_spec(tmp_path, STUDY_SPEC))
    listing_ = study_listing(spec.search, spec.pruner, {}, check_study(spec).settings)
    folder = SweepFolder.prepare(tmp_path / "sweep", spec.text, listing_)
    study = Study(folder, spec, 3, None)
    study.study.tell(study.study.ask(study.space), 0.9)
    journal = folder.path / STUDY
    whole = journal.read_bytes()
    (folder.path / f"{STUDY}.lock").symlink_to(journal)
    journal.write_bytes(whole + b'{"op_code": 4, "worker_id": "x", "trial_id": 1, "st')
    started = time.monotonic()
    again = Study(folder, spec, 3, None)
    again.study.tell(again.study.ask(again.space), 0.8)
    assert time.monotonic() - started < 5
    assert [t.value for t in again.study.trials] == [0.9, 0.8]
    assert journal.read_bytes().startswith(whole) and not (folder.path / f"{STUDY}.lock").exists()


def test_a_study_folder_refuses_another_study_but_not_more_trials(tmp_path: Path) -> None:
    spec = read_spec(write_spec(tmp_path, STUDY_SPEC))
    settings = check_study(spec).settings
    out = tmp_path / "sweep"
    SweepFolder.prepare(out, spec.text, study_listing("tpe", "asha", {"lr": 1}, settings))
    assert SweepFolder.find(out, study_listing("tpe", "asha", {"lr": 1}, settings)) is not None
    for other in (study_listing("tpe", "median", {"lr": 1}, settings),
                  study_listing("tpe", "asha", {"lr": 2}, settings)):  # fmt: skip
        with pytest.raises(ValueError, match="holds another sweep"):
            SweepFolder.find(out, other)


def test_the_table_says_what_pruning_saved_and_the_picture_shows_the_search(
    tmp_path: Path,
) -> None:
    spec = read_spec(write_spec(tmp_path, STUDY_SPEC))
    trials = [
        study_trial(spec, i, {"learning_rate": 0.01 * (i + 1), "hidden": [16]}) for i in range(4)
    ]
    records = {
        t.id: record(t.id, status, epochs, val).record()
        for t, (status, epochs, val) in zip(
            trials,
            [("done", 3, 0.8), ("pruned", 1, 0.3), ("pruned", 2, 0.5), ("done", 3, 0.9)],
            strict=True,
        )
    }
    rows = result_rows(trials, records)
    assert epochs_saved(rows, trials) == (3, 12)
    table = format_table(rows, spec.swept, "final_val_accuracy", "trial-004", (3, 12))
    assert "pruning stopped 2 of 4 trials early, saving 3 of 12 epochs (25%): 9 run" in table
    assert [line.split()[-1] for line in table.splitlines()[1:5]] == [
        "done",
        "pruned",
        "pruned",
        "done",
    ]
    curves = {"trial-001": [0.7, 0.75, 0.8], "trial-002": [0.3], "trial-003": [0.4, 0.5],
              "trial-004": [0.8, 0.85, 0.9]}  # fmt: skip
    path = plot_search(rows, curves, trials, "final_val_accuracy", tmp_path / "search.png")
    assert path.read_bytes().startswith(b"\x89PNG")


# --------------------------------------------------------------- whole studies on clusters
def study_states(out: Path) -> list[Any]:
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    storage = JournalStorage(JournalFileBackend(str(out / STUDY)))
    return optuna.load_study(study_name=STUDY_NAME, storage=storage).trials


def check_study_complete(out: Path, n_trials: int, epochs: int = 3) -> list[dict[str, str]]:
    """``n_trials`` trials finished, each recorded whole and told to the study as it ended: a done
    trial ran every epoch and kept its model; a pruned one stopped early, has no model, and its
    figures are those of its last epoch; the journal holds what each trial reported."""
    rows = read_results(out)
    assert len(rows) == n_trials and {r["status"] for r in rows} <= {"done", "pruned"}, rows
    frozen = {f"trial-{t.number + 1:03d}": t for t in study_states(out)}
    for row in rows:
        folder = out / "trials" / row["trial"]
        history = json.loads((folder / "history.json").read_text())
        val = [r["val_accuracy"] for r in history["rows"]]
        assert int(row["epochs"]) == len(val) and float(row["final_val_accuracy"]) == val[-1]
        trial = frozen[row["trial"]]
        assert trial.state.name == {"done": "COMPLETE", "pruned": "PRUNED"}[row["status"]]
        assert [trial.intermediate_values[e + 1] for e in range(len(val))] == val
        if row["status"] == "done":
            assert len(val) == epochs and trial.value == val[-1]
            assert (folder / "model.safetensors").is_file()
        else:
            assert len(val) < epochs and not (folder / "model.safetensors").exists()
            assert row["error"] == f"pruned after epoch {len(val)}"
    assert (out / "search.png").read_bytes().startswith(b"\x89PNG")
    return rows


def sweep_command(spec: Path, out: Path, mnist_dir: Path, *extra: str) -> list[str]:
    return [*glassnet_command(), "sweep", str(spec), "--out", str(out), "--data-dir",
            str(mnist_dir), *extra]  # fmt: skip


@pytest.mark.mnist
@pytest.mark.slow
def test_a_study_on_a_cluster_prunes_and_survives_a_worker_killed_mid_trial(
    mnist_dir: Path, tmp_path: Path
) -> None:
    from distributed import Client

    spec = write_spec(tmp_path, STUDY_SPEC)
    out = tmp_path / "sweep"
    with dask_processes(tmp_path) as dask, Client(dask.address, timeout=10) as client:
        wait_for(lambda: len(client.scheduler_info()["workers"]) == 2, 30)
        names = {w["name"]: a for a, w in client.scheduler_info()["workers"].items()}
        command = sweep_command(spec, out, mnist_dir, "--scheduler", dask.address)
        with reaped(
            subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                env=isolated_env(tmp_path), cwd=tmp_path,
            )
        ) as sweep:  # fmt: skip
            running = wait_for(lambda: executing(client, names["w0"]), 60)
            dask.workers[0].kill()  # SIGKILL: no goodbye to the scheduler
            dask.workers[0].wait()
            stdout, stderr = sweep.communicate(timeout=180)
        assert sweep.returncode == 0, stderr
        assert "Traceback" not in stderr
        assert f"study 'glassnet' in {out / STUDY}, an Optuna journal file" in stderr
        rows = check_study_complete(out, 8)
        killed = "-".join(str(running[0]).split("-")[1:3])  # "glassnet-trial-003-<token>"
        assert next(r for r in rows if r["trial"] == killed)["worker"] == names["w1"]
        pruned = [r for r in rows if r["status"] == "pruned"]
        assert pruned and len(pruned) < 8, rows
        saved = sum(3 - int(r["epochs"]) for r in pruned)
        assert f"pruning stopped {len(pruned)} of 8 trials early, saving {saved} of 24" in stdout
        assert [t.state.name for t in study_states(out)].count("FAIL") == 0

        # A second sweep in the folder while one runs is refused; a study given more trials
        # goes on with the same study.
        more = write_spec(tmp_path, STUDY_SPEC.replace("trials = 8", "trials = 10"), "more.toml")
        command = sweep_command(more, out, mnist_dir, "--scheduler", dask.address)
        with SweepFolder(out).lock():
            busy = subprocess.run(
                command, capture_output=True, text=True, env=isolated_env(tmp_path),
                cwd=tmp_path, timeout=60,
            )  # fmt: skip
        assert busy.returncode == 1 and "a sweep is running in this folder already" in busy.stderr
        before = {p: p.stat().st_mtime_ns for p in out.glob("trials/*/trial.json")}
        again = subprocess.run(
            command, capture_output=True, text=True, env=isolated_env(tmp_path), cwd=tmp_path,
            timeout=120,
        )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "8 finished already, 2 to run" in again.stderr
    check_study_complete(out, 10)
    assert {p: p.stat().st_mtime_ns for p in before} == before  # none of the 8 ran again


@pytest.mark.mnist
@pytest.mark.slow
def test_a_study_whose_sweep_is_killed_goes_on_when_run_again(
    mnist_dir: Path, tmp_path: Path
) -> None:
    """SIGKILL to the sweep mid-study: every recorded trial is kept and not run again, the trials
    cut off are tried again with the same values, and the workers give up the cut-off trials at
    their next epoch, so the study run again on the same cluster is not kept waiting."""
    from distributed import Client

    spec = write_spec(tmp_path, STUDY_SPEC.replace("epochs = 3", "epochs = 4"))
    out = tmp_path / "sweep"
    with dask_processes(tmp_path) as dask, Client(dask.address, timeout=10) as client:
        wait_for(lambda: len(client.scheduler_info()["workers"]) == 2, 30)
        command = sweep_command(spec, out, mnist_dir, "--scheduler", dask.address)
        with reaped(
            subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                env=isolated_env(tmp_path), cwd=tmp_path,
            )
        ) as sweep:  # fmt: skip
            wait_for(lambda: len(list(out.glob("trials/trial-*/trial.json"))) >= 2, 90)
            wait_for(
                lambda: any(executing(client, w) for w in client.scheduler_info()["workers"]), 30
            )
            os.kill(sweep.pid, signal.SIGKILL)
            sweep.wait()
        kept = {p: p.stat().st_mtime_ns for p in out.glob("trials/trial-*/trial.json")}
        cut_off = [t for t in study_states(out) if t.state.name == "RUNNING"]
        assert cut_off, [t.state for t in study_states(out)]
        started = time.monotonic()
        again = subprocess.run(
            command, capture_output=True, text=True, env=isolated_env(tmp_path), cwd=tmp_path,
            timeout=120,
        )  # fmt: skip
        assert again.returncode == 0, again.stderr
        assert time.monotonic() - started < 90  # not the minutes a worker would wait on a verdict
    assert f"{len(kept)} finished already, {8 - len(kept)} to run" in again.stderr
    check_study_complete(out, 8, epochs=4)
    assert {p: p.stat().st_mtime_ns for p in kept} == kept  # nothing recorded was run again
    trials = study_states(out)
    for lost in cut_off:
        assert trials[lost.number].state.name == "FAIL"
        retried = [t for t in trials if t.user_attrs.get("retry_of") == lost.number]
        if set(lost.params) == {"learning_rate", "hidden"}:
            assert len(retried) == 1 and retried[0].params == lost.params
        else:  # killed while the sampler chose its values: there are none to try again
            assert retried == []


@pytest.mark.mnist
@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_a_study_and_running_it_again_finishes_it(
    mnist_dir: Path, tmp_path: Path, signum: int
) -> None:
    """Ctrl-C to the whole process group, or SIGTERM to the sweep alone, at the worst moment
    (inside a finalizer, just after a trial is recorded); then the same command again."""
    spec = write_spec(tmp_path, STUDY_SPEC.replace("trials = 8", "trials = 6"))
    out = tmp_path / "sweep"
    args = [str(spec), "--out", str(out), "--workers", "2", "--data-dir", str(mnist_dir)]
    stopped = stop_sweep_at("finalizer", signum, tmp_path, args)
    assert stopped.returncode == 128 + signum, stopped.stderr
    assert "Traceback" not in stopped.stderr
    how = "interrupted" if signum == signal.SIGINT else "terminated"
    rows = read_results(out)
    assert 1 <= len(rows) < 6 and {r["status"] for r in rows} <= {"done", "pruned"}
    assert f"{how}; {len(rows)} trials of the study are recorded in {out}" in stopped.stderr
    kept = {p: p.stat().st_mtime_ns for p in out.glob("trials/trial-*/trial.json")}
    again = subprocess.run(
        [*glassnet_command(), "sweep", *args], capture_output=True, text=True,
        env=isolated_env(tmp_path), cwd=tmp_path, timeout=180,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert f"{len(rows)} finished already, {6 - len(rows)} to run" in again.stderr
    check_study_complete(out, 6)
    assert {p: p.stat().st_mtime_ns for p in kept} == kept
