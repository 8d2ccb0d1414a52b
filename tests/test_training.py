"""Tests for the training loop: determinism, history, validation, stopping rules, resuming, and
two runs on real MNIST (the vanishing gradient, and learning to 93%)."""

from __future__ import annotations

import io
import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import glassnet.config
import glassnet.training
from glassnet import GlassnetError, Network, TrainConfig, TrainingDivergedError, train
from glassnet.engine import with_ones
from glassnet.engine.prefetch import ShuffledCopy
from glassnet.metrics import layer_statistics
from glassnet.preprocess import Standardizer, one_hot
from glassnet.training import History, TrainingInterrupted, TrainingState


def toy_data(n: int = 48, side: int = 4, classes: int = 3, seed: int = 0) -> tuple:
    """``n`` small ``side``×``side`` images as rows, each class marked by one bright pixel."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    X = rng.normal(0.0, 1.0, (n, side * side))
    X[np.arange(n), y] += 3.0
    return (X * 40 + 100).clip(0, 255), y


def params_equal(a: Network, b: Network) -> bool:
    return np.array_equal(a.get_flat_parameters(), b.get_flat_parameters())


def without_seconds(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


# A run that uses every piece of state the loop carries between epochs.
RICH = {
    "epochs": 4,
    "batch_size": 8,
    "learning_rate": 0.01,
    "optimizer": "adam",
    "weight_decay": 1e-3,
    "dropout": 0.2,
    "augment_shift": 1,
    "validation_split": 0.2,
    "schedule": "cosine",
    "warmup_epochs": 1,
    "patience": 10,
    "clip_norm": 5.0,
    "seed": 3,
}


# ---------------------------------------------------------------------------- determinism


def test_same_seed_gives_bit_identical_weights() -> None:
    X, y = toy_data()
    a = Network([16, 10, 3], "relu", seed=1)
    b = Network([16, 10, 3], "relu", seed=1)
    ha = train(a, X, y, **RICH)
    hb = train(b, X, y, **RICH)
    assert params_equal(a, b)
    assert without_seconds(ha.rows) == without_seconds(hb.rows)


def test_a_different_seed_gives_different_weights() -> None:
    X, y = toy_data()
    a = Network([16, 10, 3], "relu", seed=1)
    b = Network([16, 10, 3], "relu", seed=1)
    train(a, X, y, **RICH)
    train(b, X, y, **{**RICH, "seed": 5})
    assert not params_equal(a, b)


def test_training_never_touches_the_global_seed() -> None:
    X, y = toy_data()
    before = np.random.get_state(legacy=False)  # noqa: NPY002
    train(Network([16, 10, 3], "relu", seed=1), X, y, **RICH)
    after = np.random.get_state(legacy=False)  # noqa: NPY002
    np.testing.assert_array_equal(before["state"]["key"], after["state"]["key"])
    assert before["state"]["pos"] == after["state"]["pos"]


# ---------------------------------------------------------------------------- history


def test_history_rows_have_every_key() -> None:
    X, y = toy_data()
    net = Network([16, 10, 8, 3], "sigmoid", seed=0)
    history = net.fit(X, y, epochs=3, batch_size=8, validation_split=0.25)
    assert isinstance(history, History)
    assert [row["epoch"] for row in history.rows] == [1, 2, 3]
    layers = 3
    expected = {
        "epoch",
        "train_loss",
        "train_accuracy",
        "val_loss",
        "val_accuracy",
        "learning_rate",
        "seconds",
        *(f"grad_norm_{k}" for k in range(1, layers + 1)),
        *(f"weight_norm_{k}" for k in range(1, layers + 1)),
        *(f"saturation_{k}" for k in range(1, layers)),
    }
    for row in history.rows:
        assert expected <= set(row)
        assert "saturation_3" not in row  # the output layer is softmax, not a hidden layer
        assert all(math.isfinite(row[f"grad_norm_{k}"]) for k in range(1, layers + 1))
        assert all(0.0 <= row[f"saturation_{k}"] <= 1.0 for k in range(1, layers))
        assert 0.0 <= row["train_accuracy"] <= 1.0 and 0.0 <= row["val_accuracy"] <= 1.0
        assert row["train_loss"] > 0 and row["val_loss"] > 0 and row["seconds"] >= 0
    last = history.rows[-1]
    for k, W in enumerate(net.weights, start=1):
        assert last[f"weight_norm_{k}"] == pytest.approx(float(np.linalg.norm(W)), rel=1e-6)
    assert history.stopped == "completed 3 epochs"
    assert history.column("epoch") == [1, 2, 3]


def test_history_without_held_out_data_has_none_for_validation() -> None:
    X, y = toy_data()
    history = Network([16, 5, 3], seed=0).fit(X, y, epochs=2)
    assert history.column("val_loss") == [None, None]
    assert history.column("val_accuracy") == [None, None]


def test_layer_statistics_by_definition() -> None:
    rng = np.random.default_rng(0)
    net = Network([6, 5, 4, 3], "relu", seed=0, dtype="float64")
    net.weights[0][:, 0] = -1.0  # with positive inputs, unit 1 of layer 1 is dead
    net.biases[0][0] = -1.0
    X = np.abs(rng.normal(size=(20, 6)))
    Y = one_hot(rng.integers(0, 3, 20), 3, np.float64)
    stats = layer_statistics(net.engine, with_ones(X), Y)
    grads, bias_grads = net.backprop(X, Y)
    for k in (1, 2, 3):
        assert stats[f"grad_norm_{k}"] == pytest.approx(np.linalg.norm(grads[k - 1]))
        assert stats[f"bias_grad_norm_{k}"] == pytest.approx(np.linalg.norm(bias_grads[k - 1]))
        rms = np.sqrt(np.mean(grads[k - 1] ** 2))
        assert stats[f"grad_rms_{k}"] == pytest.approx(rms)
        assert stats[f"weight_norm_{k}"] == pytest.approx(np.linalg.norm(net.weights[k - 1]))
    A1 = np.maximum(X @ net.weights[0] + net.biases[0], 0)
    dead = np.all(A1 <= 0, axis=0)
    assert dead[0]
    assert stats["saturation_1"] == pytest.approx(dead.mean())
    assert set(stats) == {
        f"{name}_{k}"
        for name in ("grad_norm", "grad_rms", "bias_grad_norm", "weight_norm")
        for k in (1, 2, 3)
    } | {
        "saturation_1",
        "saturation_2",
    }


def test_verbose_prints_a_line_per_epoch() -> None:
    X, y = toy_data()
    log = io.StringIO()
    Network([16, 5, 3], seed=0).fit(X, y, epochs=2, verbose=2, log=log, validation_split=0.25)
    text = log.getvalue()
    assert "epoch 1/2" in text and "epoch 2/2" in text
    assert "val_acc" in text and "learning speed" in text


def test_fit_records_the_settings_on_the_network() -> None:
    X, y = toy_data()
    net = Network([16, 5, 3], seed=0)
    net.fit(X, y, epochs=2, batch_size=7, learning_rate=0.05)
    assert net.training_settings["epochs"] == 2
    assert net.training_settings["batch_size"] == 7
    assert net.training_settings["learning_rate"] == 0.05
    assert (
        net.training_settings == TrainConfig(epochs=2, batch_size=7, learning_rate=0.05).to_dict()
    )


# ---------------------------------------------------------------------------- data handling


def test_validation_split_is_held_out_of_training_and_of_the_statistics() -> None:
    """Row i is the constant 2^i, so the standardizer's mean reveals exactly which rows trained."""
    n, split = 12, 0.25
    X = np.repeat(2.0 ** np.arange(n), 4).reshape(n, 4)
    y = np.arange(n) % 2
    net = Network([4, 3, 2], "tanh", seed=0, dtype="float64")
    history = net.fit(X, y, epochs=1, batch_size=4, validation_split=split)
    n_val = round(n * split)
    total = net.standardizer.mean[0] * (n - n_val)
    assert total == int(total)
    trained = [i for i in range(n) if int(total) >> i & 1]
    held_out = sorted(set(range(n)) - set(trained))
    assert len(trained) == n - n_val and len(held_out) == n_val
    # The recorded validation loss is the loss on exactly the held-out rows.
    assert history.rows[0]["val_loss"] == pytest.approx(
        net.loss(net.prepare(X[held_out]), y[held_out]), rel=1e-10
    )


