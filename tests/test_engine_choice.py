"""Choosing an engine: auto, a fallback that says why, a run that moves between engines, a cache.

The equality of every engine with the reference is tests/test_engines.py; this is the rest of what a
user of the compiled engine (``glassnet[fast]``) meets.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import glassnet.engine
from glassnet import Network, RunSettings, runs
from glassnet.engine import EngineUnavailable, available_engines, engine_class, select_engine
from glassnet.engine.base import with_ones

compiled = pytest.mark.skipif(
    "numba" not in available_engines(), reason="the compiled engine needs glassnet[fast]"
)


@pytest.fixture
def no_numba(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As on a machine without the fast extra: the numba engine's module cannot be imported."""
    monkeypatch.setitem(glassnet.engine._WHERE, "numba", ("glassnet.engine.not_installed", "X"))
    engine_class.cache_clear()
    yield
    engine_class.cache_clear()


@pytest.fixture
def failing_compiler(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As on a machine where Numba is installed but cannot compile the kernels."""
    pytest.importorskip("numba")
    from glassnet.engine.numba import NumbaEngine

    def fail(cls: type) -> None:
        raise RuntimeError("LLVM ERROR: no target for this\nsecond line")

    monkeypatch.setattr(NumbaEngine, "check", classmethod(fail))
    engine_class.cache_clear()
    yield
    engine_class.cache_clear()


def test_auto_falls_back_to_numpy_without_the_extra_and_says_how_to_get_it(no_numba: None) -> None:
    choice = select_engine("auto")
    assert choice.name == "numpy"
    assert "pip install 'glassnet[fast]'" in str(choice)
    assert str(choice).startswith("numpy engine (cannot run here (No module named")
    with pytest.raises(
        EngineUnavailable, match=r"the numba engine cannot run here .*glassnet\[fast\]"
    ):
        select_engine("numba")
    assert available_engines() == ["numpy"]


def test_auto_falls_back_when_compilation_fails_in_one_line(failing_compiler: None) -> None:
    choice = select_engine("auto")
    assert choice.name == "numpy"
    assert "LLVM ERROR: no target for this second line" in str(choice)
    assert "\n" not in str(choice)


def test_fit_trains_on_numpy_when_the_compiled_engine_cannot_run(no_numba: None) -> None:
    rng = np.random.default_rng(0)
    net = Network([6, 5, 3], "relu", seed=0)
    net.fit(rng.normal(size=(30, 6)), rng.integers(0, 3, 30), epochs=1, engine="auto")
    assert net.engine.name == "numpy"
    with pytest.raises(EngineUnavailable):
        net.fit(rng.normal(size=(30, 6)), rng.integers(0, 3, 30), epochs=1, engine="numba")


def test_the_command_says_in_one_line_when_the_engine_asked_for_cannot_run(
    no_numba: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from glassnet.cli import main

    code = main(["train", "--engine", "numba", "--out", str(tmp_path / "run"), "--data-dir", "x"])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert err.count("\n") == 0 and "numba engine cannot run here" in err
    assert not (tmp_path / "run").exists()


@compiled
@pytest.mark.mnist
def test_a_run_names_its_engine_and_continues_on_the_other_one(
    mnist_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three epochs on the compiled engine, against two on it and the third on NumPy after a
    Ctrl-C: the same numbers up to rounding."""
    settings = RunSettings.resolve(
        "fast",
        None,
        {"data_dir": str(mnist_dir), "train_limit": 3000, "hidden": [32], "epochs": 3,
         "engine": "numba", "dropout": 0.2, "optimizer": "nesterov"},
    )  # fmt: skip
    log = io.StringIO()
    straight = runs.run(settings, tmp_path / "straight", log=log)
    assert "numba engine" in log.getvalue().splitlines()[0]

    real_train = runs.execute.train

    def train_then_stop(*args: object, **kwargs: object) -> object:
        keep = list(kwargs.pop("callbacks"))  # type: ignore[call-overload]

        def stop_after_two(row: dict[str, object], state: object) -> None:
            for callback in keep:
                callback(row, state)
            if row["epoch"] == 2:
                raise KeyboardInterrupt

        return real_train(*args, callbacks=[stop_after_two], **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(runs.execute, "CHECKPOINT_SECONDS", 0.0)
    with monkeypatch.context() as patch:
        patch.setattr(runs.execute, "train", train_then_stop)
        with pytest.raises(runs.RunInterrupted):
            runs.run(settings, tmp_path / "cut")
    log = io.StringIO()
    resumed = runs.resume(tmp_path / "cut", engine="numpy", log=log)
    assert "numpy engine" in log.getvalue().splitlines()[0]
    assert resumed.network.engine.name == "numpy"
    ours, theirs = resumed.network.get_flat_parameters(), straight.network.get_flat_parameters()
    assert not np.array_equal(ours, theirs)  # other rounding ...
    assert np.linalg.norm(ours - theirs) < 1e-4 * np.linalg.norm(theirs)  # ... the same numbers


@pytest.mark.slow
@compiled
def test_a_warm_start_loads_the_compiled_kernels_from_disk(tmp_path: Path) -> None:
    """The first process compiles and writes the cache, saying so in one line on standard error
    with the time it took; the next loads every kernel from it, silently."""
    probe = (
        "import json, time\n"
        "t = time.perf_counter()\n"
        "from glassnet.engine import engine_class, kernels\n"
        "engine_class('numba')\n"
        "seconds = time.perf_counter() - t\n"
        "misses = sum(sum(f.stats.cache_misses.values()) for f in "
        "(kernels.train_steps, kernels.forward, kernels.backward))\n"
        "print(json.dumps({'seconds': seconds, 'misses': misses}))\n"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    runs_ = []
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True,
            timeout=600,
        )  # fmt: skip
        runs_.append(json.loads(done.stdout))
        runs_[-1]["stderr"] = done.stderr
    first = runs_[0]["stderr"].splitlines()
    assert len(first) == 1 and first[0].startswith("glassnet: compiling the numba engine")
    assert re.search(r" done in \d+\.\d s$", first[0])
    assert runs_[1]["stderr"] == ""
    assert runs_[0]["misses"] > 0  # compiled
    assert runs_[1]["misses"] == 0  # loaded, nothing compiled again
    assert runs_[1]["seconds"] < runs_[0]["seconds"]
    assert any((tmp_path / "cache").rglob("*.nbi"))


@compiled
def test_compiled_steps_leave_python_free_for_the_shuffled_copy() -> None:
    """While a long run of compiled steps trains, another thread runs Python (the epoch's copy is
    made by such a thread). A kernel holding the GIL would stop it for the whole call."""
    import threading
    import time

    from glassnet.optimizers import SGD

    net = Network([784, 50, 50, 50, 50, 50, 50, 10], "sigmoid", seed=0)
    engine = net.use_engine("numba")
    rng = np.random.default_rng(0)
    steps, batch = 4000, 10
    X1 = with_ones(rng.normal(size=(steps * batch, 784)).astype(np.float32))
    Y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, steps * batch)]
    engine.steps(X1, Y, SGD(), 0.002, start=0, count=10, batch_size=batch)  # compiled, or loaded
    inside, seconds = threading.Event(), []

    def train() -> None:
        inside.set()
        started = time.perf_counter()
        engine.steps(X1, Y, SGD(), 0.002, start=0, count=steps, batch_size=batch)
        seconds.append(time.perf_counter() - started)

    worker = threading.Thread(target=train)
    worker.start()
    inside.wait()
    spins, longest, last = 0, 0.0, time.perf_counter()
    while worker.is_alive():
        now = time.perf_counter()
        spins, longest, last = spins + 1, max(longest, now - last), now
    worker.join()
    # Held, the GIL would stall this loop for the whole call (some 0.2 s for 4,000 steps).
    assert spins > 1000
    assert longest < seconds[0] / 2
