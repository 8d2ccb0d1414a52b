"""What the live page shows of a run folder, read again only when its files change.

A run that trains rewrites ``history.json`` and ``checkpoint.safetensors`` atomically as epochs end
(:mod:`glassnet.runs.execute`), and at its end writes ``model.safetensors`` and removes the
checkpoint. :class:`RunView` reads them the way a stranger's files are read: each file's size is
bounded before it is read, a model or checkpoint is checked whole (:mod:`glassnet.checkpoint`,
:mod:`glassnet.modelfile`), and a history row keeps only its numbers. A file that is being
replaced is never seen half-written, since a rename replaces it; a file that cannot be read at a
given moment leaves the last good reading in place and says why in ``problem``.

Nothing here writes to the folder.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from glassnet.errors import InputError, one_line
from glassnet.runs.folder import (
    CHECKPOINT,
    HISTORY_JSON,
    MODEL,
    SETTINGS,
    open_run_file,
    read_settings,
    running,
)

__all__ = ["MAX_HISTORY_BYTES", "WEIGHT_UNITS", "RunView", "check_run_folder"]

#: A history holds a row of a few dozen numbers per epoch: 1,000 epochs are about 1 MB.
MAX_HISTORY_BYTES = 16 << 20
#: The page shows at most this many epochs (the last ones), of at most this many figures each.
MAX_ROWS, MAX_FIELDS = 20_000, 256
#: How many of the first layer's units the page shows as images.
WEIGHT_UNITS = 24
#: The settings the page shows beside the curves.
SHOWN_SETTINGS = (
    "dataset", "preset", "hidden", "activation", "optimizer", "learning_rate", "batch_size",
    "epochs", "dropout", "schedule", "engine",
)  # fmt: skip


def wait_for_run_folder(
    folder: str | os.PathLike[str], seconds: float, say: Callable[[str], None]
) -> Path:
    """:func:`check_run_folder`, after waiting up to ``seconds`` for a missing or empty folder to
    become a run folder: ``glassnet train ... &`` followed at once by ``glassnet watch`` starts
    watching before the run has written its folder. A folder holding other things is refused at
    once. ``say`` is told once that it waits."""
    deadline = time.monotonic() + seconds
    told = False
    while True:
        try:
            return check_run_folder(folder)
        except InputError:
            path = Path(folder)
            starting = not path.exists() or (path.is_dir() and not any(path.iterdir()))
            if not starting or time.monotonic() >= deadline:
                raise
        if not told:
            say(f"waiting up to {seconds:g} s for {folder} to become a run folder")
            told = True
        time.sleep(0.2)


def check_run_folder(folder: str | os.PathLike[str]) -> Path:
    """``folder`` as a path if it is a run folder (it holds settings or a history), else an error.

    Raises
    ------
    ValueError
        One line: the folder is missing, not a folder, or holds neither file.
    """
    path = Path(folder)
    if not path.is_dir():
        raise InputError(f"{path}: no such run folder")
    if not (path / SETTINGS).is_file() and not (path / HISTORY_JSON).is_file():
        raise InputError(f"{path}: not a run folder (no {SETTINGS} or {HISTORY_JSON} in it)")
    return path


def _stamp(path: Path) -> str | None:
    """A value that changes whenever the file is replaced: its time, size and inode."""
    try:
        info = path.stat()
    except OSError:
        return None
    return f"{info.st_mtime_ns}-{info.st_size}-{info.st_ino}"


def _check_regular(path: Path) -> None:
    """Refuse anything but a regular file: opening a FIFO would wait forever for a writer."""
    open_run_file(path).close()


class RunView:
    """The state of one run folder, as the live page asks for it.

    Parameters
    ----------
    folder : path
        A run folder (see :func:`check_run_folder`).
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = check_run_folder(folder)
        self._lock = threading.Lock()
        self._history: tuple[str | None, dict[str, Any]] = (None, _empty_history())
        self._weights: tuple[str | None, dict[str, Any]] = (None, {"units": []})
        self._problems: dict[str, str] = {}  # what failed at the last reading, by file
        self._initial: dict[tuple[Any, ...], np.ndarray] = {}  # first-layer weights at the start

    def status(self, known: str | None = None) -> dict[str, Any]:
        """What ``GET /api/run`` answers: the settings, the history's rows, and whether it trains.

        Parameters
        ----------
        known : str, optional
            The history ``version`` the page has already; if it is still the current one, the
            rows are left out (a long run's history is a megabyte, and the page asks every second).

        Returns
        -------
        dict
            ``name``, ``settings`` (the few worth showing), ``rows`` (one per epoch, numbers
            only; absent when ``known`` is current), ``stopped``, ``test_accuracy``, ``training``
            (a process holds the run's lock), ``version`` (changes when the history does),
            ``weights_version`` (likewise for the weights), ``problem`` (why the last reading
            failed, or ``None``).
        """
        with self._lock:
            version, history = self._read_history()
            if known is not None and known == version:
                history = {k: v for k, v in history.items() if k != "rows"}
            weights_version = _stamp(self._weights_file())
            return {
                "name": self.folder.resolve().name,
                "settings": self._settings(),
                **history,
                "training": running(self.folder) is not None,
                "version": version,
                "weights_version": weights_version,
                "problem": "; ".join(self._problems.values()) or None,
            }

    def weights(self) -> dict[str, Any]:
        """What ``GET /api/weights`` answers: the first layer's weights, a 28x28 image per unit.

        Returns
        -------
        dict
            ``source`` (``"checkpoint"`` while training, ``"model"`` after), ``epoch`` (for a
            checkpoint), ``layer_sizes``, ``units`` (``[{"unit", "image"}]``, each image scaled
            into ``[-1, 1]`` by its own largest weight), ``version``; only ``units: []`` when
            there is nothing to show yet.
        """
        with self._lock:
            path = self._weights_file()
            stamp = _stamp(path)
            if stamp is not None and stamp != self._weights[0]:
                try:
                    images = _first_layer_images(path, self._initial_weights)
                    self._weights = (stamp, {**images, "version": stamp})
                    self._problems.pop("weights", None)
                except (ValueError, OSError) as exc:  # FormatError is a ValueError
                    self._problems["weights"] = one_line(exc, 300)
            return self._weights[1]

    # ------------------------------------------------------------------------------ reading
    def _initial_weights(self, network: Any) -> np.ndarray | None:
        """The first layer's weights as the run began, for ``network`` (the same sizes): a run's
        network is drawn from its settings' seed and initializer, so it is drawn again here.
        ``None`` when the settings do not say (an older run, or settings edited since)."""
        try:
            settings = read_settings(self.folder / SETTINGS, regular=True)
            seed, initializer = settings.get("seed"), settings.get("initializer")
            if not isinstance(seed, int) or not isinstance(initializer, str):
                return None
            key = (tuple(network.layer_sizes), network.activation, initializer, seed)
            cached = self._initial.get(key)
            if cached is None:
                from glassnet.network import Network

                start = Network(
                    network.layer_sizes, network.activation, initializer=initializer,
                    seed=seed, dtype=network.dtype,
                )  # fmt: skip
                cached = self._initial[key] = start.weights[0].astype(np.float64)
            return cached
        except (ValueError, OSError, TypeError):
            return None

    def _settings(self) -> dict[str, Any]:
        try:
            settings = read_settings(self.folder / SETTINGS, regular=True)
        except (ValueError, OSError):
            return {}
        return {k: _plain(settings[k]) for k in SHOWN_SETTINGS if k in settings}

    def _read_history(self) -> tuple[str | None, dict[str, Any]]:
        path = self.folder / HISTORY_JSON
        stamp = _stamp(path)
        if stamp is not None and stamp != self._history[0]:
            try:
                self._history = (stamp, _read_history_file(path))
                self._problems.pop("history", None)
            except (ValueError, OSError) as exc:
                self._problems["history"] = one_line(exc, 300)
        return self._history

    def _weights_file(self) -> Path:
        """The checkpoint while the run trains; the model once it has one."""
        model, checkpoint = self.folder / MODEL, self.folder / CHECKPOINT
        if checkpoint.is_file() and not model.is_file():
            return checkpoint
        return model if model.is_file() else checkpoint