def test_explicit_validation_data_is_what_gets_evaluated() -> None:
    X, y = toy_data(seed=0)
    Xv, yv = toy_data(n=20, seed=1)
    net = Network([16, 5, 3], seed=0, dtype="float64")
    history = net.fit(X, y, epochs=2, validation_data=(Xv, yv), validation_split=0.5)
    assert history.rows[-1]["val_loss"] == pytest.approx(net.loss(net.prepare(Xv), yv), rel=1e-10)
    assert history.rows[-1]["val_accuracy"] == pytest.approx(net.score(Xv, yv))
    # validation_data wins over validation_split: all 48 rows trained, so the mean is theirs.
    assert net.standardizer.mean[0] == pytest.approx(X.mean())


@pytest.mark.parametrize("which", ["validation_data", "test_data"])
def test_empty_held_out_data_is_refused_up_front(which: str) -> None:
    X, y = toy_data()
    with pytest.raises(ValueError, match=r"validation|test"):
        Network([16, 5, 3], seed=0).fit(
            X, y, epochs=1, **{which: (np.zeros((0, 16)), np.zeros(0, int))}
        )


def test_test_data_is_recorded_but_never_influences_training() -> None:
    X, y = toy_data(seed=0)
    Xt, yt = toy_data(n=30, seed=2)
    a, b = Network([16, 5, 3], seed=0), Network([16, 5, 3], seed=0)
    ha = a.fit(X, y, epochs=3, test_data=(Xt, yt))
    b.fit(X, y, epochs=3)
    assert params_equal(a, b)
    assert ha.rows[-1]["test_accuracy"] == pytest.approx(a.score(Xt, yt))


