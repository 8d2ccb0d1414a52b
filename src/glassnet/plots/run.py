"""Every picture of one run folder: :func:`plot_run` writes them into ``<run>/plots/``.

The history gives the curves, learning-rate and gradient pictures; the model file gives the
first-layer weights and their changes; the model and the run's dataset give the confusion matrix
and the mistakes. Also the short names a run goes by in titles and legends, and the reading of a
run folder's settings that :mod:`.compare` shares.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from glassnet.errors import GlassnetError, InputError, one_line
from glassnet.plots.canvas import _figure
from glassnet.plots.confusion import plot_confusion
from glassnet.plots.curves import plot_curves, plot_learning_rate
from glassnet.plots.gradients import plot_gradient_norms
from glassnet.plots.mistakes import plot_mistakes
from glassnet.plots.weights import initial_first_layer, plot_first_layer_weights

if TYPE_CHECKING:
    from glassnet.network import Network

#: The files :func:`plot_run` writes into ``<run>/plots/``, in order.
RUN_PLOTS = (
    "curves.png",
    "learning_rate.png",
    "gradients.png",
    "weights.png",
    "weight_changes.png",
    "confusion.png",
    "mistakes.png",
)


def run_label(run_dir: str | Path, settings: Mapping[str, Any]) -> str:
    """A run's name in legends: its folder name, and the preset if the name does not end with it."""
    name = Path(run_dir).resolve().name
    preset = settings.get("preset")
    return name if not preset or name.endswith(f"-{preset}") else f"{name} ({preset})"


def describe_network(settings: Mapping[str, Any]) -> str:
    """Hidden sizes and activation in short form: ``[50]*6`` and sigmoid give ``"50x6 sigmoid"``."""
    hidden = [int(h) for h in settings.get("hidden") or []]
    if not hidden:
        sizes = "no hidden layer" if "hidden" in settings else "?"
    elif len(hidden) > 1 and len(set(hidden)) == 1:
        sizes = f"{hidden[0]}x{len(hidden)}"
    else:
        sizes = "-".join(map(str, hidden))
    activation = settings.get("activation")
    return f"{sizes} {activation}" if activation else sizes


def _run_title(run_dir: str | Path, settings: Mapping[str, Any]) -> str:
    """A run's name and network for a title or a legend: ``"<run>: 50x6 sigmoid"``."""
    return f"{run_label(run_dir, settings)}: {describe_network(settings)}"


def _run_folder(run_dir: str | Path) -> Path:
    """``run_dir`` as a path, after checking that it is a folder."""
    folder = Path(run_dir)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such run folder")
    return folder


def _read_settings(folder: Path) -> dict[str, Any]:
    """The run's ``settings.toml``, or an empty dict where there is none."""
    from glassnet import runs

    return runs.read_settings(folder) if (folder / runs.SETTINGS).is_file() else {}


def plot_run(
    run_dir: str | Path, *, data_dir: str | Path | None = None, log: TextIO | None = None
) -> list[Path]:
    """Draw every picture of a run folder into ``run_dir/plots/`` and return their paths.

    The history gives ``curves.png``, ``learning_rate.png`` and ``gradients.png``; the model file
    gives ``weights.png``, and with the run's seed ``weight_changes.png``; the model and the
    dataset named in the settings give ``confusion.png`` and ``mistakes.png`` from the test set.
    Whatever is missing is skipped, with one line to ``log`` (standard error by default) saying
    what and why.

    Parameters
    ----------
    run_dir : str or Path
        A folder written by ``glassnet train``.
    data_dir : str or Path, optional
        Where the dataset's files are; by default the run's own ``data_dir`` setting, else the
        dataset's default place.
    log : text stream, optional
        Where to report skipped pictures.

    Returns
    -------
    list of Path
        The PNG files written, in the order of :data:`RUN_PLOTS`.
    """
    _figure(1, 1)  # fail at once, with the install hint, if matplotlib is missing
    run = _read_run(_run_folder(run_dir))
    written = _draw_history(run, log)
    network = run.network
    if network is None:
        _skip(log, RUN_PLOTS[3:], _why_no_model(run.folder))
        return written
    data, problem = _load_dataset(run.settings, data_dir)
    image_shape = _image_shape(network.n_inputs, data)
    written += _draw_weights(network, run.settings.get("seed", 0), image_shape, run.out, log)
    problem = problem or _test_set_mismatch(network, data)
    if problem:
        _skip(log, RUN_PLOTS[5:], problem)
        return written
    return written + _draw_test_set(network, data, image_shape, run.out)


@dataclass(frozen=True)
class _Run:
    """What a run folder holds, read once: its settings, history rows and trained network."""

    folder: Path
    settings: dict[str, Any]
    rows: list[dict[str, Any]]
    #: ``None`` for a run whose training did not finish (or a folder without a model file).
    network: Network | None
    #: Whether the folder has a history file, even one without rows.
    has_history: bool

    @property
    def out(self) -> Path:
        """Where the pictures go: ``<run>/plots/``."""
        return self.folder / "plots"


