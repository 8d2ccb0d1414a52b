"""``glassnet datasets``: see which datasets are here, download them, check them."""

from __future__ import annotations

import argparse
from typing import Any

from glassnet.errors import InputError

EPILOG = """\
examples:
  glassnet datasets list
  glassnet datasets fetch mnist              download into the user cache
  glassnet datasets fetch emnist-letters     EMNIST's archive (562 MB), every split unpacked
  glassnet datasets fetch fashion-mnist --data-dir ~/data/fashion-mnist
  glassnet datasets verify mnist             check the SHA-256 of every file
  glassnet datasets verify mnist --data-dir /data/mnist

where glassnet looks for a dataset's four files, in order:
  --data-dir DIR               when given, only there (or in DIR/NAME)
  $GLASSNET_DATA_DIR/NAME      e.g. $GLASSNET_DATA_DIR/mnist
  the user cache               e.g. ~/.cache/glassnet/mnist ('list' shows the path)
  system folders               Debian's dataset-fashion-mnist: /usr/share/datasets/fashion-mnist
"""

_ORIGINS = {
    "data_dir": "--data-dir",
    "GLASSNET_DATA_DIR": "$GLASSNET_DATA_DIR",
    "cache": "user cache",
    "system": "system",
}


def _dataset_name(text: str) -> str:
    from glassnet.datasets.sources import get_source

    try:
        return get_source(text).name
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _size(nbytes: int) -> str:
    return f"{nbytes / 1e6:.1f} MB"


def add_parser(subparsers: Any) -> None:
    """Add ``datasets`` and its actions ``list``, ``fetch`` and ``verify``."""
    parser = subparsers.add_parser(
        "datasets",
        help="list, download and check datasets (mnist, fashion-mnist, kmnist, emnist-*)",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser(
        "list",
        help="each dataset, where it was found and its size",
        description="List the datasets glassnet knows, where each was found, and its size.",
        epilog="examples:\n  glassnet datasets list",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fetch = actions.add_parser(
        "fetch",
        help="download a dataset (unless it is already here) and check it",
        description=(
            "Make sure a dataset's four files are on this machine and intact. Files already "
            "found are checked, not downloaded again; missing ones are downloaded from the "
            "mirrors in turn, into --data-dir if given, else into the user cache."
        ),
        epilog="examples:\n  glassnet datasets fetch mnist\n"
        "  glassnet datasets fetch fashion-mnist --data-dir ~/data/fashion-mnist",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verify = actions.add_parser(
        "verify",
        help="check every file of a dataset against its SHA-256",
        description=(
            "Check each file against the digest its publisher gives (the SHA-256 of the "
            "decompressed bytes, or of the .gz where only that is published; the shape alone "
            "where neither is). Prints OK or MISMATCH per file, and what was checked; exits with "
            "status 1 if any file fails."
        ),
        epilog="examples:\n  glassnet datasets verify mnist\n"
        "  glassnet datasets verify mnist --data-dir ../shared/datasets/mnist",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for action in (fetch, verify):
        action.add_argument(
            "name",
            metavar="NAME",
            type=_dataset_name,
            help="mnist, fashion-mnist, kmnist, emnist-digits, emnist-letters, ...",
        )
        action.add_argument(
            "--data-dir", metavar="DIR", help="the folder holding (or to hold) the four files"
        )
    fetch.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Carry out ``glassnet datasets ACTION``; return the exit status."""
    if args.action == "list":
        return _list()
    if args.action == "fetch":
        return _fetch(args.name, args.data_dir, progressbar=not args.quiet)
    if args.action == "verify":
        return _verify(args.name, args.data_dir)
    raise InputError(f"unknown datasets action {args.action!r}")


def _list() -> int:
    from glassnet.datasets import available, get_source
    from glassnet.datasets.fetch import cache_dir, locate

    missing = []
    print(f"{'NAME':<15}{'SIZE':>9}  WHERE")
    for name in available():
        location = locate(get_source(name))
        if location is None:
            missing.append(name)
            print(f"{name:<15}{'-':>9}  not found (downloads go to {cache_dir(name)})")
        else:
            origin = _ORIGINS.get(location.origin, location.origin)
            print(f"{name:<15}{_size(location.size):>9}  {location.directory} ({origin})")
    if missing:
        print(f"\ndownload with: glassnet datasets fetch {missing[0]}")
    return 0


def _fetch(name: str, data_dir: str | None, *, progressbar: bool) -> int:
    from glassnet.datasets.fetch import fetch

    location = fetch(name, data_dir, progressbar=progressbar)
    origin = _ORIGINS.get(location.origin, location.origin)
    print(
        f"{name}: {len(location.paths)} files checked, {_size(location.size)} in "
        f"{location.directory} ({origin})"
    )
    return 0


def _verify(name: str, data_dir: str | None) -> int:
    from glassnet.datasets.fetch import verify

    checks = verify(name, data_dir)
    for check in checks:
        if check.ok:
            print(f"OK        {check.path} ({check.checked})")
        else:
            print(f"MISMATCH  {check.problem}")
    failed = sum(not check.ok for check in checks)
    if failed:
        print(f"{name}: {failed} of {len(checks)} files failed")
        return 1
    print(f"{name}: all {len(checks)} files OK")
    return 0
