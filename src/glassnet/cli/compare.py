"""``glassnet compare``: several runs' accuracy, loss and gradient flow in one picture."""

from __future__ import annotations

import argparse
from typing import Any

from glassnet.errors import InputError, printable

EPILOG = """\
examples:
  glassnet compare runs/<seed run> runs/<fast run>
  glassnet compare runs/*-seed runs/*-fast --out seed-vs-fast.png

Each run is drawn in its own colour, named by its folder and preset: held-out accuracy (test, or
validation where a run has no test figures), training loss, and the first layer's gradient over
the last layer's, per epoch.
"""


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "compare",
        help="overlay the curves of several runs in one PNG",
        description=(__doc__ or "").replace("``", ""),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("runs", metavar="RUN", nargs="+", help="run folders written by glassnet train")
    p.add_argument(
        "--out",
        metavar="FILE",
        default="compare.png",
        help="the PNG to write (default: %(default)s)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from glassnet.plots import plot_compare

    if not args.out.lower().endswith(".png"):
        raise InputError(f"--out must name a .png file, got {args.out!r}")
    print(printable(plot_compare(args.runs, args.out)))
    return 0
