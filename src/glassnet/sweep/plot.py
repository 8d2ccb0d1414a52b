"""The sweep's pictures: accuracy against each swept setting, the best trial marked; and for a
study, its history.

One panel per swept setting. Each finished trial is a dot at its value of that setting and its
ranking accuracy, so a panel shows how much that setting matters with the others varying around
it; the best trial is a red star in every panel. Numbers lie on a number line (logarithmic for a
log-uniform range, or values spanning more than a factor of 20), anything else (names, layer sizes)
on evenly spaced places in the order the spec gives them. Trials that diverged or failed have no
accuracy to show; the title counts them.

A study's second picture (:func:`plot_search`) has two panels: each trial's figure in the order the
trials were asked, with the best so far as a line (how fast the search found its best), and each
trial's validation accuracy after every epoch, the pruned trials in another colour, cut short where
the pruner stopped them, an ``x`` at their end.

Matplotlib comes with the ``sweep`` extra; the picture is drawn on the Agg canvas without
``pyplot`` and written atomically, like every glassnet plot.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glassnet.errors import GlassnetError
from glassnet.plots.canvas import save_figure
from glassnet.sweep.spec import SweepSpec
from glassnet.sweep.trials import Trial, value_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Panels in one row of the picture.
PER_ROW = 3


def plot_sweep(
    spec: SweepSpec, rows: Sequence[Mapping[str, Any]], figure: str, best: str | None, path: Path
) -> Path:
    """Draw :func:`sweep_figure` and write it to ``path`` as a PNG; return ``path``."""
    return save_figure(sweep_figure(spec, rows, figure, best), path)


def sweep_figure(
    spec: SweepSpec, rows: Sequence[Mapping[str, Any]], figure: str, best: str | None
) -> Figure:
    """The picture, as a matplotlib figure: a panel per swept setting, ``figure`` up the side."""
    names = spec.swept
    across = min(PER_ROW, len(names))
    down = math.ceil(len(names) / across)
    canvas = _figure(4.0 * across, 3.2 * down + 0.4)
    shown = [r for r in rows if r["status"] == "done" and r.get(figure) is not None]
    for i, name in enumerate(names):
        axes = canvas.add_subplot(down, across, i + 1)
        _panel(axes, name, shown, figure, best, log=_log_axis(spec, name, shown))
    missing = sum(1 for r in rows if r["status"] in ("diverged", "pruned", "failed"))
    title = f"{len(shown)} trials" + (
        f" ({missing} diverged, pruned or failed, not shown)" if missing else ""
    )
    canvas.suptitle(f"{figure.replace('_', ' ')} against each swept setting: {title}")
    return canvas


def plot_search(
    rows: Sequence[Mapping[str, Any]],
    curves: Mapping[str, Sequence[float]],
    trials: Sequence[Trial],
    figure: str,
    path: Path,
) -> Path:
    """Draw :func:`search_figure` and write it to ``path`` as a PNG; return ``path``."""
    return save_figure(search_figure(rows, curves, trials, figure), path)


def search_figure(
    rows: Sequence[Mapping[str, Any]],
    curves: Mapping[str, Sequence[float]],
    trials: Sequence[Trial],
    figure: str,
) -> Figure:
    """A study's history: ``figure`` per trial and the best so far; each trial's validation
    accuracy (``curves``, by trial id) over its epochs, pruned trials marked."""
    from matplotlib.ticker import MaxNLocator

    canvas = _figure(10.0, 3.8)
    history, epochs = canvas.add_subplot(1, 2, 1), canvas.add_subplot(1, 2, 2)
    label = figure.replace("_", " ")
    done = [(i + 1, 100 * r[figure]) for i, r in enumerate(rows) if _judged(r, figure)]
    pruned = [
        (i + 1, 100 * r["final_val_accuracy"])
        for i, r in enumerate(rows)
        if r["status"] == "pruned" and r.get("final_val_accuracy") is not None
    ]
    if done:
        history.scatter(
            [x for x, _ in done], [y for _, y in done], s=18, color="C0", label="finished trial"
        )
        best, steps = -math.inf, []
        for number, value in done:
            best = max(best, value)
            steps.append((number, best))
        last = len(rows)
        xs, ys = zip(*[*steps, (last, best)], strict=True)
        history.step(xs, ys, where="post", color="C3", label="best so far")
    if pruned:
        history.scatter(
            [x for x, _ in pruned],
            [y for _, y in pruned],
            s=18,
            marker="x",
            color="C1",
            label="pruned (when stopped)",
        )
    history.set_xlabel("trial, in the order asked")
    history.set_ylabel(f"{label} (%)")
    history.set_title("the search's history")
    history.grid(True, alpha=0.3)
    if done or pruned:
        history.legend(loc="lower right", fontsize="small")
    planned = max((int(t.settings.get("epochs", 1)) for t in trials), default=1)
    for row in rows:
        values = [100 * v for v in curves.get(row["trial"], [])]
        if not values or row["status"] not in ("done", "pruned"):
            continue
        xs_epoch = list(range(1, len(values) + 1))
        if row["status"] == "pruned":
            epochs.plot(xs_epoch, values, color="C1", alpha=0.7, linewidth=1)
            epochs.plot(xs_epoch[-1], values[-1], marker="x", color="C1")
        else:
            epochs.plot(xs_epoch, values, color="C0", alpha=0.7, linewidth=1)
    counts = {s: sum(1 for r in rows if r["status"] == s) for s in ("done", "pruned")}
    epochs.set_title(
        f"each trial: {counts['done']} run whole, {counts['pruned']} pruned (x: where stopped)"
    )
    epochs.xaxis.set_major_locator(MaxNLocator(integer=True))
    epochs.set_xlabel("epoch")
    epochs.set_ylabel("validation accuracy (%)")
    epochs.set_xlim(0.8, planned + 0.2)
    epochs.grid(True, alpha=0.3)
    return canvas


def _judged(row: Mapping[str, Any], figure: str) -> bool:
    return row["status"] == "done" and row.get(figure) is not None


def _panel(
    axes: Axes,
    name: str,
    rows: Sequence[Mapping[str, Any]],
    figure: str,
    best: str | None,
    log: bool,
) -> None:
    values = [r[name] for r in rows]
    numeric = all(_is_number(v) for v in values)
    if numeric:
        xs: list[float] = [float(v) for v in values]
    else:  # names and layer sizes: evenly spaced, in the order first met
        labels = list(dict.fromkeys(value_text(v) for v in values))
        xs = [float(labels.index(value_text(v))) for v in values]
        axes.set_xticks(range(len(labels)), labels, rotation=30 if len(labels) > 4 else 0)
        axes.set_xlim(-0.5, len(labels) - 0.5)
    ys = [100 * r[figure] for r in rows]
    axes.scatter(xs, ys, s=18, color="C0", alpha=0.8, label="trial")
    marked = [i for i, r in enumerate(rows) if r["trial"] == best]
    if marked:
        axes.scatter(
            [xs[i] for i in marked],
            [ys[i] for i in marked],
            s=160,
            marker="*",
            color="C3",
            label=f"best ({best})",
            zorder=3,
        )
        axes.legend(loc="best", fontsize="small")
    if log and numeric:
        _plain_log_x(axes)
    axes.set_xlabel(name)
    axes.set_ylabel(f"{figure.replace('_', ' ')} (%)")
    axes.grid(True, alpha=0.3)


def _plain_log_x(axes: Axes) -> None:
    """A log-scale x axis marked at 1, 2 and 5 of each decade, labelled ``0.02`` not ``2×10⁻²``."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axes.set_xscale("log")
    axes.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda x, pos: f"{x:g}"))
    axes.xaxis.set_minor_formatter(NullFormatter())


def _log_axis(spec: SweepSpec, name: str, rows: Sequence[Mapping[str, Any]]) -> bool:
    if name in spec.ranges:
        return spec.ranges[name].kind == "log_uniform"
    values = [float(r[name]) for r in rows if _is_number(r[name])]
    return bool(values) and min(values) > 0 and max(values) / min(values) > 20


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _figure(width: float, height: float) -> Figure:
    """A new figure on the Agg canvas; a one-line error if matplotlib is not installed."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ModuleNotFoundError:
        hint = 'the sweep plot needs matplotlib: pip install "glassnet[sweep]"'
        raise GlassnetError(hint) from None
    figure = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


__all__ = ["plot_search", "plot_sweep", "search_figure", "sweep_figure"]
