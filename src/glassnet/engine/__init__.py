"""Engines: the code that trains, behind one small interface.

glassnet has two tiers. :mod:`glassnet.reference` is the post's network written the post's way, one
NumPy expression per formula: the code to read, and the definition. An engine computes the same
numbers laid out for speed, and tests prove every engine equal to the reference, activation by
activation and optimizer by optimizer. The training loop and :class:`glassnet.Network` talk to an
engine only through :class:`Engine`:

- ``forward(X1)``: the probabilities for a prepared batch;
- ``backprop(X1, Y)``: the gradient of the mean loss, into the shared :class:`Parameters`;
- ``step(X1, Y, optimizer, ...)``: one step of mini-batch gradient descent;
- ``layer_outputs(X)``: every layer's output, for inference;

and every engine works on the same :class:`Parameters` layout, so files and optimizer state do not
depend on the engine that made them.

Engines, by the name the settings use:

``numpy``   :class:`~glassnet.engine.numpy.NumpyEngine`, the default: NumPy calls on reused buffers.
``auto``    the fastest engine installed that trains the run's settings.
"""

from __future__ import annotations

from typing import Any

from glassnet.engine.base import Engine, Parameters, with_ones
from glassnet.engine.numpy import NumpyEngine

#: Name -> class of every engine this installation has.
ENGINES: dict[str, type[Engine]] = {NumpyEngine.name: NumpyEngine}

#: What the ``engine`` setting may say.
ENGINE_CHOICES = ("auto", *ENGINES)


def make_engine(name: str, params: Parameters, activation: str) -> Engine:
    """The engine called ``name`` over ``params``."""
    try:
        cls = ENGINES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}") from None
    return cls(params, activation)


def select_engine(name: str, params: Parameters, settings: Any = None) -> str:
    """The engine that will train with ``settings`` (a ``TrainConfig``): ``name``, or for ``"auto"``
    the fastest one installed that takes them. An engine asked for by name that declines the
    settings is a ``ValueError`` saying why."""
    if name == "auto":
        return "numpy"
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; choose one of {', '.join(ENGINE_CHOICES)}")
    return name


__all__ = [
    "ENGINES",
    "ENGINE_CHOICES",
    "Engine",
    "NumpyEngine",
    "Parameters",
    "make_engine",
    "select_engine",
    "with_ones",
]
