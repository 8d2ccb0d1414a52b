"""The training loop: mini-batch gradient descent, epoch after epoch.

Each epoch shuffles the training set with a seeded ``numpy.random.Generator`` (so one seed gives one
run), cuts it into mini-batches of ``batch_size`` rows, and for each batch runs the network forward,
backpropagates, and lets the optimizer take a step. After each epoch it records what makes learning
visible (losses, accuracies, the learning rate, and per layer the gradient norm, the weight norm and
the fraction of saturated or dead units) in a :class:`History`.

Around that core sit the post's named next steps and the habits of careful training: learning-rate
schedules, weight decay, dropout, gradient clipping, a validation split, early stopping that restores
the best weights, on-the-fly augmentation, a stop with a clear message when the loss diverges, and a
snapshot of the whole training state after every epoch so an interrupted run can resume exactly.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from typing import Any, TextIO

import numpy as np
from numpy.typing import ArrayLike, NDArray
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from glassnet.augment import random_shift
from glassnet.datasets.preprocess import Standardizer, flatten_images, one_hot
from glassnet.errors import TrainingDivergedError
from glassnet.network import Network
from glassnet.optimizers import OPTIMIZERS, Optimizer, make_optimizer
from glassnet.schedules import SCHEDULES, Constant, Schedule, make_schedule

Array = NDArray[np.floating]
PROBE_SIZE = 1024  # training samples used for the per-epoch gradient and saturation figures
#: Epoch copies at least this large get a second core's help (see _Shuffle); below, threads cost more.
SHUFFLE_HELPER_BYTES = 16 << 20


@dataclass
class TrainConfig:
    """Every setting of a training run, with its default. Invalid values raise ``ValueError``."""

    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 0.1
    optimizer: str = "sgd"
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    weight_decay: float = 0.0
    dropout: float = 0.0
    clip_norm: float = 0.0
    schedule: str = "constant"
    warmup_epochs: float = 0.0
    step_epochs: float = 10.0
    gamma: float = 0.1
    lr_floor: float = 0.0
    validation_split: float = 0.0
    patience: int = 0
    augment_shift: int = 0
    standardize: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        def whole(name: str, low: int) -> None:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(
                    f"{name.replace('_', ' ')} must be a whole number >= {low}, got {value!r}"
                )

        def number(name: str, low: float, high: float, *, open_low: bool = False) -> None:
            value = getattr(self, name)
            ok = (
                isinstance(value, (int, float, np.number))
                and not isinstance(value, bool)
                and math.isfinite(value)
                and (value > low if open_low else value >= low)
                and value <= high
            )
            if not ok:
                bound = f"{'>' if open_low else '>='} {low}" + (
                    f" and <= {high}" if high < math.inf else ""
                )
                raise ValueError(
                    f"{name.replace('_', ' ')} must be a number {bound}, got {value!r}"
                )

        if not isinstance(self.standardize, (bool, np.bool_)):
            raise ValueError(f"standardize must be true or false, got {self.standardize!r}")
        whole("epochs", 1)
        whole("batch_size", 1)
        whole("patience", 0)
        whole("augment_shift", 0)
        whole("seed", 0)
        number("learning_rate", 0.0, math.inf, open_low=True)
        number("momentum", 0.0, 0.999999)
        number("beta1", 0.0, 0.999999)
        number("beta2", 0.0, 0.999999)
        number("weight_decay", 0.0, math.inf)
        number("dropout", 0.0, 0.95)
        number("clip_norm", 0.0, math.inf)
        number("warmup_epochs", 0.0, math.inf)
        number("step_epochs", 0.0, math.inf, open_low=True)
        number("gamma", 0.0, 1.0, open_low=True)
        number("lr_floor", 0.0, 1.0)
        number("validation_split", 0.0, 0.9)
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}"
            )
        if self.schedule not in SCHEDULES:
            raise ValueError(
                f"unknown schedule {self.schedule!r}; choose one of {', '.join(SCHEDULES)}"
            )

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def make_schedule(self, steps_per_epoch: int) -> Schedule:
        """The learning-rate multiplier these settings describe, for this many steps an epoch."""
        return make_schedule(
            self.schedule,
            epochs=self.epochs,
            warmup_epochs=self.warmup_epochs,
            step_epochs=self.step_epochs,
            gamma=self.gamma,
            floor=self.lr_floor,
            steps_per_epoch=steps_per_epoch,
        )


@dataclass
class History:
    """What happened in training: one row of figures per epoch, and why it ended.

    Each row holds ``epoch``, ``train_loss``, ``train_accuracy``, ``val_loss``, ``val_accuracy``,
    ``test_loss``, ``test_accuracy`` (``None`` without such data), ``learning_rate``, ``seconds``,
    and for each layer ``l`` (from 1), measured after the epoch on a fixed probe batch of the first
    1,024 training rows: ``grad_norm_l`` (Frobenius norm of the weight gradient), ``grad_rms_l``
    (the same per weight), ``bias_grad_norm_l`` (norm of the bias gradient: how fast the layer's
    units learn), ``weight_norm_l`` and, for hidden layers, ``saturation_l``.
    """

    rows: list[dict[str, Any]] = field(default_factory=list)
    stopped: str = ""
    best_epoch: int | None = None
    test_accuracy: float | None = None

    def column(self, key: str) -> list[Any]:
        """One figure across epochs, e.g. ``history.column("val_accuracy")``."""
        return [row.get(key) for row in self.rows]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "stopped": self.stopped,
            "best_epoch": self.best_epoch,
            "test_accuracy": self.test_accuracy,
        }


@dataclass
class TrainingState:
    """A snapshot at the end of an epoch: everything needed to continue bit for bit."""

    epoch: int
    parameters: Array
    optimizer: dict[str, Any]
    rng_state: dict[str, Any]
    history: History
    best_parameters: Array | None
    best_loss: float
    bad_epochs: int
    standardizer: Standardizer | None


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training; ``state`` is the snapshot after the last completed epoch."""

    def __init__(self, state: TrainingState | None) -> None:
        super().__init__("training interrupted")
        self.state = state


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
        Fields of :class:`TrainConfig`.
    """
    unknown = sorted(set(settings) - set(TrainConfig.field_names()))
    if unknown:
        raise ValueError(
            f"unknown training setting {unknown[0]!r}; the settings are "
            f"{', '.join(TrainConfig.field_names())}"
        )
    config = TrainConfig(**settings)
    rows, labels = _check_data(network, X, y, "training")
    if image_shape is None:
        image_shape = _image_shape(np.shape(X), network.n_inputs)

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
    X_train = _prepare_with_ones(network, rows)
    Y_train = one_hot(labels, network.n_classes, network.dtype)
    val = None
    if validation_data is not None:
        val_rows, val_labels = _check_data(network, *validation_data, "validation")
        if len(val_rows) == 0:
            raise ValueError("validation data has no samples")
        val = (_prepare_with_ones(network, val_rows), val_labels)
    test = None
    if test_data is not None:
        test_rows, test_labels = _check_data(network, *test_data, "test")
        if len(test_rows) == 0:
            raise ValueError("test data has no samples")
        test = (_prepare_with_ones(network, test_rows), test_labels)
    fill = float(network.prepare(np.zeros((1, network.n_inputs)))[0, 0])

    loop = _Loop(network, config, X_train, Y_train, labels, val, test, image_shape, fill)
    if resume is not None:
        loop.restore(resume)
    printer = _EpochPrinter(log or sys.stderr, config.epochs, verbose >= 2) if verbose else None
    with threadpool_limits(limits=_blas_threads(network, config.batch_size)):
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


class _Loop:
    """The state of one training run, advanced an epoch at a time."""

    def __init__(
        self,
        network: Network,
        config: TrainConfig,
        X: Array,
        Y: Array,
        labels: NDArray[np.int64],
        val: tuple[Array, NDArray[np.int64]] | None,
        test: tuple[Array, NDArray[np.int64]] | None,
        image_shape: tuple[int, int] | None,
        fill: float,
    ) -> None:
        self.network, self.config = network, config
        self.X, self.Y, self.labels, self.val, self.test = X, Y, labels, val, test
        self.image_shape, self.fill = image_shape, fill
        if config.augment_shift and image_shape is None:
            raise ValueError("shift augmentation needs square images or an image_shape")
        n = len(X)
        self.steps = math.ceil(n / config.batch_size)
        self.rng = np.random.default_rng(config.seed)
        self.optimizer: Optimizer = make_optimizer(
            config.optimizer,
            config.learning_rate,
            momentum=config.momentum,
            beta1=config.beta1,
            beta2=config.beta2,
            weight_decay=config.weight_decay,
        )
        self.schedule = config.make_schedule(self.steps)
        # Buffers for the shuffled epoch, so each mini-batch is a contiguous slice.
        self.X_epoch, self.Y_epoch = np.empty_like(X), np.empty_like(Y)
        self.P_epoch = np.empty((n, network.n_classes), network.dtype)  # training probabilities
        self.shuffle = _Shuffle(
            [(X, self.X_epoch), (Y, self.Y_epoch)],
            config.batch_size,
            helper=_cores() > 1 and self.X_epoch.nbytes >= SHUFFLE_HELPER_BYTES,
            # A core is free while training when the products run on one BLAS thread; shifted
            # images are made from the whole copy at once.
            ahead=_blas_threads(network, config.batch_size) == 1 and not config.augment_shift,
        )
        # Each step's slices of those buffers, and its workspace, made once for the whole run.
        bs, dropout = config.batch_size, config.dropout > 0.0
        self.batches = [
            (
                self.X_epoch[lo : lo + bs],
                self.Y_epoch[lo : lo + bs],
                self.P_epoch[lo : lo + bs],
                network._workspace(min(bs, n - lo), dropout),
            )
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
        start_loss, _ = evaluate(network, X[:PROBE_SIZE], labels[:PROBE_SIZE])
        self.divergence_loss = 2.0 * max(start_loss, math.log(network.n_classes))

    # -- one epoch
    def run_epoch(self, progress: bool | None) -> dict[str, Any]:
        net, cfg, n = self.network, self.config, len(self.X)
        start = time.perf_counter()
        order = self.rng.permutation(n)
        shuffle = self.shuffle
        shuffle.begin(order)  # the first part of the shuffled copy now, the rest as training goes
        labels = self.labels[order]
        if cfg.augment_shift and self.image_shape is not None:
            random_shift(
                self.X_epoch[:, :-1], self.image_shape, cfg.augment_shift, self.rng, self.fill
            )
        params, grads, decay = net.parameter_groups
        dropout = cfg.dropout
        constant_rate = isinstance(self.schedule, Constant)
        optimizer = self.optimizer
        # Plain SGD folds -η into the backward pass (see Optimizer.folded_factor); clipping needs
        # the plain gradient's norm, so it takes the general route.
        fold = not cfg.clip_norm and optimizer.folded_factor() is not None
        bar = tqdm(
            total=self.steps,
            disable=None if progress is None else not progress,
            leave=False,
            unit="batch",
            desc=f"epoch {self.epoch + 1}/{cfg.epochs}",
            file=sys.stderr,
            mininterval=0.5,
        )
        tick = max(1, self.steps // 50)
        # Overflow is how divergence begins; it is caught below by the finiteness checks, with a
        # message saying what to do, rather than as a stream of NumPy warnings.
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                for step, (xb, yb, pb, ws) in enumerate(self.batches):
                    if step == shuffle.next_step:
                        shuffle.advance()  # this part of the copy is ready; start the next
                    # P goes straight into the epoch's table of probabilities, for the epoch's
                    # training loss and accuracy without extra work in the step.
                    net._forward(xb, ws, dropout, self.rng, out=pb)
                    if not constant_rate:
                        optimizer.learning_rate = cfg.learning_rate * self.schedule(
                            self.epoch + step / self.steps
                        )
                    factor = optimizer.folded_factor() if fold else None
                    if factor is not None:
                        net._backprop(xb, yb, ws, dropout, factor)
                        optimizer.step_folded(params, grads)
                    else:
                        net._backprop(xb, yb, ws, dropout)
                        if cfg.clip_norm:
                            _clip_global_norm(grads, cfg.clip_norm)
                        optimizer.step(params, grads, decay)
                    if step % tick == tick - 1:
                        bar.update(tick)
                        if not np.isfinite(net._params).all():
                            self._diverged(step)
        finally:
            bar.close()
        if not np.isfinite(net._params).all():
            self._diverged(self.steps - 1)
        self.epoch += 1
        row = self._epoch_row(labels, time.perf_counter() - start)
        self._early_stopping(row)
        self.last_good = net.get_flat_parameters()
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

    def _epoch_row(self, labels: NDArray[np.int64], seconds: float) -> dict[str, Any]:
        net = self.network
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
        if self.val is not None:
            row["val_loss"], row["val_accuracy"] = evaluate(net, *self.val)
        if self.test is not None:
            row["test_loss"], row["test_accuracy"] = evaluate(net, *self.test)
        row.update(layer_statistics(net, self.X[:PROBE_SIZE, :-1], self.Y[:PROBE_SIZE]))
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
            history=History(
                [dict(r) for r in self.history.rows], self.history.stopped, self.history.best_epoch
            ),
            best_parameters=None if self.best_parameters is None else self.best_parameters.copy(),
            best_loss=self.best_loss,
            bad_epochs=self.bad_epochs,
            standardizer=self.network.standardizer,
        )

    def restore(self, state: TrainingState) -> None:
        self.epoch = state.epoch
        self.network.set_flat_parameters(state.parameters)
        self.optimizer.load_state_dict(state.optimizer, self.network.parameter_groups[0])
        self.rng.bit_generator.state = state.rng_state
        self.history = History(
            [dict(r) for r in state.history.rows], state.history.stopped, state.history.best_epoch
        )
        self.best_parameters = state.best_parameters
        self.best_loss, self.bad_epochs = state.best_loss, state.bad_epochs
        self.last_good = self.network.get_flat_parameters()
        self.last_state = self.snapshot()


class _Shuffle:
    """Each epoch's shuffled copy of the training data, made with a second core's help.

    Copying 60,000 MNIST rows in a new order costs as much as some 40 steps at batch 10. The copy
    is bound by memory, not arithmetic, and ``np.take`` releases the GIL, so a ``helper`` thread
    can share it. When the products run on one BLAS thread (small batches) a core sits idle, and
    with ``ahead`` the helper copies part ``p + 1`` (whole batches) while training runs on part
    ``p``: only the first part is copied before training starts. Otherwise the whole copy is made
    at once, half by each core (or all by one, without a helper). The result is the same every
    way: ``copy[i] = source[order[i]]`` for every pair.
    """

    PARTS = 16

    def __init__(
        self, pairs: list[tuple[Array, Array]], batch_size: int, helper: bool, ahead: bool
    ) -> None:
        self.pairs = pairs  # (source, its epoch copy)
        n = len(pairs[0][0])
        steps = math.ceil(n / batch_size)
        self.ahead = ahead and helper
        per_part = math.ceil(steps / self.PARTS) if self.ahead else steps
        self.starts = list(range(0, steps, per_part))  # each part's first step
        self.rows = [min(n, first * batch_size) for first in [*self.starts, steps]]
        self.pool = ThreadPoolExecutor(1, "glassnet-shuffle") if helper else None
        self.pending: Future[None] | None = None
        self.order: NDArray[np.intp] = np.empty(0, np.intp)
        self.part = 0
        self.next_step = -1  # the step at which advance() must run; -1: none this epoch

    def begin(self, order: NDArray[np.intp]) -> None:
        """Start an epoch: copy its first part (the whole copy, unless copying ahead)."""
        self._wait()  # an epoch cut short may have left a part in flight
        self.order, self.part = order, 0
        if self.ahead:
            self._copy(self.rows[0], self.rows[1])
        elif self.pool is not None:
            middle = len(order) // 2
            self.pending = self.pool.submit(self._copy, middle, len(order))
            self._copy(0, middle)
            self._wait()
        else:
            self._copy(0, len(order))
        self.next_step = -1
        self.advance()

    def advance(self) -> None:
        """Wait for the part training is about to enter; start copying the one after it."""
        self._wait()
        self.part += 1
        if self.ahead and self.part < len(self.starts):
            lo, hi = self.rows[self.part], self.rows[self.part + 1]
            self.pending = self.pool.submit(self._copy, lo, hi)  # type: ignore[union-attr]
            self.next_step = self.starts[self.part]
        else:
            self.next_step = -1

    def close(self) -> None:
        """Stop the helper. A part still in flight (an epoch cut short) is no longer needed: it is
        waited for, but whatever it raised must not hide why the run stopped."""
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.exception()
        if self.pool is not None:
            self.pool.shutdown()

    def _copy(self, lo: int, hi: int) -> None:
        for source, copy in self.pairs:
            # mode="clip" (the indices are valid anyway) lets take write straight into the copy.
            np.take(source, self.order[lo:hi], axis=0, out=copy[lo:hi], mode="clip")

    def _wait(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.result()


def _cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def evaluate(
    network: Network, X: Array, labels: NDArray[np.int64], batch_size: int = 1024
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of prepared rows against integer ``labels``.

    ``X`` is ``(n, n_inputs + 1)``: standardized, with the ones column (see
    :func:`_prepare_with_ones`), so each epoch's evaluation runs the training forward pass on
    reused buffers, with no checks or copies of data that was checked once already.
    """
    total_loss, correct = 0.0, 0
    for lo in range(0, len(X), batch_size):
        rows = X[lo : lo + batch_size]
        with np.errstate(over="ignore"):  # a sigmoid's e^-z may overflow; the result is exact
            P = network._forward(rows, network._workspace(len(rows)))
        loss, right = _loss_and_correct(P, labels[lo : lo + batch_size])
        total_loss += loss
        correct += right
    return total_loss / len(X), correct / len(X)


