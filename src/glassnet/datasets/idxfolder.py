"""A folder of IDX files of one's own: ``--dataset idx:DIR``.

Any folder holding four IDX files laid out as MNIST's are can be trained on: training images and
labels, test images and labels. The files are told apart by their names, as the IDX sets name
them: ``train`` or ``t10k``/``test`` for the part, ``images``/``idx3`` or ``labels``/``idx1`` for the
kind (``train-images-idx3-ubyte.gz``, ``my-test-labels.idx1``, ...), gzip-compressed or not.

They go through the checks every IDX file does (sizes bounded before allocating, see
:mod:`glassnet.datasets.idx`), then images must be ``(n, rows, columns)`` uint8 of one size in both
parts, labels ``(n,)`` whole numbers from 0, as many as the images. The classes are ``"0"`` up to
the largest label. No digest is published for such files: a run records the data's own
(:attr:`~glassnet.datasets.dataset.Dataset.sha256`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from glassnet.datasets.dataset import Dataset
from glassnet.datasets.idx import read_idx
from glassnet.datasets.sources import EMNIST_SPLITS
from glassnet.errors import DatasetNotFoundError, FormatError

__all__ = ["MAX_CLASSES", "find_idx_files", "load_idx_folder"]

#: Most classes a folder's labels may name.
MAX_CLASSES = 10_000

_ROLES = ("train images", "train labels", "test images", "test labels")


def _role(name: str) -> str | None:
    """Which of the four files ``name`` is, from its words, or ``None``."""
    words = name.lower().removesuffix(".gz").replace("_", "-").replace(".", "-").split("-")
    part = "train" if "train" in words else "test" if {"t10k", "test"} & set(words) else None
    kind = (
        "images"
        if {"images", "idx3"} & set(words)
        else "labels"
        if {"labels", "idx1"} & set(words)
        else None
    )
    return f"{part} {kind}" if part and kind else None


def find_idx_files(directory: str | os.PathLike[str]) -> dict[str, Path]:
    """The four IDX files in ``directory``, by role (``"train images"``, ...).

    Raises
    ------
    glassnet.errors.DatasetNotFoundError
        If the folder does not exist or lacks a file.
    glassnet.errors.FormatError
        If two files could play one role, or the files are EMNIST's (which must be read as
        EMNIST: ``--dataset emnist-<split> --data-dir DIR``).
    """
    folder = Path(directory).expanduser()
    if not folder.is_dir():
        raise DatasetNotFoundError(f"{folder}: no such directory (for idx:{folder})")
    found: dict[str, list[Path]] = {role: [] for role in _ROLES}
    for path in sorted(folder.iterdir()):
        role = _role(path.name)
        if role is not None and path.is_file() and not path.name.startswith("."):
            found[role].append(path)
    for role, paths in found.items():
        if len(paths) > 1:
            names = ", ".join(path.name for path in paths)
            raise FormatError(f"{folder}: more than one file of {role}: {names}; keep one")
        if paths and paths[0].name.lower().startswith("emnist-"):
            split = paths[0].name.lower().split("-")[1]
            name = f"emnist-{split}" if split in EMNIST_SPLITS else "emnist-<split>"
            raise FormatError(
                f"{folder}: these are EMNIST's files, stored transposed; read them with "
                f"--dataset {name} --data-dir {folder}"
            )
    missing = [role for role, paths in found.items() if not paths]
    if missing:
        raise DatasetNotFoundError(
            f"{folder}: no IDX file of {', '.join(missing)} (expected names like "
            "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
            "t10k-labels-idx1-ubyte.gz)"
        )
    return {role: paths[0] for role, paths in found.items()}


def _check_images(images: np.ndarray, path: Path) -> None:
    if images.ndim != 3 or images.dtype != np.uint8:
        raise FormatError(
            f"{path}: expected images of shape (n, rows, columns) and dtype uint8, got shape "
            f"{images.shape} and dtype {images.dtype}"
        )
    if images.shape[1] < 1 or images.shape[2] < 1:
        raise FormatError(f"{path}: images of shape {images.shape[1:]} hold no pixels")


def _check_labels(labels: np.ndarray, path: Path, n_images: int, images_path: Path) -> None:
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise FormatError(
            f"{path}: expected labels of shape (n,) and whole numbers, got shape {labels.shape} "
            f"and dtype {labels.dtype}"
        )
    if len(labels) != n_images:
        raise FormatError(f"{images_path} holds {n_images} images but {path} holds {len(labels)}")
    if labels.size and int(labels.min()) < 0:
        raise FormatError(f"{path}: label {int(labels.min())} is negative; labels count from 0")
    if labels.size and int(labels.max()) >= MAX_CLASSES:
        raise FormatError(f"{path}: label {int(labels.max())} is above {MAX_CLASSES - 1}")


def _check_classes(train: np.ndarray, test: np.ndarray, paths: dict[str, Path]) -> None:
    """Refuse labels that cannot support what a run would claim: a training part of one class
    (a model of it scores 100% by answering that class always), and a test class never trained
    (every one of its samples is counted wrong, with no word why)."""
    trained = np.unique(train)
    if len(trained) < 2:
        raise FormatError(
            f"{paths['train labels']}: every training label is {int(trained[0])}: one class; a "
            "classifier needs two or more"
        )
    untrained = np.setdiff1d(np.unique(test), trained)
    if len(untrained):
        count = int(np.isin(test, untrained).sum())
        raise FormatError(
            f"{paths['test labels']}: class {int(untrained[0])} is tested ({count:,} test "
            f"sample{'s' if count != 1 else ''} of {len(untrained)} class"
            f"{'es' if len(untrained) != 1 else ''} no training label has) but never trained; a "
            "class must be trained before it is tested"
        )


def load_idx_folder(directory: str | os.PathLike[str]) -> Dataset:
    """Read the four IDX files of a folder (see the module docstring) as a :class:`Dataset`.

    Returns
    -------
    Dataset
        Named ``"idx"``, images ``(n, rows, columns)`` uint8 and labels ``(n,)`` int64; the
        classes ``"0"`` to ``"<largest label>"``.

    Raises
    ------
    glassnet.errors.DatasetNotFoundError, glassnet.errors.FormatError
        One line naming the folder or file and what is wrong.
    """
    paths = find_idx_files(directory)
    arrays = {role: read_idx(path) for role, path in paths.items()}
    for part in ("train", "test"):
        images, labels = arrays[f"{part} images"], arrays[f"{part} labels"]
        _check_images(images, paths[f"{part} images"])
        _check_labels(labels, paths[f"{part} labels"], len(images), paths[f"{part} images"])
    train, test = arrays["train images"], arrays["test images"]
    if train.shape[1:] != test.shape[1:]:
        raise FormatError(
            f"{paths['test images']}: images of {test.shape[1]}x{test.shape[2]} pixels, but the "
            f"training images are {train.shape[1]}x{train.shape[2]}"
        )
    if len(train) == 0 or len(test) == 0:
        empty = paths["train images"] if len(train) == 0 else paths["test images"]
        raise FormatError(f"{empty}: holds no images")
    _check_classes(arrays["train labels"], arrays["test labels"], paths)
    n_classes = int(max(arrays["train labels"].max(), arrays["test labels"].max())) + 1
    return Dataset(
        name="idx",
        train_images=train,
        train_labels=arrays["train labels"].astype(np.int64),
        test_images=test,
        test_labels=arrays["test labels"].astype(np.int64),
        class_names=tuple(str(label) for label in range(n_classes)),
        directory=paths["train images"].parent,
    )
