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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np
from numpy.typing import ArrayLike, NDArray
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from glassnet.augment import random_shift
from glassnet.datasets.preprocess import Standardizer, flatten_images, one_hot
from glassnet.engine import Engine, select_engine
from glassnet.engine.prefetch import HELPER_BYTES, ShuffledCopy, cores
from glassnet.errors import TrainingDivergedError
from glassnet.history import EpochPrinter, History, TrainingInterrupted, TrainingState
from glassnet.schedules import Constant
from glassnet.settings import TrainConfig

if TYPE_CHECKING:
    from glassnet.network import Network

Array = NDArray[np.floating[Any]]
Labels = NDArray[np.int64]
PROBE_SIZE = 1024  # training samples used for the per-epoch gradient and saturation figures

Callback = Callable[[dict[str, Any], TrainingState], None]


def train(
    network: Network,
    X: ArrayLike,
    y: ArrayLike,
    *,
    validation_data: tuple[ArrayLike, ArrayLike] | None = None,
    test_data: tuple[ArrayLike, ArrayLike] | None = None,
    callbacks: Sequence[Callback] = (),
    verbose: int = 0,
    progress: bool | None = None,
    log: TextIO | None = None,
    resume: TrainingState | None = None,
    image_shape: tuple[int, int] | None = None,
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
    **settings
        Fields of :class:`~glassnet.settings.TrainConfig`.
    """
    unknown = sorted(set(settings) - set(TrainConfig.field_names()))
    if unknown:
        raise ValueError(
            f"unknown training setting {unknown[0]!r}; the settings are "
            f"{', '.join(TrainConfig.field_names())}"
        )
    config = TrainConfig(**settings)
    engine = network.use_engine(select_engine(config.engine, network.engine.params, config))
    data = _prepare_data(network, config, X, y, validation_data, test_data, resume, image_shape)
    loop = _Loop(network, engine, config, data)
    if resume is not None:
        loop.restore(resume)
    printer = EpochPrinter(log or sys.stderr, config.epochs, verbose >= 2) if verbose else None
    with threadpool_limits(limits=engine.blas_threads(config.batch_size)):
        try:
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
        loop.history.stopped = f"completed {config.epochs} epochs"
    loop.finish()
    network.training_settings = config.to_dict()
    return loop.history


@dataclass
class _Data:
    """A run's data, checked and prepared once: rows ``[X, 1]`` of the network's dtype."""

    X: Array  # (n, n_inputs + 1), standardized, with the ones column the engines read
    Y: Array  # (n, n_classes), one-hot
    labels: Labels
    val: tuple[Array, Labels] | None
    test: tuple[Array, Labels] | None
    image_shape: tuple[int, int] | None
    fill: float  # the value of a blank pixel after standardization, for shifted images


def _prepare_data(
    network: Network,
    config: TrainConfig,
    X: ArrayLike,
    y: ArrayLike,
    validation_data: tuple[ArrayLike, ArrayLike] | None,
    test_data: tuple[ArrayLike, ArrayLike] | None,
    resume: TrainingState | None,
    image_shape: tuple[int, int] | None,
) -> _Data:
    """Check the data, hold out a validation split, fit the standardizer, lay the rows out."""
    rows, labels = _check_data(network, X, y, "training")
    if image_shape is None:
        image_shape = _image_shape(np.shape(X), network.n_inputs)
    if config.augment_shift and image_shape is None:
        raise ValueError("shift augmentation needs square images or an image_shape")
    if validation_data is None and config.validation_split > 0:
        order = np.random.default_rng(config.seed + 1).permutation(len(rows))
        n_val = max(1, round(len(rows) * config.validation_split))
        val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
        validation_data = (rows[val_idx], labels[val_idx])
        rows, labels = rows[train_idx], labels[train_idx]
    if len(rows) == 0:
        raise ValueError(
            "no training samples"
            + (" left after the validation split" if config.validation_split else "")
        )
    if resume is not None:
        network.standardizer = resume.standardizer
    elif config.standardize and network.standardizer is None:
        network.standardizer = Standardizer.fit(rows)

    def held_out(
        pair: tuple[ArrayLike, ArrayLike] | None, what: str
    ) -> tuple[Array, Labels] | None:
        if pair is None:
            return None
        held_rows, held_labels = _check_data(network, *pair, what)
        if len(held_rows) == 0:
            raise ValueError(f"{what} data has no samples")
        return _prepare_with_ones(network, held_rows), held_labels

    return _Data(
        X=_prepare_with_ones(network, rows),
        Y=one_hot(labels, network.n_classes, network.dtype),
        labels=labels,
        val=held_out(validation_data, "validation"),
        test=held_out(test_data, "test"),
        image_shape=image_shape,
        fill=float(network.prepare(np.zeros((1, network.n_inputs)))[0, 0]),
    )


class _Loop:
    """The state of one training run, advanced an epoch at a time."""

    def __init__(self, network: Network, engine: Engine, config: TrainConfig, data: _Data) -> None:
        self.network, self.engine, self.config, self.data = network, engine, config, data
        n = len(data.X)
        self.steps = math.ceil(n / config.batch_size)
        self.rng = np.random.default_rng(config.seed)
        self.optimizer = config.make_optimizer()
        self.schedule = config.make_schedule(self.steps)
        # The shuffled epoch, so that each mini-batch is a contiguous slice; and the probabilities
        # of every training sample, which the steps write for the epoch's loss and accuracy.
        self.X_epoch, self.Y_epoch = np.empty_like(data.X), np.empty_like(data.Y)
        self.P_epoch = np.empty((n, network.n_classes), network.dtype)
        self.shuffle = ShuffledCopy(
            [(data.X, self.X_epoch), (data.Y, self.Y_epoch)],
            config.batch_size,
            helper=cores() > 1 and self.X_epoch.nbytes >= HELPER_BYTES,
            # A core is free while training when the products run on one BLAS thread; shifted
            # images are made from the whole copy at once.
            ahead=engine.blas_threads(config.batch_size) == 1 and not config.augment_shift,
        )
        bs = config.batch_size
        self.batches = [
            (self.X_epoch[lo : lo + bs], self.Y_epoch[lo : lo + bs], self.P_epoch[lo : lo + bs])
            for lo in range(0, n, bs)
        ]
        self.epoch = 0
        self.history = History()
        self.best_parameters: Array | None = None
        self.best_loss = math.inf
        self.bad_epochs = 0
        self.last_good = network.get_flat_parameters()
        self.last_state = self.snapshot()
        # A loss far above where training started means the steps overshoot, even when bounded
        # activations keep every weight finite.
        start_loss, _ = evaluate(engine, data.X[:PROBE_SIZE], data.labels[:PROBE_SIZE])
        self.divergence_loss = 2.0 * max(start_loss, math.log(network.n_classes))

    # -- one epoch
    def run_epoch(self, progress: bool | None) -> dict[str, Any]:
        start = time.perf_counter()
        labels = self._begin_epoch()
        bar = tqdm(
            total=self.steps,
            disable=None if progress is None else not progress,
            leave=False,
            unit="batch",
            desc=f"epoch {self.epoch + 1}/{self.config.epochs}",
            file=sys.stderr,
            mininterval=0.5,
        )
        try:
            self._steps(bar)
        finally:
            bar.close()
        self.epoch += 1
        return self._end_of_epoch(labels, time.perf_counter() - start)

    def _begin_epoch(self) -> Labels:
        """Shuffle (the first part of the copy now, the rest as training goes) and augment."""
        order = self.rng.permutation(len(self.data.X))
        self.shuffle.begin(order)
        shift, shape = self.config.augment_shift, self.data.image_shape
        if shift and shape is not None:
            inputs = self.X_epoch[:, :-1]  # without the ones column
            random_shift(inputs, shape, shift, self.rng, self.data.fill)
        return self.data.labels[order]

    def _steps(self, bar: Any) -> None:
        """Every step of the epoch, checking every ``tick`` steps that the weights stay finite."""
        cfg, engine, optimizer, shuffle = self.config, self.engine, self.optimizer, self.shuffle
        params = engine.params.flat
        constant_rate = isinstance(self.schedule, Constant)
        tick = max(1, self.steps // 50)
        # Overflow is how divergence begins; it is caught below by the finiteness checks, with a
        # message saying what to do, rather than as a stream of NumPy warnings.
        with np.errstate(over="ignore", invalid="ignore"):
            for step, (xb, yb, pb) in enumerate(self.batches):
                if step == shuffle.next_step:
                    shuffle.advance()  # this part of the copy is ready; start the next
                if not constant_rate:
                    t = self.epoch + step / self.steps
                    optimizer.learning_rate = cfg.learning_rate * self.schedule(t)
                engine.step(
                    xb, yb, optimizer, dropout=cfg.dropout, rng=self.rng, clip_norm=cfg.clip_norm,
                    out=pb,
                )  # fmt: skip
                if step % tick == tick - 1:
                    bar.update(tick)
                    if not np.isfinite(params).all():
                        self._diverged(step)
        if not np.isfinite(params).all():
            self._diverged(self.steps - 1)

    def _end_of_epoch(self, labels: Labels, seconds: float) -> dict[str, Any]:
        row = self._epoch_row(labels, seconds)
        self._early_stopping(row)
        self.last_good = self.network.get_flat_parameters()
        self.last_state = self.snapshot()
        return row

    def _diverged(self, step: int | None, loss: float | None = None) -> None:
        """Restore the last good epoch's weights and stop with a message saying what to try."""
        lr = self.optimizer.learning_rate
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
            f"--learning-rate (e.g. {lr / 10:g}), --clip-norm, or a warm-up"
        )
        error.history = self.history
        raise error

    def _epoch_row(self, labels: Labels, seconds: float) -> dict[str, Any]:
        train_loss, train_correct = _loss_and_correct(self.P_epoch, labels)
        row: dict[str, Any] = {
            "epoch": self.epoch,
            "train_loss": train_loss / len(labels),
            "train_accuracy": train_correct / len(labels),
            "val_loss": None,
            "val_accuracy": None,
            "test_loss": None,
            "test_accuracy": None,
            "learning_rate": self.optimizer.learning_rate,
            "seconds": seconds,
        }
        if not math.isfinite(row["train_loss"]) or row["train_loss"] > self.divergence_loss:
            self._diverged(None, row["train_loss"])
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


