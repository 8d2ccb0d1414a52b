"""``glassnet evaluate``: a saved model's accuracy, per class, and its confusion matrix."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from glassnet.errors import InputError, printable

EPILOG = """\
examples:
  glassnet evaluate runs/<run>/model.safetensors
  glassnet evaluate model.safetensors --dataset fashion-mnist --data-dir ~/data/fashion
  glassnet evaluate model.safetensors --split train
  glassnet evaluate runs/<run>/model.safetensors --data other-pictures/ --split all

By default the model is tested on the data it was trained on, as its file records it: the same
dataset, or the same folder or table with the same test part held out. A warning says so when the
data given is another (another dataset, or data whose SHA-256 differs from the one recorded).
"""


def _dataset(text: str) -> str:
    from glassnet.datasets.sources import check_dataset_name

    try:
        return check_dataset_name(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="test a saved model: accuracy, per-class accuracy, confusion matrix",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL", help="a model file written by glassnet train")
    p.add_argument(
        "--dataset", type=_dataset, help="an IDX dataset or idx:DIR (default: the model's own)"
    )
    p.add_argument("--data-dir", metavar="DIR", help="folder holding the four IDX files")
    p.add_argument(
        "--data", metavar="PATH", help="a folder of pictures or a table (default: the model's own)"
    )
    p.add_argument(
        "--split",
        choices=["test", "train", "all"],
        default="test",
        help="which part of the data to evaluate on (default: test)",
    )
    p.add_argument(
        "--confusion",
        metavar="FILE",
        help="write the whole confusion matrix to FILE as CSV (true classes down, predictions "
        f"across); the terminal shows it only for {PRINTED_CLASSES} classes or fewer",
    )
    p.set_defaults(func=run)


#: The most classes whose confusion matrix, and every per-class line, are printed; a model of
#: more gets a summary (the least accurate classes, the largest confusions) and --confusion FILE.
PRINTED_CLASSES = 30


def _settings(recorded: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """The model's own data settings, with what the options change."""
    from glassnet.datasets.datasettings import DATA_KINDS
    from glassnet.datasets.table import is_table

    settings = dict(recorded)
    if args.dataset:
        settings.update(dataset=args.dataset, data=None)
        if args.dataset.startswith("idx:"):
            settings.update(dataset="idx", data_dir=args.dataset[len("idx:") :])
    if args.data:
        kind = "table" if is_table(args.data) else "pictures"
        settings.update(dataset=kind, data=args.data)
    if args.data_dir:
        settings["data_dir"] = args.data_dir
    if settings.get("dataset") not in DATA_KINDS:
        settings["data"] = None
    return settings


def _warnings(recorded: dict[str, Any], settings: dict[str, Any], data: Any) -> list[str]:
    """What differs between the data given and the data the model was trained on."""
    trained_on, digest = recorded.get("dataset"), recorded.get("data_sha256")
    if not trained_on or digest == data.sha256:
        return []  # the very data, whatever it is called now
    if trained_on != settings.get("dataset"):
        return [
            f"the model was trained on {trained_on}, not on {settings.get('dataset')}: its "
            "classes may mean other things here"
        ]
    if digest:
        return [
            f"this data is not the data the model was trained on (SHA-256 {data.sha256[:12]}..., "
            f"recorded {digest[:12]}...): the test part may hold samples it was trained on"
        ]
    return []


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from glassnet import load
    from glassnet.datasets.choose import load_for_settings
    from glassnet.metrics import confusion_matrix, format_confusion, per_class_accuracy

    args.model = _model_path(Path(args.model))
    network = load(args.model)
    recorded = dict(network.training_settings)
    settings = _settings(recorded, args)
    data = load_for_settings(settings)
    name = data.name if data.name not in ("pictures", "table") else str(data.directory)
    X, y = _part(data, args.split)
    n_inputs = int(np.prod(X.shape[1:]))
    if n_inputs != network.n_inputs or len(data.class_names) != network.n_classes:
        raise InputError(
            f"{args.model} takes {network.n_inputs} inputs and {network.n_classes} classes; "
            f"{name} has {n_inputs} and {len(data.class_names)}"
        )
    for warning in _warnings(recorded, settings, data):
        print(f"glassnet evaluate: warning: {warning}", file=sys.stderr)
    if tuple(network.class_names) != tuple(data.class_names):
        print(
            "glassnet evaluate: warning: the model's class names differ from the data's; "
            "labels are compared by number",
            file=sys.stderr,
        )
    if not len(y):
        raise InputError(f"{name}: its {args.split} part holds no samples to evaluate on")
    if args.confusion:
        _check_out(args.confusion)
    predictions = np.concatenate([network.predict(X[i : i + 8192]) for i in range(0, len(X), 8192)])
    correct = int(np.sum(predictions == y))
    print(f"{printable(args.model)}: {network!r}")
    print(f"{printable(name)} {args.split} accuracy {correct / len(y):.2%} ({correct}/{len(y)})")
    if network.n_classes <= PRINTED_CLASSES:
        confusion = confusion_matrix(y, predictions, network.n_classes)
        print("\nper class:")
        for cls, (label, acc) in enumerate(
            zip(network.class_names, per_class_accuracy(confusion), strict=True)
        ):
            print(
                f"  {cls:>2} {label:<12} {acc:.2%}  ({confusion[cls, cls]}/{confusion[cls].sum()})"
            )
        print()
        print(format_confusion(confusion, network.class_names))
    else:
        _summary(network.class_names, y, predictions, args.confusion)
    if args.confusion:
        _write_confusion(Path(args.confusion), network.class_names, y, predictions)
        print(f"confusion matrix written to {printable(args.confusion)}", file=sys.stderr)
    return 0


