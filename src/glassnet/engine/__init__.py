"""Engines: the code that trains, behind one small interface.

glassnet has two tiers. :mod:`glassnet.reference` is the post's network written the post's way, one
NumPy expression per formula: the code to read, and the definition. An engine computes the same
numbers laid out for speed, and tests prove every engine equal to the reference, activation by
activation and optimizer by optimizer. The training loop and :class:`glassnet.Network` talk to an
engine only through :class:`Engine`:

- ``forward(X1)``: the probabilities for a prepared batch;
- ``backprop(X1, Y)``: the gradient of the mean loss, into the shared :class:`Parameters`;
- ``step(X1, Y, optimizer, ...)``: one step of mini-batch gradient descent, and ``steps(...)``, a
  run of them;
- ``layer_outputs(X)``: every layer's output, for inference;

and every engine works on the same :class:`Parameters` layout, so files and optimizer state do not
depend on the engine that made them, and a run can continue on another engine.

Every engine trains with subnormal numbers flushed to zero (:mod:`glassnet.engine.subnormals`):
``step`` and ``steps`` set the training thread's FTZ and DAZ modes on entry and give the caller its
own floating-point mode back on return. The post's saturated sigmoids make such numbers, which many
x86 CPUs compute tens of times slower; flushed, an epoch late in the post's run costs what its
first did. The first use of the compiled engine on a machine compiles it, and says so in one line
on standard error (:data:`compile_notice`).

Engines, by the name the ``engine`` setting uses:

- ``numpy``: :class:`~glassnet.engine.numpy.NumpyEngine`, NumPy calls on reused buffers. Always
  there.
- ``numba``: :class:`~glassnet.engine.numba.NumbaEngine`, the same, compiled, with runs of steps in
  one call. With ``pip install 'glassnet[fast]'`` (Numba and SciPy).
- ``auto``: numba where it is installed and works, else numpy.
"""

from __future__ import annotations

import functools
import importlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from glassnet.engine.base import Engine, Parameters, with_ones
from glassnet.engine.numpy import NumpyEngine
from glassnet.errors import InputError

#: Each engine's module and class; an engine's module is imported when it is first asked for.
_WHERE = {
    "numpy": ("glassnet.engine.numpy", "NumpyEngine"),
    "numba": ("glassnet.engine.numba", "NumbaEngine"),
}
#: What the ``engine`` setting may say.
ENGINE_CHOICES = ("auto", *_WHERE)
#: How to install what an optional engine needs.
INSTALL = {"numba": "pip install 'glassnet[fast]'"}


class EngineUnavailable(InputError):
    """The engine asked for is not installed here, or does not work here; the message says why."""


def _to_standard_error(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


#: Where the one line saying that an engine is compiling goes: it is written in two parts (what is
#: happening, then ``" done in 9.7 s"`` and the line's end), so that the pause it announces comes
#: between them. Standard error by default; ``None`` says nothing. Only the first run on a machine
#: (an empty or outdated cache) compiles; later runs load the compiled code and say nothing.
compile_notice: Callable[[str], None] | None = _to_standard_error


@functools.cache
def engine_class(name: str) -> type[Engine]:
    """The class of the engine called ``name``; :class:`EngineUnavailable` where it cannot run."""
    if name not in _WHERE:
        raise InputError(f"unknown engine {name!r}; choose one of {', '.join(ENGINE_CHOICES)}")
    module, cls = _WHERE[name]
    try:
        found: type[Engine] = getattr(importlib.import_module(module), cls)
        notice = compile_notice if found.needs_compiling() else None
        if notice is not None:
            notice(
                f"glassnet: compiling the {name} engine (once on this machine; cached after) ..."
            )
        started = time.perf_counter()
        try:
            found.check()
        finally:
            if notice is not None:
                notice(f" done in {time.perf_counter() - started:.1f} s\n")
    except Exception as exc:  # a missing package, or a compiler that fails on this machine
        reason = " ".join(str(exc).split()) or type(exc).__name__
        hint = f"; {INSTALL[name]}" if name in INSTALL and isinstance(exc, ImportError) else ""
        raise EngineUnavailable(f"the {name} engine cannot run here ({reason}){hint}") from None
    return found


def available_engines() -> list[str]:
    """The engines that run here, by name."""
    names = []
    for name in _WHERE:
        try:
            engine_class(name)
        except EngineUnavailable:
            continue
        names.append(name)
    return names


def make_engine(name: str, params: Parameters, activation: str) -> Engine:
    """The engine called ``name`` over ``params``."""
    return engine_class(name)(params, activation)


@dataclass(frozen=True)
class Choice:
    """Which engine trains, and why (for ``auto``: why not the compiled one, when it is not)."""

    name: str
    reason: str = ""

    def __str__(self) -> str:
        return f"{self.name} engine" + (f" ({self.reason})" if self.reason else "")


def select_engine(name: str, settings: Any = None) -> Choice:
    """The engine that will train with ``settings`` (a ``TrainConfig``).

    ``name`` itself if it runs here and takes the settings (else a ``ValueError`` saying why); for
    ``"auto"`` the compiled engine where it runs and takes them, else NumPy, with the reason.
    """
    if name != "auto":
        declined = engine_class(name).declines(settings)
        if declined:
            raise InputError(f"the {name} engine cannot train these settings: {declined}")
        return Choice(name)
    try:
        declined = engine_class("numba").declines(settings)
    except EngineUnavailable as exc:
        return Choice("numpy", str(exc).removeprefix("the numba engine "))
    return Choice("numpy", f"numba declines: {declined}") if declined else Choice("numba")


__all__ = [
    "ENGINE_CHOICES",
    "Choice",
    "Engine",
    "EngineUnavailable",
    "NumpyEngine",
    "Parameters",
    "available_engines",
    "engine_class",
    "make_engine",
    "select_engine",
    "with_ones",
]
