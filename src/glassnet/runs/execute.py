"""The life of a training run, in one place: settings in, a folder with a tested model out.

:func:`run` checks nothing twice and creates nothing early: with its :class:`RunSettings` already
checked, it loads the data, builds the network, and only then makes the run folder and writes
``settings.toml``. It trains with a checkpoint and the history written as epochs end, tests the
network, saves the model, and removes the checkpoint. :func:`resume` continues a run from its folder's
checkpoint, bit for bit. Both return a :class:`RunResult`; Ctrl-C saves the last completed epoch and
raises :class:`RunInterrupted`. ``glassnet train`` is these two functions and some printing.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from glassnet import datasets, memory
from glassnet.checkpoint import load_checkpoint, save_checkpoint
from glassnet.engine import Choice, select_engine
from glassnet.errors import InputError, short
from glassnet.history import History, TrainingInterrupted, TrainingState
from glassnet.network import Network
from glassnet.preprocess import input_scaling
from glassnet.runs.folder import (
    CHECKPOINT,
    LOCK,
    MAX_RECORDED_TEXT,
    MODEL,
    SETTINGS,
    RunLock,
    check_recordable,
    new_run_dir,
    read_settings,
    write_history,
    write_settings,
)
from glassnet.settings import RunSettings
from glassnet.training import Callback, train

#: A checkpoint and the history are written after every epoch that ends this long after the last
#: write, and after any epoch if writing them costs at most WRITE_SHARE of the time between writes.
CHECKPOINT_SECONDS = 10.0
WRITE_SHARE = 0.01


@dataclass
class RunResult:
    """What a finished run produced; the same is on disk in ``folder``."""

    folder: Path
    settings: RunSettings
    network: Network
    history: History
    test_accuracy: float
    test_size: int
    seconds: float
    #: A word of warning about the result (training that stayed near chance), or None.
    warning: str | None = None


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C (or a signal made to act like it) stopped training; the first ``epoch`` epochs are
    saved in ``folder`` (0: none)."""

    def __init__(self, folder: Path, epoch: int) -> None:
        super().__init__(f"training interrupted after epoch {epoch}")
        self.folder, self.epoch = folder, epoch


def run(
    settings: RunSettings,
    folder: str | Path | None = None,
    *,
    runs_dir: str | Path = "runs",
    log: TextIO | None = None,
    verbose: int = 1,
    progress: bool | None = None,
    callbacks: Sequence[Callback] = (),
) -> RunResult:
    """Train, test and save a network as ``settings`` say, in a new run folder.

    Parameters
    ----------
    settings : RunSettings
    folder : path, optional
        The run folder; it must be new or empty. By default a new folder
        ``<runs_dir>/<date>-<time>-<dataset>-<preset>``.
    log : text stream, optional
        Where to write what happens (a line per epoch with ``verbose``); nothing by default.
    verbose : int
        1: a line per epoch; 2: also the per-layer gradient figures.
    progress : bool, optional
        A progress bar within epochs; by default where ``log`` is a terminal.
    callbacks : sequence of callables
        Called as ``callback(row, state)`` after every epoch, after the run's own checkpointing (a
        sweep's trial reports to its search this way); one that raises stops the run there.
    """
    # The engine is chosen once, before anything is loaded: one that cannot run stops here.
    engine = select_engine(settings.training.engine, settings.training)
    data = _load_data(settings)
    network = _build_network(settings, data)
    settings = dataclasses.replace(settings, initializer=network.initializer, **_provenance(data))
    _check_recordable(settings, data)
    folder, created = _new_folder(folder, runs_dir, settings)
    try:
        with RunLock(folder):
            write_settings(folder, settings.to_dict())
            return _train(
                settings, engine, folder, network, data, None, log, verbose, progress, callbacks
            )
    except BaseException:
        # A run that stopped before its first epoch (bad data for these settings, Ctrl-C while
        # starting) leaves nothing behind: its folder holds only what this call wrote.
        _remove_if_unstarted(folder, created)
        raise


