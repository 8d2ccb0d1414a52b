"""glassnet in a Jupyter notebook: a network as a table, a history as a chart, a chart that grows.

A notebook shows an object by asking it for HTML (``_repr_html_``). Three pieces answer:

- :func:`network_html`: a network as a small table, one row per weight layer (``784 → 256``, its
  activation, its parameters), under a line saying its dtype, its engine, and whether it has been
  trained and how well;
- :func:`history_html`: a training history as two small charts, the loss and the accuracy per epoch
  for each split it has, drawn as inline SVG (no plotting library needed), and a line on how it
  ended;
- :class:`LivePlot`: an epoch callback (``fit(..., callbacks=[LivePlot()])``) that draws the loss and
  accuracy so far with matplotlib after every epoch, updating one picture in place through an
  IPython display handle rather than adding a picture per epoch.

This module is imported only when a notebook asks for it; it imports nothing of glassnet but the
objects it is given, and matplotlib and IPython only when :class:`LivePlot` draws.
"""

from __future__ import annotations

import html
import io
import math
from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any

__all__ = ["LivePlot", "history_html", "network_html"]

#: The splits a history row may hold, in the order they are drawn, with their colours.
SPLITS = (("train", "#1f77b4"), ("val", "#ff7f0e"), ("test", "#2ca02c"))
_STYLE = "border-collapse:collapse;font-size:0.9em"
_CELL = "padding:2px 10px;text-align:right"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _percent(value: object) -> str | None:
    if isinstance(value, (int, float)) and math.isfinite(value):
        return f"{100 * value:.2f}%"
    return None


# ---------------------------------------------------------------------------------- the network
def network_html(network: Any) -> str:
    """A network as a small HTML table, for a notebook's ``_repr_html_``.

    Parameters
    ----------
    network : glassnet.Network
        Read for ``layer_sizes``, ``activation``, ``initializer``, ``dtype``, ``n_parameters``,
        ``engine.name``, ``training_settings`` (empty when untrained) and ``metrics``.

    Returns
    -------
    str
        A ``<div>`` holding a caption line and a table with one row per weight layer:
        its index ``l`` (from 1, as the post counts), ``fan_in → fan_out``, its activation and
        its parameter count ``fan_in × fan_out + fan_out``.
    """
    sizes = [int(n) for n in network.layer_sizes]
    last = len(sizes) - 2
    rows = []
    for l, (fan_in, fan_out) in enumerate(pairwise(sizes)):
        activation = "softmax" if l == last else network.activation
        rows.append(
            f"<tr><td style='{_CELL}'>{l + 1}</td><td style='{_CELL}'>{fan_in} → {fan_out}</td>"
            f"<td style='{_CELL};text-align:left'>{_e(activation)}</td>"
            f"<td style='{_CELL}'>{fan_in * fan_out + fan_out:,}</td></tr>"
        )
    engine = getattr(getattr(network, "engine", None), "name", "?")
    dtype = getattr(network.dtype, "name", network.dtype)
    header = "".join(
        f"<th style='{_CELL}'>{h}</th>" for h in ("layer", "sizes", "activation", "parameters")
    )
    title = (
        f"<b>Network {'-'.join(map(str, sizes))}</b>: {_e(network.activation)} hidden units, "
        f"softmax output, {int(network.n_parameters):,} parameters, {_e(dtype)}, "
        f"{_e(network.initializer)} initialization, {_e(engine)} engine"
    )
    return (
        f"<div class='glassnet-network'><p>{title}</p>"
        f"<table style='{_STYLE}'><thead><tr>{header}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table><p>{_e(_trained(network))}</p></div>"
    )


def _trained(network: Any) -> str:
    """Whether the network has been trained, and its last accuracy if one was recorded."""
    settings = getattr(network, "training_settings", None) or {}
    if not settings:
        return "Not trained yet."
    metrics = getattr(network, "metrics", None) or {}
    epochs = settings.get("epochs")
    said = f"Trained ({epochs} epochs)" if epochs else "Trained"
    for key, name in (("test_accuracy", "test"), ("val_accuracy", "validation")):
        shown = _percent(metrics.get(key))
        if shown is not None:
            return f"{said}: {shown} {name} accuracy."
    return f"{said}."


