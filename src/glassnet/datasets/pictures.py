"""A folder of pictures, one folder per class: ``glassnet train --data DIR``.

The layout is the one torchvision's ``ImageFolder`` and Keras's ``image_dataset_from_directory``
read::

    DIR/cat/001.png          DIR/train/cat/001.png       (or, split already:)
    DIR/cat/002.jpg          DIR/train/dog/...
    DIR/dog/a.jpeg           DIR/test/cat/...
                             DIR/test/dog/...

The class names are the folder names, sorted; label ``i`` is the ``i``-th. Pictures are PNG or
JPEG files (``.png``, ``.jpg``, ``.jpeg``, any case); other files and hidden ones are passed over.
Each picture is brought to one size by :func:`glassnet.images.load_picture` (stretched to
``size x size`` in grayscale or RGB, or prepared as MNIST's digits were). When ``DIR/train`` and
``DIR/test`` both exist, they are the two parts; otherwise a stratified, seeded ``test_split`` of
each class is held out (:mod:`glassnet.datasets.split`).

The folder is untrusted as any file is: the number of pictures and the memory they will take are
checked before any is decoded, every picture is decoded with the guards of the image readers, and a
file that is not a readable picture is an error naming it (remove it, or fix it).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from glassnet.datasets.dataset import Dataset
from glassnet.datasets.idx import DEFAULT_MAX_BYTES
from glassnet.datasets.names import check_names
from glassnet.datasets.split import stratified_split
from glassnet.errors import DatasetNotFoundError, FormatError, GlassnetError, one_line

__all__ = ["MAX_PICTURES", "PICTURE_SUFFIXES", "class_folders", "read_picture_folder"]

#: The file names read as pictures.
PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg")
#: Most pictures a folder may hold.
MAX_PICTURES = 2_000_000


def _visible_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _pictures(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.suffix.lower() in PICTURE_SUFFIXES and not p.name.startswith(".") and p.is_file()
    )


def class_folders(root: Path) -> dict[str, list[Path]]:
    """The pictures of each class folder of ``root``, by class name.

    Raises
    ------
    glassnet.errors.DatasetNotFoundError
        If ``root`` holds no class folder, or a class folder no picture.
    """
    folders = _visible_dirs(root)
    if not folders:
        loose = len(_pictures(root))
        found = f" (it holds {loose} pictures itself)" if loose else ""
        raise DatasetNotFoundError(
            f"{root}: no class folders{found}; put each class's pictures in a folder named "
            f"after it: {root}/<class name>/*.png"
        )
    check_names([folder.name for folder in folders], "class folder", root, "rename the folder")
    classes = {folder.name: _pictures(folder) for folder in folders}
    empty = [name for name, files in classes.items() if not files]
    if empty:
        raise DatasetNotFoundError(
            f"{root / empty[0]}: no PNG or JPEG pictures in this class folder "
            f"({', '.join(PICTURE_SUFFIXES)})"
        )
    return classes


def _parts(root: Path) -> tuple[dict[str, list[Path]], dict[str, list[Path]] | None]:
    """The training part's classes, and the test part's where ``root`` is split already."""
    if (root / "train").is_dir() and (root / "test").is_dir():
        train, test = class_folders(root / "train"), class_folders(root / "test")
        unknown = sorted(set(test) - set(train))
        if unknown:
            raise FormatError(
                f"{root / 'test' / unknown[0]}: class {unknown[0]!r} has no folder in "
                f"{root / 'train'}; a class must be trained before it is tested"
            )
        return train, test
    return class_folders(root), None


def _check_size(root: Path, count: int, shape: tuple[int, ...]) -> None:
    """Refuse, before decoding anything, a folder too large to hold in memory."""
    if count > MAX_PICTURES:
        raise FormatError(f"{root}: {count:,} pictures; at most {MAX_PICTURES:,} are read")
    nbytes = count * math.prod(shape)
    if nbytes > DEFAULT_MAX_BYTES:
        raise FormatError(
            f"{root}: {count:,} pictures of {'x'.join(map(str, shape))} would take "
            f"{nbytes / 2**20:,.1f} MiB; at most {DEFAULT_MAX_BYTES / 2**20:,.0f} MiB are read "
            "(choose a smaller --image-size)"
        )


def _read_all(
    classes: dict[str, list[Path]], names: list[str], size: int, color: str, prep: str
) -> tuple[np.ndarray, np.ndarray]:
    """Every picture of ``classes`` decoded, and its label (the index of its class in ``names``)."""
    from glassnet.images import load_picture, picture_shape

    count = sum(len(files) for files in classes.values())
    images = np.empty((count, *picture_shape(size, color, prep)), np.uint8)
    labels = np.empty(count, np.int64)
    i = 0
    for name, files in classes.items():
        for path in files:
            try:
                images[i] = load_picture(path, size=size, color=color, prep=prep)
            except (GlassnetError, OSError) as exc:
                text = one_line(exc)
                raise FormatError(text if str(path) in text else f"{path}: {text}") from None
            labels[i] = names.index(name)
            i += 1
    return images, labels


def read_picture_folder(
    directory: str | os.PathLike[str],
    *,
    size: int = 28,
    color: str = "gray",
    prep: str = "resize",
    test_split: float = 0.2,
    seed: int = 0,
) -> Dataset:
    """Read a folder of pictures (see the module docstring) as a :class:`Dataset`.

    Parameters
    ----------
    directory : str or os.PathLike
        ``DIR`` with ``DIR/<class>/*.png`` (or ``DIR/train/<class>/`` and ``DIR/test/<class>/``).
    size, color, prep
        How pictures are brought to one size; see :func:`glassnet.images.load_picture`.
    test_split : float, default 0.2
        The share of each class held out for testing, when the folder is not split already.
    seed : int, default 0
        Seed of that draw.

    Returns
    -------
    Dataset
        Named ``"pictures"``: images ``(n, size, size)`` or ``(n, size, size, 3)`` uint8, labels
        ``(n,)`` int64, the class names from the folders.

    Raises
    ------
    glassnet.errors.DatasetNotFoundError
        If the folder, a class folder or its pictures are missing.
    glassnet.errors.FormatError
        If a picture cannot be read (the message names it), or the folder is too large.
    """
    from glassnet.images import picture_shape

    root = Path(directory).expanduser()
    if not root.is_dir():
        raise DatasetNotFoundError(f"{root}: no such folder of pictures")
    train, test = _parts(root)
    names = sorted(train)
    if len(names) < 2:
        raise FormatError(f"{root}: only one class folder ({names[0]}); a classifier needs two")
    count = sum(map(len, train.values())) + sum(map(len, (test or {}).values()))
    _check_size(root, count, picture_shape(size, color, prep))
    images, labels = _read_all(train, names, size, color, prep)
    if test is not None:
        test_images, test_labels = _read_all(test, names, size, color, prep)
    else:
        kept, held = stratified_split(labels, test_split, seed)
        images, labels, test_images, test_labels = (
            images[kept], labels[kept], images[held], labels[held]
        )  # fmt: skip
    return Dataset(
        name="pictures",
        train_images=images,
        train_labels=labels,
        test_images=test_images,
        test_labels=test_labels,
        class_names=tuple(names),
        directory=root,
    )
