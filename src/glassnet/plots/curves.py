"""Pictures of a run's history over the epochs.

``curves.png``         Is it learning, and is it overfitting? Loss and accuracy per epoch, training
                       against validation and test.
``learning_rate.png``  What step size did the optimizer take in each epoch?
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from glassnet.plots.canvas import (
    SPLITS,
    _epoch_axis,
    _figure,
    _line,
    _log_scale,
    _log_scale_for_loss,
    _no_data,
    _percent_axis,
    _spread,
    save_figure,
)
from glassnet.plots.history import Rows, column

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def curves_figure(rows: Rows, *, title: str | None = None) -> Figure:
    """Loss and accuracy per epoch for train, validation and test (those present in ``rows``).

    Parameters
    ----------
    rows : sequence of dict
        History rows with ``train_loss``, ``val_loss``, ``test_loss``, ``train_accuracy``,
        ``val_accuracy``, ``test_accuracy``; ``None`` values are skipped.
    title : str, optional
        A heading above both panels.
    """
    figure = _figure(11, 4.2)
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    all_losses = []
    for split, (name, color, style) in SPLITS.items():
        epochs, losses = column(rows, f"{split}_loss")
        if epochs:
            all_losses += losses
            label = f"{name}  {losses[-1]:.4f}"
            _line(loss_axes, epochs, losses, linestyle=style, color=color, label=label)
        epochs, accuracies = column(rows, f"{split}_accuracy")
        if epochs:
            label = f"{name}  {accuracies[-1]:.2%}"
            _line(accuracy_axes, epochs, accuracies, linestyle=style, color=color, label=label)
    log_loss = _log_scale_for_loss(loss_axes, all_losses)
    loss_axes.set_title("loss (cross-entropy" + (", log scale)" if log_loss else ")"))
    loss_axes.set_ylabel("mean loss per sample")
    accuracy_axes.set_title("accuracy")
    accuracy_axes.set_ylabel("fraction classified correctly")
    _percent_axis(accuracy_axes)
    for axes in (loss_axes, accuracy_axes):
        _epoch_axis(axes)
        if axes.lines:
            axes.legend(title="last epoch", fontsize="small", title_fontsize="small")
        else:
            _no_data(axes, "no figures recorded")
    if title:
        figure.suptitle(title)
    return figure


def plot_curves(history_rows: Rows, path: str | Path, *, title: str | None = None) -> Path:
    """Write :func:`curves_figure` of ``history_rows`` to the PNG ``path`` and return the path."""
    return save_figure(curves_figure(history_rows, title=title), path)


#: The learning-rate plot's log axis spans at most this factor below the largest rate.
RATE_DECADES = 1e-4


def learning_rate_figure(rows: Rows, *, title: str | None = None) -> Figure:
    """The learning rate in effect at the end of each epoch (log scale if it spans 10x or more).

    Parameters
    ----------
    rows : sequence of dict
        History rows with ``learning_rate``.
    title : str, optional
    """
    figure = _figure(7, 3.6)
    axes = figure.subplots()
    epochs, rates = column(rows, "learning_rate")
    default = "learning rate"
    if epochs:
        _line(axes, epochs, rates, color="C4")
        if max(rates) == min(rates):
            default = f"learning rate (constant: {rates[0]:g})"
        if _spread(rates) < 10:
            axes.set_ylim(0, max(rates) * 1.15)
        else:
            _log_scale(axes)
            # A cosine schedule ends near zero (1e-9 of the rate and less): four decades keep the
            # rest of the curve readable, and the last epochs run off the bottom.
            top = max(rates)
            if min(rates) < top * RATE_DECADES:
                axes.set_ylim(top * RATE_DECADES, top * 2)
                default = f"learning rate (below {RATE_DECADES:g} × the largest: off the axis)"
    else:
        _no_data(axes, "no learning rate recorded")
    axes.set_title(title or default)
    axes.set_ylabel("learning rate at the end of the epoch")
    _epoch_axis(axes)
    return figure


def plot_learning_rate(rows: Rows, path: str | Path, *, title: str | None = None) -> Path:
    """Write :func:`learning_rate_figure` of ``rows`` to the PNG ``path`` and return the path."""
    return save_figure(learning_rate_figure(rows, title=title), path)
