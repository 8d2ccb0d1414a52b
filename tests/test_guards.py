"""Tests for guards that a weaker test suite let slip: each would fail if its guard were removed.

Training shuffles every epoch; early stopping waits for a strictly better loss; a model file's
header bound is enforced; an atomic write makes its rename durable by syncing the directory.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

import glassnet.atomic
import glassnet.engine.prefetch
from glassnet import Network
from glassnet.errors import FormatError
from glassnet.modelfile import read_model_file, read_model_header
from glassnet.tensorfile import MAX_HEADER_BYTES


def toy(n: int = 120) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 6)), np.repeat(np.arange(3), n // 3)  # sorted by class


def test_every_epoch_is_shuffled_anew(monkeypatch: pytest.MonkeyPatch) -> None:
    orders: list[np.ndarray] = []
    real = glassnet.engine.prefetch.ShuffledCopy.begin

    def record(self: object, order: np.ndarray) -> None:
        orders.append(order.copy())
        real(self, order)  # type: ignore[arg-type]

    monkeypatch.setattr(glassnet.engine.prefetch.ShuffledCopy, "begin", record)
    X, y = toy()
    Network([6, 5, 3], seed=0).fit(X, y, epochs=3, batch_size=10)
    assert len(orders) == 3
    for order in orders:
        assert sorted(order) == list(range(len(X)))  # every sample once
        assert not np.array_equal(order, np.arange(len(X)))  # not the file's order
    assert not np.array_equal(orders[0], orders[1])  # a new order each epoch


def test_the_seed_decides_the_order_and_nothing_else_does() -> None:
    """No dropout, no augmentation: the only randomness in training is the order of the batches."""
    X, y = toy()
    runs = [Network([6, 5, 3], seed=0) for _ in range(3)]
    for net, seed in zip(runs, (0, 0, 1), strict=True):
        net.fit(X, y, epochs=2, batch_size=10, seed=seed)
    same, other = (net.get_flat_parameters() for net in runs[1:])
    np.testing.assert_array_equal(runs[0].get_flat_parameters(), same)
    assert not np.array_equal(same, other)


def test_early_stopping_counts_a_tie_as_no_improvement() -> None:
    """With a learning rate too small to change a weight, the validation loss ties every epoch:
    patience 2 stops after epoch 3 (a tie is not better), never running all 10."""
    X, y = toy()
    history = Network([6, 5, 3], seed=0).fit(
        X, y, epochs=10, learning_rate=1e-300, patience=2, validation_split=0.25
    )
    losses = history.column("val_loss")
    assert len(set(losses)) == 1  # exact ties
    assert len(history.rows) == 3 and history.best_epoch == 1
    assert history.stopped.startswith("early stop after epoch 3")


def header_file(tmp_path: Path, header_bytes: int) -> Path:
    """A safetensors file whose JSON header really is ``header_bytes`` long (padded with spaces,
    which JSON allows), holding a valid glassnet model."""
    good = Network([3, 2, 2], seed=0).save(tmp_path / "good.safetensors")
    data = good.read_bytes()
    length = int.from_bytes(data[:8], "little")
    header, body = data[8 : 8 + length], data[8 + length :]
    header = header + b" " * (header_bytes - len(header))
    path = tmp_path / "padded.safetensors"
    path.write_bytes(header_bytes.to_bytes(8, "little") + header + body)
    return path


def test_the_header_bound_is_enforced(tmp_path: Path) -> None:
    at_limit = header_file(tmp_path, MAX_HEADER_BYTES)
    read_model_file(at_limit)  # exactly at the bound: read
    over = header_file(tmp_path, MAX_HEADER_BYTES + 8)
    for read in (read_model_file, read_model_header):
        with pytest.raises(FormatError, match=r"the header is 8\.0 MiB .* over the 8\.0 MiB"):
            read(over)


def test_an_atomic_write_syncs_the_file_and_then_its_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        synced.append("directory" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real(fd)

    monkeypatch.setattr(glassnet.atomic.os, "fsync", fsync)
    glassnet.atomic.atomic_write_bytes(tmp_path / "out.bin", b"data")
    assert synced == ["file", "directory"]
    assert (tmp_path / "out.bin").read_bytes() == b"data"
