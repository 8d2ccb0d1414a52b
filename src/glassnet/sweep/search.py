"""A study's Optuna side: its space, sampler and pruner as the spec names them, and its storage.

Only a spec that asks for a sampler (``search = "tpe"``, ``trials = N``) brings Optuna in, and only
on the machine that runs the sweep: workers train and report, and never import it. The study
lives in the sweep folder as Optuna's journal file (``study.journal``, one line per change, each
appended whole under a lock), so a sweep stopped any way at all (Ctrl-C, SIGTERM, SIGKILL) finds
every trial it asked, reported and told when it runs again, and its sampler learns from them.

The space is the spec's ``[ranges]``: ``uniform`` and ``log_uniform`` become a
``FloatDistribution`` (an ``IntDistribution`` for whole-number settings), log-scaled or not, and
``choice`` a ``CategoricalDistribution``. Optuna's categorical values are numbers, strings and
booleans; a choice of layer sizes is offered as its text (``"[256,128]"``) and read back.

The pruners, by the names a spec gives them:

- ``asha``: asynchronous successive halving, ``SuccessiveHalvingPruner(min_resource=1)`` with
  Optuna's reduction factor of 4: after epoch 1, 4, 16, ... a trial goes on only if it is in the
  best quarter of the trials that reached that epoch;
- ``hyperband``: ``HyperbandPruner(min_resource=1, max_resource=epochs, reduction_factor=3)``,
  several such brackets, each trial in one;
- ``median``: ``MedianPruner(n_startup_trials=5)``: stop a trial worse than the median of the
  earlier trials at the same epoch, once five have finished.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glassnet.errors import GlassnetError
from glassnet.sweep.spec import Range, SweepSpec
from glassnet.sweep.trials import value_text

if TYPE_CHECKING:
    import optuna

#: The study's name in its storage.
STUDY_NAME = "glassnet"
#: What the storage is, in words, for the sweep to say where its study is.
STORAGE_KIND = "an Optuna journal file (optuna.storages.journal.JournalFileBackend)"


def require_optuna() -> None:
    """A one-line :class:`GlassnetError` saying how to install Optuna, where it is missing."""
    try:
        import optuna  # noqa: F401
    except ImportError:
        raise GlassnetError(
            'a search by an Optuna sampler needs Optuna: pip install "glassnet[sweep]"'
        ) from None


def space(spec: SweepSpec) -> dict[str, optuna.distributions.BaseDistribution]:
    """The spec's ranges as Optuna's distributions, by setting name."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    found: dict[str, optuna.distributions.BaseDistribution] = {}
    for name, values in spec.ranges.items():
        if values.kind == "choice":
            found[name] = CategoricalDistribution([_choice(v) for v in values.values])
        elif values.whole:
            low, high = _whole_ends(values)
            found[name] = IntDistribution(low, high, log=values.kind == "log_uniform")
        else:
            low, high = values.values
            found[name] = FloatDistribution(low, high, log=values.kind == "log_uniform")
    return found


def space_listing(spec: SweepSpec) -> dict[str, Any]:
    """The space as the spec wrote it, for the sweep folder to know its study by."""
    return {name: {r.kind: list(r.values)} for name, r in spec.ranges.items()}


def swept_values(spec: SweepSpec, params: Mapping[str, Any]) -> dict[str, Any]:
    """A trial's settings from the values the sampler chose: choices back as the spec gave them."""
    swept = {}
    for name, values in spec.ranges.items():
        value = params[name]
        if values.kind == "choice":
            value = next(v for v in values.values if _choice(v) == value)
        swept[name] = value
    return swept


def make_sampler(spec: SweepSpec, resumed: int) -> optuna.samplers.BaseSampler:
    """The spec's sampler, seeded by its seed and by how many trials the study holds already, so
    that a study run again draws afresh rather than repeat its first draws."""
    import optuna

    seed = spec.seed + 1_000_003 * resumed
    if spec.search == "tpe":
        return optuna.samplers.TPESampler(seed=seed, constant_liar=True)
    if spec.search == "qmc":
        return optuna.samplers.QMCSampler(seed=spec.seed, scramble=True)  # a sequence: one seed
    return optuna.samplers.RandomSampler(seed=seed)


def make_pruner(spec: SweepSpec, epochs: int) -> optuna.pruners.BasePruner:
    """The spec's pruner (see the module docstring); ``epochs`` is each trial's full length."""
    import optuna

    if spec.pruner == "asha":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=4)
    if spec.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=1, max_resource=max(epochs, 1), reduction_factor=3
        )
    if spec.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5)
    return optuna.pruners.NopPruner()


def open_study(path: Path, spec: SweepSpec, epochs: int) -> optuna.Study:
    """The study stored in the journal file ``path``, made there if new, maximizing the trials'
    validation accuracy. The caller holds the sweep folder's lock (see :func:`clear_leftovers`)."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the sweep says what happens itself
    clear_leftovers(path)
    storage = JournalStorage(JournalFileBackend(str(path)))
    held = 0
    if any(s.study_name == STUDY_NAME for s in storage.get_all_studies()):
        held = len(optuna.load_study(study_name=STUDY_NAME, storage=storage).trials)
    return optuna.create_study(
        storage=storage,
        study_name=STUDY_NAME,
        sampler=make_sampler(spec, held),
        pruner=make_pruner(spec, epochs),
        direction="maximize",
        load_if_exists=True,
    )


def clear_leftovers(path: Path) -> None:
    """Clear what a sweep killed while it wrote the journal ``path`` may have left: the journal's
    lock file (Optuna would wait 30 s before taking it as stale), and a last line cut short.

    Only a sweep holding the sweep folder's lock opens the journal, so when one opens it no other
    process is writing it: a lock file there is a dead sweep's, and a line without its newline is a
    change that sweep never saw made (every change is appended as whole lines, then synced).
    """
    path.with_name(path.name + ".lock").unlink(missing_ok=True)
    if not path.is_file():
        return
    with open(path, "rb+") as journal:
        if journal.seek(0, 2) == 0:
            return
        journal.seek(-1, 2)
        if journal.read(1) != b"\n":
            journal.seek(0)
            journal.truncate(journal.read().rfind(b"\n") + 1)


def _choice(value: Any) -> Any:
    """A choice as Optuna may store it: layer sizes (a list) as their text."""
    return value_text(value) if isinstance(value, list) else value


def _whole_ends(values: Range) -> tuple[int, int]:
    import math

    low, high = values.values
    return math.ceil(low), math.floor(high)


__all__ = [
    "STORAGE_KIND",
    "STUDY_NAME",
    "clear_leftovers",
    "make_pruner",
    "make_sampler",
    "open_study",
    "require_optuna",
    "space",
    "space_listing",
    "swept_values",
]
