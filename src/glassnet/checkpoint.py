"""Checkpoints: the whole state of a training run after an epoch, so it can resume bit for bit.

A checkpoint is a safetensors file like a model file, with more in it: the flat parameter vector, the
optimizer's state arrays (velocities, moments), the best parameters so far (for early stopping), the
standardizer, and a JSON entry with the epoch, the random generator's state, the history and the
early-stopping counters. It is written atomically after epochs and when training is interrupted;
``glassnet train --resume RUN`` reads it back. Like model files it holds no pickled objects.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.numpy

from glassnet.atomic import atomic_write_bytes
from glassnet.datasets.preprocess import Standardizer
from glassnet.errors import FormatError
from glassnet.network import Network
from glassnet.training import History, TrainingState

FORMAT = "glassnet-checkpoint"
FORMAT_VERSION = 1
MAX_BYTES = 2 * 1024**3


def save_checkpoint(path: str | os.PathLike[str], network: Network, state: TrainingState) -> None:
    """Write ``state`` (taken from training ``network``) to ``path`` atomically."""
    tensors: dict[str, np.ndarray] = {"parameters": np.ascontiguousarray(state.parameters)}
    if state.best_parameters is not None:
        tensors["best_parameters"] = np.ascontiguousarray(state.best_parameters)
    for key, value in state.optimizer["arrays"].items():
        tensors[f"optimizer.{key}"] = np.ascontiguousarray(value)
    if state.standardizer is not None:
        tensors["standardizer.mean"] = state.standardizer.mean
        tensors["standardizer.scale"] = state.standardizer.scale
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "layer_sizes": network.layer_sizes,
        "activation": network.activation,
        "dtype": network.dtype.name,
        "epoch": state.epoch,
        "optimizer_iterations": state.optimizer["iterations"],
        "rng_state": state.rng_state,
        "history": state.history.to_dict(),
        "best_loss": state.best_loss if math.isfinite(state.best_loss) else None,
        "bad_epochs": state.bad_epochs,
    }
    data = safetensors.numpy.save(tensors, metadata={"glassnet": json.dumps(header)})
    atomic_write_bytes(path, data)


def load_checkpoint(path: str | os.PathLike[str], network: Network) -> TrainingState:
    """Read a checkpoint for ``network`` (same layer sizes, activation and dtype) and check it."""
    file = Path(path)
    if not file.is_file():
        raise FormatError(
            f"{file}: no checkpoint to resume from (the run finished, or never completed an epoch)"
        )
    if file.stat().st_size > MAX_BYTES:
        raise FormatError(
            f"{file}: larger than any glassnet checkpoint ({file.stat().st_size} bytes)"
        )
    raw = file.read_bytes()
    try:
        tensors = safetensors.numpy.load(raw)
        # The bytes are in memory and the library has checked their layout: take the metadata
        # from the JSON header (8-byte little-endian length, then the header) without a second read.
        length = int.from_bytes(raw[:8], "little")
        header = json.loads(json.loads(raw[8 : 8 + length])["__metadata__"]["glassnet"])
    except Exception as exc:  # the library's errors vary by version; all mean "not a checkpoint"
        raise FormatError(f"{file}: not a glassnet checkpoint ({type(exc).__name__})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise FormatError(f"{file}: not a glassnet checkpoint")
    if header.get("format_version") != FORMAT_VERSION:
        raise FormatError(
            f"{file}: checkpoint format version {header.get('format_version')!r} "
            f"is not supported (this glassnet reads {FORMAT_VERSION})"
        )
    for key, expected in (
        ("layer_sizes", network.layer_sizes),
        ("activation", network.activation),
        ("dtype", network.dtype.name),
    ):
        if header.get(key) != expected:
            raise FormatError(
                f"{file}: checkpoint {key} {header.get(key)!r} does not match the "
                f"run's {expected!r}"
            )
    params = tensors.get("parameters")
    if params is None or params.shape != (network.n_parameters,) or params.dtype != network.dtype:
        raise FormatError(f"{file}: checkpoint parameters do not fit the network")
    if not np.all(np.isfinite(params)):
        raise FormatError(f"{file}: checkpoint parameters contain NaN or infinite values")
    standardizer = None
    if "standardizer.mean" in tensors:
        standardizer = Standardizer(tensors["standardizer.mean"], tensors["standardizer.scale"])
    history_doc = header["history"]
    history = History(
        history_doc["rows"],
        history_doc["stopped"],
        history_doc["best_epoch"],
        history_doc.get("test_accuracy"),
    )
    optimizer: dict[str, Any] = {
        "iterations": int(header["optimizer_iterations"]),
        "arrays": {
            k.removeprefix("optimizer."): v
            for k, v in tensors.items()
            if k.startswith("optimizer.")
        },
    }
    best_loss = header["best_loss"]
    return TrainingState(
        epoch=int(header["epoch"]),
        parameters=params,
        optimizer=optimizer,
        rng_state=header["rng_state"],
        history=history,
        best_parameters=tensors.get("best_parameters"),
        best_loss=math.inf if best_loss is None else float(best_loss),
        bad_epochs=int(header["bad_epochs"]),
        standardizer=standardizer,
    )