def _empty_history() -> dict[str, Any]:
    return {"rows": [], "stopped": "", "test_accuracy": None}


def _read_history_file(path: Path) -> dict[str, Any]:
    """A history file's rows (numbers only), ``stopped`` and ``test_accuracy``, size bounded."""
    with open_run_file(path) as handle:
        data = handle.read(MAX_HISTORY_BYTES + 1)
    if len(data) > MAX_HISTORY_BYTES:
        raise InputError(f"{path}: larger than any history ({MAX_HISTORY_BYTES >> 20} MiB at most)")
    try:
        doc = json.loads(data, parse_constant=lambda name: None)
    except (ValueError, RecursionError):
        raise InputError(f"{path}: not valid JSON") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("rows"), list):
        raise InputError(f"{path}: not a glassnet history (no list of rows)")
    rows = [_numbers_only(row) for row in doc["rows"][-MAX_ROWS:] if isinstance(row, dict)]
    accuracy = doc.get("test_accuracy")
    return {
        "rows": rows,
        "stopped": str(doc.get("stopped") or "")[:200],
        "test_accuracy": _number(accuracy),
    }


def _numbers_only(row: dict[str, Any]) -> dict[str, float | int | None]:
    """The row's fields whose values are numbers (or ``None``), under short names."""
    fields = list(row.items())[:MAX_FIELDS]
    return {
        str(k)[:64]: _number(v)
        for k, v in fields
        if v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))
    }


