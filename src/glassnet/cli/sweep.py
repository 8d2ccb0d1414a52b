"""``glassnet sweep``: many training runs from one spec, on a Dask cluster, the best one kept."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from glassnet.cli import options

EPILOG = """\
examples:
  glassnet sweep lr.toml                          a local cluster, one worker per core
  glassnet sweep lr.toml --dry-run                list the trials, run nothing
  glassnet sweep lr.toml --scheduler tcp://10.0.0.5:8786 --data-dir /data/mnist
  glassnet sweep lr.toml --out sweeps/lr-2 --workers 4

A spec is a TOML file with [settings] every trial shares (as in a settings.toml), a [grid] of
values to try in every combination, and [ranges] to draw values from:

  [sweep]
  samples = 8                                     # draws of the ranges
  [settings]
  preset = "fast"
  validation_split = 0.1
  [grid]
  hidden = [[128], [256]]
  [ranges]
  learning_rate = { log_uniform = [0.001, 0.3] }

Or a study, by one of Optuna's samplers, trials pruned when they fall behind after an epoch:

  [sweep]
  search = "tpe"                                  # or "qmc", or "random" with trials
  trials = 30
  pruner = "asha"                                 # or "hyperband", "median", "none"
  [settings]
  epochs = 6
  validation_split = 0.1
  [ranges]
  learning_rate = { log_uniform = [0.001, 0.3] }
  hidden = { choice = [[64], [128], [256]] }

Each trial is an ordinary run, in SWEEP/trials/<trial>/. The sweep folder (default:
sweeps/<spec name>) gets results.csv, accuracy.png and the best trial's model as
best-model.safetensors; a study also keeps its Optuna journal, study.journal, and draws its
history in search.png. Run the same command again to finish an interrupted sweep: finished trials
are skipped, and a study goes on where it stopped. Exit status: 0 when every trial finished, 1
when a trial failed or the spec, the data or the cluster is wrong, 2 for a bad option, 130 after
Ctrl-C. See docs/ecosystem.md.
"""

#: Schemes of the Dask addresses --scheduler accepts.
SCHEMES = ("tcp", "tls", "ucx", "ws", "wss", "inproc")


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "sweep",
        help="a hyperparameter search on Dask: a grid, random draws, the best run kept",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("spec", metavar="SPEC", help="the sweep's spec file (TOML)")
    p.add_argument("--out", metavar="DIR", help="the sweep folder (default: sweeps/<spec name>)")
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        type=scheduler_address,
        help="an existing Dask scheduler, e.g. tcp://10.0.0.5:8786 (default: a local cluster)",
    )
    p.add_argument(
        "--workers",
        metavar="N",
        type=options.positive_int,
        help="workers of the local cluster (default: one per core)",
    )
    p.add_argument(
        "--data-dir", metavar="DIR", help="folder holding the dataset's files, for every trial"
    )
    p.add_argument("--dry-run", action="store_true", help="list the trials; run and make nothing")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no line per trial")
    p.set_defaults(func=run)


def scheduler_address(text: str) -> str:
    """A Dask scheduler's address: ``[scheme://]host:port``."""
    scheme, sep, rest = text.rpartition("://")
    if not rest or any(c.isspace() for c in text) or (sep and scheme not in SCHEMES):
        raise argparse.ArgumentTypeError(
            f"must be a Dask scheduler's address like tcp://10.0.0.5:8786, got {text!r}"
        )
    return text


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, as Ctrl-C's KeyboardInterrupt is."""


def _terminate(signum: int, frame: Any) -> None:
    raise _Terminated


