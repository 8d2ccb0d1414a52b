"""Datasets: the IDX sets, folders of pictures and tables, as NumPy arrays, found and checked.

>>> import glassnet
>>> data = glassnet.datasets.load("mnist")  # doctest: +SKIP
>>> data.train_images.shape, data.train_labels.shape  # doctest: +SKIP
((60000, 28, 28), (60000,))

The modules, one idea each:

- :mod:`~glassnet.datasets.idx`: read and write the IDX files the datasets come in;
- :mod:`~glassnet.datasets.streams`: reading them in bounded pieces, gzip-compressed or not;
- :mod:`~glassnet.datasets.sources`: what each dataset is (files, digests, mirrors, classes);
- :mod:`~glassnet.datasets.local`: where the files are on this machine, and checking them;
- :mod:`~glassnet.datasets.fetch`: downloading the files that are missing;
- :mod:`~glassnet.datasets.idxfolder`: a folder of IDX files of one's own (``idx:DIR``);
- :mod:`~glassnet.datasets.pictures`: a folder of pictures, one folder per class;
- :mod:`~glassnet.datasets.table`: a table (CSV, or Parquet with pyarrow) and its target column;
- :mod:`~glassnet.datasets.split`: holding out a stratified, seeded test part;
- :mod:`~glassnet.datasets.choose`: the data a run's settings name, whichever source it is;
- :mod:`~glassnet.datasets.dataset`: the :class:`Dataset` every source becomes;
- :mod:`~glassnet.datasets.preprocess`: the post's standardization and one-hot labels (they live
  in the core, :mod:`glassnet.preprocess`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from glassnet.datasets.dataset import Dataset
from glassnet.datasets.idx import read_idx, read_idx_bytes, write_idx
from glassnet.datasets.sources import IDX_PREFIX, SOURCES, DatasetSource, get_source
from glassnet.errors import DatasetNotFoundError, DownloadError, FormatError

if TYPE_CHECKING:
    from glassnet.datasets.fetch import Location

__all__ = [
    "Dataset",
    "DatasetSource",
    "available",
    "get_source",
    "load",
    "read_idx",
    "read_idx_bytes",
    "write_idx",
]


def available() -> tuple[str, ...]:
    """The names :func:`load` accepts: ``("mnist", "fashion-mnist", "kmnist", "emnist-digits",
    ...)``; ``"idx:DIR"`` names a folder of IDX files of one's own."""
    return tuple(SOURCES)


def _check_pair(
    images: np.ndarray, labels: np.ndarray, paths: tuple[Path, Path], source: DatasetSource
) -> None:
    """Images and labels must match in count and kind, with every label a known class."""
    images_path, labels_path = paths
    n_classes, first = len(source.class_names), source.first_label
    if images.ndim != 3 or images.dtype != np.uint8:
        raise FormatError(
            f"{images_path}: expected images of shape (n, rows, columns) and dtype uint8, "
            f"got shape {images.shape} and dtype {images.dtype}"
        )
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise FormatError(
            f"{labels_path}: expected labels of shape (n,) and dtype uint8, "
            f"got shape {labels.shape} and dtype {labels.dtype}"
        )
    if len(images) != len(labels):
        raise FormatError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels"
        )
    if labels.size and int(labels.max()) >= first + n_classes:
        raise FormatError(
            f"{labels_path}: label {int(labels.max())} out of range for {n_classes} classes"
        )
    if labels.size and int(labels.min()) < first:
        raise FormatError(
            f"{labels_path}: label {int(labels.min())} out of range: {source.name} labels its "
            f"{n_classes} classes from {first}"
        )


def _as_mnist(source: DatasetSource, images: np.ndarray, labels: np.ndarray) -> tuple[Any, Any]:
    """Images the right way up and labels from 0, as MNIST stores them.

    EMNIST writes each image column after column, so its arrays read as MNIST's are transposed
    (a letter lies on its side, mirrored); its letters are labelled 1 to 26.
    """
    if source.transposed:
        images = np.ascontiguousarray(images.transpose(0, 2, 1))
    if source.first_label:
        labels = labels - np.uint8(source.first_label)
    return images, labels