def _read_run(folder: Path) -> _Run:
    """Read a run folder; a ``ValueError`` if it holds none of a run's files.

    Where there are no settings, they come from the model file, which keeps a copy of them.
    """
    from glassnet import runs
    from glassnet.network import load

    has_history = (folder / runs.HISTORY_JSON).is_file()
    has_model = (folder / runs.MODEL).is_file()
    if not (has_history or has_model or (folder / runs.SETTINGS).is_file()):
        raise InputError(
            f"{folder}: not a run folder (no {runs.SETTINGS}, {runs.HISTORY_JSON} or {runs.MODEL})"
        )
    network = load(folder / runs.MODEL) if has_model else None
    settings = _read_settings(folder)
    if not settings and network is not None:
        settings = dict(network.training_settings)
    rows = runs.read_history(folder)["rows"] if has_history else []
    return _Run(folder, settings, rows, network, has_history)


def _skip(log: TextIO | None, names: Sequence[str], reason: str) -> None:
    """Say on ``log`` (standard error by default) which pictures are not drawn, and why."""
    print(f"glassnet: skipped {', '.join(names)}: {reason}", file=log or sys.stderr)


def _draw_history(run: _Run, log: TextIO | None) -> list[Path]:
    """``curves.png``, ``learning_rate.png`` and ``gradients.png``, or why there are none."""
    from glassnet import runs

    if not run.rows:
        missing = "no epochs in " if run.has_history else "no "
        _skip(log, RUN_PLOTS[:3], f"{missing}{run.folder / runs.HISTORY_JSON}")
        return []
    network = run.network
    sizes = network.layer_sizes if network is not None else None
    activation = network.activation if network is not None else run.settings.get("activation")
    title = _run_title(run.folder, run.settings)
    return [
        plot_curves(run.rows, run.out / "curves.png", title=title),
        plot_learning_rate(run.rows, run.out / "learning_rate.png"),
        plot_gradient_norms(
            run.rows, run.out / "gradients.png", layer_sizes=sizes, activation=activation
        ),
    ]


def _why_no_model(folder: Path) -> str:
    """Why a run folder has no model file to draw the weights and the test set from."""
    from glassnet import runs

    reason = f"no {folder / runs.MODEL}"
    if (folder / runs.CHECKPOINT).is_file():
        reason += " (training did not finish: glassnet train --resume continues it)"
    return reason


def _draw_weights(
    network: Network,
    seed: Any,
    image_shape: tuple[int, int] | None,
    out: Path,
    log: TextIO | None,
) -> list[Path]:
    """``weights.png``, and ``weight_changes.png`` if the start can be rebuilt from ``seed``."""
    if image_shape is None:
        reason = f"the network's {network.n_inputs} inputs are not a square image"
        _skip(log, RUN_PLOTS[3:5], reason)
        return []
    written = [plot_first_layer_weights(network, out / "weights.png", image_shape)]
    start = initial_first_layer(network, seed) if isinstance(seed, int) else None
    if start is None:
        reason = f"the initial weights could not be rebuilt from seed {seed}"
        _skip(log, ["weight_changes.png"], reason)
    else:
        path = out / "weight_changes.png"
        written.append(plot_first_layer_weights(network, path, image_shape, initial=start))
    return written


def _load_dataset(settings: Mapping[str, Any], data_dir: str | Path | None) -> tuple[Any, str]:
    """The run's dataset and ``""``, or ``None`` and the reason it could not be read."""
    from glassnet.datasets.choose import load_for_settings

    name = str(settings.get("data") or settings.get("dataset") or "mnist")
    wanted = dict(settings)
    if data_dir is not None:
        wanted["data_dir"] = str(data_dir)
    try:  # the run's own data and test part: a named dataset, a folder of pictures, a table
        return load_for_settings(wanted, download=False), ""
    except (GlassnetError, OSError, ValueError) as exc:
        message = one_line(exc)
        return None, f"cannot read the {name} test set ({message}); give its folder with --data-dir"


def _image_shape(n_inputs: int, data: Any | None) -> tuple[int, int] | None:
    """The shape of one input image: the dataset's where it fits, else a square, else ``None``."""
    if data is not None:
        shape = np.shape(data.test_images)[1:]
        if len(shape) == 2 and shape[0] * shape[1] == n_inputs:
            return int(shape[0]), int(shape[1])
    side = math.isqrt(n_inputs)
    return (side, side) if side * side == n_inputs else None


def _test_set_mismatch(network: Network, data: Any) -> str:
    """Why ``network`` cannot classify the dataset's test images, or ``""`` when it can."""
    n_pixels = int(np.prod(np.shape(data.test_images)[1:]))
    n_classes = len(data.class_names)
    if n_pixels == network.n_inputs and n_classes == network.n_classes:
        return ""
    return (
        f"the model takes {network.n_inputs} inputs and {network.n_classes} "
        f"classes; the test set has {n_pixels} and {n_classes}"
    )


def _draw_test_set(
    network: Network, data: Any, image_shape: tuple[int, int] | None, out: Path
) -> list[Path]:
    """``confusion.png`` and ``mistakes.png``, from the network's predictions on the test set."""
    from glassnet.metrics import confusion_matrix

    X, labels = np.asarray(data.test_images), np.asarray(data.test_labels)
    names = list(data.class_names)
    # 8,192 rows at a time: the layers' activations for a test set of any size stay in bounds.
    P = np.concatenate([network.predict_proba(X[i : i + 8192]) for i in range(0, len(X), 8192)])
    confusion = confusion_matrix(labels, np.argmax(P, axis=1), network.n_classes)
    return [
        plot_confusion(confusion, names, out / "confusion.png"),
        plot_mistakes(X, labels, P, names, out / "mistakes.png", image_shape=image_shape),
    ]
