"""Hyperparameter sweeps: many ordinary training runs, side by side on a Dask cluster.

A sweep is a spec file (:mod:`~glassnet.sweep.spec`) naming the settings every trial shares, a grid
of values to try in every combination, and ranges to draw values from (a log-uniform learning rate,
say). Each trial is an ordinary run, :func:`glassnet.runs.run` with its own
:class:`~glassnet.settings.RunSettings`, and leaves an ordinary run folder inside the sweep folder.
``glassnet sweep SPEC.toml`` is :func:`run_sweep` and some printing::

    from glassnet import sweep

    spec = sweep.read_spec("lr.toml")
    result = sweep.run_sweep(spec, "sweeps/lr")          # a local cluster, one worker per core
    print(result.best["trial"], result.best[result.figure])

The modules, one idea each:

- :mod:`~glassnet.sweep.spec`: reading and checking a spec file;
- :mod:`~glassnet.sweep.trials`: the grid's combinations and the ranges' draws, as trials;
- :mod:`~glassnet.sweep.worker`: what runs on a worker: one trial, its files sent back;
- :mod:`~glassnet.sweep.search`: a study's Optuna side: its space, sampler, pruner and storage;
- :mod:`~glassnet.sweep.study`: a study's trials asked, judged after every epoch, and told;
- :mod:`~glassnet.sweep.cluster`: a local Dask cluster, or an existing one;
- :mod:`~glassnet.sweep.folder`: the sweep folder, each trial recorded whole as it finishes;
- :mod:`~glassnet.sweep.results`: a row per trial, the best, ``results.csv`` and the table;
- :mod:`~glassnet.sweep.plot`: accuracy against each swept setting;
- :mod:`~glassnet.sweep.execute`: the whole sweep.

Dask, matplotlib and Optuna come with ``pip install "glassnet[sweep]"``; reading and checking a spec
needs none of them, and only a study (``search = "tpe"``, ``trials = N``) imports Optuna.
"""

from glassnet.sweep.execute import SweepInterrupted, SweepResult, run_sweep
from glassnet.sweep.folder import SweepFolder
from glassnet.sweep.results import format_table
from glassnet.sweep.spec import SweepSpec, parse_spec, read_spec
from glassnet.sweep.trials import Trial, make_trials
from glassnet.sweep.worker import TrialOutcome, run_trial

__all__ = [
    "SweepFolder",
    "SweepInterrupted",
    "SweepResult",
    "SweepSpec",
    "Trial",
    "TrialOutcome",
    "format_table",
    "make_trials",
    "parse_spec",
    "read_spec",
    "run_sweep",
    "run_trial",
]
