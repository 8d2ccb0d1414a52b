"""A sweep's results: a row per trial, the figure that ranks them, the CSV file and the table.

Each row holds the trial's id and status (``done``, ``diverged``, ``pruned`` by a study after
some epochs, ``failed``, or ``not run`` yet),
its swept settings, its four accuracies (final and best, on validation and test data), the epochs
it trained, its wall time on its worker, the worker, and for a trial that did not finish, why.

The best trial is the finished one with the highest ranking figure: the spec's ``rank``, by default
the final validation accuracy, or the final test accuracy where the trials hold out no validation
data. Choosing by the test set makes its accuracy an optimistic estimate; a validation split
(``validation_split = 0.1`` in ``[settings]``) keeps the test set for the end.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from glassnet.sweep.spec import FIGURES
from glassnet.sweep.trials import Trial, value_text

NOT_RUN = "not run"
#: Columns after the swept settings.
FIGURE_COLUMNS = (*FIGURES, "epochs", "seconds")
TAIL_COLUMNS = ("worker", "error")
#: The accuracies the terminal table shows, as "val acc", "best val" and "test acc".
TABLE_FIGURES = ("final_val_accuracy", "best_val_accuracy", "final_test_accuracy")


def result_rows(
    trials: Sequence[Trial], records: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """One row per trial, in trial order, from the trials' records (``not run`` without one)."""
    rows = []
    for trial in trials:
        record = records.get(trial.id, {})
        row: dict[str, Any] = {"trial": trial.id, "status": record.get("status", NOT_RUN)}
        row.update(trial.swept)
        row.update({name: record.get(name) for name in (*FIGURE_COLUMNS, *TAIL_COLUMNS)})
        rows.append(row)
    return rows


def columns(swept: Sequence[str]) -> list[str]:
    return ["trial", "status", *swept, *FIGURE_COLUMNS, *TAIL_COLUMNS]


def rank_figure(rows: Sequence[Mapping[str, Any]], rank: str | None = None) -> str:
    """The figure that ranks trials: ``rank`` if given, else the final validation accuracy where
    any finished trial has one, else the final test accuracy."""
    if rank is not None:
        return rank
    has_val = any(row.get("final_val_accuracy") is not None for row in rows)
    return "final_val_accuracy" if has_val else "final_test_accuracy"


def best_row(rows: Sequence[Mapping[str, Any]], figure: str) -> Mapping[str, Any] | None:
    """The done trial with the highest ``figure`` (the first of equals), or None."""
    candidates = [r for r in rows if r["status"] == "done" and r.get(figure) is not None]
    return max(candidates, key=lambda r: r[figure]) if candidates else None


def results_csv(rows: Sequence[Mapping[str, Any]], swept: Sequence[str]) -> str:
    """The rows as CSV text: a header, then a line per trial; empty cells for no value."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns(swept), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_value(v) for k, v in row.items()})
    return buffer.getvalue()


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list):
        return value_text(value)
    return value


def epochs_saved(rows: Sequence[Mapping[str, Any]], trials: Sequence[Trial]) -> tuple[int, int]:
    """The epochs pruned trials did not run, and the epochs every recorded trial would have run
    unpruned (each its ``epochs`` setting)."""
    planned = {t.id: int(t.settings.get("epochs", 0)) for t in trials}
    ran = [r for r in rows if r["status"] != NOT_RUN and r["trial"] in planned]
    saved = sum(
        max(0, planned[r["trial"]] - int(r.get("epochs") or 0))
        for r in ran
        if r["status"] == "pruned"
    )
    return saved, sum(planned[r["trial"]] for r in ran)


def format_table(
    rows: Sequence[Mapping[str, Any]],
    swept: Sequence[str],
    figure: str,
    best: str | None,
    epochs: tuple[int, int] = (0, 0),
) -> str:
    """The rows as a text table, the best trial marked with ``*``; accuracies as percentages.
    ``epochs`` is :func:`epochs_saved`'s: where pruning stopped trials, a line says what it saved."""
    shown = ["trial", *swept, "val acc", "best val", "test acc", "epochs", "time", "status"]
    lines = []
    for row in rows:
        cells = [row["trial"] + (" *" if row["trial"] == best else "")]
        cells += [value_text(row[name]) for name in swept]
        cells += [_percent(row.get(name)) for name in TABLE_FIGURES]
        cells += [_whole(row.get("epochs")), _seconds(row.get("seconds")), row["status"]]
        lines.append(cells)
    right = {"val acc", "best val", "test acc", "epochs", "time"}
    widths = [max(len(c[i]) for c in [shown, *lines]) for i in range(len(shown))]

    def line(cells: Sequence[str]) -> str:
        padded = [
            c.rjust(w) if name in right else c.ljust(w)
            for c, w, name in zip(cells, widths, shown, strict=True)
        ]
        return "  ".join(padded).rstrip()

    note = [f"* best by {figure.replace('_', ' ')}"] if best is not None else []
    pruned = sum(1 for r in rows if r["status"] == "pruned")
    saved, planned = epochs
    if pruned and planned:
        note.append(
            f"pruning stopped {pruned} of {len(rows)} trials early, saving {saved} of {planned} "
            f"epochs ({saved / planned:.0%}): {planned - saved} run"
        )
    return "\n".join([line(shown), *(line(c) for c in lines), *note]) + "\n"


def _percent(value: Any) -> str:
    return "" if value is None else f"{100 * value:.2f}%"


def _whole(value: Any) -> str:
    return "" if value is None else str(int(value))


def _seconds(value: Any) -> str:
    return "" if value is None else f"{value:.1f} s"


__all__ = [
    "NOT_RUN",
    "best_row",
    "columns",
    "epochs_saved",
    "format_table",
    "rank_figure",
    "result_rows",
    "results_csv",
]
