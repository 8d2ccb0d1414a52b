"""A model card: what a person needs to know about a model file before using it, from the file alone.

A glassnet model file records more than its weights (``docs/model-format.md``): how the network is
built, the settings it was trained with (and, from ``glassnet train``, the dataset it was trained on),
and how it did on the test set. :func:`read_card` gathers that into a :class:`Card`, a list of
titled sections, which :mod:`glassnet.export.card.render` prints as text or Markdown:

- **Model**: architecture, parameter count (per layer), precision, inputs and their
  standardization, classes;
- **Data**: the dataset, its checksum, how much of it trained the network;
- **Training**: every setting that applied to this run;
- **Results**: test accuracy overall and per class, the confusions made most often;
- **Provenance**: the glassnet version and date that wrote the file, and the file's own SHA-256.

The card shows what the file holds and says plainly what it does not (a file from before glassnet
recorded per-class figures has none). Figures measured afresh on a test set are passed in as
:class:`Measured` and shown in a section of their own, never mixed with what the file recorded.
Everything read from the file is shown as data: non-printable characters escaped, long values cut.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet import tensorfile
from glassnet.errors import FormatError
from glassnet.export.card import facts
from glassnet.export.card.parts import Block, Card, Field, Note, Section, Table
from glassnet.metrics import per_class_accuracy
from glassnet.modelfile import DEFAULT_MAX_BYTES, read_model_file

__all__ = [
    "Card",
    "Field",
    "Measured",
    "Note",
    "Section",
    "Table",
    "build_card",
    "confusion_figures",
    "read_card",
]

#: At most this many confusions are listed, as ``glassnet train`` records them.
MOST_CONFUSED = 10


@dataclass(frozen=True)
class Measured:
    """Test-set figures measured now rather than read from the file.

    Attributes
    ----------
    dataset : str
        The dataset the test set came from.
    figures : dict
        As :func:`confusion_figures` returns them (the keys ``glassnet train`` records in ``metrics``).
    """

    dataset: str
    figures: dict[str, Any]


def confusion_figures(confusion: NDArray[np.int64], most: int = MOST_CONFUSED) -> dict[str, Any]:
    """The test figures a model file records, from a confusion matrix.

    Parameters
    ----------
    confusion : (k, k) int array
        ``confusion[i, j]``: test samples of true class ``i`` predicted as ``j``.
    most : int
        How many of the largest confusions to list.

    Returns
    -------
    dict
        ``test_accuracy``, ``test_size``, ``per_class_accuracy`` (a list, None for a class with no
        test samples) and ``most_confused`` (``[true, predicted, count]``, the largest first,
        ties in class order, counts above zero only).
    """
    total = int(confusion.sum())
    wrong = confusion.copy()
    np.fill_diagonal(wrong, 0)
    # A stable sort of the negated counts: the largest first, ties in row-major (class) order.
    order = np.argsort(-wrong, axis=None, kind="stable")[:most]
    pairs = [[int(i), int(j)] for i, j in zip(*np.unravel_index(order, wrong.shape), strict=True)]
    return {
        "test_accuracy": float(np.trace(confusion) / total) if total else None,
        "test_size": total,
        "per_class_accuracy": [
            None if math.isnan(a) else float(a) for a in per_class_accuracy(confusion)
        ],
        "most_confused": [[i, j, int(wrong[i, j])] for i, j in pairs if wrong[i, j] > 0],
    }


def read_card(path: str | os.PathLike[str], *, measured: Measured | None = None) -> Card:
    """The card of the model file at ``path``, read and checked as :func:`glassnet.load` would.

    Parameters
    ----------
    path : str or os.PathLike
    measured : Measured, optional
        Test figures measured now, shown in a section of their own.

    Raises
    ------
    FormatError
        One line, if the file is not a valid glassnet model file.
    OSError
        If it cannot be read.
    """
    from glassnet.runs.folder import open_run_file

    name = os.fspath(path)
    open_run_file(path).close()  # a pipe would be waited on for ever
    try:
        data = tensorfile.read_limited(path, DEFAULT_MAX_BYTES)
    except tensorfile.Invalid as exc:
        raise FormatError(f"{name}: {exc}") from None
    try:
        # The bytes just read are checked and described, so the digest is of what the card shows.
        tensors, doc = read_model_file(data)
    except FormatError as exc:
        raise FormatError(f"{name}: {str(exc).removeprefix('<bytes>: ')}") from None
    file_facts = facts.FileFacts(name, len(data), hashlib.sha256(data).hexdigest())
    return build_card(doc, tensors, file_facts, measured)


def build_card(
    doc: Mapping[str, Any],
    tensors: Mapping[str, NDArray[Any]],
    file: facts.FileFacts,
    measured: Measured | None = None,
) -> Card:
    """The card of a checked header document ``doc`` and its ``tensors``."""
    settings: Mapping[str, Any] = doc["training_settings"]
    metrics: Mapping[str, Any] = doc["metrics"]
    class_names: Sequence[str] = doc["class_names"]
    sections = [
        Section("Model", facts.model_fields(doc, tensors)),
        Section("Data", facts.data_blocks(settings, metrics)),
        Section("Training", facts.training_blocks(settings)),
        Section("Results (recorded in the file)", results_blocks(metrics, class_names)),
    ]
    if measured is not None:
        sections.append(measured_section(measured, class_names, settings))
    sections.append(Section("Provenance", facts.provenance_fields(doc, file)))
    return Card(f"Model card: {facts.shown(file.name)}", sections)


def results_blocks(
    metrics: Mapping[str, Any], class_names: Sequence[str], *, recorded: bool = True
) -> list[Block]:
    """Overall accuracy, accuracy per class, the commonest confusions, then any other figures."""
    blocks: list[Block] = [facts.accuracy_field(metrics)]
    blocks += facts.per_class_blocks(metrics.get("per_class_accuracy"), class_names, recorded)
    blocks += facts.confusion_blocks(metrics.get("most_confused"), class_names, recorded)
    if recorded:
        blocks += facts.other_metric_fields(metrics)
    return blocks


def measured_section(
    measured: Measured, class_names: Sequence[str], settings: Mapping[str, Any]
) -> Section:
    """The figures measured now, said to be so, with a warning if on another dataset."""
    blocks: list[Block] = [
        Note(
            f"Measured when this card was made, on the {facts.shown(measured.dataset)} test set; "
            "not read from the file."
        )
    ]
    trained_on = settings.get("dataset")
    if isinstance(trained_on, str) and trained_on != measured.dataset:
        blocks.append(
            Note(
                f"The file says the network was trained on {facts.shown(trained_on)}, not "
                f"{facts.shown(measured.dataset)}."
            )
        )
    blocks += results_blocks(measured.figures, class_names, recorded=False)
    return Section("Results (measured now)", blocks)
