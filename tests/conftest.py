"""Shared fixtures: ``mnist_dir``, the real MNIST files found without downloading anything, and
``isolated``, a working folder for command-line runs that can touch nothing outside it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The folder holding the four MNIST IDX files; the test is skipped when any is missing.

    ``GLASSNET_TEST_MNIST`` names the folder; otherwise ``<repo>/../shared/datasets/mnist``.
    """
    configured = os.environ.get("GLASSNET_TEST_MNIST")
    if configured:
        folder = Path(configured)
    else:
        folder = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "mnist"
    missing = [name for name in MNIST_FILES if not (folder / name).is_file()]
    if missing:
        pytest.skip(
            f"real MNIST not found in {folder} (missing {', '.join(missing)}); "
            f"set GLASSNET_TEST_MNIST"
        )
    return folder


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """For in-process runs of ``glassnet.cli.main``: no data dir, cache or runs dir outside
    ``tmp_path``, downloads refused at once, and ``tmp_path`` as the working folder."""
    from test_cli import isolated_env

    for name, value in isolated_env(tmp_path).items():
        if os.environ.get(name) != value:
            monkeypatch.setenv(name, value)
    monkeypatch.delenv("GLASSNET_RUNS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path