def test_the_standardizer_comes_from_training_rows_and_travels_with_the_network() -> None:
    X, y = toy_data()
    net = Network([16, 5, 3], seed=0)
    net.fit(X, y, epochs=1)
    assert net.standardizer is not None
    assert net.standardizer.mean[0] == pytest.approx(X.mean())
    assert net.standardizer.scale[0] == pytest.approx(X.std())
    kept = Standardizer(np.array([7.0]), np.array([3.0]))
    other = Network([16, 5, 3], seed=0)
    other.standardizer = kept
    other.fit(X, y, epochs=1)
    assert other.standardizer is kept
    raw = Network([16, 5, 3], seed=0)
    raw.fit(X, y, epochs=1, standardize=False)
    assert raw.standardizer is None


def test_images_train_like_their_flattened_rows() -> None:
    X, y = toy_data()
    a, b = Network([16, 5, 3], seed=0), Network([16, 5, 3], seed=0)
    a.fit(X.reshape(-1, 4, 4), y, epochs=2, augment_shift=1)
    b.fit(X, y, epochs=2, augment_shift=1)
    assert params_equal(a, b)


def test_gradient_clipping_bounds_each_step() -> None:
    """One full-batch SGD step per epoch: the parameters move by exactly η · clip_norm."""
    X, y = toy_data(n=20)
    net = Network([16, 5, 3], "tanh", seed=0, dtype="float64")
    before = net.get_flat_parameters()
    net.fit(X, y, epochs=1, batch_size=20, learning_rate=0.1, clip_norm=0.01)
    step = np.linalg.norm(net.get_flat_parameters() - before)
    assert step == pytest.approx(0.1 * 0.01, rel=1e-9)


def test_sgd_with_its_rate_folded_in_trains_as_the_general_route_does() -> None:
    """Plain SGD takes gradients with -η folded in; clipping sends it the general way (η g, then
    θ − η g). A bound the gradients never reach leaves only that difference: rounding."""
    X, y = toy_data()
    settings = {"epochs": 3, "batch_size": 8, "learning_rate": 0.05, "schedule": "cosine"}
    folded = Network([16, 6, 3], "sigmoid", seed=4, dtype="float64")
    general = Network([16, 6, 3], "sigmoid", seed=4, dtype="float64")
    folded.fit(X, y, **settings)
    general.fit(X, y, clip_norm=1e9, **settings)
    moved = (
        folded.get_flat_parameters()
        - Network([16, 6, 3], "sigmoid", seed=4, dtype="float64").get_flat_parameters()
    )
    assert np.abs(moved).max() > 1e-3
    np.testing.assert_allclose(
        folded.get_flat_parameters(), general.get_flat_parameters(), rtol=1e-12, atol=1e-13
    )


