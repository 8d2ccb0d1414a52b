"""Engines train with subnormal numbers flushed to zero, and give the caller its own mode back.

Subnormals (float32 below about 1.2e-38) are what the post's saturated sigmoid layers make, and what
many x86 CPUs compute tens of times slower; glassnet.engine.subnormals says why and how.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from glassnet import Network
from glassnet.engine import available_engines, with_ones
from glassnet.engine.subnormals import AVAILABLE, FLUSH, UNAVAILABLE, flushing_subnormals, mxcsr
from glassnet.optimizers import SGD

ENGINES = [
    pytest.param(name, marks=pytest.mark.skipif(name not in available_engines(), reason="not here"))
    for name in ("numpy", "numba")
]
needs_register = pytest.mark.skipif(not AVAILABLE, reason=f"no flushing here: {UNAVAILABLE}")

TINY = np.float32(1e-38)  # normal; a hundredth of it is subnormal
CONTROL = ~0x3F  # the register's control bits, without its six sticky exception flags


def subnormal_product() -> float:
    """A normal float32 times 0.01: subnormal, or 0 when results are flushed."""
    return float(np.array([TINY], np.float32)[0] * np.float32(0.01))


class Recording(SGD):
    """SGD as an optimizer of one's own (not one the compiled kernels know), so that every engine
    calls its ``step`` from Python inside its training call; it records what a product gives."""

    name = "recording"

    def __init__(self) -> None:
        super().__init__(0.1)
        self.seen: list[tuple[float, int | None]] = []

    def step(self, params: Any, grads: Any, decay: Any = None, **kw: Any) -> None:
        self.seen.append((subnormal_product(), mxcsr()))
        super().step(params, grads, decay, **kw)

    def folded_factor(self, learning_rate: float | None = None) -> float | None:
        return None


def batches(n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X1 = with_ones(rng.normal(size=(n, 6)).astype(np.float32))
    return X1, np.eye(3, dtype=np.float32)[rng.integers(0, 3, n)]


@needs_register
def test_the_context_flushes_and_restores_the_callers_state() -> None:
    before = mxcsr()
    assert subnormal_product() > 0.0
    with flushing_subnormals():
        assert mxcsr() is not None and mxcsr() & FLUSH == FLUSH  # type: ignore[operator]
        assert subnormal_product() == 0.0
        # a subnormal input reads as zero, too
        assert float(np.array([1e-39], np.float32)[0] * np.float32(1.0)) == 0.0
        with flushing_subnormals():  # re-entered inside itself: still flushing afterwards
            pass
        assert subnormal_product() == 0.0
    assert mxcsr() & CONTROL == before & CONTROL  # type: ignore[operator]
    assert subnormal_product() > 0.0


@needs_register
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("how", ["step", "steps"])
def test_engines_train_flushed_and_give_the_mode_back(engine: str, how: str) -> None:
    net = Network([6, 5, 4, 3], "sigmoid", seed=0, dtype="float32")
    eng = net.use_engine(engine)
    X1, Y = batches()
    optimizer = Recording()
    before = mxcsr()
    if how == "step":
        eng.step(X1[:10], Y[:10], optimizer, 0.1)
    else:
        eng.steps(X1, Y, optimizer, 0.1, start=0, count=4, batch_size=10)
    assert optimizer.seen and all(product == 0.0 for product, _ in optimizer.seen)
    assert all(word is not None and word & FLUSH == FLUSH for _, word in optimizer.seen)
    assert mxcsr() & CONTROL == before & CONTROL  # type: ignore[operator]
    assert subnormal_product() > 0.0


@needs_register
def test_a_caller_that_flushes_already_keeps_its_mode() -> None:
    with flushing_subnormals():
        inside = mxcsr()
        net = Network([6, 5, 3], "tanh", seed=0, dtype="float32")
        X1, Y = batches()
        net.use_engine("numpy").steps(X1, Y, SGD(0.1), 0.1, start=0, count=4, batch_size=10)
        assert mxcsr() & CONTROL == inside & CONTROL  # type: ignore[operator]
    assert subnormal_product() > 0.0


@needs_register
@pytest.mark.parametrize("engine", ENGINES)
def test_the_mode_comes_back_when_a_step_fails(engine: str) -> None:
    net = Network([6, 5, 3], "relu", seed=0, dtype="float32")
    X1, Y = batches()
    before = mxcsr()
    with pytest.raises(ValueError, match="dropout needs a random generator"):
        net.use_engine(engine).steps(X1, Y, SGD(0.1), 0.1, start=0, count=4, batch_size=10,
                                     dropout=0.5)  # fmt: skip
    assert mxcsr() & CONTROL == before & CONTROL  # type: ignore[operator]


def test_where_it_cannot_flush_it_says_why_and_changes_nothing() -> None:
    if AVAILABLE:
        assert UNAVAILABLE == ""
    else:
        assert UNAVAILABLE
        with flushing_subnormals():
            assert mxcsr() is None
