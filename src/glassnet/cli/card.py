"""``glassnet card``: what to know about a model file before using it, read from the file alone."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from glassnet.cli.export import usage_error
from glassnet.errors import InputError

if TYPE_CHECKING:
    from glassnet.export.card import Measured

EPILOG = """\
examples:
  glassnet card runs/<run>/model.safetensors
  glassnet card model.safetensors --markdown MODEL_CARD.md
  glassnet card model.safetensors --markdown -              Markdown on standard output
  glassnet card old-model.safetensors --data-dir ~/data/mnist

The card shows the architecture and parameter count, the dataset and its checksum, the training
settings, the test accuracy overall and per class, the confusions the model makes most, and the
glassnet version and date that wrote the file, with the file's SHA-256. It reads only the model
file, and says what the file does not hold (files from older versions lack per-class figures).
With --data-dir or --dataset it also measures the test figures now, in a section of its own.
"""


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "card",
        help="a model card: architecture, data, training, results, provenance",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL", help="a model file written by glassnet")
    p.add_argument(
        "--markdown",
        metavar="OUT",
        help="write the card as Markdown to OUT instead of printing it ('-': standard output)",
    )
    p.add_argument(
        "--dataset", help="measure the test figures on this dataset's test set (default: none)"
    )
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        help="measure the test figures on the test set in DIR (the dataset the file names)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from glassnet.export.card import read_card
    from glassnet.export.card.render import to_markdown, to_text
    from glassnet.export.output import same_file, write_output

    out = args.markdown
    if out not in (None, "-") and same_file(args.model, out):
        return usage_error("card", f"--markdown {out} is the model file itself; choose another")
    from glassnet.runs import open_run_file

    open_run_file(args.model).close()  # a pipe would be waited on for ever
    # Measuring loads the model (checking it) before any data, so a bad file is refused first.
    measured = measure(args) if args.dataset or args.data_dir else None
    card = read_card(args.model, measured=measured)
    if out is None:
        sys.stdout.write(to_text(card))
    elif out == "-":
        sys.stdout.write(to_markdown(card))
    else:
        write_output(out, to_markdown(card))
        print(f"wrote {out}")
    return 0


def measure(args: argparse.Namespace) -> Measured:
    """The model's test figures, measured now on the test set the options name."""
    import numpy as np

    from glassnet import datasets, load
    from glassnet.export.card import Measured, confusion_figures
    from glassnet.metrics import confusion_matrix

    network = load(args.model)
    recorded = network.training_settings.get("dataset")
    name = args.dataset or (recorded if isinstance(recorded, str) else None) or "mnist"
    data = datasets.load(name, data_dir=args.data_dir)
    X, y = data.test_images, data.test_labels
    n_inputs = int(np.prod(X.shape[1:]))
    if n_inputs != network.n_inputs or len(data.class_names) != network.n_classes:
        raise InputError(
            f"{args.model} takes {network.n_inputs} inputs and {network.n_classes} classes; "
            f"{name} has {n_inputs} and {len(data.class_names)}"
        )
    chunk = 8192  # bounds the memory of the layer outputs
    predictions = np.concatenate(
        [network.predict(X[i : i + chunk]) for i in range(0, len(X), chunk)]
    )
    return Measured(name, confusion_figures(confusion_matrix(y, predictions, network.n_classes)))