# ---------------------------------------------------------------------------- the epoch's shuffled copy


@pytest.mark.parametrize(("helper", "ahead"), [(True, True), (True, False), (False, False)])
@pytest.mark.parametrize(("n", "batch_size"), [(1000, 10), (997, 16), (40, 8), (5, 8)])
def test_the_shuffle_copies_exactly_what_one_take_would_by_the_time_training_reads_it(
    n: int, batch_size: int, helper: bool, ahead: bool
) -> None:
    rng = np.random.default_rng(n)
    X, Y = rng.normal(size=(n, 7)), rng.normal(size=(n, 3))
    X_copy, Y_copy = np.full_like(X, np.nan), np.full_like(Y, np.nan)
    shuffle = ShuffledCopy([(X, X_copy), (Y, Y_copy)], batch_size, helper, ahead)
    try:
        for _ in range(3):
            order = rng.permutation(n)
            X_copy[...], Y_copy[...] = np.nan, np.nan
            shuffle.begin(order)
            ready = 0  # rows that training may read: those of every part reached so far
            for step in range(math.ceil(n / batch_size)):
                if step == shuffle.next_step:
                    shuffle.advance()
                ready = max(ready, min(n, (step + 1) * batch_size))
                np.testing.assert_array_equal(X_copy[:ready], X[order[:ready]])
            np.testing.assert_array_equal(X_copy, X[order])
            np.testing.assert_array_equal(Y_copy, Y[order])
        steps = math.ceil(n / batch_size)
        assert len(shuffle.starts) <= shuffle.PARTS
        # Copying ahead means more than one part (unless there is one step); otherwise one.
        assert (len(shuffle.starts) > 1) == (ahead and steps > 1)
    finally:
        shuffle.close()


def test_an_epoch_cut_short_leaves_no_copy_running_into_the_next() -> None:
    rng = np.random.default_rng(9)
    X = rng.normal(size=(640, 5))
    X_copy = np.empty_like(X)
    shuffle = ShuffledCopy([(X, X_copy)], 10, helper=True, ahead=True)
    try:
        shuffle.begin(rng.permutation(640))
        assert shuffle.pending is not None  # the second part is on its way
        order = rng.permutation(640)
        shuffle.begin(order)  # a new epoch before the last reached its second part
        for step in range(64):
            if step == shuffle.next_step:
                shuffle.advance()
        np.testing.assert_array_equal(X_copy, X[order])
    finally:
        shuffle.close()


