"""``glassnet predict``: classify your own pictures, or the rows of a table, with a saved model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from glassnet.cli import options
from glassnet.errors import InputError, one_line, printable

EPILOG = """\
examples:
  glassnet predict runs/<run>/model.safetensors my-digit.png
  glassnet predict model.safetensors photos/*.jpg --top 1
  glassnet predict model.safetensors seven.png --show    also writes seven.mnist.png
  glassnet predict runs/<table-run>/model.safetensors rows.csv --out predictions.csv

Pictures are prepared as the model's training pictures were. For a model trained on MNIST (or
another IDX set) that is MNIST's own preparation: dark ink on light paper is inverted (the border
tells which is which; --ink overrides), the digit is cropped, scaled into a 20x20 box and centred
by its centre of mass in a 28x28 field. For a model trained on a folder of pictures (--data DIR),
each picture is resized as that folder's were. --show writes what the network saw, enlarged,
next to the original as <name>.mnist.png (or <name>.seen.png), or into --show-dir DIR; such
pictures given as inputs (as photos/*.png would give them) are passed over, with a note. Only PNG
and JPEG files are read; a file that cannot be read is reported in one line and the others are
still read.

For a model trained on a table (--data table.csv --target COLUMN), give one table (CSV or
Parquet) holding the same feature columns: each row's predicted class and its probability are
written as CSV (row, class, probability), to standard output or --out FILE.
"""

#: Pictures the network saw are written beside the original with this suffix.
SHOWN_SUFFIX = {"mnist": ".mnist.png", "resize": ".seen.png"}
SHOWN_SUFFIXES = tuple(SHOWN_SUFFIX.values())


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "predict",
        help="classify your own PNG or JPEG pictures, or a table's rows",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL", help="a model file written by glassnet train")
    p.add_argument(
        "images", metavar="INPUT", nargs="+", help="PNG or JPEG files, or one table of rows"
    )
    p.add_argument(
        "--top",
        type=options.positive_int,
        default=3,
        metavar="N",
        help="how many of the most probable classes to print (default: 3)",
    )
    p.add_argument(
        "--show",
        action="store_true",
        help="write what the network saw as <name>.mnist.png (or .seen.png) and print its path",
    )
    p.add_argument(
        "--show-dir",
        metavar="DIR",
        help="with --show: write the pictures into DIR (made if missing) instead of beside the "
        "originals",
    )
    p.add_argument(
        "--ink",
        choices=["auto", "dark", "light"],
        default="auto",
        help="dark ink on light paper, light on dark, or decide from the border (default: auto)",
    )
    p.add_argument(
        "--out", metavar="FILE", help="for a table: write the predictions here (default: stdout)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from glassnet import load
    from glassnet.cli.evaluate import _model_path

    _refuse_swapped(args.model, args.images)
    args.model = str(_model_path(Path(args.model)))  # a run folder names its model
    network = load(args.model)
    settings = network.training_settings
    if settings.get("dataset") == "table":
        if args.show or args.show_dir:
            raise InputError("--show is for pictures; a model trained on a table predicts rows")
        return _predict_table(network, args)
    if args.out:
        raise InputError("--out is for a model trained on a table; pictures are printed")
    if args.show_dir and not args.show:
        raise InputError("--show-dir says where --show writes; give --show too")
    return _predict_pictures(network, args)


def _refuse_swapped(model: str, inputs: list[str]) -> None:
    """A picture or table given first, and a model among the inputs: the order is wrong."""
    from glassnet.datasets.table import is_table

    looks_like_input = Path(model).suffix.lower() in (".png", ".jpg", ".jpeg") or is_table(model)
    models = [name for name in inputs if name.endswith(".safetensors")]
    if looks_like_input and models:
        raise InputError(
            f"{model} is not a model: the model comes first, as in "
            f"glassnet predict {models[0]} {model}"
        )


def _predict_table(network: Any, args: argparse.Namespace) -> int:
    """Each row's most probable class and its probability, as CSV."""
    import csv
    import io

    import numpy as np

    from glassnet.datasets.choose import feature_list
    from glassnet.datasets.table import read_feature_rows

    if len(args.images) != 1:
        raise InputError(f"a model trained on a table predicts one table; got {len(args.images)}")
    if args.out and Path(args.out).is_dir():
        raise InputError(f"--out {args.out}: a folder; give a file name, such as {args.out}/p.csv")
    if args.out and Path(args.out).exists() and not Path(args.out).is_file():
        raise InputError(f"--out {args.out}: not a regular file (a device or a pipe)")
    recorded = network.training_settings
    features = feature_list(recorded.get("features"))
    if features is None and recorded.get("target") and recorded.get("data_sha256"):
        # A table too wide to record its columns by name: every column but the target, in order.
        X = read_feature_rows(
            args.images[0], None, target=recorded["target"], n_features=network.n_inputs
        )
    elif not features or len(features) != network.n_inputs:
        raise InputError(f"{args.model} does not record the feature columns it was trained on")
    else:
        X = read_feature_rows(args.images[0], features)
    probabilities = np.concatenate(
        [network.predict_proba(X[i : i + 8192]) for i in range(0, len(X), 8192)]
    )
    best = np.argmax(probabilities, axis=1)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["row", "class", "probability"])
    for row, (k, p) in enumerate(zip(best, probabilities[np.arange(len(best)), best], strict=True)):
        writer.writerow([row + 1, network.class_names[k], f"{p:.6f}"])
    if args.out:
        from glassnet.atomic import atomic_write_text

        atomic_write_text(args.out, text.getvalue())
        print(f"{len(best)} predictions written to {printable(args.out)}", file=sys.stderr)
    else:
        sys.stdout.write(text.getvalue())
    return 0


def _picture_reader(network: Any, args: argparse.Namespace) -> tuple[Any, str]:
    """A function from a file to the network's input row and the picture it saw, and the
    preparation it stands for (``"mnist"`` or ``"resize"``)."""
    import numpy as np

    from glassnet.images import FIELD_SIZE, load_digit, load_picture, mnist_pixels, picture_shape

    settings = network.training_settings
    prep = settings.get("image_prep") or "resize"
    if settings.get("dataset") == "pictures" and prep == "resize":
        size, color = int(settings.get("image_size") or 28), settings.get("color") or "gray"
        expected = int(np.prod(picture_shape(size, color, prep)))
        if network.n_inputs != expected:
            raise InputError(f"{args.model} takes {network.n_inputs} inputs, not {expected}")

        def resized(name: str) -> tuple[Any, Any]:
            picture = load_picture(name, size=size, color=color, prep="resize")
            return picture.reshape(1, -1).astype(np.float32), picture / 255.0

        return resized, "resize"
    if network.n_inputs != FIELD_SIZE * FIELD_SIZE:
        raise InputError(
            f"{args.model} takes {network.n_inputs} inputs; images are prepared as "
            f"{FIELD_SIZE}x{FIELD_SIZE} = {FIELD_SIZE * FIELD_SIZE} pixels"
        )
    invert = {"auto": None, "dark": True, "light": False}[args.ink]

    def as_mnist(name: str) -> tuple[Any, Any]:
        image = load_digit(name, invert=invert)
        return mnist_pixels(image), image

    return as_mnist, "mnist"


def _predict_pictures(network: Any, args: argparse.Namespace) -> int:
    """Each picture's most probable classes; a picture that cannot be read or shown is reported
    in one line, and the others are still read."""
    import numpy as np

    from glassnet.errors import GlassnetError
    from glassnet.images import require_pillow

    require_pillow()  # a clear message before any picture is read
    read, prep = _picture_reader(network, args)
    top = min(args.top, network.n_classes)
    width = max(len(name) for name in network.class_names)
    failed = 0
    inputs = [name for name in args.images if not name.lower().endswith(SHOWN_SUFFIXES)]
    if len(inputs) < len(args.images):
        passed = len(args.images) - len(inputs)
        print(
            f"glassnet predict: passed over {passed} picture{'s' if passed != 1 else ''} that "
            f"--show wrote ({', '.join('*' + s for s in SHOWN_SUFFIXES)}); rename one to predict "
            "it",
            file=sys.stderr,
            flush=True,
        )
        if not inputs:
            raise InputError("no pictures to predict besides those --show wrote")
    out = Path(args.show_dir) if args.show and args.show_dir else None
    if out is not None:
        if out.exists() and not out.is_dir():
            raise InputError(f"--show-dir {args.show_dir}: not a folder")
        out.mkdir(parents=True, exist_ok=True)
    for name in inputs:
        try:
            row, seen = read(name)
        except (GlassnetError, ValueError, OSError) as exc:
            failed += _report(name, exc)
            continue
        probabilities = network.predict_proba(row)[0]
        order = np.argsort(-probabilities, kind="stable")[:top]
        answers = "  ".join(
            f"{network.class_names[k]:>{width}} {probabilities[k]:6.1%}" for k in order
        )
        print(f"{printable(name)}: {answers}", flush=True)
        if args.show:
            failed += _show(name, seen, SHOWN_SUFFIX[prep], out)
    return 1 if failed else 0


def _show(name: str, seen: Any, suffix: str, folder: Path | None = None) -> int:
    """Write what the network saw beside ``name`` (or into ``folder``): 0, or 1 after reporting
    why it could not."""
    from glassnet.images import save_png

    path = Path(name)
    target = (folder if folder is not None else path.parent) / (path.stem + suffix)
    try:
        save_png(target, seen, scale=8 if max(seen.shape[:2]) <= 64 else 1)
    except (ValueError, OSError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        print(
            f"glassnet predict: error: cannot write {printable(target)}: {one_line(reason)}",
            file=sys.stderr,
        )
        return 1
    print(f"  what the network saw: {printable(target)}", flush=True)
    return 0


def _report(name: str, exc: BaseException) -> int:
    """One line on standard error for a file that could not be read; returns 1."""
    message = one_line(exc)
    if not message.startswith(name):
        message = f"{name}: {message}"
    print(f"glassnet predict: error: {one_line(message)}", file=sys.stderr, flush=True)
    return 1
