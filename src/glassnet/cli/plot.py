"""``glassnet plot``: draw the pictures of a run folder into its ``plots/`` folder, or a grid of
training images beside what augmentation makes of them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from glassnet.errors import InputError, printable

EPILOG = """\
examples:
  glassnet plot runs/<run>                 curves, gradients, weights, confusion matrix, mistakes
  glassnet plot runs/<run> --data-dir ~/data/mnist
                                           the test set is somewhere other than the run recorded
  glassnet plot --augmented --augment-elastic 34,4 --augment-affine 15,0.15,15 -o aug.png
                                           MNIST training images and their distortions
  glassnet plot runs/<run> --augmented     the run's own augmentation, to RUN/plots/augmented.png

The pictures go to RUN/plots/ and their paths are printed, one a line. A picture that needs
something the run folder lacks (the model file of an unfinished run, the test set) is skipped
with a line on standard error saying why. docs/plots.md explains how to read each picture.
"""


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "plot",
        help="draw a run's training curves, gradients, weights and mistakes as PNG files",
        description=(__doc__ or "").replace("``", ""),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run", metavar="RUN", nargs="?", help="a run folder written by glassnet train")
    p.add_argument("--data-dir", metavar="DIR", help="folder holding the dataset's IDX files")
    g = p.add_argument_group(
        "augmented images",
        "a grid of training images, each beside what augmentation makes of it in the first "
        "epochs (augmented.png); the settings are the run's, then these",
    )
    g.add_argument(
        "--augmented",
        action="store_true",
        help="draw the grid (implied by any option below)",
    )
    _add_augmentation_options(g)
    p.set_defaults(func=run)


#: The settings the grid of augmented images takes, beside --data-dir.
AUGMENT_SETTINGS = (
    "dataset", "augment_shift", "augment_affine", "augment_elastic", "augment_flip", "seed",
)  # fmt: skip


def _add_augmentation_options(group: Any) -> None:
    from glassnet.cli import options
    from glassnet.config import RULES

    for name in AUGMENT_SETTINGS:
        options.add_setting(group, name, RULES[name])
    group.add_argument(
        "--rows", type=options.positive_int, default=6, metavar="N", help="images (default: 6)"
    )
    group.add_argument(
        "-o", "--out", metavar="FILE", help="the PNG (default: RUN/plots/augmented.png, or "
        "augmented.png without RUN)",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from glassnet.plots import plot_run

    given = {name: getattr(args, name) for name in AUGMENT_SETTINGS}
    if args.augmented or any(v is not None for v in given.values()) or args.out:
        print(printable(_plot_augmented(args, given)))
        return 0
    if args.run is None:
        raise InputError(
            "give a run folder to plot, or --augmented (with --augment-elastic, "
            "--augment-affine, --augment-shift, --augment-flip) for a grid of augmented training "
            "images"
        )
    written = plot_run(_run_folder(Path(args.run)), data_dir=args.data_dir, log=sys.stderr)
    for path in written:
        print(printable(path))
    return 0


def _run_folder(path: Path) -> Path:
    """The run folder ``path`` names: itself, or for a file in a run folder (its model, say) the
    folder that holds it."""
    if not path.is_file():
        return path
    from glassnet import runs

    folder = path.parent
    if any((folder / name).is_file() for name in (runs.SETTINGS, runs.HISTORY_JSON)):
        print(
            f"glassnet: plotting the run folder {folder}, which holds {path.name}", file=sys.stderr
        )
        return folder
    raise InputError(
        f"{path}: a file; glassnet plot draws a run folder (the folder 'glassnet train' made), "
        "and 'glassnet evaluate' takes a model file"
    )


def _plot_augmented(args: argparse.Namespace, given: dict[str, Any]) -> Path:
    """The grid of augmented images: the run's settings (with RUN), then the options given."""
    from glassnet.datasets.choose import load_for_settings
    from glassnet.plots.augmented import plot_augmented

    settings: dict[str, Any] = {}
    folder = None
    if args.run is not None:
        from glassnet.plots.run import _read_run

        folder = _run_folder(Path(args.run))
        settings = dict(_read_run(folder).settings)
    settings.update({name: value for name, value in given.items() if value is not None})
    if args.data_dir is not None:
        settings["data_dir"] = args.data_dir
    shift = int(settings.get("augment_shift") or 0)
    affine = list(settings.get("augment_affine") or [])
    elastic = list(settings.get("augment_elastic") or [])
    flip = bool(settings.get("augment_flip"))
    if not (shift or affine or elastic or flip):
        where = f"the run {folder} used none; " if folder is not None else ""
        raise InputError(
            f"no augmentation to draw: {where}give --augment-elastic ALPHA,SIGMA, "
            "--augment-affine DEGREES,SCALE,SHEAR, --augment-shift PIXELS or --augment-flip"
        )
    data = load_for_settings(settings, download=False)
    images = np.asarray(data.train_images)
    if images.ndim != 3:
        raise InputError(f"{data.name} holds no images (rows of {images.shape[-1]} features)")
    seed = int(settings.get("seed") or 0)
    rows = min(args.rows, len(images))
    chosen = np.sort(np.random.default_rng(seed).choice(len(images), rows, replace=False))
    names = list(data.class_names)
    labels = [names[int(k)] for k in np.asarray(data.train_labels)[chosen]]
    default = folder / "plots" / "augmented.png" if folder is not None else Path("augmented.png")
    return plot_augmented(
        images[chosen], args.out or default, shift=shift, affine=affine, elastic=elastic,
        flip=flip, seed=seed, labels=labels,
    )  # fmt: skip