@pytest.fixture
def background_shuffle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Copy every epoch on a second thread, whatever the data's size and the machine's cores."""
    monkeypatch.setattr(glassnet.training, "HELPER_BYTES", 0)
    monkeypatch.setattr(glassnet.training, "cores", lambda: 2)


def test_training_with_the_copy_on_a_second_core_is_bit_identical(
    background_shuffle: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[bool] = []  # whether each run's shuffle copied ahead on a second core

    class Watched(ShuffledCopy):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self.ahead)

    monkeypatch.setattr(glassnet.training, "ShuffledCopy", Watched)
    X, y = toy_data(n=200)
    settings = {"epochs": 3, "batch_size": 4, "learning_rate": 0.05, "seed": 5}
    background = Network([16, 6, 3], "sigmoid", seed=4)
    history = background.fit(X, y, **settings)
    monkeypatch.setattr(glassnet.training, "HELPER_BYTES", 1 << 62)
    foreground = Network([16, 6, 3], "sigmoid", seed=4)
    assert without_seconds(foreground.fit(X, y, **settings).rows) == without_seconds(history.rows)
    assert params_equal(background, foreground)
    assert made == [True, False]


def test_a_run_that_stops_early_leaves_no_shuffle_thread_behind(background_shuffle: None) -> None:
    import threading

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(400, 20)), rng.integers(0, 3, 400)
    with pytest.raises(TrainingDivergedError):
        Network([20, 16, 16, 3], "relu", seed=0).fit(X, y, epochs=3, learning_rate=1e6)
    assert not [t for t in threading.enumerate() if t.name.startswith("glassnet-shuffle")]


# ---------------------------------------------------------------------------- stopping rules


def test_early_stopping_restores_the_best_epochs_weights() -> None:
    # Pure noise with a high learning rate: the validation loss soon rises as the net memorises.
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 10)), rng.integers(0, 3, 40)
    Xv, yv = rng.normal(size=(40, 10)), rng.integers(0, 3, 40)
    snapshots: dict[int, np.ndarray] = {}

    def keep(row: dict[str, Any], state: TrainingState) -> None:
        assert state.epoch == row["epoch"]
        snapshots[state.epoch] = state.parameters.copy()

    net = Network([10, 64, 3], "relu", seed=0, dtype="float64")
    history = net.fit(
        X,
        y,
        epochs=40,
        batch_size=4,
        learning_rate=0.2,
        validation_data=(Xv, yv),
        patience=3,
        callbacks=[keep],
    )
    losses = history.column("val_loss")
    best = int(np.argmin(losses)) + 1
    assert history.best_epoch == best
    assert len(losses) == best + 3 < 40, "the validation loss never turned up"
    assert all(loss >= losses[best - 1] for loss in losses[best:])
    assert history.stopped.startswith("early stop")
    assert f"epoch {best}" in history.stopped
    np.testing.assert_array_equal(net.get_flat_parameters(), snapshots[best])
    assert not np.array_equal(net.get_flat_parameters(), snapshots[len(losses)])


def test_without_patience_the_last_weights_stay() -> None:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 10)), rng.integers(0, 3, 40)
    Xv, yv = rng.normal(size=(40, 10)), rng.integers(0, 3, 40)
    last: list[np.ndarray] = []
    net = Network([10, 64, 3], "relu", seed=0, dtype="float64")
    history = net.fit(
        X,
        y,
        epochs=8,
        batch_size=4,
        learning_rate=0.2,
        validation_data=(Xv, yv),
        callbacks=[lambda row, state: last.append(state.parameters.copy())],
    )
    assert len(history.rows) == 8
    np.testing.assert_array_equal(net.get_flat_parameters(), last[-1])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_raises_naming_the_learning_rate_and_leaves_finite_weights() -> None:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(200, 20)), rng.integers(0, 3, 200)
    net = Network([20, 16, 16, 3], "relu", seed=0)
    start = net.get_flat_parameters()
    with pytest.raises(TrainingDivergedError, match="learning rate 1e\\+06") as info:
        net.fit(X, y, epochs=3, learning_rate=1e6)
    assert isinstance(info.value, GlassnetError) and isinstance(info.value, FloatingPointError)
    assert "\n" not in str(info.value)
    params = net.get_flat_parameters()
    assert np.all(np.isfinite(params))
    np.testing.assert_array_equal(params, start)  # it diverged in epoch 1: back to the start


def test_divergence_of_a_sigmoid_network_is_reported() -> None:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(200, 20)), rng.integers(0, 3, 200)
    with pytest.raises(TrainingDivergedError, match="learning rate"):
        Network([20, 16, 16, 3], "sigmoid", seed=0).fit(X, y, epochs=3, learning_rate=1e6)


# ---------------------------------------------------------------------------- resuming


def snapshot_after(epoch: int, store: dict[str, TrainingState]) -> Any:
    def callback(row: dict[str, Any], state: TrainingState) -> None:
        if state.epoch == epoch:
            store["state"] = state

    return callback


def test_resume_after_epoch_two_is_bit_identical_to_four_straight_epochs() -> None:
    X, y = toy_data()
    straight = Network([16, 10, 3], "relu", seed=1)
    store: dict[str, TrainingState] = {}
    full = train(straight, X, y, callbacks=[snapshot_after(2, store)], **RICH)
    state = store["state"]
    assert state.epoch == 2

    resumed = Network([16, 10, 3], "relu", seed=99)  # its own weights are overwritten
    history = train(resumed, X, y, resume=state, **RICH)
    assert params_equal(resumed, straight)
    assert without_seconds(history.rows) == without_seconds(full.rows)
    assert history.stopped == full.stopped


def test_the_snapshot_is_not_changed_by_later_epochs() -> None:
    X, y = toy_data()
    store: dict[str, TrainingState] = {}
    net = Network([16, 10, 3], "relu", seed=1)
    train(net, X, y, callbacks=[snapshot_after(1, store)], **RICH)
    state = store["state"]
    assert len(state.history.rows) == 1
    assert not np.array_equal(state.parameters, net.get_flat_parameters())


def interrupt_after(steps: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the optimizer raise KeyboardInterrupt (as Ctrl-C would) on step ``steps + 1``.

    The NumPy engine calls the optimizer's ``step`` once a step (the compiled engine updates inside
    its own loop), so the tests that use this train on it: they check the loop's snapshots.
    """
    real = glassnet.config.make_optimizer

    def build(*args: Any, **kwargs: Any) -> Any:
        optimizer = real(*args, **kwargs)
        step, count = optimizer.step, [0]

        def interrupted_step(*a: Any, **k: Any) -> None:
            count[0] += 1
            if count[0] > steps:
                raise KeyboardInterrupt
            step(*a, **k)

        optimizer.step = interrupted_step  # type: ignore[method-assign]
        return optimizer

    monkeypatch.setattr(glassnet.config, "make_optimizer", build)