def load(
    name: str | DatasetSource,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    verify: bool = True,
    progressbar: bool = True,
) -> Dataset:
    """Load a dataset, downloading it into the user cache the first time if need be.

    Parameters
    ----------
    name : str or DatasetSource
        ``"mnist"``, ``"fashion-mnist"``, ``"kmnist"``, an EMNIST split such as
        ``"emnist-letters"`` (see :func:`available`), ``"idx:DIR"`` for a folder of IDX files
        of one's own (:mod:`glassnet.datasets.idxfolder`), or a source of one's own.
    data_dir : str or os.PathLike, optional
        A directory holding the four files (``train-images-idx3-ubyte.gz`` and so on,
        compressed or not), or a root holding ``<name>/`` with them. When given, it is the only
        place looked in. Otherwise the search goes ``$GLASSNET_DATA_DIR/<name>``, the user
        cache, then the system's directories (see :mod:`glassnet.datasets.local`).
    download : bool, default True
        Download the files into the user cache when they are found nowhere.
    verify : bool, default True
        Check each file's published SHA-256 while reading it (about 10% of the load time).
    progressbar : bool, default True
        Show download progress on standard error.

    Returns
    -------
    Dataset
        Images ``(n, 28, 28)`` uint8 the right way up and labels ``(n,)`` uint8 from 0 for both
        parts: 60,000 training and 10,000 test images for MNIST and Fashion-MNIST.

    Raises
    ------
    glassnet.errors.DatasetNotFoundError
        If the files are not found and cannot be downloaded (or ``download`` is false), or
        ``data_dir`` lacks some of them. The message names the files and how to supply them.
    glassnet.errors.FormatError
        If a file is malformed, is not the expected file (SHA-256, shape), or images and labels
        disagree.
    """
    if isinstance(name, str) and name.strip().lower().startswith(IDX_PREFIX):
        from glassnet.datasets.idxfolder import load_idx_folder

        return load_idx_folder(name.strip()[len(IDX_PREFIX) :])
    source = name if isinstance(name, DatasetSource) else get_source(name)
    location = _find_or_download(source, data_dir, download=download, progressbar=progressbar)
    train_images, train_labels, test_images, test_labels = _read_files(
        source, location, verify=verify
    )
    paths = location.paths
    _check_pair(train_images, train_labels, (paths[0], paths[1]), source)
    _check_pair(test_images, test_labels, (paths[2], paths[3]), source)
    train_images, train_labels = _as_mnist(source, train_images, train_labels)
    test_images, test_labels = _as_mnist(source, test_images, test_labels)
    return Dataset(
        name=source.name,
        train_images=train_images,
        train_labels=train_labels,
        test_images=test_images,
        test_labels=test_labels,
        class_names=source.class_names,
        directory=location.directory,
    )


def _find_or_download(
    source: DatasetSource,
    data_dir: str | os.PathLike[str] | None,
    *,
    download: bool,
    progressbar: bool,
) -> Location:
    """Where the dataset's files are, downloading them into the cache if they are nowhere."""
    # Finding files and downloading them is loaded when data is, not with glassnet.
    from glassnet.datasets import fetch

    location = fetch.locate(source, data_dir)
    if location is not None:
        return location
    if not download:
        raise DatasetNotFoundError(fetch.not_found_message(source))
    try:
        return fetch.fetch(source, progressbar=progressbar)
    except DownloadError as exc:
        raise DatasetNotFoundError(
            f"{fetch.not_found_message(source)} (downloading failed: {exc})"
        ) from exc


def _read_files(source: DatasetSource, location: Location, *, verify: bool) -> list[np.ndarray]:
    """The four arrays, in the order of ``source.files``; a bad file's error says what to try."""
    if location.origin == "data_dir":
        hint = f"is {location.directory} the {source.name} folder?"
    elif location.origin == "cache":
        hint = f"'glassnet datasets fetch {source.name}' downloads a good copy"
    else:
        hint = f"expected {source.name}'s files there"
    from glassnet.datasets.local import read_checked

    arrays = []
    for file, path in zip(source.files, location.paths, strict=True):
        try:
            arrays.append(read_checked(file, path, verify=verify)[0])
        except FormatError as exc:
            raise FormatError(f"{exc} ({hint})") from None
    return arrays
