"""The drawing surface every picture shares: a figure, its axes' style, and saving it.

Matplotlib is an optional dependency (``pip install "glassnet[plot]"``), imported only when a
picture is drawn; without it :func:`_figure` raises a one-line :class:`GlassnetError` saying how to
install it. Figures are drawn on the Agg canvas directly, without ``pyplot``, so drawing keeps no
global state, never opens a window and never changes a notebook's backend. :func:`save_figure`
writes a PNG atomically: a reader never sees half a file.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glassnet.atomic import atomic_write_bytes
from glassnet.errors import GlassnetError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DPI = 110
#: Each split keeps one colour and line style in every picture.
SPLITS = {
    "train": ("train", "C0", "-"),
    "val": ("validation", "C1", "--"),
    "test": ("test", "C2", "-"),
}


def _figure(width: float, height: float) -> Figure:
    """A new figure on the Agg canvas; a one-line error if matplotlib is not installed."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ModuleNotFoundError:
        hint = 'plots need matplotlib, an optional extra: pip install "glassnet[plot]"'
        raise GlassnetError(hint) from None
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _colormap(name: str) -> Any:
    import matplotlib

    return matplotlib.colormaps[name]


def save_figure(figure: Figure, path: str | Path) -> Path:
    """Render ``figure`` to PNG bytes, then replace ``path`` with them atomically.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
    path : str or Path
        The PNG file; its folder is created if needed.

    Returns
    -------
    Path
        ``path``.
    """
    target = Path(path)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(target, buffer.getvalue())
    return target


def _line(axes: Axes, x: Sequence[float], y: Sequence[float], **style: Any) -> None:
    """A line, with a dot per point when there are few enough to tell apart."""
    axes.plot(x, y, marker="o" if len(x) <= 25 else None, markersize=3, **style)


def _percent_axis(axes: Axes) -> None:
    from matplotlib.ticker import PercentFormatter

    axes.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))


def _log_scale(axes: Axes) -> None:
    """A log-scale y axis labelled ``0.002``, ``0.3`` rather than ``2×10⁻³``, ``3×10⁻¹``."""
    from matplotlib.ticker import Formatter

    class Plain(Formatter):
        # Matplotlib's own log formatter decides which ticks get a label; this one writes it.
        def __init__(self, inner: Formatter) -> None:
            self.inner = inner

        def set_axis(self, axis: Any) -> None:
            super().set_axis(axis)
            self.inner.set_axis(axis)

        def set_locs(self, locs: Any) -> None:
            self.inner.set_locs(locs)

        def __call__(self, x: float, pos: int | None = None) -> str:
            return f"{x:g}" if self.inner(x, pos) else ""

    axes.set_yscale("log")
    axes.yaxis.set_major_formatter(Plain(axes.yaxis.get_major_formatter()))
    axes.yaxis.set_minor_formatter(Plain(axes.yaxis.get_minor_formatter()))


def _log_scale_for_loss(axes: Axes, losses: Sequence[float]) -> bool:
    """Put a loss axis on a log scale if the losses span more than a factor of 20; say if it did.

    A training loss falling toward zero then stays readable beside the first epochs' losses.
    """
    log_loss = _spread(losses) > 20
    if log_loss:
        _log_scale(axes)
    return log_loss


def _epoch_axis(axes: Axes) -> None:
    from matplotlib.ticker import MaxNLocator

    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("epoch")
    axes.grid(True, which="major", alpha=0.3)


def _spread(values: Sequence[float]) -> float:
    positive = [v for v in values if v > 0]
    return max(positive) / min(positive) if positive else 1.0


def _legend_below(figure: Figure, axes: Axes, ncol: int) -> None:
    """One legend below all of ``figure``'s panels, for the labelled lines of ``axes``."""
    handles, labels = axes.get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncol=ncol, fontsize="small")


def _no_data(axes: Axes, text: str) -> None:
    axes.text(0.5, 0.5, text, ha="center", va="center", transform=axes.transAxes, color="0.4")
    axes.set_xticks([])
    axes.set_yticks([])
