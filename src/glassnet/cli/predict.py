"""``glassnet predict``: read digits from your own PNG or JPEG images with a saved model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from glassnet.cli import options

EPILOG = """\
examples:
  glassnet predict runs/<run>/model.safetensors my-digit.png
  glassnet predict model.safetensors photos/*.jpg --top 1
  glassnet predict model.safetensors seven.png --show    also writes seven.mnist.png

Each image is prepared as MNIST's digits were: dark ink on light paper is inverted (the border
tells which is which; --ink overrides), the digit is cropped, scaled into a 20x20 box and centred
by its centre of mass in a 28x28 field. --show writes that 28x28 image, enlarged, next to the
original as <name>.mnist.png, so you can see what the network saw. Only PNG and JPEG files are read.
"""


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "predict",
        help="classify your own PNG or JPEG images of digits",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL", help="a model file written by glassnet train")
    p.add_argument("images", metavar="IMAGE", nargs="+", help="PNG or JPEG files, one digit each")
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
        help="write the preprocessed 28x28 image as <name>.mnist.png and print its path",
    )
    p.add_argument(
        "--ink",
        choices=["auto", "dark", "light"],
        default="auto",
        help="dark ink on light paper, light on dark, or decide from the border (default: auto)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from glassnet import load
    from glassnet.errors import GlassnetError
    from glassnet.images import FIELD_SIZE, load_digit, mnist_pixels, require_pillow, save_png

    require_pillow()  # a clear message before the model is even read
    network = load(args.model)
    if network.n_inputs != FIELD_SIZE * FIELD_SIZE:
        raise ValueError(
            f"{args.model} takes {network.n_inputs} inputs; images are prepared as "
            f"{FIELD_SIZE}x{FIELD_SIZE} = {FIELD_SIZE * FIELD_SIZE} pixels"
        )
    top = min(args.top, network.n_classes)
    invert = {"auto": None, "dark": True, "light": False}[args.ink]
    width = max(len(name) for name in network.class_names)
    failed = 0
    for name in args.images:
        try:
            image = load_digit(name, invert=invert)
        except (GlassnetError, ValueError, OSError) as exc:
            # One bad file should not hide the answers for the others; the status reports it.
            message = (
                f"{exc.filename}: {exc.strerror}"
                if isinstance(exc, OSError) and exc.filename and exc.strerror
                else " ".join(str(exc).split())
            )
            if not message.startswith(name):
                message = f"{name}: {message}"
            print(f"glassnet predict: error: {message}", file=sys.stderr, flush=True)
            failed += 1
            continue
        probabilities = network.predict_proba(mnist_pixels(image))[0]
        order = np.argsort(-probabilities, kind="stable")[:top]
        answers = "  ".join(
            f"{network.class_names[k]:>{width}} {probabilities[k]:6.1%}" for k in order
        )
        print(f"{name}: {answers}", flush=True)
        if args.show:
            path = Path(name)
            shown = save_png(path.with_name(f"{path.stem}.mnist.png"), image, scale=8)
            print(f"  what the network saw: {shown}", flush=True)
    return 1 if failed else 0