def _loss_and_correct(P: Array, labels: NDArray[np.int64]) -> tuple[float, int]:
    """Summed cross-entropy and the number of right answers for probabilities ``P`` ``(m, C)``.

    Probabilities are clipped at the dtype's epsilon, as in :func:`glassnet.losses.cross_entropy`.
    """
    eps = np.finfo(P.dtype).eps
    picked = P[np.arange(len(labels)), labels]  # the probability given to the true class
    loss = -float(np.sum(np.log(np.clip(picked, eps, 1.0))))
    return loss, int(np.count_nonzero(np.argmax(P, axis=1) == labels))


def layer_statistics(network: Network, X: Array, Y: Array) -> dict[str, float]:
    """Per-layer figures on a fixed probe batch: gradient norm, weight norm, saturated fraction.

    A gradient that shrinks toward the input (``grad_rms_l``, per weight, falling as ``l`` falls) is
    the vanishing gradient; the saturated fraction says why (sigmoid units pinned near 0 or 1 pass
    back almost nothing). For ReLU layers the fraction counts dead units, which output zero for
    every probe sample.
    """
    weight_grads, bias_grads = network.backprop(X, Y)
    outputs = network._workspace(len(X)).activations  # the forward pass backprop just made
    stats: dict[str, float] = {}
    for l, (g, W) in enumerate(zip(weight_grads, network.weights, strict=True), start=1):
        stats[f"grad_norm_{l}"] = float(np.linalg.norm(g))
        # ‖dC/db_l‖ = ‖delta_l summed over the batch‖: how fast layer l's units learn (Nielsen's
        # measure of the vanishing gradient; layers of equal width compare directly).
        stats[f"bias_grad_norm_{l}"] = float(np.linalg.norm(bias_grads[l - 1]))
        # The root mean square per weight compares layers of different sizes fairly: the norm of a
        # 784x50 gradient adds up 39,200 entries, that of a 50x10 one only 500.
        stats[f"grad_rms_{l}"] = stats[f"grad_norm_{l}"] / math.sqrt(g.size)
        stats[f"weight_norm_{l}"] = float(np.linalg.norm(W))
    for l, A in enumerate(outputs[:-1], start=1):
        stats[f"saturation_{l}"] = float(np.mean(network._activation.saturated(A)))
    return stats


