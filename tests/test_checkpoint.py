"""Tests for checkpoints: the whole training state on disk, resumed bit for bit, checked on load."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import safetensors
import safetensors.numpy

from glassnet import FormatError, Network, train
from glassnet.checkpoint import load_checkpoint, save_checkpoint
from glassnet.training import History, TrainingState

SETTINGS = {
    "epochs": 4,
    "batch_size": 8,
    "learning_rate": 0.02,
    "optimizer": "momentum",
    "weight_decay": 1e-3,
    "dropout": 0.1,
    "augment_shift": 1,
    "validation_split": 0.25,
    "schedule": "cosine",
    "patience": 5,
    "seed": 11,
}


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 40)
    X = rng.normal(0, 1, (40, 16))
    X[np.arange(40), y] += 3
    return (X * 30 + 100).clip(0, 255), y


def state_after(epoch: int, net: Network) -> tuple[TrainingState, Any]:
    store: dict[str, TrainingState] = {}

    def keep(row: dict[str, Any], state: TrainingState) -> None:
        if state.epoch == epoch:
            store["state"] = state

    history = train(net, *data(), callbacks=[keep], **SETTINGS)
    return store["state"], history


def rewrite(path: Path, change: Any) -> None:
    """Load a checkpoint's tensors and header, let ``change`` edit them, and write it back."""
    tensors = safetensors.numpy.load(path.read_bytes())
    with safetensors.safe_open(str(path), framework="np") as f:
        header = json.loads(f.metadata()["glassnet"])
    change(tensors, header)
    path.write_bytes(safetensors.numpy.save(tensors, metadata={"glassnet": json.dumps(header)}))


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    net = Network([16, 8, 3], "relu", seed=0)
    state, _ = state_after(2, net)
    path = tmp_path / "checkpoint.safetensors"
    save_checkpoint(path, net, state)
    loaded = load_checkpoint(path, Network([16, 8, 3], "relu", seed=5))
    assert loaded.epoch == 2
    np.testing.assert_array_equal(loaded.parameters, state.parameters)
    assert loaded.parameters.dtype == state.parameters.dtype
    assert loaded.optimizer["iterations"] == state.optimizer["iterations"] > 0
    assert set(loaded.optimizer["arrays"]) == set(state.optimizer["arrays"])
    for key, value in state.optimizer["arrays"].items():
        np.testing.assert_array_equal(loaded.optimizer["arrays"][key], value)
    assert loaded.rng_state == state.rng_state
    assert loaded.history.rows == state.history.rows
    assert loaded.history.best_epoch == state.history.best_epoch
    assert loaded.best_parameters is not None and state.best_parameters is not None
    np.testing.assert_array_equal(loaded.best_parameters, state.best_parameters)
    assert loaded.best_loss == state.best_loss
    assert loaded.bad_epochs == state.bad_epochs
    assert loaded.standardizer is not None and state.standardizer is not None
    np.testing.assert_array_equal(loaded.standardizer.mean, state.standardizer.mean)
    np.testing.assert_array_equal(loaded.standardizer.scale, state.standardizer.scale)


def test_resume_from_disk_is_bit_identical_to_straight_training(tmp_path: Path) -> None:
    straight = Network([16, 8, 3], "relu", seed=0)
    state, full = state_after(2, straight)
    path = tmp_path / "run" / "checkpoint.safetensors"
    path.parent.mkdir()
    save_checkpoint(path, straight, state)

    resumed = Network([16, 8, 3], "relu", seed=123)
    history = train(resumed, *data(), resume=load_checkpoint(path, resumed), **SETTINGS)
    np.testing.assert_array_equal(resumed.get_flat_parameters(), straight.get_flat_parameters())
    assert [r["val_loss"] for r in history.rows] == [r["val_loss"] for r in full.rows]
    assert history.best_epoch == full.best_epoch
    assert [p.name for p in path.parent.iterdir()] == ["checkpoint.safetensors"]  # no temp left