# ---------------------------------------------------------------------------------- the history
def history_html(history: Any) -> str:
    """A training history as HTML: the loss and the accuracy per epoch, as two inline SVG charts.

    Parameters
    ----------
    history : glassnet.History
        Read for ``rows`` (one dict per epoch with ``epoch`` and ``train_loss``,
        ``train_accuracy``, ``val_*``, ``test_*`` where present), ``stopped``, ``best_epoch``
        and ``test_accuracy``.

    Returns
    -------
    str
        A ``<div>`` with a line on how training ended and the two charts side by side; a
        history with no rows says so instead.
    """
    rows: Sequence[Mapping[str, Any]] = list(history.rows)
    if not rows:
        return "<div class='glassnet-history'><p>History: no epochs yet.</p></div>"
    charts = "".join(_svg_chart(rows, measure) for measure in ("loss", "accuracy"))
    return (
        f"<div class='glassnet-history'><p>{_e(_ending(history))}</p>"
        f"<div style='display:flex;gap:12px;flex-wrap:wrap'>{charts}</div></div>"
    )


def _ending(history: Any) -> str:
    rows = history.rows
    last = rows[-1]
    parts = [f"History: {len(rows)} epoch{'s' if len(rows) != 1 else ''}"]
    for split, _ in SPLITS:
        shown = _percent(last.get(f"{split}_accuracy"))
        if shown is not None:
            parts.append(f"{split} accuracy {shown}")
    if history.best_epoch is not None:
        parts.append(f"best epoch {history.best_epoch}")
    shown = _percent(history.test_accuracy)
    if shown is not None:
        parts.append(f"test accuracy {shown}")
    if history.stopped:
        parts.append(f"stopped: {history.stopped}")
    return ", ".join(parts) + "."


def _series(rows: Sequence[Mapping[str, Any]], key: str) -> list[tuple[float, float]]:
    points: list[tuple[float, float]] = []
    for row in rows:
        value = row.get(key)
        if isinstance(value, (int, float)) and math.isfinite(value):
            points.append((float(row.get("epoch", len(points) + 1)), float(value)))
    return points


def _svg_chart(rows: Sequence[Mapping[str, Any]], measure: str, width: int = 320) -> str:
    """One chart of ``measure`` ("loss" or "accuracy") per epoch, a line per split."""
    height, left, right, top, bottom = 200, 46, 10, 22, 30
    lines = {split: _series(rows, f"{split}_{measure}") for split, _ in SPLITS}
    values = [v for points in lines.values() for _, v in points]
    epochs = [e for points in lines.values() for e, _ in points] or [1.0]
    if not values:
        return ""
    low, high = min(values), max(values)
    if high - low < 1e-12:
        low, high = low - 0.5, high + 0.5
    first, final = min(epochs), max(epochs)
    span = final - first or 1.0

    def x(epoch: float) -> float:
        return left + (epoch - first) / span * (width - left - right)

    def y(value: float) -> float:
        return top + (high - value) / (high - low) * (height - top - bottom)

    parts = [
        f"<text x='{left}' y='14' font-size='12' font-weight='bold'>{measure}</text>",
        f"<line x1='{left}' y1='{height - bottom}' x2='{width - right}' y2='{height - bottom}' "
        "stroke='#888'/>",
        f"<line x1='{left}' y1='{top}' x2='{left}' y2='{height - bottom}' stroke='#888'/>",
    ]
    for value in (low, (low + high) / 2, high):
        label = f"{100 * value:.1f}%" if measure == "accuracy" else f"{value:.3g}"
        parts.append(
            f"<text x='{left - 4}' y='{y(value) + 4:.1f}' font-size='10' "
            f"text-anchor='end'>{label}</text>"
        )
    for epoch in sorted({first, final}):
        parts.append(
            f"<text x='{x(epoch):.1f}' y='{height - bottom + 14}' font-size='10' "
            f"text-anchor='middle'>{epoch:g}</text>"
        )
    parts.append(
        f"<text x='{(left + width - right) / 2}' y='{height - 4}' font-size='10' "
        "text-anchor='middle'>epoch</text>"
    )
    legend_x = width - right - 150
    for k, (split, colour) in enumerate(SPLITS):
        points = lines[split]
        if not points:
            continue
        path = " ".join(f"{x(e):.1f},{y(v):.1f}" for e, v in points)
        parts.append(
            f"<polyline points='{path}' fill='none' stroke='{colour}' stroke-width='2'/>"
            if len(points) > 1
            else f"<circle cx='{path.split(',')[0]}' cy='{path.split(',')[1]}' r='3' "
            f"fill='{colour}'/>"
        )
        legend_x += 50 if k else 0
        parts.append(f"<text x='{legend_x}' y='14' font-size='10' fill='{colour}'>{split}</text>")
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"role='img' aria-label='{measure} per epoch'>{''.join(parts)}</svg>"
    )


