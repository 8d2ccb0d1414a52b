"""Shared fixtures: ``mnist_dir``, the real MNIST files found without downloading anything, and
``isolated``, a working folder for command-line runs that can touch nothing outside it. (Shared
helpers that are not fixtures live in helpers.py.)"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import MNIST_FILES, isolated_env, mnist_folder, mnist_location


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The folder holding the four MNIST IDX files; the test is skipped when any is missing.

    ``GLASSNET_TEST_MNIST`` names the folder; otherwise ``<repo>/../shared/datasets/mnist``.
    """
    folder = mnist_folder()
    if folder is None:
        pytest.skip(
            f"real MNIST not found in {mnist_location()} (it needs {', '.join(MNIST_FILES)}); "
            f"set GLASSNET_TEST_MNIST"
        )
    return folder


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """For in-process runs of ``glassnet.cli.main``: no data dir, cache or runs dir outside
    ``tmp_path``, downloads refused at once, and ``tmp_path`` as the working folder."""
    for name, value in isolated_env(tmp_path).items():
        if os.environ.get(name) != value:
            monkeypatch.setenv(name, value)
    monkeypatch.delenv("GLASSNET_RUNS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path