def _number(value: Any) -> float | int | None:
    """A finite number as it is (an integer a float holds), else ``None``: JSON's integers may
    be too large for a float, and the page's JSON would carry them as infinity."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        finite = math.isfinite(float(value))
    except OverflowError:
        return None
    return value if finite else None


def _plain(value: Any) -> Any:
    """A setting as JSON can hold it."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (bool, int, str)) or value is None:
        return value
    return str(value)


def _first_layer_images(
    path: Path, initial: Callable[[Any], np.ndarray | None] | None = None
) -> dict[str, Any]:
    """The first layer's weights in a model file or a checkpoint, as images (checked first); with
    ``initial`` (the weights the run began with, for a network), each unit's change since then
    too, as ``change``: the random start hides what a short run has learned."""
    _check_regular(path)
    network, epoch, source = _read_network(path)
    W = network.weights[0].astype(np.float64)  # (n_inputs, units): column j is unit j's weights
    W0 = initial(network) if initial is not None else None
    side = math.isqrt(W.shape[0])
    units: list[dict[str, Any]] = []
    if side * side == W.shape[0]:  # the inputs are a square image
        for j in range(min(WEIGHT_UNITS, W.shape[1])):
            unit = {"unit": j, "image": _image(W[:, j], side)}
            if W0 is not None and W0.shape == W.shape:
                unit["change"] = _image(W[:, j] - W0[:, j], side)
            units.append(unit)
    return {
        "source": source,
        "epoch": epoch,
        "layer_sizes": network.layer_sizes,
        "units": units,
        "has_change": bool(units) and all("change" in unit for unit in units),
    }


def _image(column: np.ndarray, side: int) -> list[list[float]]:
    """A unit's weights as a ``side x side`` image in ``[-1, 1]``, scaled by its largest."""
    scale = float(np.max(np.abs(column))) or 1.0
    image: list[list[float]] = np.round(column.reshape(side, side) / scale, 3).tolist()
    return image


def _read_network(path: Path) -> tuple[Any, int | None, str]:
    """The network a model file or checkpoint holds, the checkpoint's epoch, and which it was."""
    from glassnet.checkpoint import KIND, load_checkpoint
    from glassnet.network import Network
    from glassnet.tensorfile import Invalid, read_header

    if path.name == MODEL:
        return Network.load(path), None, "model"
    try:
        doc, table = read_header(path, KIND)
        sizes = [int(n) for n in doc["layer_sizes"]]
        count = sum((a + 1) * b for a, b in pairwise(sizes))
        # The network is built before the file is checked against it: let the file's own table
        # vouch for its size first, so a forged header cannot make it allocate more than the file.
        if table.get("parameters") != (doc["dtype"], (count,)):
            raise InputError("its parameters do not fit its layer sizes")
        if count * np.dtype(doc["dtype"]).itemsize > path.stat().st_size:
            raise InputError("the file is too small for the parameters it lists")
        network = Network(sizes, doc["activation"], seed=0, dtype=doc["dtype"])
    except (Invalid, KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: not a usable glassnet checkpoint ({exc})") from None
    state = load_checkpoint(path, network)  # checks the whole file against that network
    network.set_flat_parameters(state.parameters)
    return network, state.epoch, "checkpoint"