def resume(
    folder: str | Path,
    *,
    epochs: int | None = None,
    data_dir: str | None = None,
    engine: str | None = None,
    log: TextIO | None = None,
    verbose: int = 1,
    progress: bool | None = None,
) -> RunResult:
    """Continue the run in ``folder`` from its checkpoint, with the settings it was started with.

    ``epochs`` extends (or sets) how many epochs it trains in all; ``data_dir`` says where the data
    is now; ``engine`` lets another engine continue (the numbers are the same up to rounding). The
    other arguments are as for :func:`run`.
    """
    folder = Path(folder)
    if not (folder / SETTINGS).is_file():
        raise InputError(f"{folder}: not a run folder (no {SETTINGS})")
    flat = read_settings(folder / SETTINGS, regular=True)
    if epochs is not None:
        flat["epochs"] = epochs
    if data_dir is not None:
        flat["data_dir"] = data_dir
    if engine is not None:
        flat["engine"] = engine
    settings = RunSettings.from_dict(flat, str(folder / SETTINGS))
    choice = select_engine(settings.training.engine, settings.training)
    with RunLock(folder):
        data = _load_data(settings)
        _check_recordable(settings, data)
        network = _build_network(settings, data)
        state = load_checkpoint(folder / CHECKPOINT, network)
        saved = state.optimizer.get("name")
        if saved is not None and saved != settings.training.optimizer:
            raise InputError(
                f"{folder}: the checkpoint was trained with optimizer {saved}, but "
                f"{SETTINGS} now says {settings.training.optimizer}; a run continues with the "
                "optimizer it started with"
            )
        if settings.training.epochs <= state.epoch:
            raise InputError(
                f"{folder}: the run has trained {state.epoch} of its epochs already; to continue "
                f"it, give more epochs in all (--epochs {state.epoch + 1} or more)"
            )
        return _train(settings, choice, folder, network, data, state, log, verbose, progress)


def _remove_if_unstarted(folder: Path, created: bool) -> None:
    """Take back what a run that never finished an epoch wrote: its settings, and its folder if
    this run made it."""
    names = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    if names <= {SETTINGS, LOCK}:
        for name in names:
            (folder / name).unlink(missing_ok=True)
        if created:
            folder.rmdir()


def _load_data(settings: RunSettings) -> datasets.Dataset:
    """The data the settings name; refused if it is not the data their ``data_sha256`` records."""
    from glassnet.datasets.choose import load_for_settings

    data = load_for_settings(settings.to_dict())
    if settings.data_sha256 is not None and data.sha256 != settings.data_sha256:
        raise InputError(
            f"{data.directory}: the data has changed since the run that recorded it: its SHA-256 "
            f"is {data.sha256}, the settings record {settings.data_sha256}; to train on it as it "
            "is now, leave data_sha256 out of the settings (or give --data-sha256 '')"
        )
    return data


def _provenance(data: datasets.Dataset) -> dict[str, Any]:
    """What a run records of its data, so ``--config`` repeats it and ``evaluate`` can compare:
    the data's SHA-256, a folder's or table's full path, and a table's feature columns."""
    recorded: dict[str, Any] = {"data_sha256": data.sha256}
    if data.name in ("pictures", "table"):
        recorded["data"] = str(Path(data.directory).resolve())
    joined = ",".join(data.feature_names)
    if data.feature_names and len(joined) <= MAX_RECORDED_TEXT:
        recorded["features"] = joined
    # A wider table's features, every column but the target, are not recorded by name (that text
    # would pass what a model file holds): --config and evaluate take every column but the target
    # again, predict takes a table's columns but the target, in order, and data_sha256 (which
    # covers the column names) tells whether they are the same.
    return recorded


def _check_recordable(settings: RunSettings, data: datasets.Dataset) -> None:
    """Refuse, before anything is trained, what the run could not write and read back: text
    settings (the data's path, the target, the features) and the class names, as the model file
    bounds them (see :func:`glassnet.runs.folder.check_recordable`)."""
    from glassnet.datasets.names import check_names

    for key, value in settings.to_dict().items():
        if isinstance(value, str):
            try:
                check_recordable(value, key)
            except InputError as exc:
                if key == "features":
                    raise InputError(
                        f"{exc}; leave out --features to take every column but the target"
                    ) from None
                raise
    check_names(data.class_names, "class", data.directory, "rename it")