# ------------------------------------------------------------------------------- the live chart
class LivePlot:
    """An epoch callback that draws the loss and accuracy so far, updating one picture in place.

    Use it as ``net.fit(X, y, callbacks=[LivePlot()])`` (or ``fit(..., live_plot=True)``) in a
    notebook. After each epoch it redraws a figure with two panels, the loss and the accuracy per
    epoch for every split the rows hold, and shows it through one IPython display handle: the
    first epoch adds the picture, every later one replaces it.

    Parameters
    ----------
    width, height : float, default 8, 3
        The figure's size in inches.

    Attributes
    ----------
    rows : list of dict
        The rows seen so far, as ``fit`` passes them.
    updates : int
        How many times the picture was drawn: once per epoch in IPython or Jupyter; outside
        them (a plain script) nothing is drawn, and the rows are only kept.

    Raises
    ------
    ImportError
        When called without matplotlib or IPython installed, with one line saying what to
        install.
    """

    def __init__(self, width: float = 8.0, height: float = 3.0) -> None:
        self.width = width
        self.height = height
        self.rows: list[dict[str, Any]] = []
        self.updates = 0
        self._handle: Any = None

    def __call__(self, row: Mapping[str, Any], state: Any = None) -> None:
        display = _ipython_display()
        self.rows.append(dict(row))
        if not _in_ipython():
            return  # a script has no picture to update in place: keep the rows, draw nothing
        png = self.png()
        image = display.Image(data=png, format="png")
        metadata = {"glassnet": {"epoch": row.get("epoch"), "update": self.updates + 1}}
        if self._handle is None:
            self._handle = display.display(image, metadata=metadata, display_id=True)
        else:
            self._handle.update(image, metadata=metadata)
        self.updates += 1

    def png(self) -> bytes:
        """The chart of the rows so far, as PNG bytes."""
        figure = _figure(self.rows, self.width, self.height)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=90)
        return buffer.getvalue()


def _in_ipython() -> bool:
    from IPython import get_ipython

    return get_ipython() is not None


def _ipython_display() -> Any:
    try:
        import IPython.display as display
    except ImportError:
        raise ImportError(
            "LivePlot needs IPython and matplotlib: pip install ipython matplotlib"
        ) from None
    return display


def _figure(rows: Sequence[Mapping[str, Any]], width: float, height: float) -> Any:
    """A matplotlib figure of the loss and accuracy per epoch, drawn without pyplot."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            "LivePlot needs matplotlib: pip install matplotlib (or glassnet[plot])"
        ) from None
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    for axes, measure in zip(figure.subplots(1, 2), ("loss", "accuracy"), strict=True):
        for split, colour in SPLITS:
            points = _series(rows, f"{split}_{measure}")
            if points:
                epochs, values = zip(*points, strict=True)
                axes.plot(epochs, values, marker="o", markersize=3, color=colour, label=split)
        axes.set_title(measure)
        axes.set_xlabel("epoch")
        axes.grid(alpha=0.3)
        if axes.get_legend_handles_labels()[0]:
            axes.legend(fontsize="small")
    return figure
