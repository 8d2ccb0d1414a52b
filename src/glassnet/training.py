"""The training loop: mini-batch gradient descent, epoch after epoch.

Each epoch shuffles the training set with a seeded ``numpy.random.Generator`` (so one seed gives one
run), cuts it into mini-batches of ``batch_size`` rows, and for each batch lets the network's engine
take one step: forward, backpropagate, update (:meth:`glassnet.engine.Engine.step`). After each epoch
it records what makes learning visible (losses, accuracies, the learning rate, and per layer the
gradient norm, the weight norm and the fraction of saturated or dead units) in a :class:`History`.

Around that core sit the post's named next steps and the habits of careful training: learning-rate
schedules, weight decay, dropout, gradient clipping, a validation split, early stopping that restores
the best weights, on-the-fly augmentation, a stop with a clear message when the loss diverges, and a
snapshot of the whole training state after every epoch so an interrupted run can resume exactly.

The loop is written against the network's public attributes and its engine's interface; it imports
nothing of :mod:`glassnet.network`, which calls it for :meth:`~glassnet.Network.fit`.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np
from numpy.typing import ArrayLike, NDArray
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from glassnet import trainingdata
from glassnet.augment import augmentation_of
from glassnet.config import RULES, TrainConfig
from glassnet.engine import Choice, Engine, select_engine
from glassnet.engine.prefetch import HELPER_BYTES, ShuffledCopy, cores
from glassnet.errors import InputError, TrainingDivergedError
from glassnet.history import EpochPrinter, History, TrainingInterrupted, TrainingState
from glassnet.losses import cross_entropy
from glassnet.metrics import correct_count, evaluate, layer_statistics
from glassnet.schedules import Constant
from glassnet.trainingdata import Labels, TrainingData

if TYPE_CHECKING:
    from glassnet.network import Network

Array = NDArray[np.floating[Any]]
PROBE_SIZE = 1024  # training samples used for the per-epoch gradient and saturation figures

Callback = Callable[[dict[str, Any], TrainingState], None]


def train(
    network: Network,
    X: ArrayLike,
    y: ArrayLike,
    config: TrainConfig | None = None,
    *,
    validation_data: tuple[ArrayLike, ArrayLike] | None = None,
    test_data: tuple[ArrayLike, ArrayLike] | None = None,
    callbacks: Sequence[Callback] = (),
    verbose: int = 0,
    progress: bool | None = None,
    log: TextIO | None = None,
    resume: TrainingState | None = None,
    image_shape: tuple[int, int] | None = None,
    engine_choice: Choice | None = None,
    live_plot: bool = False,
    sample_weight: ArrayLike | None = None,
    class_weight: str = "none",
    **settings: Any,
) -> History:
    """Train ``network`` in place and return its :class:`History`.

    Parameters
    ----------
    network : Network
    X : (n, n_inputs) array or (n, height, width) images
        Raw training inputs; standardized here with statistics of these rows only (unless the
        network already carries a standardizer).
    y : (n,) array of int
        Class labels.
    config : TrainConfig, optional
        The settings, checked when it was made; or give them as keywords (``**settings``).
    validation_data : (X_val, y_val), optional
        Held-out data evaluated after every epoch; otherwise ``validation_split`` of the training
        rows is held out (never the test set). Early stopping watches its loss.
    test_data : (X_test, y_test), optional
        Evaluated after every epoch for the record only: nothing in training looks at it.
    callbacks : sequence of callables
        Each is called as ``callback(row, state)`` after every epoch.
    verbose : int
        0: quiet; 1: a line per epoch (to ``log``, standard error by default); 2: also the per-layer
        gradient norms and saturated fractions.
    progress : bool, optional
        A progress bar within each epoch; by default only when standard error is a terminal.
    resume : TrainingState, optional
        Continue from a snapshot taken by an earlier call with the same data and settings.
    image_shape : (height, width), optional
        Needed for shift augmentation when ``X`` is given as rows; inferred for square inputs.
    sample_weight : (n,) array, optional
        Each training sample's weight ``wᵢ ≥ 0`` in the loss, ``(1/m) Σᵢ wᵢ cᵢ`` over a batch: 2 counts
        a sample twice, 0 leaves it out. ``class_weight="balanced"`` multiplies them by its class
        weights. The reported losses and accuracies stay unweighted.
    class_weight : {"none", "balanced"}
        ``balanced`` weighs each sample by ``n / (classes · its class's count)``, so that every
        class counts alike in the loss however rare (scikit-learn's ``"balanced"``).
    live_plot : bool
        In a Jupyter notebook, a chart of the loss and accuracy that grows as epochs end
        (:class:`glassnet.notebook.LivePlot`, which needs matplotlib and IPython).
    engine_choice : glassnet.engine.Choice, optional
        The engine already chosen for ``config`` (:func:`glassnet.engine.select_engine`), by a
        caller that said which; chosen here otherwise.
    **settings
        Fields of :class:`~glassnet.settings.TrainConfig`.
    """
    if config is None:
        config = TrainConfig.from_keywords(settings)
    elif settings:
        raise InputError(
            f"give the training settings as a TrainConfig or as keywords, not both "
            f"(config= and {', '.join(sorted(settings))})"
        )
    if live_plot:
        from glassnet.notebook import LivePlot

        callbacks = [*callbacks, LivePlot()]
    engine = network.use_engine((engine_choice or select_engine(config.engine, config)).name)
    data = trainingdata.prepare(
        network, config, X, y, validation_data, test_data, resume, image_shape, sample_weight,
        RULES["class_weight"].check("class_weight", class_weight),
    )  # fmt: skip
    loop = _Loop(network, engine, config, data)
    if resume is not None:
        loop.restore(resume)
    printer = EpochPrinter(log or sys.stderr, config.epochs, verbose >= 2) if verbose else None
    try:
        with threadpool_limits(limits=loop.blas_threads):
            while loop.epoch < config.epochs and not loop.history.stopped:
                row = loop.run_epoch(progress)
                if printer:
                    printer(row, loop.history)
                for callback in callbacks:
                    callback(row, loop.last_state)
    except KeyboardInterrupt:
        # Wherever Ctrl-C lands, the snapshot after the last completed epoch is consistent.
        raise TrainingInterrupted(loop.last_state) from None
    finally:
        loop.shuffle.close()
    if not loop.history.stopped:
        loop.history.stopped = f"completed {config.epochs} epoch{'s' if config.epochs != 1 else ''}"
    loop.finish()
    network.training_settings = config.to_dict()
    network.metrics = _last_figures(loop.history)
    return loop.history


def _last_figures(history: History) -> dict[str, Any]:
    """How well the last epoch did, for the network to carry (and a model file to record): its
    losses and accuracies on each split it was measured on, and the epochs trained."""
    last = history.rows[-1] if history.rows else {}
    names = (
        "train_loss",
        "train_accuracy",
        "val_loss",
        "val_accuracy",
        "test_loss",
        "test_accuracy",
    )
    figures = {name: last[name] for name in names if last.get(name) is not None}
    return {**figures, "epochs": len(history.rows)}


class _Loop:
    """The state of one training run, advanced an epoch at a time."""

    def __init__(
        self, network: Network, engine: Engine, config: TrainConfig, data: TrainingData
    ) -> None:
        self.network, self.engine, self.config, self.data = network, engine, config, data
        n = len(data.X)
        self.steps = math.ceil(n / config.batch_size)
        self.rng = np.random.default_rng(config.seed)
        self.optimizer = config.make_optimizer()
        self.schedule = config.make_schedule(self.steps)
        self.rate = config.learning_rate  # the last step's learning rate
        # The shuffled epoch, so that each mini-batch is a contiguous slice; and the probabilities
        # of every training sample, which the steps write for the epoch's loss and accuracy.
        self.X_epoch, self.Y_epoch = np.empty_like(data.X), np.empty_like(data.Y)
        # The samples' weights, shuffled with them (None: all alike).
        pairs = [(data.X, self.X_epoch), (data.Y, self.Y_epoch)]
        self.W_epoch = None
        if data.weights is not None:
            self.W_epoch = np.empty_like(data.weights)
            pairs.append((data.weights, self.W_epoch))
        self.P_epoch = np.empty((n, network.n_classes), network.dtype)
        self.augmentation = augmentation_of(
            data.image_shape, config.augment_shift, config.augment_affine,
            config.augment_elastic, config.seed, data.blank, data.unit, config.augment_flip,
        )  # fmt: skip
        distorts = self.augmentation is not None and self.augmentation.distorts
        # Distorting images costs far more than copying them: worth a thread at any size.
        helper = cores() > 1 and (self.X_epoch.nbytes >= HELPER_BYTES or distorts)
        # BLAS threads for the products. Distorted images are made on a core of their own while
        # training goes on: the products then keep to one thread, as three busy threads on two
        # cores (two BLAS threads and the helper) cost an epoch several times its time.
        self.blas_threads = 1 if distorts and helper else engine.blas_threads(config.batch_size)
        self.shuffle = ShuffledCopy(
            pairs,
            config.batch_size,
            helper=helper,
            # A core is free while training when the products run on one BLAS thread.
            ahead=self.blas_threads == 1,
            changes=self.augmentation is not None,
        )
        # Runs of steps that an engine may take in one call: cut where the shuffled copy's next
        # part must be ready, and about fifty times an epoch for the progress bar and the check
        # that the weights are finite.
        cuts = sorted({*range(0, self.steps, max(1, self.steps // 50)), *self.shuffle.starts})
        self.runs = list(zip(cuts, [*cuts[1:], self.steps], strict=True))
        self.epoch = 0
        self.history = History()
        self.best_parameters: Array | None = None
        self.best_loss = math.inf
        self.bad_epochs = 0
        self.last_good = network.get_flat_parameters()
        self.last_state = self.snapshot()
        # A loss far above where training started means the steps overshoot, even when bounded
        # activations keep every weight finite.
        # With sample weights, the loss they weigh: a weighted run may rightly trade some of the
        # plain loss for the rare classes' sake.
        probe = slice(0, PROBE_SIZE)
        weights = None if data.weights is None else data.weights[probe]
        start_loss = cross_entropy(engine.forward(data.X[probe]), data.labels[probe], weights)
        self.divergence_loss = 2.0 * max(start_loss, math.log(network.n_classes))

    # -- one epoch
    def run_epoch(self, progress: bool | None) -> dict[str, Any]:
        """Shuffle, take every step of the epoch, and record how it went.

        The steps go to the engine a run at a time (see ``self.runs``). After each run the progress
        bar moves and the run's probabilities are checked for being finite: weights that overflowed
        make the next forward pass NaN, and checking the probabilities costs a fraction of checking
        every weight (600,000 of them in the wide network). The weights are checked at the end.
        """
        started = time.perf_counter()
        labels = self._begin_epoch()
        engine, shuffle, bs = self.engine, self.shuffle, self.config.batch_size
        bar = tqdm(
            total=self.steps,
            disable=None if progress is None else not progress,
            leave=False,
            unit="batch",
            desc=f"epoch {self.epoch + 1}/{self.config.epochs}",
            file=sys.stderr,
            mininterval=0.5,
        )
        # Overflow is how divergence begins; it is caught by the finiteness checks, with a message
        # saying what to do, rather than as a stream of NumPy warnings.
        with bar, np.errstate(over="ignore", invalid="ignore"):
            for start, stop in self.runs:
                if start == shuffle.next_step:
                    shuffle.advance()  # this part of the copy is ready; start the next
                engine.steps(
                    self.X_epoch, self.Y_epoch, self.optimizer, self._rates(start, stop),
                    start=start, count=stop - start, batch_size=bs, dropout=self.config.dropout,
                    rng=self.rng, clip_norm=self.config.clip_norm, out=self.P_epoch,
                    sample_weight=self.W_epoch, max_norm=self.config.max_norm,
                )  # fmt: skip
                bar.update(stop - start)
                if not np.isfinite(self.P_epoch[start * bs : stop * bs]).all():
                    self._diverged(stop - 1)
            if not np.isfinite(engine.params.flat).all():
                self._diverged(self.steps - 1)
        self.epoch += 1
        return self._end_of_epoch(labels, time.perf_counter() - started)

    def _rates(self, start: int, stop: int) -> float | list[float]:
        """The learning rates of steps ``start .. stop − 1`` of this epoch: one number when the
        schedule keeps it constant, else one per step."""
        if isinstance(self.schedule, Constant):
            return self.rate
        rate, epoch, steps = self.config.learning_rate, self.epoch, self.steps
        rates = [rate * self.schedule(epoch + s / steps) for s in range(start, stop)]
        self.rate = rates[-1]
        return rates

    def _begin_epoch(self) -> Labels:
        """Shuffle and augment (the first part of the copy now, the rest as training goes)."""
        order = self.rng.permutation(len(self.data.X))
        augmentation, epoch, inputs = self.augmentation, self.epoch, self.X_epoch[:, :-1]

        def change(lo: int, hi: int) -> None:  # rows lo..hi − 1 of the copy, once copied
            augmentation.apply(inputs, lo, hi, epoch)  # type: ignore[union-attr]

        self.shuffle.change = change if augmentation is not None else None
        self.shuffle.begin(order)
        return self.data.labels[order]

    def _end_of_epoch(self, labels: Labels, seconds: float) -> dict[str, Any]:
        row = self._epoch_row(labels, seconds)
        self._early_stopping(row)
        self.last_good = self.network.get_flat_parameters()
        self.last_state = self.snapshot()
        return row

    def _diverged(self, step: int | None, loss: float | None = None) -> None:
        """Restore the last good epoch's weights and stop with a message saying what to try."""
        lr = self.rate
        self.network.set_flat_parameters(self.last_good)
        self.history.stopped = "diverged"
        epoch = self.epoch + 1 if step is not None else self.epoch  # counted already at epoch end
        where = f"epoch {epoch}" + (f" (step {step + 1})" if step is not None else "")
        what = (
            "the weights became NaN or infinite"
            if loss is None
            else f"the loss rose to {loss:.3g}, more than twice where it started"
        )
        error = TrainingDivergedError(
            f"training diverged in {where}: {what} at learning rate {lr:g}; try a smaller "
            f"learning rate (e.g. {lr / 10:g}), a clip on the gradient norm, or a warm-up"
        )
        error.history = self.history
        raise error

    def _epoch_row(self, labels: Labels, seconds: float) -> dict[str, Any]:
        row: dict[str, Any] = {
            "epoch": self.epoch,
            "train_loss": cross_entropy(self.P_epoch, labels),
            "train_accuracy": correct_count(self.P_epoch, labels) / len(labels),
            "val_loss": None,
            "val_accuracy": None,
            "test_loss": None,
            "test_accuracy": None,
            "learning_rate": self.rate,
            "seconds": seconds,
        }
        loss = row["train_loss"]
        if self.W_epoch is not None:  # the loss the weights say, as divergence_loss is
            loss = cross_entropy(self.P_epoch, labels, self.W_epoch)
        if not math.isfinite(loss) or loss > self.divergence_loss:
            self._diverged(None, loss)
        if self.data.val is not None:
            row["val_loss"], row["val_accuracy"] = evaluate(self.engine, *self.data.val)
        if self.data.test is not None:
            row["test_loss"], row["test_accuracy"] = evaluate(self.engine, *self.data.test)
        row.update(
            layer_statistics(self.engine, self.data.X[:PROBE_SIZE], self.data.Y[:PROBE_SIZE])
        )
        self.history.rows.append(row)
        return row

    def _early_stopping(self, row: dict[str, Any]) -> None:
        loss = row["val_loss"] if row["val_loss"] is not None else row["train_loss"]
        if loss < self.best_loss:
            self.best_loss, self.bad_epochs = loss, 0
            self.history.best_epoch = self.epoch
            if self.config.patience:
                self.best_parameters = self.network.get_flat_parameters()
        else:
            self.bad_epochs += 1
        if self.config.patience and self.bad_epochs >= self.config.patience:
            self.history.stopped = (
                f"early stop after epoch {self.epoch}: no better loss for {self.bad_epochs} "
                f"epochs; restored the weights of epoch {self.history.best_epoch}"
            )

    def finish(self) -> None:
        if self.config.patience and self.best_parameters is not None:
            self.network.set_flat_parameters(self.best_parameters)

    # -- snapshots
    def snapshot(self) -> TrainingState:
        return TrainingState(
            epoch=self.epoch,
            parameters=self.network.get_flat_parameters(),
            optimizer=self.optimizer.state_dict(),
            rng_state=dict(self.rng.bit_generator.state),
            history=self.history.copy(),
            best_parameters=None if self.best_parameters is None else self.best_parameters.copy(),
            best_loss=self.best_loss,
            bad_epochs=self.bad_epochs,
            standardizer=self.network.standardizer,
        )

    def restore(self, state: TrainingState) -> None:
        self.epoch = state.epoch
        self.network.set_flat_parameters(state.parameters)
        self.optimizer.load_state_dict(state.optimizer, [self.engine.params.flat])
        self.rng.bit_generator.state = state.rng_state
        self.history = state.history.copy()
        self.best_parameters = state.best_parameters
        self.best_loss, self.bad_epochs = state.best_loss, state.bad_epochs
        self.last_good = self.network.get_flat_parameters()
        self.last_state = self.snapshot()


__all__ = [
    "Callback",
    "History",
    "TrainConfig",
    "TrainingInterrupted",
    "TrainingState",
    "train",
]