def _prepare_with_ones(network: Network, rows: NDArray[Any], chunk: int = 8192) -> Array:
    """Standardized rows with a last column of ones, ``(n, n_inputs + 1)``: the layout the training
    step reads (see :mod:`glassnet.network`), filled in chunks so no second full copy is held."""
    out = np.empty((len(rows), network.n_inputs + 1), network.dtype)
    out[:, -1] = 1.0
    for lo in range(0, len(rows), chunk):
        out[lo : lo + chunk, :-1] = network.prepare(rows[lo : lo + chunk])
    return out


def _clip_global_norm(grads: Sequence[Array], max_norm: float) -> None:
    total = math.sqrt(sum(float(np.dot(g, g)) for g in grads))
    if total > max_norm:
        for g in grads:
            g *= max_norm / total


def _blas_threads(network: Network, batch_size: int) -> int | None:
    """One BLAS thread for small products, where threads cost more than they save; else all."""
    widest = max(network.layer_sizes)
    return 1 if batch_size * widest < 64 * 1024 else None


def _image_shape(shape: tuple[int, ...], n_inputs: int) -> tuple[int, int] | None:
    if len(shape) == 3:
        return int(shape[1]), int(shape[2])
    side = math.isqrt(n_inputs)
    return (side, side) if side * side == n_inputs else None


