"""``glassnet evaluate``: a saved model's accuracy, per class, and its confusion matrix."""

from __future__ import annotations

import argparse
from typing import Any

EPILOG = """\
examples:
  glassnet evaluate runs/<run>/model.safetensors
  glassnet evaluate model.safetensors --dataset fashion-mnist --data-dir ~/data/fashion
  glassnet evaluate model.safetensors --split train
"""


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="test a saved model: accuracy, per-class accuracy, confusion matrix",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL", help="a model file written by glassnet train")
    p.add_argument("--dataset", help="default: the dataset the model was trained on")
    p.add_argument("--data-dir", metavar="DIR", help="folder holding the four IDX files")
    p.add_argument(
        "--split",
        choices=["test", "train"],
        default="test",
        help="which part of the dataset to evaluate on (default: test)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from glassnet import datasets, load
    from glassnet.metrics import confusion_matrix, format_confusion, per_class_accuracy

    network = load(args.model)
    name = args.dataset or network.training_settings.get("dataset") or "mnist"
    data = datasets.load(name, data_dir=args.data_dir)
    X, y = (
        (data.test_images, data.test_labels)
        if args.split == "test"
        else (data.train_images, data.train_labels)
    )
    if int(np.prod(X.shape[1:])) != network.n_inputs or len(data.class_names) != network.n_classes:
        raise ValueError(
            f"{args.model} takes {network.n_inputs} inputs and {network.n_classes} "
            f"classes; {name} has {int(np.prod(X.shape[1:]))} and "
            f"{len(data.class_names)}"
        )
    predictions = np.concatenate([network.predict(X[i : i + 8192]) for i in range(0, len(X), 8192)])
    confusion = confusion_matrix(y, predictions, network.n_classes)
    correct = int(np.trace(confusion))
    print(f"{args.model}: {network!r}")
    print(f"{name} {args.split} accuracy {correct / len(y):.2%} ({correct}/{len(y)})")
    print("\nper class:")
    for cls, (label, acc) in enumerate(
        zip(network.class_names, per_class_accuracy(confusion), strict=True)
    ):
        print(f"  {cls:>2} {label:<12} {acc:.2%}  ({confusion[cls, cls]}/{confusion[cls].sum()})")
    print()
    print(format_confusion(confusion, network.class_names))
    return 0
