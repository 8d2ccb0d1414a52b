"""Checkpoints: the whole state of a training run after an epoch, so it can resume bit for bit.

A checkpoint is a safetensors file like a model file (:mod:`glassnet.tensorfile`), with more in it:
the flat parameter vector, the optimizer's state arrays (velocities, moments), the best parameters so
far (for early stopping), the standardizer, and a JSON document with the epoch, the random
generator's state, the history and the early-stopping counters. It is written atomically after
epochs and when training is interrupted; ``glassnet train --resume RUN`` reads it back. Like model
files it holds no pickled objects, and a damaged or edited one is refused as a whole, in one line.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from glassnet import tensorfile
from glassnet.atomic import atomic_write_bytes
from glassnet.errors import FormatError, short
from glassnet.history import History, TrainingState
from glassnet.preprocess import Standardizer
from glassnet.tensorfile import Invalid, Table, invalid

if TYPE_CHECKING:
    from glassnet.network import Network

FORMAT = "glassnet-checkpoint"
FORMAT_VERSION = 1
KIND = "glassnet checkpoint"
MAX_BYTES = 2 * 1024**3


def save_checkpoint(path: str | os.PathLike[str], network: Network, state: TrainingState) -> None:
    """Write ``state`` (taken from training ``network``) to ``path`` atomically."""
    tensors: dict[str, np.ndarray] = {"parameters": state.parameters}
    if state.best_parameters is not None:
        tensors["best_parameters"] = state.best_parameters
    for key, value in state.optimizer["arrays"].items():
        tensors[f"optimizer.{key}"] = value
    if state.standardizer is not None:
        tensors["standardizer.mean"] = state.standardizer.mean
        tensors["standardizer.scale"] = state.standardizer.scale
    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "layer_sizes": network.layer_sizes,
        "activation": network.activation,
        "dtype": network.dtype.name,
        "epoch": state.epoch,
        "optimizer": state.optimizer.get("name"),
        "optimizer_iterations": state.optimizer["iterations"],
        "rng_state": state.rng_state,
        "history": state.history.to_dict(),
        "best_loss": state.best_loss if math.isfinite(state.best_loss) else None,
        "bad_epochs": state.bad_epochs,
    }
    atomic_write_bytes(path, tensorfile.encode(tensors, doc))


def load_checkpoint(path: str | os.PathLike[str], network: Network) -> TrainingState:
    """Read a checkpoint for ``network`` (same layer sizes, activation and dtype) and check it."""
    file = Path(path)
    if not file.is_file():
        raise FormatError(
            f"{file}: no checkpoint to resume from (the run finished, or never completed an epoch)"
        )

    parsed = False  # whether the file got as far as a glassnet document

    def check(doc: dict[str, Any], table: Table) -> None:
        nonlocal parsed
        parsed = True
        _check_document(doc, network)
        if table.get("parameters") != (network.dtype.name, (network.n_parameters,)):
            invalid("checkpoint parameters do not fit the network")

    try:
        tensors, doc = tensorfile.decode(tensorfile.read(file, MAX_BYTES), KIND, check)
        if not all(np.isfinite(a).all() for a in tensors.values()):
            invalid("the checkpoint holds NaN or infinite values")
        return _state(tensors, doc)
    except Invalid as exc:
        reason = str(exc) if parsed else f"not a glassnet checkpoint ({exc})"
        raise FormatError(f"{file}: {reason}") from None
    except (KeyError, TypeError, ValueError) as exc:  # a field of the wrong type or shape
        raise FormatError(f"{file}: not a usable glassnet checkpoint ({short(exc)})") from None


def _check_document(doc: dict[str, Any], network: Network) -> None:
    if doc.get("format") != FORMAT:
        invalid("not a glassnet checkpoint")
    if doc.get("format_version") != FORMAT_VERSION:
        invalid(
            f"checkpoint format version {short(doc.get('format_version'))} is not supported "
            f"(this glassnet reads {FORMAT_VERSION})"
        )
    for key, expected in (
        ("layer_sizes", network.layer_sizes),
        ("activation", network.activation),
        ("dtype", network.dtype.name),
    ):
        if doc.get(key) != expected:
            invalid(f"checkpoint {key} {short(doc.get(key))} does not match the run's {expected!r}")


def _state(tensors: dict[str, Any], doc: dict[str, Any]) -> TrainingState:
    """The training state a checked checkpoint holds."""
    standardizer = None
    if "standardizer.mean" in tensors:
        standardizer = Standardizer(tensors["standardizer.mean"], tensors["standardizer.scale"])
    saved = doc["history"]
    history = History(
        list(saved["rows"]), str(saved["stopped"]), saved["best_epoch"], saved.get("test_accuracy")
    )
    arrays = {
        k.removeprefix("optimizer."): v for k, v in tensors.items() if k.startswith("optimizer.")
    }
    best_loss = doc["best_loss"]
    return TrainingState(
        epoch=int(doc["epoch"]),
        parameters=tensors["parameters"],
        optimizer={
            "name": doc.get("optimizer"),
            "iterations": int(doc["optimizer_iterations"]),
            "arrays": arrays,
        },
        rng_state=doc["rng_state"],
        history=history,
        best_parameters=tensors.get("best_parameters"),
        best_loss=math.inf if best_loss is None else float(best_loss),
        bad_epochs=int(doc["bad_epochs"]),
        standardizer=standardizer,
    )
