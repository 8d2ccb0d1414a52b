"""``glassnet plot``: draw the pictures of a run folder into its ``plots/`` folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from glassnet.errors import InputError, printable

EPILOG = """\
examples:
  glassnet plot runs/<run>                 curves, gradients, weights, confusion matrix, mistakes
  glassnet plot runs/<run> --data-dir ~/data/mnist
                                           the test set is somewhere other than the run recorded

The pictures go to RUN/plots/ and their paths are printed, one a line. A picture that needs
something the run folder lacks (the model file of an unfinished run, the test set) is skipped
with a line on standard error saying why. docs/plots.md explains how to read each picture.
"""


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "plot",
        help="draw a run's training curves, gradients, weights and mistakes as PNG files",
        description=(__doc__ or "").replace("``", ""),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run", metavar="RUN", help="a run folder written by glassnet train")
    p.add_argument("--data-dir", metavar="DIR", help="folder holding the dataset's IDX files")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from glassnet.plots import plot_run

    written = plot_run(_run_folder(Path(args.run)), data_dir=args.data_dir, log=sys.stderr)
    for path in written:
        print(printable(path))
    return 0


def _run_folder(path: Path) -> Path:
    """The run folder ``path`` names: itself, or for a file in a run folder (its model, say) the
    folder that holds it."""
    if not path.is_file():
        return path
    from glassnet import runs

    folder = path.parent
    if any((folder / name).is_file() for name in (runs.SETTINGS, runs.HISTORY_JSON)):
        print(
            f"glassnet: plotting the run folder {folder}, which holds {path.name}", file=sys.stderr
        )
        return folder
    raise InputError(
        f"{path}: a file; glassnet plot draws a run folder (the folder 'glassnet train' made), "
        "and 'glassnet evaluate' takes a model file"
    )
