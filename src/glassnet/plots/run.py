"""Every picture of one run folder: :func:`plot_run` writes them into ``<run>/plots/``.

The history gives the curves, learning-rate and gradient pictures; the model file gives the
first-layer weights and their changes; the model and the run's dataset give the confusion matrix
and the mistakes. Also the short names a run goes by in titles and legends.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from glassnet.errors import GlassnetError
from glassnet.plots.canvas import _figure
from glassnet.plots.confusion import plot_confusion
from glassnet.plots.curves import plot_curves, plot_learning_rate
from glassnet.plots.gradients import plot_gradient_norms
from glassnet.plots.mistakes import plot_mistakes
from glassnet.plots.weights import initial_first_layer, plot_first_layer_weights

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
    from glassnet import runs
    from glassnet.metrics import confusion_matrix
    from glassnet.network import load

    _figure(1, 1)  # fail at once, with the install hint, if matplotlib is missing
    folder = Path(run_dir)
    if not folder.is_dir():
        raise ValueError(f"{folder}: no such run folder")
    has_history = (folder / runs.HISTORY_JSON).is_file()
    has_model = (folder / runs.MODEL).is_file()
    has_settings = (folder / runs.SETTINGS).is_file()
    if not (has_history or has_model or has_settings):
        raise ValueError(
            f"{folder}: not a run folder (no {runs.SETTINGS}, {runs.HISTORY_JSON} or {runs.MODEL})"
        )
    out, written = folder / "plots", []

    def skip(names: Sequence[str], reason: str) -> None:
        print(f"glassnet: skipped {', '.join(names)}: {reason}", file=log or sys.stderr)

    network = load(folder / runs.MODEL) if has_model else None
    settings = runs.read_settings(folder) if has_settings else {}
    if not settings and network is not None:
        settings = dict(network.training_settings)
    sizes = network.layer_sizes if network is not None else None
    activation = network.activation if network is not None else settings.get("activation")

    rows = runs.read_history(folder)["rows"] if has_history else []
    if rows:
        written.append(
            plot_curves(
                rows,
                out / "curves.png",
                title=f"{run_label(folder, settings)}: {describe_network(settings)}",
            )
        )
        written.append(plot_learning_rate(rows, out / "learning_rate.png"))
        written.append(
            plot_gradient_norms(
                rows, out / "gradients.png", layer_sizes=sizes, activation=activation
            )
        )
    else:
        missing = "no epochs in " if has_history else "no "
        skip(RUN_PLOTS[:3], f"{missing}{folder / runs.HISTORY_JSON}")

    if network is None:
        reason = f"no {folder / runs.MODEL}"
        if (folder / runs.CHECKPOINT).is_file():
            reason += " (training did not finish: glassnet train --resume continues it)"
        skip(RUN_PLOTS[3:], reason)
        return written

    data, problem = _load_dataset(settings, data_dir)
    image_shape = _image_shape(network.n_inputs, data)
    if image_shape is None:
        skip(RUN_PLOTS[3:5], f"the network's {network.n_inputs} inputs are not a square image")
    else:
        written.append(plot_first_layer_weights(network, out / "weights.png", image_shape))
        seed = settings.get("seed", 0)
        start = initial_first_layer(network, seed) if isinstance(seed, int) else None
        if start is None:
            skip(
                ["weight_changes.png"], f"the initial weights could not be rebuilt from seed {seed}"
            )
        else:
            path = out / "weight_changes.png"
            written.append(plot_first_layer_weights(network, path, image_shape, initial=start))
    if data is None:
        skip(RUN_PLOTS[5:], problem)
        return written
    images, labels, names = data.test_images, np.asarray(data.test_labels), list(data.class_names)
    n_pixels = int(np.prod(np.shape(images)[1:]))
    if n_pixels != network.n_inputs or len(names) != network.n_classes:
        skip(
            RUN_PLOTS[5:],
            f"the model takes {network.n_inputs} inputs and {network.n_classes} "
            f"classes; the test set has {n_pixels} and {len(names)}",
        )
        return written
    X = np.asarray(images)
    P = np.concatenate([network.predict_proba(X[i : i + 8192]) for i in range(0, len(X), 8192)])
    confusion = confusion_matrix(labels, np.argmax(P, axis=1), network.n_classes)
    written.append(plot_confusion(confusion, names, out / "confusion.png"))
    written.append(
        plot_mistakes(X, labels, P, names, out / "mistakes.png", image_shape=image_shape)
    )
    return written


def _load_dataset(settings: Mapping[str, Any], data_dir: str | Path | None) -> tuple[Any, str]:
    """The run's dataset, or ``None`` and the reason it could not be read."""
    from glassnet import datasets

    name = str(settings.get("dataset") or "mnist")
    where = data_dir if data_dir is not None else settings.get("data_dir")
    try:
        return datasets.load(name, data_dir=where), ""
    except (GlassnetError, OSError, ValueError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        return None, f"cannot read the {name} test set ({message}); give its folder with --data-dir"


def _image_shape(n_inputs: int, data: Any | None) -> tuple[int, int] | None:
    if data is not None:
        shape = np.shape(data.test_images)[1:]
        if len(shape) == 2 and shape[0] * shape[1] == n_inputs:
            return int(shape[0]), int(shape[1])
    side = math.isqrt(n_inputs)
    return (side, side) if side * side == n_inputs else None
