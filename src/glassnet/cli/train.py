"""``glassnet train``: train a network, test it, and keep everything in a run folder."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from glassnet.cli import options
from glassnet.errors import InputError, TrainingDivergedError

EPILOG = """\
examples:
  glassnet train                                  the default: MNIST, 784-256-10 ReLU, plain SGD
  glassnet train --preset seed --epochs 20        the post's network, first 20 of its 1000 epochs
  glassnet train --preset best --dataset fashion-mnist
  glassnet train --hidden 128,64 --activation tanh --learning-rate 0.05 --epochs 5
  glassnet train --config runs/<run>/settings.toml    repeat a run exactly
  glassnet train --resume runs/<run>              continue an interrupted run

Settings are taken in this order, later ones winning: the preset (default: 'default'), the --config
file, then the options given here. Every run writes a folder (under --runs-dir, or --out) holding
settings.toml, history.json/.csv and model.safetensors; Ctrl-C saves a checkpoint to resume from.
"""

#: The option groups of --help, in order: the settings' groups, then how the run is kept.
GROUPS = ("data", "network", "training")
#: What --resume may still change; the rest comes from the run's settings.toml.
RESUMABLE = ("epochs", "data_dir", "engine")


def add_parser(subparsers: Any) -> None:
    from glassnet.settings import RULES, RunSettings

    defaults = RunSettings.defaults()  # what a setting is when not given

    p = subparsers.add_parser(
        "train",
        help="train a network and save it",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    options.add_setting(p, "preset", RULES["preset"])
    p.add_argument(
        "--config", metavar="FILE", help="a settings file (TOML), e.g. a run's settings.toml"
    )
    p.add_argument(
        "--resume", metavar="RUN", help="continue the run in this folder from its checkpoint"
    )
    for group in GROUPS:
        g = p.add_argument_group(group)
        for name, rule in RULES.items():
            if rule.group == group and (rule.kind != "flag" or name in options.SWITCHES):
                options.add_setting(g, name, rule, defaults.get(name))
    g = p.add_argument_group("output")
    g.add_argument("--out", metavar="DIR", help="the run folder (default: RUNS_DIR/<time>-<label>)")
    g.add_argument(
        "--runs-dir",
        metavar="DIR",
        default=None,
        help="where run folders go (default: $GLASSNET_RUNS_DIR or ./runs)",
    )
    g.add_argument("--plots", action="store_true", help="draw the run's plots when training ends")
    g.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="per-layer gradient norms and saturated units after every epoch",
    )
    g.add_argument("-q", "--quiet", action="store_true", help="no per-epoch lines, no progress bar")
    p.set_defaults(func=run)


def given_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given as options on this command line."""
    from glassnet.settings import RULES

    return {name: getattr(args, name) for name in RULES if getattr(args, name, None) is not None}


def resolve_settings(args: argparse.Namespace) -> Any:
    """Preset, then config file, then command-line options: one checked ``RunSettings``."""
    from glassnet.runs import read_settings
    from glassnet.settings import RunSettings

    file = read_settings(args.config) if args.config else {}
    overrides = given_settings(args)
    overrides.pop("preset", None)
    settings = RunSettings.resolve(args.preset, file, overrides, args.config or "settings")
    options.refuse_inapplicable(overrides, settings.training)
    return settings


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, as Ctrl-C's KeyboardInterrupt is."""


def _terminate(signum: int, frame: Any) -> None:
    raise _Terminated


def _was_terminated(error: BaseException) -> bool:
    """Whether SIGTERM is what the exception grew from (it travels as each layer's context)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, _Terminated):
            return True
        seen = seen.__context__
    return False


@contextlib.contextmanager
def _sigterm_as_ctrl_c() -> Iterator[None]:
    """SIGTERM stops training as Ctrl-C does: the run keeps its last epoch and can resume."""
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(args: argparse.Namespace) -> int:
    """Train as the options say; SIGTERM stops the run as Ctrl-C does, with a checkpoint."""
    from glassnet import runs

    if args.plots:  # a missing extra is found now, not after an hour of training
        from glassnet.plots.canvas import _figure

        _figure(1, 1)
    log = None if args.quiet else sys.stderr
    verbose = 2 if args.verbose else 1
    try:
        with _sigterm_as_ctrl_c():
            if args.resume:
                result = runs.resume(
                    args.resume, **_resumable(args), log=log, verbose=verbose, progress=None
                )
            else:
                settings = resolve_settings(args)
                root = args.runs_dir or os.environ.get("GLASSNET_RUNS_DIR") or "runs"
                result = runs.run(settings, args.out, runs_dir=root, log=log, verbose=verbose)
    except _Terminated:  # before training began, or after it ended
        print("glassnet: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    except TrainingDivergedError as exc:  # the library's advice, in this command's options
        raise TrainingDivergedError(
            f"{exc} (--learning-rate, --clip-norm, --warmup-epochs)"
        ) from None
    except runs.RunInterrupted as stop:
        terminated = _was_terminated(stop)
        what = "terminated" if terminated else "interrupted"
        if stop.epoch:
            print(
                f"glassnet: {what}; epoch {stop.epoch} is saved. Continue with: "
                f"glassnet train --resume {stop.folder}",
                file=sys.stderr,
            )
        else:
            print(
                f"glassnet: {what} before the first epoch ended; nothing to resume", file=sys.stderr
            )
        return 128 + (signal.SIGTERM if terminated else signal.SIGINT)
    _report(args, result)
    return 0


def _resumable(args: argparse.Namespace) -> dict[str, Any]:
    """``--epochs``, ``--data-dir`` and ``--engine``: the only options a resumed run takes."""
    given = [*given_settings(args), *(k for k in ("config", "out", "runs_dir") if getattr(args, k))]
    refused = [name for name in given if name not in RESUMABLE]
    if refused:
        option = "--" + refused[0].replace("_", "-")
        raise InputError(
            f"{option} cannot change a resumed run: it continues with the settings in "
            f"{Path(args.resume) / 'settings.toml'} (only --epochs, --data-dir and --engine may "
            "be given)"
        )
    return {name: getattr(args, name) for name in RESUMABLE}


def _report(args: argparse.Namespace, result: Any) -> None:
    """The run's last lines: how it ended, a warning if any, the test accuracy; and the plots."""
    if not args.quiet:
        print(f"glassnet: {result.history.stopped}", file=sys.stderr, flush=True)
    if result.warning:
        print(f"glassnet: warning: {result.warning}", file=sys.stderr)
    n, accuracy, epochs = result.test_size, result.test_accuracy, len(result.history.rows)
    model = result.folder / "model.safetensors"
    print(
        f"test accuracy {accuracy:.2%} ({round(accuracy * n)}/{n}) after "
        f"{epochs} epoch{'s' if epochs != 1 else ''} in {result.seconds:.1f} s; model saved to {model}"
    )
    if args.plots:
        from glassnet.plots import plot_run

        written = plot_run(result.folder)
        if not args.quiet:
            print(f"glassnet: {len(written)} plots in {result.folder / 'plots'}", file=sys.stderr)
