"""``glassnet explain``: the post's backpropagation walkthrough, with real numbers from MNIST."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from glassnet.cli import options
from glassnet.cli.options import MAX_SECONDS, WARN_SECONDS, duration
from glassnet.errors import InputError
from glassnet.rules import Rule

EPILOG = """\
examples:
  glassnet explain --data-dir ../shared/datasets/mnist      the post's 784-3-10, a batch of 75
  glassnet explain --hidden 16,16 --activation tanh --batch-size 20
  glassnet explain --markdown docs/explain.md               the walkthrough as a Markdown page
  glassnet explain | less -R                                page through it, in colour

It builds the post's example (a 784-3-10 sigmoid network with the post's standard normal weights,
untrained, in float64; another --activation starts from the weights `glassnet train` gives it:
Glorot's for tanh, He's for ReLU) and a mini-batch of MNIST training images, and prints every equation of
the forward and backward pass in the post's notation with the shapes it produces and some of its
numbers; the derivations the post skips (the hidden layers' gradients); the softmax Jacobian
behind "simplifies to Ŷ − Y", for the categorical loss and for the post's sum of binary
cross-entropies; and one step of gradient descent with the loss before and after. Every gradient
is checked against central differences (the exit status is 1 if any check fails). The work grows
with the network and the batch (central differences evaluate the loss twice per entry checked, up to
3,000 entries an array): a walkthrough estimated at over 10 s says so before it starts, and one over
5 minutes is refused. A walkthrough whose numbers overflow to NaN or infinity is refused too. Colour
is used when the output is a terminal (--color to choose; NO_COLOR is honoured).
"""

DEFAULTS = {
    "hidden": [3],
    "activation": "sigmoid",
    "initializer": None,
    "batch_size": 75,
    "seed": 0,
    "learning_rate": 0.002,
}


def add_parser(subparsers: Any) -> None:
    from glassnet.activations import ACTIVATIONS
    from glassnet.initializers import INITIALIZERS

    p = subparsers.add_parser(
        "explain",
        help="the post's walkthrough of backprop, with real numbers",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--dataset", default="mnist", help="mnist (default) or fashion-mnist")
    p.add_argument("--data-dir", metavar="DIR", help="folder holding the four IDX files")
    p.add_argument(
        "--hidden",
        type=options.layer_sizes,
        default=DEFAULTS["hidden"],
        metavar="SIZES",
        help="hidden layer sizes (default: 3, the post's)",
    )
    p.add_argument("--activation", choices=list(ACTIVATIONS), default=DEFAULTS["activation"])
    p.add_argument(
        "--initializer",
        choices=list(INITIALIZERS),
        default=DEFAULTS["initializer"],
        help="first weights (default: normal, the post's N(0, 1), for sigmoid; as `glassnet "
        "train` gives them for the others: glorot for tanh, he for relu and leaky_relu)",
    )
    p.add_argument(
        "--batch-size",
        type=options.positive_int,
        default=DEFAULTS["batch_size"],
        help="samples in the mini-batch, m (default: 75, the post's)",
    )
    p.add_argument(
        "--seed",
        type=options.nonnegative_int,
        default=DEFAULTS["seed"],
        help="draws the weights and the batch (default: 0)",
    )
    p.add_argument(
        "--learning-rate",
        type=_rate,
        default=DEFAULTS["learning_rate"],
        metavar="ALPHA",
        help="α of the descent step (default: 0.002, the post's)",
    )
    p.add_argument(
        "--markdown",
        metavar="FILE",
        help="write the walkthrough to FILE as Markdown instead of printing it",
    )
    p.add_argument(
        "--color",
        choices=["auto", "always", "never"],
        default="auto",
        help="colour in the terminal (default: auto, when it is one)",
    )
    p.set_defaults(func=run)


def _rate(text: str) -> float:
    return float(options._parser(Rule("number", low=0.0, open_low=True, high=100.0))(text))


def initializer_for(activation: str, asked: str | None) -> str:
    """The initializer asked for, else the post's N(0, 1) for sigmoid (the post's walkthrough) and
    what ``glassnet train`` gives the other activations (N(0, 1) on 784 inputs overflows a ReLU
    network and saturates tanh)."""
    from glassnet.initializers import DEFAULT_INITIALIZER

    if asked is not None:
        return asked
    return "normal" if activation == "sigmoid" else DEFAULT_INITIALIZER[activation]


def _check_size(layer_sizes: list[int], batch_size: int) -> float:
    """Refuse a walkthrough too big to finish or to fit, before the data is read; returns the
    estimated seconds."""
    from glassnet import memory
    from glassnet.explain.numbers import walkthrough_evaluations, walkthrough_seconds

    seconds = walkthrough_seconds(layer_sizes, batch_size)
    if seconds > MAX_SECONDS:
        raise InputError(
            f"a walkthrough of {len(layer_sizes) - 1:,} layers ({memory.n_parameters(layer_sizes):,} "
            f"parameters, --hidden) on a batch of {batch_size:,} (--batch-size) evaluates the "
            f"loss {walkthrough_evaluations(layer_sizes):,} times for its gradient checks: about "
            f"{duration(seconds)}, over the {duration(MAX_SECONDS)} allowed; explain a smaller "
            "network or a smaller batch"
        )
    # The trace keeps Z, A, δ and the output of every layer for the batch, in float64.
    needed = memory.network_bytes(layer_sizes, 8) * 3 + 8 * 5 * batch_size * sum(layer_sizes)
    sizes = "-".join(map(str, layer_sizes)) if len(layer_sizes) < 12 else "this network"
    memory.ensure_fits(needed, f"a walkthrough of {sizes} on a batch of {batch_size:,}")
    return seconds


def _check_markdown_target(path: str) -> None:
    """Name the folder, not a temporary file in it, when ``--markdown`` cannot be written."""
    target = Path(path)
    folder = target.parent
    if target.is_dir():
        raise InputError(f"--markdown {path}: is a folder; name a file to write")
    if not folder.exists():
        raise InputError(f"--markdown {path}: the folder {str(folder)!r} does not exist")
    if not folder.is_dir():
        raise InputError(f"--markdown {path}: {str(folder)!r} is not a folder")
    if target.exists() and not target.is_file():
        raise InputError(f"--markdown {path}: not a regular file (a pipe or a device?)")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"--markdown {path}: the folder {str(folder)!r} is not writable")


def run(args: argparse.Namespace) -> int:
    from glassnet.atomic import atomic_write_text
    from glassnet.explain import build_walkthrough, render_markdown, render_terminal

    if args.markdown:
        _check_markdown_target(args.markdown)
    n_inputs, n_classes = 784, 10  # MNIST's and Fashion-MNIST's, checked against the data below
    seconds = _check_size([n_inputs, *args.hidden, n_classes], args.batch_size)
    if seconds > WARN_SECONDS:
        print(
            f"glassnet explain: this takes about {duration(seconds)} (the gradient checks "
            "evaluate the loss twice per entry checked)",
            file=sys.stderr,
            flush=True,
        )
    network, X, labels, about = _example(args)
    found = build_walkthrough(
        network, X, labels, learning_rate=args.learning_rate, seed=args.seed, about=about
    )
    if args.markdown:
        header = (
            f"<!-- Generated by `{_command(args)}` on {args.dataset} (--data-dir DIR names a "
            "copy); do not edit by hand: run it again. -->\n\n"
        )
        atomic_write_text(args.markdown, header + render_markdown(found.blocks))
        passed = sum(c.passed for c in found.checks)
        print(f"wrote {args.markdown}: {passed} of {len(found.checks)} gradient checks pass")
    else:
        sys.stdout.write(render_terminal(found.blocks, colour=_colour(args.color)))
    failed = [c.name for c in found.checks if not c.passed]
    if failed:
        print(f"glassnet explain: gradient check failed for {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _example(args: argparse.Namespace) -> tuple[Any, np.ndarray, np.ndarray, str]:
    """The network, the standardized batch ``(m, n_inputs)``, its labels, and where they came from."""
    from glassnet import Network, datasets
    from glassnet.datasets.preprocess import Standardizer, flatten_images

    data = datasets.load(args.dataset, data_dir=args.data_dir)
    rows = flatten_images(data.train_images)
    if args.batch_size > len(rows):
        raise InputError(f"--batch-size {args.batch_size} is more than the {len(rows):,} images")
    standardizer = Standardizer.fit(rows)
    sizes = [rows.shape[1], *args.hidden, len(data.class_names)]
    if sizes != [784, *args.hidden, 10]:
        _check_size(sizes, args.batch_size)  # checked above for MNIST's sizes
    rng = np.random.default_rng(args.seed)
    chosen = rng.choice(len(rows), args.batch_size, replace=False)
    X = standardizer.transform(rows[chosen], np.float64)
    initializer = initializer_for(args.activation, args.initializer)
    network = Network(
        sizes,
        args.activation,
        initializer=initializer,
        seed=args.seed,
        dtype="float64",
    )
    start = {
        "normal": "the post's standard normal weights",
        "glorot": "Glorot's weights",
        "he": "He's weights",
    }.get(initializer, f"{initializer} weights")
    why = ""
    if args.initializer is None and initializer != "normal":
        why = f"; the default for {args.activation}, as in `glassnet train`"
    about = (
        f"The network starts from {start} (seed {args.seed}{why}), untrained, in float64; the batch is "
        f"{args.batch_size} images drawn at random (seed {args.seed}) from {data.name}'s "
        f"{len(rows):,} training images, standardized by their mean and standard deviation "
        f"({float(standardizer.mean[0]):.2f} and {float(standardizer.scale[0]):.2f})."
    )
    return network, X, data.train_labels[chosen].astype(np.int64), about


def _command(args: argparse.Namespace) -> str:
    """The command that makes this walkthrough, naming the options that differ from defaults."""
    words = ["glassnet explain"]
    if args.dataset != "mnist":
        words.append(f"--dataset {args.dataset}")
    for name, default in DEFAULTS.items():
        value = getattr(args, name)
        if value != default:
            shown = ",".join(map(str, value)) if isinstance(value, list) else value
            words.append(f"--{name.replace('_', '-')} {shown}")
    words.append(f"--markdown {args.markdown}")
    return " ".join(words)


def _colour(choice: str) -> bool:
    if choice != "auto":
        return choice == "always"
    term = os.environ.get("TERM", "")
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ and term != "dumb"
