"""A scikit-learn classifier: glassnet's network where pipelines, cross-validation and searches live.

:class:`NetClassifier` wraps :class:`glassnet.Network` and its training loop in scikit-learn's
estimator conventions, so it drops into ``Pipeline``, ``cross_val_score``, ``GridSearchCV`` and
``clone`` like ``MLPClassifier``::

    from glassnet.sklearn import NetClassifier
    from sklearn.datasets import load_digits
    from sklearn.model_selection import cross_val_score

    X, y = load_digits(return_X_y=True)
    cross_val_score(NetClassifier(random_state=0), X, y, cv=5).mean()   # about 0.97

The constructor's parameters are the settings ``glassnet train`` takes, by the same names
(``hidden``, ``activation``, ``optimizer``, ``learning_rate``, ``epochs``, ...), stored unchanged as
scikit-learn asks and checked by :data:`glassnet.settings.RULES` when :meth:`~NetClassifier.fit` is
called; ``random_state`` is the ``seed``. What scikit-learn adds around the network:

- **Any labels.** ``classes_`` holds the sorted labels (numbers, strings, ...); the network learns
  their positions ``0..k-1`` and its class names are the labels as text.
- **Any number of features.** Each feature is standardized with its own mean and spread, learnt
  from the training rows (a ``StandardScaler`` built in, kept in the model file), so tabular data
  with columns of unlike scales trains as well as pixels do.
- **Epochs sized to the data.** ``epochs="auto"`` trains for about :data:`AUTO_STEPS` gradient
  steps, between :data:`AUTO_EPOCHS` epochs: 11 epochs on MNIST, 200 on a few hundred rows.
- ``partial_fit`` trains one epoch on the rows it is given, keeping the optimizer's state between
  calls; ``warm_start=True`` makes ``fit`` continue from the last fit the same way.

scikit-learn is an optional extra (``pip install "glassnet[sklearn]"``), imported only here.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from glassnet import TrainConfig
from glassnet.errors import GlassnetError, InputError
from glassnet.history import TrainingState
from glassnet.network import Network
from glassnet.preprocess import Standardizer
from glassnet.rules import parse_sizes
from glassnet.settings import RULES

try:
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets, unique_labels
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError:  # validate_data is new in scikit-learn 1.6
    raise GlassnetError(
        'glassnet.sklearn needs scikit-learn 1.6 or newer: pip install "glassnet[sklearn]"'
    ) from None

#: ``epochs="auto"`` trains for about this many gradient steps ...
AUTO_STEPS = 20_000
#: ... but for no fewer and no more epochs than these.
AUTO_EPOCHS = (10, 200)
#: The training settings the constructor takes under their own names: all of TrainConfig's but
#: ``seed``, which scikit-learn calls ``random_state`` (``class_weight`` is its own: a dict too).
TRAINING = tuple(name for name in TrainConfig.field_names() if name != "seed")


class NetClassifier(ClassifierMixin, BaseEstimator):
    """A multilayer perceptron classifier trained by glassnet, with scikit-learn's interface.

    Parameters
    ----------
    hidden : sequence of int, int or str, default (100,)
        Hidden layer sizes: ``(128, 64)``, ``64`` or ``"128,64"``.
    activation : {"relu", "leaky_relu", "sigmoid", "tanh"}, default "relu"
    initializer : {"normal", "glorot", "he"}, optional
        By default Glorot for sigmoid and tanh, He for the ReLUs.
    optimizer : {"sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw"}, default "adam"
    learning_rate : float, default 0.001
    batch_size : int, default 32
    epochs : int or "auto", default "auto"
        Passes over the training rows; ``"auto"``: about :data:`AUTO_STEPS` steps, from 10 to 200
        epochs.
    dropout, weight_decay, momentum, beta1, beta2, clip_norm, max_norm, schedule, warmup_epochs, \