def test_ctrl_c_mid_epoch_carries_the_last_completed_epochs_state(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(RICH, "engine", "numpy")  # see interrupt_after
    X, y = toy_data()
    straight = Network([16, 10, 3], "relu", seed=1)
    store: dict[str, TrainingState] = {}
    train(straight, X, y, callbacks=[snapshot_after(2, store)], **RICH)

    with monkeypatch.context() as patch:
        # 48 rows, 20% held out -> 38 training rows, 5 steps of 8 per epoch; stop in epoch 3.
        interrupt_after(2 * 5 + 2, patch)
        with pytest.raises(TrainingInterrupted) as info:
            train(Network([16, 10, 3], "relu", seed=1), X, y, **RICH)
    assert isinstance(info.value, KeyboardInterrupt)
    state = info.value.state
    assert state is not None and state.epoch == 2
    assert len(state.history.rows) == 2
    np.testing.assert_array_equal(state.parameters, store["state"].parameters)

    resumed = Network([16, 10, 3], "relu", seed=1)
    train(resumed, X, y, resume=state, **RICH)
    assert params_equal(resumed, straight)


def test_ctrl_c_in_the_first_epoch_carries_the_starting_state(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(RICH, "engine", "numpy")  # see interrupt_after
    X, y = toy_data()
    net = Network([16, 10, 3], "relu", seed=1)
    start = net.get_flat_parameters()
    interrupt_after(1, monkeypatch)
    with pytest.raises(TrainingInterrupted) as info:
        train(net, X, y, **RICH)
    assert info.value.state is not None
    assert info.value.state.epoch == 0
    np.testing.assert_array_equal(info.value.state.parameters, start)


# ---------------------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("batch_size", 0),
        ("batch_size", -1),
        ("batch_size", 2.5),
        ("batch_size", True),
        ("epochs", 0),
        ("epochs", "3"),
        ("learning_rate", -1),
        ("learning_rate", 0),
        ("learning_rate", math.nan),
        ("learning_rate", math.inf),
        ("learning_rate", "0.1"),
        ("momentum", 1.0),
        ("weight_decay", -0.1),
        ("dropout", 1.0),
        ("dropout", -0.1),
        ("clip_norm", -1.0),
        ("validation_split", 0.95),
        ("validation_split", -0.1),
        ("patience", -1),
        ("augment_shift", -1),
        ("augment_elastic", [34.0]),
        ("augment_elastic", [math.nan, 4.0]),
        ("augment_elastic", [34.0, -4.0]),
        ("augment_elastic", 34.0),
        ("augment_affine", [15.0, 0.15]),
        ("augment_affine", [15.0, 1.0, 15.0]),
        ("augment_affine", [-15.0, 0.15, 15.0]),
        ("gamma", 0.0),
        ("step_epochs", 0.0),
        ("lr_floor", 1.5),
        ("seed", -1),
        ("optimizer", "lbfgs"),
        ("schedule", "linear"),
    ],
)
def test_train_config_rejects_invalid_values_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(ValueError) as info:
        TrainConfig(**{field: value})
    message = str(info.value)
    assert field.replace("_", " ") in message or repr(value) in message
    assert "\n" not in message