def test_a_state_before_any_epoch_round_trips(tmp_path: Path) -> None:
    """Epoch 0: no history, no best parameters, best loss infinite, no standardizer."""
    net = Network([4, 3, 2], "tanh", seed=0, dtype="float64")
    state = TrainingState(
        epoch=0,
        parameters=net.get_flat_parameters(),
        optimizer={"iterations": 0, "arrays": {}},
        rng_state=np.random.default_rng(1).bit_generator.state,
        history=History(),
        best_parameters=None,
        best_loss=math.inf,
        bad_epochs=0,
        standardizer=None,
    )
    path = tmp_path / "c.safetensors"
    save_checkpoint(path, net, state)
    loaded = load_checkpoint(path, net)
    assert loaded.epoch == 0 and loaded.best_loss == math.inf
    assert loaded.best_parameters is None and loaded.standardizer is None
    assert loaded.history.rows == []
    assert loaded.rng_state == state.rng_state


@pytest.mark.parametrize(
    ("other", "field"),
    [
        (lambda: Network([16, 9, 3], "relu", seed=0), "layer_sizes"),
        (lambda: Network([16, 8, 3], "tanh", seed=0), "activation"),
        (lambda: Network([16, 8, 3], "relu", seed=0, dtype="float64"), "dtype"),
    ],
)
def test_a_checkpoint_for_another_network_is_refused(
    tmp_path: Path, other: Any, field: str
) -> None:
    net = Network([16, 8, 3], "relu", seed=0)
    state, _ = state_after(1, net)
    path = tmp_path / "c.safetensors"
    save_checkpoint(path, net, state)
    with pytest.raises(FormatError, match=field) as info:
        load_checkpoint(path, other())
    assert str(path) in str(info.value)


def test_missing_file_says_there_is_nothing_to_resume(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="no checkpoint"):
        load_checkpoint(tmp_path / "absent.safetensors", Network([4, 3, 2]))


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"\x00" * 64])
def test_garbage_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "c.safetensors"
    path.write_bytes(content)
    with pytest.raises(FormatError, match="not a glassnet checkpoint"):
        load_checkpoint(path, Network([4, 3, 2]))


def test_a_safetensors_file_of_another_kind_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.safetensors"
    path.write_bytes(
        safetensors.numpy.save({"x": np.zeros(3)}, metadata={"glassnet": json.dumps({"a": 1})})
    )
    with pytest.raises(FormatError, match="not a glassnet checkpoint"):
        load_checkpoint(path, Network([4, 3, 2]))


def saved(tmp_path: Path) -> tuple[Path, Network]:
    net = Network([16, 8, 3], "relu", seed=0)
    state, _ = state_after(1, net)
    path = tmp_path / "c.safetensors"
    save_checkpoint(path, net, state)
    return path, net


def test_an_unknown_format_version_is_refused(tmp_path: Path) -> None:
    path, net = saved(tmp_path)
    rewrite(path, lambda tensors, header: header.update(format_version=99))
    with pytest.raises(FormatError, match="version 99"):
        load_checkpoint(path, net)


def test_non_finite_parameters_are_refused(tmp_path: Path) -> None:
    path, net = saved(tmp_path)

    def poison(tensors: dict[str, np.ndarray], header: dict[str, Any]) -> None:
        tensors["parameters"] = tensors["parameters"].copy()
        tensors["parameters"][3] = np.nan

    rewrite(path, poison)
    with pytest.raises(FormatError, match="NaN or infinite"):
        load_checkpoint(path, net)


def test_parameters_of_the_wrong_size_are_refused(tmp_path: Path) -> None:
    path, net = saved(tmp_path)
    rewrite(path, lambda t, h: t.update(parameters=t["parameters"][:-1].copy()))
    with pytest.raises(FormatError, match="do not fit"):
        load_checkpoint(path, net)


def test_the_file_holds_no_pickle(tmp_path: Path) -> None:
    path, _ = saved(tmp_path)
    raw = path.read_bytes()
    assert b"\x80\x04\x95" not in raw and b"\x80\x05\x95" not in raw  # pickle protocol 4/5 frames
    with safetensors.safe_open(str(path), framework="np") as f:
        header = json.loads(f.metadata()["glassnet"])
    assert header["format"] == "glassnet-checkpoint"
