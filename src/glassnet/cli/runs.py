"""``glassnet runs``: a table of past training runs, oldest first."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from glassnet.errors import InputError, one_line, printable

EPILOG = """\
examples:
  glassnet runs                            the runs under $GLASSNET_RUNS_DIR, or ./runs
  glassnet runs --runs-dir /tmp/experiments

Columns: the run folder, its preset and dataset, the hidden layers and activation, epochs done
(of those asked for, when training stopped early or was interrupted), the final test accuracy,
and the training time. 'glassnet plot RUN' draws a run; 'glassnet compare RUN RUN...' sets
several side by side.
"""

HEADER = ("run", "preset", "dataset", "network", "epochs", "test acc", "time", "note")
RIGHT_ALIGNED = {"epochs", "test acc", "time"}


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "runs",
        help="list past training runs: network, epochs, test accuracy, time",
        description=(__doc__ or "").replace("``", ""),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--runs-dir",
        metavar="DIR",
        help="where run folders are (default: $GLASSNET_RUNS_DIR or ./runs)",
    )
    p.set_defaults(func=run)


def format_seconds(seconds: float) -> str:
    """``53.9`` as ``"53.9 s"``, ``125`` as ``"2 m 05 s"``, ``3720`` as ``"1 h 02 m"``; a time no
    run takes (infinite, or over a hundred years, from a damaged history) as ``"?"``."""
    if not 0 <= seconds < 100 * 365 * 86400:
        return "?"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} m {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} m"


def table(rows: Sequence[Sequence[str]], header: Sequence[str] = HEADER) -> str:
    """Columns padded to their widest cell, numbers right-aligned; trailing spaces trimmed."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.rjust(width) if name in RIGHT_ALIGNED else cell.ljust(width)
            for cell, width, name in zip(cells, widths, header, strict=True)
        ]
        return "  ".join(padded).rstrip()

    return "\n".join(line(row) for row in [header, *rows])


def _label(settings: dict[str, Any]) -> str:
    """The run's preset, or ``<preset>-custom`` when its settings differ from the preset's."""
    from glassnet.settings import RunSettings

    try:
        return RunSettings.from_dict(settings).label()
    except (TypeError, ValueError):  # settings of an older glassnet, or damaged: as written
        return str(settings.get("preset", ""))


def describe(folder: Path) -> list[str]:
    """One table row for a run folder; an unreadable folder says why in its note."""
    from glassnet import runs
    from glassnet.plots import describe_network

    try:
        summary = runs.summarize(folder)
    except (ValueError, OSError) as exc:
        problem = one_line(exc, 200)
        return [printable(folder.name, 60), "", "", "", "", "", "", f"unreadable: {problem}"]
    settings = summary.settings
    planned = settings.get("epochs")
    epochs = str(summary.epochs)
    if isinstance(planned, int) and planned != summary.epochs:
        epochs += f"/{planned}"
    accuracy = "-" if summary.test_accuracy is None else f"{summary.test_accuracy:.2%}"
    pid = runs.running(folder)
    if pid is not None:
        note = f"running (process {pid})" if pid > 0 else "running"
    elif not (folder / runs.MODEL).is_file():
        has_checkpoint = (folder / runs.CHECKPOINT).is_file()
        note = "unfinished; --resume continues it" if has_checkpoint else "no model file"
    elif summary.stopped.startswith("completed"):
        note = ""
    else:
        note = printable(summary.stopped.split(":")[0], 60)
    return [
        printable(folder.name, 60),
        printable(_label(settings), 24),
        printable(settings.get("dataset", ""), 30),
        printable(describe_network(settings), 40),
        epochs,
        accuracy,
        format_seconds(summary.seconds) if summary.epochs else "-",
        note,
    ]


def run(args: argparse.Namespace) -> int:
    from glassnet import runs

    root = Path(args.runs_dir or os.environ.get("GLASSNET_RUNS_DIR") or "runs")
    if not root.is_dir():
        if args.runs_dir:
            raise InputError(f"{root}: no such folder")
        print(f"glassnet: no runs yet in {root}; 'glassnet train' makes one", file=sys.stderr)
        return 0
    # Each folder is read on its own, so one damaged run does not hide the others.
    folders = sorted(p for p in root.iterdir() if (p / runs.SETTINGS).is_file())
    if not folders:
        print(f"glassnet: no run folders in {root}", file=sys.stderr)
        return 0
    print(table([describe(folder) for folder in folders]))
    return 0