step_epochs, gamma, lr_floor, validation_split, patience, augment_shift, augment_affine, \
augment_elastic, augment_flip, engine
        As for ``glassnet train`` (see :data:`glassnet.settings.RULES`). ``validation_split`` with
        ``patience`` stops early on the held-out rows' loss, like ``MLPClassifier``'s
        ``early_stopping``.
    class_weight : "balanced", dict or None, default None
        Weights of the classes in the loss, as scikit-learn's classifiers take them: ``"balanced"``
        (``n_samples / (n_classes · count of the class)``) or ``{label: weight}``; multiplied into
        ``fit``'s ``sample_weight``. ``partial_fit`` takes a dict only.
    standardize : bool, default True
        Standardize each feature with the training rows' mean and standard deviation.
    dtype : {"float32", "float64"}, default "float32"
    random_state : int, numpy.random.RandomState or None, default None
        An int is glassnet's ``seed``: the same weights as ``Network(..., seed=n)`` trained with
        ``fit(..., seed=n)``. None draws a new seed at every fit.
    warm_start : bool, default False
        ``fit`` continues from the last fit's weights and optimizer state, for ``epochs`` more.
    verbose : int, default 0
        1: a line per epoch and a progress bar on standard error; 2: also per-layer figures.

    Attributes
    ----------
    classes_ : (n_classes,) array
        The labels, sorted; ``predict_proba``'s columns are in this order.
    n_features_in_ : int
    feature_names_in_ : (n_features_in_,) array of str
        Only when ``X`` had column names.
    network_ : glassnet.Network
        The trained network; ``network_.save(path)`` writes a model file ``glassnet`` reads.
    history_ : glassnet.History
        A row of figures per epoch, over every fit since the last fresh start.
    loss_curve_ : list of float
        The training loss after each epoch, as ``MLPClassifier`` keeps it.
    validation_scores_ : list of float or None
        Validation accuracy after each epoch, with ``validation_split``.
    best_loss_ : float
        The lowest loss seen (validation loss with ``validation_split``, else training loss).
    n_iter_ : int
        Epochs trained since the last fresh start.
    """

    def __init__(
        self,
        hidden: Sequence[int] | int | str = (100,),
        activation: str = "relu",
        *,
        initializer: str | None = None,
        optimizer: str = "adam",
        learning_rate: float = 0.001,
        batch_size: int = 32,
        epochs: int | str = "auto",
        dropout: float = 0.0,
        weight_decay: float = 0.0,
        momentum: float = 0.9,
        beta1: float = 0.9,
        beta2: float = 0.999,
        clip_norm: float = 0.0,
        max_norm: float = 0.0,
        schedule: str = "constant",
        warmup_epochs: float = 0.0,
        step_epochs: float = 10.0,
        gamma: float = 0.1,
        lr_floor: float = 0.0,
        validation_split: float = 0.0,
        patience: int = 0,
        augment_shift: int = 0,
        augment_affine: Sequence[float] = (),
        augment_elastic: Sequence[float] = (),
        augment_flip: bool = False,
        class_weight: str | Mapping[Any, float] | None = None,
        standardize: bool = True,
        dtype: str = "float32",
        engine: str = "auto",
        random_state: int | np.random.RandomState | None = None,
        warm_start: bool = False,
        verbose: int = 0,
    ) -> None:
        self.hidden = hidden
        self.activation = activation
        self.initializer = initializer
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.momentum = momentum
        self.beta1 = beta1
        self.beta2 = beta2
        self.clip_norm = clip_norm
        self.max_norm = max_norm
        self.schedule = schedule
        self.warmup_epochs = warmup_epochs
        self.step_epochs = step_epochs
        self.gamma = gamma
        self.lr_floor = lr_floor
        self.validation_split = validation_split
        self.patience = patience
        self.augment_shift = augment_shift
        self.augment_affine = augment_affine
        self.augment_elastic = augment_elastic
        self.augment_flip = augment_flip
        self.class_weight = class_weight
        self.standardize = standardize
        self.dtype = dtype
        self.engine = engine
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose

    # ------------------------------------------------------------------ training
    def fit(
        self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> NetClassifier:
        """Train on ``X`` ``(n_samples, n_features)`` and labels ``y`` ``(n_samples,)``.

        A fresh network each time, unless ``warm_start`` and a network is fitted already; then
        ``epochs`` more epochs of it, on the same classes. ``sample_weight`` ``(n_samples,)``
        weighs each row's loss (``class_weight`` multiplies in).
        """
        if self.warm_start and hasattr(self, "network_"):
            rows, labels = self._check_data(X, y, reset=False)
            weights = self._weights(rows, labels, sample_weight, "fit")
            return self._continue(rows, self._encode(labels, "fit"), None, weights)
        rows, labels = self._check_data(X, y, reset=True)
        self.classes_ = unique_labels(labels)
        weights = self._weights(rows, labels, sample_weight, "fit")
        return self._start(rows, self._encode(labels, "fit"), None, weights)

    def partial_fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        classes: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
    ) -> NetClassifier:
        """Train one epoch on these rows, continuing from the last call.

        Parameters
        ----------
        X : (n_samples, n_features) array
        y : (n_samples,) array
        classes : (n_classes,) array, optional
            Every label there will ever be; required on the first call, when ``y`` may hold only
            some of them.
        sample_weight : (n_samples,) array, optional
            Each row's weight in the loss.
        """
        first = not hasattr(self, "network_")
        rows, labels = self._check_data(X, y, reset=first)
        if first:
            if classes is None:
                raise InputError(
                    "the first call to partial_fit needs classes=, every label there is"
                )
            self.classes_ = unique_labels(np.asarray(classes))
        elif classes is not None and not np.array_equal(unique_labels(classes), self.classes_):
            raise InputError(
                f"classes={np.asarray(classes).tolist()} differ from the first call's "
                f"{self.classes_.tolist()}"
            )
        positions = self._encode(labels, "partial_fit")
        weights = self._weights(rows, labels, sample_weight, "partial_fit")
        if first:
            return self._start(rows, positions, 1, weights)
        return self._continue(rows, positions, 1, weights)

    def _weights(
        self, X: NDArray[Any], y: NDArray[Any], sample_weight: ArrayLike | None, method: str
    ) -> NDArray[np.float64] | None:
        """Each row's weight: ``sample_weight`` (checked as scikit-learn checks it) times
        ``class_weight``'s; None when neither is given."""
        from sklearn.utils.class_weight import compute_sample_weight
        from sklearn.utils.validation import _check_sample_weight

        if sample_weight is None and self.class_weight is None:
            return None
        weights = _check_sample_weight(sample_weight, X, dtype=np.float64)
        if self.class_weight is not None:
            if method == "partial_fit" and self.class_weight == "balanced":
                raise InputError(
                    "class_weight='balanced' needs every row at once: give partial_fit a dict of "
                    "class weights, or use fit"
                )
            weights = weights * compute_sample_weight(self.class_weight, y)
        if method == "fit" and len(np.unique(y[weights > 0])) < 2:
            raise InputError(
                "only one class has samples of non-zero weight: a classifier needs at least 2 "
                "classes to learn from"
            )
        return np.asarray(weights, np.float64)

    def _check_data(
        self, X: ArrayLike, y: ArrayLike, reset: bool
    ) -> tuple[NDArray[Any], NDArray[Any]]:
        """scikit-learn's checks of ``X`` and ``y`` (and ``n_features_in_`` set, with ``reset``)."""
        rows, labels = validate_data(self, X, y, reset=reset)
        check_classification_targets(labels)
        return np.asarray(rows), np.asarray(labels)

    def _start(
        self,
        X: NDArray[Any],
        labels: NDArray[np.int64],
        epochs: int | None,
        weights: NDArray[np.float64] | None = None,
    ) -> Any:
        """Train a new network for ``epochs`` (the ``epochs`` parameter when None)."""
        config = self._config(len(X), epochs, seed=self._seed())
        hidden = _hidden_sizes(self.hidden)
        for name in ("activation", "initializer", "dtype"):  # the network's, by the same table
            RULES[name].check(name, getattr(self, name))
        if len(self.classes_) < 2:
            raise InputError(
                f"NetClassifier needs samples of at least 2 classes, got 1 class: {self.classes_}"
            )
        network = Network(
            [X.shape[1], *hidden, len(self.classes_)],
            self.activation,
            initializer=self.initializer,
            seed=config.seed,
            dtype=self.dtype,
            class_names=[str(c) for c in self.classes_],
        )
        if self.standardize:
            network.standardizer = Standardizer.fit(X, per_feature=True)
        return self._train(network, X, labels, config, None, weights)

    def _continue(
        self,
        X: NDArray[Any],
        labels: NDArray[np.int64],
        epochs: int | None,
        weights: NDArray[np.float64] | None = None,
    ) -> Any:
        """Train the fitted network ``epochs`` more, its optimizer state and history kept."""
        state: TrainingState = self._state
        # A run that stopped early would stop again at once: the new epochs count afresh.
        history = state.history.copy()
        history.stopped = ""
        state = dataclasses.replace(state, history=history, bad_epochs=0)
        config = self._config(len(X), epochs, seed=self._seed_used, trained=state.epoch)
        return self._train(self.network_, X, labels, config, state, weights)

    def _train(
        self,
        network: Network,
        X: NDArray[Any],
        labels: NDArray[np.int64],
        config: TrainConfig,
        resume: TrainingState | None,
        weights: NDArray[np.float64] | None = None,
    ) -> NetClassifier:
        last: list[TrainingState] = []  # the last epoch's state only, not one an epoch

        def keep(row: dict[str, Any], state: TrainingState) -> None:
            last[:] = [state]

        history = network.fit(
            X,
            labels,
            config=config,
            resume=resume,
            sample_weight=weights,
            callbacks=[keep],
            verbose=self.verbose,
            progress=self.verbose > 0,
            log=sys.stderr,
        )
        self.network_, self.history_, self._seed_used = network, history, config.seed
        self._state = last[0]  # every call trains at least one epoch
        self.loss_curve_ = history.column("train_loss")
        scores = history.column("val_accuracy")
        self.validation_scores_ = None if scores and scores[-1] is None else scores
        losses = history.column("val_loss" if self.validation_scores_ else "train_loss")
        self.best_loss_ = float(min(losses))
        self.n_iter_ = len(history.rows)
        return self

    def _config(self, n_rows: int, epochs: int | None, seed: int, trained: int = 0) -> TrainConfig:
        """The training settings of one call, for ``n_rows`` training rows: made (and so checked
        by the settings table) once, here, where the estimator's parameters enter training.

        ``epochs`` epochs more (the ``epochs`` parameter when None) after the ``trained`` ones a
        warm start continues from.
        """
        settings = {name: getattr(self, name) for name in TRAINING}
        if epochs is not None:
            settings["epochs"] = epochs
        elif settings["epochs"] == "auto":
            n_train = n_rows - round(n_rows * float(self.validation_split or 0))
            settings["epochs"] = auto_epochs(n_train, self.batch_size)
        if trained:  # the loop counts epochs from the first fit; check the new ones first
            settings["epochs"] = trained + RULES["epochs"].check("epochs", settings["epochs"])
        return TrainConfig(**settings, seed=seed)

    def _seed(self) -> int:
        """glassnet's seed: ``random_state`` itself when it is a whole number, else drawn from it."""
        if isinstance(self.random_state, (int, np.integer)) and not isinstance(
            self.random_state, bool
        ):
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _encode(self, y: NDArray[Any], method: str) -> NDArray[np.int64]:
        """Labels as positions in ``classes_``; a ``ValueError`` names a label not among them."""
        positions = np.searchsorted(self.classes_, y)
        known = positions < len(self.classes_)
        known[known] = self.classes_[positions[known]] == y[known]
        if not known.all():
            label = y[~known][:1].tolist()[0]  # a Python value, for a plain message
            raise InputError(
                f"{method}: label {label!r} is not one of the classes {self.classes_.tolist()}"
            )
        return positions.astype(np.int64)

    # ------------------------------------------------------------------ prediction
    def predict_proba(self, X: ArrayLike) -> NDArray[np.float64]:
        """Class probabilities ``(n_samples, n_classes)``, columns in the order of ``classes_``."""
        check_is_fitted(self, "network_")
        rows = validate_data(self, X, reset=False)
        return np.asarray(self.network_.predict_proba(rows), dtype=np.float64)

    def predict_log_proba(self, X: ArrayLike) -> NDArray[np.float64]:
        """The logarithm of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: ArrayLike) -> NDArray[Any]:
        """The most probable label for each row, shape ``(n_samples,)``."""
        probabilities = self.predict_proba(X)  # first: it says when the estimator is not fitted
        return self.classes_[np.argmax(probabilities, axis=1)]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags


def expected_failed_checks(estimator: NetClassifier) -> dict[str, str]:
    """The scikit-learn estimator checks ``estimator`` is known to fail, each with why, for
    ``check_estimator(..., expected_failed_checks=...)`` and ``parametrize_with_checks``."""
    failing = {
        "check_sample_weight_equivalence_on_dense_data": (
            "the check wants a weight of 2 to train as the row given twice; mini-batch gradient "
            "descent shuffles and cuts batches from the rows it is given, so the two see other "
            "batches (the weighted loss itself is exact: glassnet's tests check its gradient)"
        ),
    }
    if estimator.dtype == "float32":
        failing["check_methods_subset_invariance"] = (
            "the check wants predict_proba of a subset of rows to agree with that of all rows to "
            "1e-7; in float32 (6e-8 a rounding) BLAS sums products of another number of rows in "
            "another order, and they differ by a rounding or two. With dtype='float64' it passes."
        )
    return failing


def auto_epochs(n_train: int, batch_size: int) -> int:
    """The epochs ``epochs="auto"`` trains: about :data:`AUTO_STEPS` steps of ``batch_size`` rows
    over ``n_train`` rows, at least ``AUTO_EPOCHS[0]`` and at most ``AUTO_EPOCHS[1]``."""
    steps_per_epoch = max(1, math.ceil(n_train / max(1, int(batch_size))))
    low, high = AUTO_EPOCHS
    return min(high, max(low, math.ceil(AUTO_STEPS / steps_per_epoch)))


def _hidden_sizes(hidden: Sequence[int] | int | str) -> list[int]:
    """``hidden`` as a list of layer sizes, checked by the settings table."""
    if isinstance(hidden, str):
        return parse_sizes(hidden)
    if isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool):
        hidden = [int(hidden)]
    return list(RULES["hidden"].check("hidden", hidden))


__all__ = ["AUTO_EPOCHS", "AUTO_STEPS", "NetClassifier", "auto_epochs", "expected_failed_checks"]