def run(args: argparse.Namespace) -> int:
    """Run the sweep as the options say; SIGTERM stops it as Ctrl-C does.

    While trials run, :func:`glassnet.sweep.run_sweep` takes both signals itself (and says which
    came); the handler here covers the moments before and after it.
    """
    if args.workers and args.scheduler:
        print(
            "glassnet sweep: error: --workers sizes a local cluster; an existing cluster "
            "(--scheduler) has the workers it has (see 'glassnet sweep --help')",
            file=sys.stderr,
        )
        return 2
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return _run(args)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace) -> int:
    from glassnet import sweep

    spec = sweep.read_spec(args.spec)
    if args.dry_run:
        return _dry_run(spec, args)
    out = Path(args.out) if args.out else Path("sweeps") / Path(args.spec).stem
    try:
        result = sweep.run_sweep(
            spec,
            out,
            scheduler=args.scheduler,
            workers=args.workers,
            data_dir=args.data_dir,
            log=None if args.quiet else sys.stderr,
            progress=False if args.quiet else None,
        )
    except sweep.SweepInterrupted as stop:
        print(_stopped_line(stop), file=sys.stderr)
        return 128 + stop.signum
    return _report(spec, result, args)


def _stopped_line(stop: Any) -> str:
    """What a stopped sweep left, and what to do next."""
    how = "terminated" if stop.signum == signal.SIGTERM else "interrupted"
    if stop.result is None:
        return f"glassnet: {how} while the cluster started; no trial ran."
    rows = stop.result.rows
    done = sum(1 for r in rows if r["status"] in ("done", "diverged", "pruned"))
    if stop.result.study:
        return (
            f"glassnet: {how}; {done} trials of the study are recorded in {stop.result.folder}. "
            "Run the same command again to go on with it."
        )
    return (
        f"glassnet: {how}; {done} of {len(rows)} trials are recorded in {stop.result.folder}. "
        "Run the same command again to finish the rest."
    )


def _dry_run(spec: Any, args: argparse.Namespace) -> int:
    from glassnet.sweep.trials import check_study, describe, make_trials

    if spec.study:  # its trials are chosen as it runs: say what they are chosen from
        check_study(spec, args.data_dir)
        for name, values in spec.ranges.items():
            print(f"{name}  {values.kind} {', '.join(str(v) for v in values.values)}")
        print(
            f"a study of {spec.trials} trials by the {spec.search} sampler, {spec.pruner} pruner; "
            "nothing run (--dry-run)",
            file=sys.stderr,
        )
        return 0
    trials = make_trials(spec, args.data_dir)
    for trial in trials:
        print(f"{trial.id}  {describe(trial.swept)}")
    print(f"{len(trials)} trials; nothing run (--dry-run)", file=sys.stderr)
    return 0


def _report(spec: Any, result: Any, args: argparse.Namespace) -> int:
    """The table, the best trial and where everything is; exit 1 if a trial failed."""
    from glassnet.sweep import format_table
    from glassnet.sweep.trials import describe

    best = result.best
    epochs = (result.epochs_saved, result.epochs_planned)
    print(
        format_table(result.rows, spec.swept, result.figure, best and best["trial"], epochs), end=""
    )
    if best is not None:
        swept = {name: best[name] for name in spec.swept}
        print(
            f"best: {best['trial']}, {result.figure.replace('_', ' ')} "
            f"{best[result.figure]:.2%}: {describe(swept)}"
        )
        print(f"model: {result.best_model}")
    print(f"results: {result.folder / 'results.csv'}")
    if result.study:
        print(f"study: {result.study}")
    if result.plot is not None:
        print(f"plot: {result.plot}")
    if result.search_plot is not None:
        print(f"search plot: {result.search_plot}")
    elif result.plot_error:
        print(f"glassnet sweep: no plot: {result.plot_error}", file=sys.stderr)
    if result.failed:
        first = result.failed[0]
        print(
            f"glassnet sweep: error: {len(result.failed)} of {len(result.rows)} trials failed "
            f"({first['trial']}: {first['error']}); run the same command again to "
            + ("run others in their place" if result.study else "retry them"),
            file=sys.stderr,
        )
        return 1
    return 0