def _build_network(settings: RunSettings, data: datasets.Dataset) -> Network:
    """The run's network, after checking that training it fits in memory."""
    sizes = [int(np.prod(data.train_images.shape[1:])), *settings.hidden, len(data.class_names)]
    n = min(len(data.train_images), settings.train_limit or len(data.train_images))
    needed = memory.training_bytes(
        sizes, np.dtype(settings.dtype).itemsize, n, settings.training.batch_size,
        settings.training.optimizer,
    )  # fmt: skip
    memory.ensure_fits(
        needed,
        f"training hidden = {short(settings.hidden)} ({memory.n_parameters(sizes):,} parameters) "
        f"on {n:,} samples in {settings.dtype}",
    )
    network = Network(
        sizes,
        settings.activation,
        initializer=settings.initializer,
        seed=settings.training.seed,
        dtype=settings.dtype,
        class_names=data.class_names,
    )
    # Scalings other than the training loop's own (one mean and spread for all pixels) are set
    # here: the loop keeps a standardizer the network already has.
    network.standardizer = input_scaling(
        settings.scaling, data.train_images, table=data.kind == "table",
        standardize=settings.training.standardize,
    )  # fmt: skip
    return network


def _new_folder(
    folder: str | Path | None, runs_dir: str | Path, settings: RunSettings
) -> tuple[Path, bool]:
    """The run folder, and whether this call made it (rather than finding it new and empty)."""
    if folder is None:
        return new_run_dir(runs_dir, f"{settings.dataset}-{settings.label()}"), True
    out = Path(folder)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"{out}: the run folder exists and is not empty; choose another")
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    return out, created


def _train(
    settings: RunSettings,
    engine: Choice,
    folder: Path,
    network: Network,
    data: datasets.Dataset,
    state: TrainingState | None,
    log: TextIO | None,
    verbose: int,
    progress: bool | None,
    callbacks: Sequence[Callback] = (),
) -> RunResult:
    """Train with checkpoints, then test and save: the part a new and a resumed run share."""
    config = settings.training
    X, y = data.train_images, data.train_labels
    if settings.train_limit:
        X, y = X[: settings.train_limit], y[: settings.train_limit]
    _say(
        log,
        f"glassnet: {network!r}, {network.n_parameters:,} parameters, {engine}; "
        f"{len(X):,} training {'rows' if data.kind == 'table' else 'images'} of {data.name}; "
        f"run folder {folder}",
    )
    if state is not None:
        _say(log, f"glassnet: resuming after epoch {state.epoch}")
    keeper = _Keeper(folder, network, config.epochs)
    started = time.perf_counter()
    try:
        history = train(
            network, X, y, config, test_data=(data.test_images, data.test_labels),
            callbacks=[keeper, *callbacks], verbose=verbose if log else 0,
            progress=False if log is None else progress, log=log, resume=state,
            engine_choice=engine, class_weight=settings.class_weight,
        )  # fmt: skip
    except TrainingInterrupted as stop:
        keeper.save(stop.state)
        raise RunInterrupted(folder, 0 if stop.state is None else stop.state.epoch) from None
    except OSError as exc:
        raise _resumable(exc, folder) from None
    try:
        return _finish(settings, folder, network, data, history, time.perf_counter() - started)
    except OSError as exc:
        raise _resumable(exc, folder) from None


def _resumable(exc: OSError, folder: Path) -> OSError:
    """A write that failed mid-run (a full disk), saying that the run can go on from its last
    checkpoint, when it has one."""
    if not (folder / CHECKPOINT).is_file() or not exc.strerror:
        return exc
    again = OSError(
        exc.errno,
        f"{exc.strerror}; the run is kept up to its last checkpoint: make room, then continue it "
        f"with: glassnet train --resume {folder}",
        exc.filename,
    )
    again.__traceback__ = exc.__traceback__
    return again


