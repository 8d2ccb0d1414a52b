"""The ``glassnet`` command: one subcommand per job, each in its own module.

Every subcommand module has ``add_parser(subparsers)``, which declares its options, and ``run(args)``,
which does the work and returns the exit status. Errors the user can fix (a bad option, a missing or
corrupt file) reach the terminal as one line on standard error, never as a traceback:

    exit 0  success
    exit 1  an error in the input or the data (the message says which)
    exit 2  a command-line usage error
    exit 70  a bug in glassnet: one line says so; ``--debug`` (or ``GLASSNET_DEBUG=1``) shows the
             traceback
    exit 130  interrupted with Ctrl-C

Only glassnet's own errors (:class:`~glassnet.errors.GlassnetError`) and the operating system's
(``OSError``: a missing file, a full disk) are the user's to fix. Anything else that escapes a
command, a ``ValueError`` from deep inside NumPy say, is glassnet's mistake, and is shown as one.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any, NoReturn

from glassnet import __version__
from glassnet.errors import GlassnetError, one_line

#: Subcommand modules, in the order ``glassnet --help`` lists them.
SUBCOMMANDS = (
    "train",
    "evaluate",
    "predict",
    "gradcheck",
    "explain",
    "datasets",
    "runs",
    "compare",
    "plot",
    "serve",
    "watch",
    "export",
    "card",
    "sweep",
)

EPILOG = """\
examples:
  glassnet train                         a good network on MNIST in under a minute
  glassnet train --preset seed           the post's network: 6 sigmoid layers of 50, 1000 epochs
  glassnet evaluate runs/<run>/model.safetensors
  glassnet predict model.safetensors my-digit.png
  glassnet gradcheck                     backprop against central differences
  glassnet datasets list

Run 'glassnet COMMAND --help' for the options of each command.
"""


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are a single line."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Subcommands take their description from their module docstring; show it as plain text.
        if kwargs.get("description"):
            kwargs["description"] = kwargs["description"].replace("``", "'")
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        hint = self._suggestion(message)
        self.exit(2, f"{self.prog}: error: {message}{hint} (see '{self.prog} --help')\n")

    def _suggestion(self, message: str) -> str:
        """``; did you mean --learning-rate?`` for an unknown option close to a known one."""
        if not message.startswith("unrecognized arguments:"):
            return ""
        known = set(self._option_string_actions)
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                for parser in action.choices.values():
                    known.update(parser._option_string_actions)
        for word in message.split(":", 1)[1].split():
            if word.startswith("--"):
                name = word.split("=", 1)[0]
                close = difflib.get_close_matches(name.replace("_", "-"), known, n=1, cutoff=0.75)
                if close:
                    return f"; did you mean {close[0]}?"
        return ""


def build_parser(command: str | None = None) -> Parser:
    """The parser of every subcommand, or of ``command`` alone (what one run of ``glassnet
    COMMAND`` needs: the other commands' modules are not imported)."""
    parser = Parser(
        prog="glassnet",
        description="Neural networks from scratch in NumPy: train, test, look inside.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"glassnet {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the traceback of an internal error (also: GLASSNET_DEBUG=1)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in SUBCOMMANDS if command is None else (command,):
        try:
            module = importlib.import_module(f"glassnet.cli.{name}")
        except ModuleNotFoundError as exc:  # an optional subcommand module not present
            if exc.name != f"glassnet.cli.{name}":
                raise
            continue
        module.add_parser(subparsers)
    for subparser in subparsers.choices.values():  # --debug after the command works too
        subparser.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``glassnet`` console script and ``python -m glassnet``."""
    words = list(sys.argv[1:] if argv is None else argv)
    command = next((word for word in words if not word.startswith("-")), None)
    parser = build_parser(command if command in SUBCOMMANDS else None)
    args = parser.parse_args(words)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("glassnet: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a command that stopped reading, like head
        sys.stderr.close()
        return 0
    except (GlassnetError, OSError) as exc:
        print(f"glassnet {args.command}: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_INPUT
    except Exception as exc:
        return _bug(args, exc)


#: The exit status for bad input (the message says what), and for a bug in glassnet.
EXIT_INPUT = 1
EXIT_BUG = 70


def _bug(args: argparse.Namespace, exc: Exception) -> int:
    """Say that glassnet failed (not the user), with the traceback under --debug."""
    if args.debug or os.environ.get("GLASSNET_DEBUG", "") not in ("", "0"):
        traceback.print_exc(file=sys.stderr)
    else:
        print(
            f"glassnet {args.command}: internal error, a bug in glassnet: "
            f"{type(exc).__name__}: {one_line(exc, 300)} "
            "(run again with --debug, or GLASSNET_DEBUG=1, for the traceback)",
            file=sys.stderr,
        )
    return EXIT_BUG
