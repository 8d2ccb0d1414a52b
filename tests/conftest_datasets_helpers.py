"""Helpers for the dataset tests: a tiny fake dataset, and isolation from the real machine.

Imported by test_fetch.py and test_datasets.py. Nothing here touches the network or the real
user cache: :func:`isolate` points the cache at a temporary directory, clears
``GLASSNET_DATA_DIR`` and makes any connection to a host other than this machine fail.
"""

from __future__ import annotations

import gzip
import hashlib
import socket
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import platformdirs
import pytest

from glassnet.datasets.idx import write_idx
from glassnet.datasets.sources import DatasetSource, IdxFile

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def isolate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Use ``tmp_path/cache`` as the user cache, unset ``GLASSNET_DATA_DIR``, forbid the network.

    Returns the cache root (``platformdirs.user_cache_dir("glassnet")`` during the test).
    """
    cache_root = tmp_path / "cache" / "glassnet"

    def user_cache_dir(appname: str | None = None, *args: object, **kwargs: object) -> str:
        return str(tmp_path / "cache" / (appname or ""))

    monkeypatch.setattr(platformdirs, "user_cache_dir", user_cache_dir)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("GLASSNET_DATA_DIR", raising=False)
    for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(proxy, raising=False)

    real_connect = socket.socket.connect

    def loopback_only(sock: socket.socket, address: object) -> None:
        if isinstance(address, tuple) and address[0] not in LOOPBACK:
            raise OSError(f"tests must not use the network (tried to reach {address[0]})")
        real_connect(sock, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", loopback_only)
    return cache_root


@dataclass
class FakeDataset:
    """A dataset of a few random images, with the bytes of its files and a matching source."""

    source: DatasetSource
    raw: dict[str, bytes]  # file name -> uncompressed IDX bytes
    gz: dict[str, bytes]  # file name -> the .gz a mirror serves

    def write(self, directory: Path, *, compressed: bool = True) -> Path:
        """Put the four files in ``directory`` (created), compressed or not."""
        directory.mkdir(parents=True, exist_ok=True)
        for file in self.source.files:
            if compressed:
                (directory / file.name).write_bytes(self.gz[file.name])
            else:
                (directory / file.names[1]).write_bytes(self.raw[file.name])
        return directory

    def with_mirrors(self, *mirrors: str) -> FakeDataset:
        return replace(self, source=replace(self.source, mirrors=tuple(mirrors)))


def _idx(array: np.ndarray, tmp: Path) -> bytes:
    write_idx(tmp, array)
    return tmp.read_bytes()


def make_fake_dataset(
    tmp_path: Path,
    *,
    name: str = "tiny",
    n_train: int = 6,
    n_test: int = 4,
    seed: int = 0,
    arrays: dict[str, np.ndarray] | None = None,
    system_dirs: tuple[Path, ...] = (),
) -> FakeDataset:
    """Build a 10-class dataset whose digests match its files.

    ``arrays`` may replace any of ``"train_images"``, ``"train_labels"``, ``"test_images"``,
    ``"test_labels"`` (to make inconsistent datasets: the digests still match the files).
    """
    rng = np.random.default_rng(seed)
    parts = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    parts.update(arrays or {})
    names = {
        "train_images": "train-images-idx3-ubyte.gz",
        "train_labels": "train-labels-idx1-ubyte.gz",
        "test_images": "t10k-images-idx3-ubyte.gz",
        "test_labels": "t10k-labels-idx1-ubyte.gz",
    }
    scratch = tmp_path / f".scratch-{name}-{seed}"
    scratch.mkdir(parents=True, exist_ok=True)
    raw, gz, files = {}, {}, {}
    for part, array in parts.items():
        file_name = names[part]
        raw[file_name] = _idx(array, scratch / part)
        gz[file_name] = gzip.compress(raw[file_name], mtime=0)
        files[part] = IdxFile(
            file_name,
            sha256=hashlib.sha256(raw[file_name]).hexdigest(),
            gz_sha256=hashlib.sha256(gz[file_name]).hexdigest(),
            shape=array.shape,
        )
    source = DatasetSource(
        name=name,
        title="a tiny fake dataset",
        class_names=tuple(f"class {i}" for i in range(10)),
        mirrors=(),
        system_dirs=system_dirs,
        train_images=files["train_images"],
        train_labels=files["train_labels"],
        test_images=files["test_images"],
        test_labels=files["test_labels"],
    )
    return FakeDataset(source, raw, gz)