def _finish(
    settings: RunSettings,
    folder: Path,
    network: Network,
    data: datasets.Dataset,
    history: History,
    seconds: float,
) -> RunResult:
    """Test the trained network, save it and the history, and drop the checkpoint."""
    test_accuracy = network.score(data.test_images, data.test_labels)
    last = history.rows[-1]
    network.metrics = {
        "test_accuracy": test_accuracy,
        "test_size": len(data.test_labels),
        **_per_class(network, data),
        "train_loss": last["train_loss"],
        "val_accuracy": last["val_accuracy"],
        "epochs": len(history.rows),
        "seconds": round(seconds, 3),
    }
    history.test_accuracy = test_accuracy
    network.save(folder / MODEL, settings=settings.to_dict(), metrics=network.metrics)
    write_history(folder, history)
    (folder / CHECKPOINT).unlink(missing_ok=True)
    chance = 1.0 / network.n_classes
    warning = None
    if last["train_accuracy"] < 2.0 * chance:
        warning = (
            f"training did not converge: training accuracy {last['train_accuracy']:.1%} is near "
            f"chance ({chance:.0%}); try another --learning-rate, more --epochs, or "
            "--initializer glorot/he"
        )
    return RunResult(
        folder, settings, network, history, test_accuracy, len(data.test_labels), seconds, warning
    )


def _per_class(network: Network, data: datasets.Dataset, most: int = 10) -> dict[str, Any]:
    """The test set's accuracy per class, and the confusions it makes most: ``[true class,
    predicted class, count]``, the largest first (at most ``most``), for the model file."""
    predictions = np.concatenate(
        [network.predict(data.test_images[i : i + 8192]) for i in range(0, len(data.test_images), 8192)]
    ) if len(data.test_images) else np.empty(0, np.int64)  # fmt: skip
    accuracy, confused = class_figures(data.test_labels, predictions, network.n_classes, most)
    return {"per_class_accuracy": accuracy, "most_confused": confused}


def class_figures(
    labels: Any, predictions: Any, n_classes: int, most: int = 10
) -> tuple[list[float | None], list[list[int]]]:
    """Each class's accuracy (``None`` for a class with no sample), and the ``most`` largest
    confusions as ``[true class, predicted class, count]``, without a ``k x k`` matrix: a model of
    10,000 classes would need 800 MB for one."""
    y = np.asarray(labels, dtype=np.int64)
    p = np.asarray(predictions, dtype=np.int64)
    totals = np.bincount(y, minlength=n_classes)
    right = np.bincount(y[y == p], minlength=n_classes)
    accuracy = [None if t == 0 else float(r / t) for r, t in zip(right, totals, strict=True)]
    wrong = y != p
    pairs, counts = np.unique(y[wrong] * n_classes + p[wrong], return_counts=True)
    order = np.lexsort((-pairs, -counts))[:most]  # the largest first; ties by the later pair
    confused = [
        [int(pairs[i] // n_classes), int(pairs[i] % n_classes), int(counts[i])] for i in order
    ]
    return accuracy, confused


class _Keeper:
    """The epoch callback: a checkpoint and the history, so that a killed run loses little.

    After every epoch, unless writing takes more than :data:`WRITE_SHARE` of the time between
    writes (a big network with short epochs); then at least every :data:`CHECKPOINT_SECONDS`.
    Always after the last epoch.
    """

    def __init__(self, folder: Path, network: Network, epochs: int) -> None:
        self.folder, self.network, self.epochs = folder, network, epochs
        self.last_write, self.write_seconds = time.monotonic(), 0.0

    def __call__(self, row: dict[str, Any], state: TrainingState) -> None:
        since = time.monotonic() - self.last_write
        cheap = self.write_seconds <= WRITE_SHARE * since
        if cheap or since >= CHECKPOINT_SECONDS or row["epoch"] == self.epochs:
            started = time.monotonic()
            self.save(state)
            self.last_write = time.monotonic()
            self.write_seconds = self.last_write - started

    def save(self, state: TrainingState | None) -> None:
        if state is not None and state.epoch > 0:
            save_checkpoint(self.folder / CHECKPOINT, self.network, state)
            write_history(self.folder, state.history)


def _say(log: TextIO | None, line: str) -> None:
    if log is not None:
        print(line, file=log, flush=True)