def _summary(class_names: Any, y: Any, predictions: Any, out: str | None) -> None:
    """Too many classes to print each: the least accurate ones, and the largest confusions."""
    import numpy as np

    from glassnet.runs.execute import class_figures

    k = len(class_names)
    accuracy, confused = class_figures(y, predictions, k, most=10)
    totals = np.bincount(y, minlength=k)
    tested = [i for i in range(k) if accuracy[i] is not None]
    worst = sorted(tested, key=lambda i: (accuracy[i], i))[:10]
    print(f"\nper class: {len(tested):,} of {k:,} classes tested; the least accurate:")
    for i in worst:
        right = round((accuracy[i] or 0.0) * totals[i])
        print(f"  {i:>5} {class_names[i][:24]:<24} {accuracy[i]:.2%}  ({right}/{totals[i]})")
    print("\nmost confused (true -> predicted: count):")
    for t, p, count in confused:
        print(f"  {class_names[t][:24]} -> {class_names[p][:24]}: {count}")
    if not confused:
        print("  none")
    if out is None:
        print(
            f"\n{k:,} classes are too many to print a confusion matrix; write it whole with "
            "--confusion FILE (CSV)"
        )


def _check_out(name: str) -> None:
    """Refuse an output file that cannot be written, before the evaluation runs."""
    path = Path(name)
    if path.is_dir():
        raise InputError(f"--confusion {name}: a folder; give a file name, such as {name}/x.csv")
    if path.exists() and not path.is_file():
        raise InputError(f"--confusion {name}: not a regular file (a device or a pipe)")
    if not path.parent.resolve().is_dir():
        raise InputError(f"--confusion {name}: no folder {path.parent} to write it in")


def _write_confusion(path: Path, class_names: Any, y: Any, predictions: Any) -> None:
    """The whole confusion matrix as CSV, a row at a time (a 10,000-class matrix is 800 MB as
    integers, so it is never held whole)."""
    import csv

    import numpy as np

    from glassnet.atomic import atomic_write

    k = len(class_names)
    order = np.argsort(y, kind="stable")
    ys, ps = np.asarray(y)[order], np.asarray(predictions)[order]
    starts = np.searchsorted(ys, np.arange(k + 1))
    with atomic_write(path, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["true \\ predicted", *class_names])
        for i in range(k):
            row = np.bincount(ps[starts[i] : starts[i + 1]], minlength=k)
            writer.writerow([class_names[i], *row.tolist()])


def _part(data: Any, split: str) -> tuple[Any, Any]:
    import numpy as np

    if split == "test":
        return data.test_images, data.test_labels
    if split == "train":
        return data.train_images, data.train_labels
    return (
        np.concatenate([data.train_images, data.test_images]),
        np.concatenate([data.train_labels, data.test_labels]),
    )


def _model_path(path: Path) -> Path:
    """The model file ``path`` names: itself, or the model a run folder holds."""
    from glassnet import runs

    if path.is_dir():
        if (path / runs.MODEL).is_file():
            return path / runs.MODEL
        has_checkpoint = (path / runs.CHECKPOINT).is_file()
        raise InputError(
            f"{path}: a folder without a trained model ({runs.MODEL})"
            + (
                "; its run is unfinished: glassnet train --resume continues it"
                if has_checkpoint
                else ""
            )
        )
    runs.open_run_file(path).close()  # a pipe would be waited on for ever, a device read so
    return path