def test_train_config_accepts_its_defaults_and_edge_values() -> None:
    config = TrainConfig(batch_size=1, learning_rate=1e-9, dropout=0.0, validation_split=0.9)
    assert config.to_dict()["batch_size"] == 1
    assert set(TrainConfig.field_names()) == set(config.to_dict())


def test_fit_rejects_unknown_and_invalid_settings() -> None:
    X, y = toy_data()
    with pytest.raises(ValueError, match="batch size"):
        Network([16, 5, 3], seed=0).fit(X, y, batch_size=0)
    with pytest.raises(ValueError, match=r"unknown training setting .batchsize."):
        Network([16, 5, 3], seed=0).fit(X, y, batchsize=4)


# ---------------------------------------------------------------------------- real MNIST


@pytest.fixture(scope="module")
def mnist(mnist_dir: Path) -> Any:
    from glassnet.datasets import load

    return load("mnist", mnist_dir, download=False)


@pytest.mark.slow
@pytest.mark.mnist
def test_the_posts_sigmoid_network_has_a_vanishing_gradient_and_relu_does_not(mnist: Any) -> None:
    """784-50x6-10 on 1,000 real digits: the post's sigmoid network with N(0, 1) weights passes
    back a gradient that shrinks layer by layer toward the input; He-initialized ReLU does not."""
    X_raw = mnist.train_images[:1000].reshape(1000, -1)
    X = Standardizer.fit(X_raw).transform(X_raw, np.float64)
    Y = one_hot(mnist.train_labels[:1000], 10, np.float64)
    sizes = [784, 50, 50, 50, 50, 50, 50, 10]
    for seed in range(3):
        post = Network(sizes, "sigmoid", initializer="normal", seed=seed, dtype="float64")
        s = layer_statistics(post.engine, with_ones(X), Y)
        norms = [s[f"grad_norm_{k}"] for k in range(1, 8)]
        # Frobenius norms, though layer 1 has 78 times as many weights as layer 7.
        assert norms[0] < norms[-1] / 5
        assert all(a < b for a, b in itertools.pairwise(norms))
        # Per weight (root mean square) the gap is wider still.
        rms_first, rms_last = norms[0] / math.sqrt(784 * 50), norms[-1] / math.sqrt(50 * 10)
        assert rms_first < rms_last / 30
        assert s["saturation_1"] > 0.5  # why: the first layer's sigmoids are pinned

        relu = Network(sizes, "relu", initializer="he", seed=seed, dtype="float64")
        r = layer_statistics(relu.engine, with_ones(X), Y)
        assert r["grad_norm_1"] > r["grad_norm_7"]
        assert r["saturation_1"] < 0.05


@pytest.mark.slow
@pytest.mark.mnist
def test_learns_real_mnist_in_two_epochs(mnist: Any) -> None:
    """784-128-10 ReLU on the first 10,000 training digits, scored on the 10,000 test digits.

    Measured: 94.5% to 94.8% over seeds 0 to 5 (about one second); the floor sits below that.
    """
    net = Network([784, 128, 10], "relu", seed=0)
    history = net.fit(
        mnist.train_images[:10_000],
        mnist.train_labels[:10_000],
        epochs=2,
        batch_size=16,
        learning_rate=0.1,
        schedule="cosine",
    )
    accuracy = net.score(mnist.test_images, mnist.test_labels)
    assert accuracy >= 0.93
    assert history.rows[-1]["train_loss"] < history.rows[0]["train_loss"]


def test_fit_leaves_the_last_epochs_figures_on_the_network() -> None:
    """What a notebook's table and a saved model show of how well the network did."""
    X, y = toy_data()
    net = Network([16, 10, 3], "relu", seed=1)
    history = net.fit(X, y, epochs=3, test_data=(X[:20], y[:20]), validation_split=0.2, seed=2)
    last = history.rows[-1]
    assert net.metrics["epochs"] == 3
    for name in ("train_accuracy", "val_loss", "val_accuracy", "test_accuracy"):
        assert net.metrics[name] == last[name]
    net.fit(X, y, epochs=1)
    assert "test_accuracy" not in net.metrics and net.metrics["epochs"] == 1
