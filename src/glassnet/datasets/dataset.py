"""A dataset in memory, whatever it was read from: inputs and labels, split into two parts.

Every source glassnet reads (the IDX sets, a folder of IDX files, a folder of pictures, a table)
becomes the same :class:`Dataset`, so the network, the run and the commands that test a model need
to know nothing of where the data came from. Its :attr:`Dataset.sha256` identifies the data as it
was read; a run records it, so that repeating the run, or testing its model later, can tell
whether the data is still the same.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

__all__ = ["Dataset", "data_sha256"]


@dataclass(frozen=True, eq=False)
class Dataset:
    """A dataset in memory: inputs and labels, split into training and test parts.

    Attributes
    ----------
    name : str
        E.g. ``"mnist"``; ``"idx"``, ``"pictures"`` or ``"table"`` for data of one's own.
    train_images : numpy.ndarray
        Shape ``(n_train, 28, 28)``, dtype uint8, 0 (background) to 255 (ink), for the IDX sets;
        ``(n_train, size, size)`` or ``(n_train, size, size, 3)`` uint8 for pictures;
        ``(n_train, n_features)`` float64 for a table.
    train_labels : numpy.ndarray
        Shape ``(n_train,)``, integers, each below ``len(class_names)``.
    test_images : numpy.ndarray
        The test part's inputs, shaped as ``train_images``.
    test_labels : numpy.ndarray
        Shape ``(n_test,)``.
    class_names : tuple of str
        Label ``i`` means ``class_names[i]``: ``"0"`` to ``"9"`` for MNIST, ``"T-shirt/top"`` to
        ``"Ankle boot"`` for Fashion-MNIST, the folder names of a folder of pictures.
    directory : pathlib.Path
        Where the files were read from (the table file itself, for a table).
    kind : str
        ``"images"`` or ``"table"``.
    feature_names : tuple of str
        A table's feature columns, in the order of the inputs; empty for images.
    """

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    class_names: tuple[str, ...]
    directory: Path
    kind: str = "images"
    feature_names: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, train {len(self.train_labels)}, test "
            f"{len(self.test_labels)}, {len(self.class_names)} classes, from {self.directory})"
        )

    @cached_property
    def sha256(self) -> str:
        """SHA-256 (hex) of the data as read: every array's shape, type and values, and the
        class and feature names. Equal data gives an equal digest, wherever it was read from."""
        return data_sha256(
            (self.train_images, self.train_labels, self.test_images, self.test_labels),
            self.class_names,
            self.feature_names,
        )


def data_sha256(
    arrays: tuple[np.ndarray, ...], class_names: tuple[str, ...], feature_names: tuple[str, ...]
) -> str:
    """The digest :attr:`Dataset.sha256` describes."""
    digest = hashlib.sha256()
    names = {"classes": list(class_names), "features": list(feature_names)}
    digest.update(json.dumps(names, ensure_ascii=False).encode())
    for array in arrays:
        values = np.ascontiguousarray(array)
        # Labels are compared as numbers: uint8 from IDX files and int64 from elsewhere agree.
        if values.dtype.kind in "iu" and values.ndim == 1:
            values = values.astype(np.int64)
        digest.update(f"{values.dtype.str}{values.shape}".encode())
        digest.update(values.view(np.uint8).reshape(-1).data)
    return digest.hexdigest()