def evaluate(
    engine: Engine, X1: Array, labels: Labels, batch_size: int = 1024
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of prepared rows ``[X, 1]`` against integer ``labels``.

    Evaluation runs the engine's training forward pass on its reused buffers, with no checks or
    copies of data that was checked once already.
    """
    total_loss, correct = 0.0, 0
    for lo in range(0, len(X1), batch_size):
        with np.errstate(over="ignore"):  # a sigmoid's e^-z may overflow; the result is exact
            P = engine.forward(X1[lo : lo + batch_size])
        loss, right = _loss_and_correct(P, labels[lo : lo + batch_size])
        total_loss += loss
        correct += right
    return total_loss / len(X1), correct / len(X1)


def _loss_and_correct(P: Array, labels: Labels) -> tuple[float, int]:
    """Summed cross-entropy and the number of right answers for probabilities ``P`` ``(m, C)``.

    Probabilities are clipped at the dtype's epsilon, as in :func:`glassnet.losses.cross_entropy`.
    """
    eps = np.finfo(P.dtype).eps
    picked = P[np.arange(len(labels)), labels]  # the probability given to the true class
    loss = -float(np.sum(np.log(np.clip(picked, eps, 1.0))))
    return loss, int(np.count_nonzero(np.argmax(P, axis=1) == labels))


def layer_statistics(engine: Engine, X1: Array, Y: Array) -> dict[str, float]:
    """Per-layer figures on a fixed probe batch: gradient norm, weight norm, saturated fraction.

    A gradient that shrinks toward the input (``grad_rms_l``, per weight, falling as ``l`` falls) is
    the vanishing gradient; the saturated fraction says why (sigmoid units pinned near 0 or 1 pass
    back almost nothing). For ReLU layers the fraction counts dead units, which output zero for
    every probe sample.
    """
    with np.errstate(over="ignore"):
        outputs = engine.backprop(X1, Y)
    params = engine.params
    stats: dict[str, float] = {}
    for l, (g, W) in enumerate(zip(params.weight_grads, params.weights, strict=True), start=1):
        stats[f"grad_norm_{l}"] = float(np.linalg.norm(g))
        # ‖dC/db_l‖ = ‖delta_l summed over the batch‖: how fast layer l's units learn (Nielsen's
        # measure of the vanishing gradient; layers of equal width compare directly).
        stats[f"bias_grad_norm_{l}"] = float(np.linalg.norm(params.bias_grads[l - 1]))
        # The root mean square per weight compares layers of different sizes fairly: the norm of a
        # 784x50 gradient adds up 39,200 entries, that of a 50x10 one only 500.
        stats[f"grad_rms_{l}"] = stats[f"grad_norm_{l}"] / math.sqrt(g.size)
        stats[f"weight_norm_{l}"] = float(np.linalg.norm(W))
    for l, A in enumerate(outputs[:-1], start=1):
        stats[f"saturation_{l}"] = float(np.mean(engine.activation.saturated(A)))
    return stats


def _prepare_with_ones(network: Network, rows: NDArray[Any], chunk: int = 8192) -> Array:
    """Standardized rows with a last column of ones, ``(n, n_inputs + 1)``: the layout the engines
    train on, filled in chunks so that no second full copy is held."""
    out = np.empty((len(rows), network.n_inputs + 1), network.dtype)
    out[:, -1] = 1.0
    for lo in range(0, len(rows), chunk):
        out[lo : lo + chunk, :-1] = network.prepare(rows[lo : lo + chunk])
    return out


def _image_shape(shape: tuple[int, ...], n_inputs: int) -> tuple[int, int] | None:
    if len(shape) == 3:
        return int(shape[1]), int(shape[2])
    side = math.isqrt(n_inputs)
    return (side, side) if side * side == n_inputs else None


def _check_data(
    network: Network, X: ArrayLike, y: ArrayLike, what: str
) -> tuple[NDArray[Any], Labels]:
    rows = flatten_images(X)
    labels = np.asarray(y)
    if labels.ndim != 1:
        raise ValueError(f"{what} labels must be a 1-D array, got shape {labels.shape}")
    if len(rows) != len(labels):
        raise ValueError(f"{what} data has {len(rows)} samples but {len(labels)} labels")
    if rows.ndim != 2 or rows.shape[1] != network.n_inputs:
        raise ValueError(
            f"{what} inputs must have {network.n_inputs} features, got shape {np.shape(X)}"
        )
    if not (np.issubdtype(rows.dtype, np.number) or rows.dtype == np.bool_):
        raise ValueError(f"{what} inputs must be numbers, got dtype {rows.dtype}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{what} labels must be integers, got dtype {labels.dtype}")
    if len(labels) and (labels.min() < 0 or labels.max() >= network.n_classes):
        raise ValueError(
            f"{what} labels must lie in 0..{network.n_classes - 1}, found "
            f"{int(labels.min())}..{int(labels.max())}"
        )
    if not np.issubdtype(rows.dtype, np.integer) and not np.all(np.isfinite(rows)):
        raise ValueError(f"{what} inputs contain NaN or infinite values")
    return rows, labels.astype(np.int64)


__all__ = [
    "Callback",
    "History",
    "TrainConfig",
    "TrainingInterrupted",
    "TrainingState",
    "evaluate",
    "layer_statistics",
    "train",
]