def _check_data(
    network: Network, X: ArrayLike, y: ArrayLike, what: str
) -> tuple[NDArray[Any], NDArray[np.int64]]:
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


class _EpochPrinter:
    """One line per epoch: loss, accuracies, learning rate, time; per-layer figures if verbose."""

    def __init__(self, stream: TextIO, epochs: int, per_layer: bool) -> None:
        self.stream, self.epochs, self.per_layer = stream, epochs, per_layer

    def __call__(self, row: dict[str, Any], history: History) -> None:
        width = len(str(self.epochs))
        parts = [
            f"epoch {row['epoch']:>{width}}/{self.epochs}",
            f"loss {row['train_loss']:.4f}",
            f"acc {row['train_accuracy']:.4f}",
        ]
        if row["val_loss"] is not None:
            parts += [f"val_loss {row['val_loss']:.4f}", f"val_acc {row['val_accuracy']:.4f}"]
        if row["test_loss"] is not None:
            parts += [f"test_acc {row['test_accuracy']:.4f}"]
        parts += [f"lr {row['learning_rate']:.3g}", f"{row['seconds']:.1f}s"]
        print("  ".join(parts), file=self.stream, flush=True)
        if self.per_layer:
            layers = sorted(int(k.rsplit("_", 1)[1]) for k in row if k.startswith("grad_norm_"))
            speed = " ".join(f"{row[f'bias_grad_norm_{l}']:.2e}" for l in layers)
            sat = " ".join(f"{row[f'saturation_{l}']:.2f}" for l in layers[:-1])
            ratio = row["bias_grad_norm_1"] / max(row[f"bias_grad_norm_{layers[-1]}"], 1e-300)
            print(
                f"    learning speed |dC/db| by layer 1..{layers[-1]}: {speed}  "
                f"(first/last {ratio:.3g})\n"
                f"    saturated (sigmoid, tanh) or dead (relu) units per hidden layer: {sat}",
                file=self.stream,
                flush=True,
            )
