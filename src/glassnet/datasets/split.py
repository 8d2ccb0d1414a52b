"""Holding out a test part: stratified, so every class keeps its share, and seeded.

Data of one's own (a folder of pictures, a table) comes as one set; a run trains on one part and
tests on the other, the test part never seen in training. Each class gives ``fraction`` of its
samples (at least one, if it has two or more), drawn by a generator seeded with the run's seed, so
the same settings always hold out the same samples, and ``glassnet evaluate`` can find them again.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from glassnet.errors import InputError

__all__ = ["stratified_split"]


def stratified_split(
    labels: NDArray[np.integer], fraction: float, seed: int
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Indices of a training and a test part, each in the original order.

    Parameters
    ----------
    labels : (n,) array of int
        The class of each sample.
    fraction : float
        The share of each class held out for testing, in ``(0, 1)``.
    seed : int
        Seed of the draw.

    Returns
    -------
    train, test : arrays of int
        Sorted indices into ``labels``; together every index once.

    Raises
    ------
    ValueError
        If no class has two samples, so nothing can be held out.
    """
    if not 0.0 < fraction < 1.0:
        raise InputError(f"the test split must lie between 0 and 1, got {fraction}")
    rng = np.random.default_rng([seed, 2])  # a stream of its own, apart from the training draws
    order = np.argsort(labels, kind="stable")
    classes, starts = np.unique(labels[order], return_index=True)
    held: list[NDArray[np.intp]] = []
    for members in np.split(order, starts[1:]):
        if len(members) < 2:
            continue  # a class of one sample can only be learned, not tested
        n_test = min(max(round(len(members) * fraction), 1), len(members) - 1)
        held.append(rng.permutation(members)[:n_test])
    if not held:
        raise InputError(
            f"cannot hold out a test part: none of the {len(classes)} classes has two samples"
        )
    test = np.sort(np.concatenate(held))
    train = np.setdiff1d(np.arange(len(labels)), test, assume_unique=True)
    return train, test
