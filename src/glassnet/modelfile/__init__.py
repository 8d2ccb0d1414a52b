"""Model files: a trained network as a safetensors file with a JSON header glassnet checks.

A model file must be safe to open even when it comes from a stranger, so glassnet stores networks as
safetensors files (named arrays and a table of strings, nothing that can run code; see
:mod:`glassnet.tensorfile`). The arrays are ``weights.0 .. weights.{L-1}`` of shape
``(fan_in, fan_out)``, ``biases.0 .. biases.{L-1}`` of shape ``(fan_out,)``, and, for a network that
standardizes its inputs, ``standardizer.mean`` and ``standardizer.scale``. The ``glassnet`` metadata
entry is a JSON document describing the network (layer sizes, activation, dtype, class names, how it
was trained, how well it did). Reading checks every field and every array against that document, and
turns any problem into a one-line :class:`~glassnet.errors.FormatError`. ``docs/model-format.md``
describes the format for readers in other languages.

Writing and reading live side by side: :func:`save_model` takes what it stores from a network's
attributes, and :func:`load_model` builds a network of the class it is given from what
:func:`read_model_file` returns (this module never imports the network; the network calls it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from glassnet import __version__, tensorfile
from glassnet.atomic import atomic_write_bytes, remove_stale_temp_files
from glassnet.errors import FormatError, GlassnetError, InputError
from glassnet.modelfile.checks import (
    check,
    check_header,
    check_tensor_table,
    check_usable,
    check_values,
)
from glassnet.modelfile.layout import (
    DTYPES,
    FORMAT,
    FORMAT_VERSION,
    HEADER_FIELDS,
    KIND,
    STANDARDIZER_MEAN,
    STANDARDIZER_SCALE,
    bias_name,
    known_activations,
    known_initializers,
    weight_name,
)
from glassnet.preprocess import Standardizer
from glassnet.tensorfile import (
    MAX_HEADER_BYTES,
    METADATA_KEY,
    Array,
    Invalid,
    Source,
    invalid,
    jsonable,
)

if TYPE_CHECKING:
    from glassnet.network import Network

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DTYPES",
    "FORMAT",
    "FORMAT_VERSION",
    "HEADER_FIELDS",
    "MAX_HEADER_BYTES",
    "METADATA_KEY",
    "STANDARDIZER_MEAN",
    "STANDARDIZER_SCALE",
    "bias_name",
    "encode_model_file",
    "known_activations",
    "known_initializers",
    "read_model_file",
    "read_model_header",
    "save_model",
    "weight_name",
    "write_model_file",
]

#: Files larger than this are refused before any of their bytes are read.
DEFAULT_MAX_BYTES = 512 * 1024 * 1024


# ------------------------------------------------------------------------------------- reading
def read_model_file(
    source: Source, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[dict[str, Array], dict[str, Any]]:
    """Read and check a model file: every header field, every tensor name, dtype, shape and value.

    Parameters
    ----------
    source : path or bytes-like
        The file, or its complete contents.
    max_bytes : int, default 512 MiB
        Refuse a larger file without reading it.

    Returns
    -------
    tensors : dict of str to ndarray
        ``weights.i`` of shape ``(layer_sizes[i], layer_sizes[i + 1])``, ``biases.i`` of shape
        ``(layer_sizes[i + 1],)``, and, if the header says so, ``standardizer.mean`` and
        ``standardizer.scale`` of shape ``(1,)`` or ``(layer_sizes[0],)``.
        All writable, in native byte order.
    header : dict
        The ``glassnet`` JSON document (see ``docs/model-format.md``).

    Raises
    ------
    FormatError
        One line naming the source and what is wrong with it.
    OSError
        If the file cannot be opened or read (missing, a directory, no permission).
    """
    try:
        tensors, doc = tensorfile.decode(tensorfile.read(source, max_bytes), KIND, check)
        check_values(tensors)
        return tensors, doc
    except Invalid as exc:
        raise FormatError(f"{tensorfile.source_name(source)}: {exc}") from None


def read_model_header(source: Source) -> dict[str, Any]:
    """Read and check only the header: cheap, for showing what a model file holds.

    The tensor table (names, dtypes, shapes) is checked too; the array bytes are not read, so
    offsets and values are checked only by :func:`read_model_file`.

    Parameters
    ----------
    source : path or bytes-like
        The file, or its contents (at least the header).

    Returns
    -------
    dict
        The ``glassnet`` JSON document.

    Raises
    ------
    FormatError
        One line naming the source and what is wrong with it.
    OSError
        If the file cannot be opened or read.
    """
    try:
        doc, table = tensorfile.read_header(source, KIND)
        check(doc, table)
        return doc
    except Invalid as exc:
        raise FormatError(f"{tensorfile.source_name(source)}: {exc}") from None


# ------------------------------------------------------------------------------------- writing
def _complete_header(header: Mapping[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "glassnet_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    doc.update(header)
    return doc


def encode_model_file(tensors: Mapping[str, Array], header: Mapping[str, Any]) -> bytes:
    """The bytes of a model file, after the checks :func:`read_model_file` makes.

    Parameters
    ----------
    tensors : mapping of str to ndarray
        ``weights.i``, ``biases.i`` and optionally ``standardizer.mean`` / ``standardizer.scale``.
    header : mapping
        The header fields of ``docs/model-format.md``. ``format``, ``format_version``,
        ``glassnet_version`` and ``created`` are filled in unless given.

    Returns
    -------
    bytes
        A complete safetensors file.

    Raises
    ------
    ValueError
        If the tensors or the header would make a file glassnet refuses to read.
    """
    try:
        doc = jsonable(_complete_header(header), "the header")
        check_header(doc)
        arrays: dict[str, np.ndarray[Any, Any]] = {}
        for name, value in tensors.items():
            if not isinstance(value, np.ndarray):
                invalid(f"tensor {name!r} is a {type(value).__name__}, not a NumPy array")
            arrays[name] = np.ascontiguousarray(value)
        check_tensor_table({n: (a.dtype.name, a.shape) for n, a in arrays.items()}, doc)
        check_values(arrays)
        return tensorfile.encode(arrays, doc)
    except Invalid as exc:
        raise InputError(f"cannot write model file: {exc}") from None


def write_model_file(
    path: str | os.PathLike[str], tensors: Mapping[str, Array], header: Mapping[str, Any]
) -> None:
    """Check and write a model file atomically: ``path`` holds the old file or the new, never half.

    Parameters
    ----------
    path : str or os.PathLike
        Where to write; conventionally ``*.safetensors``.
    tensors, header
        As for :func:`encode_model_file`.

    Raises
    ------
    ValueError
        If the tensors or the header are not a valid model (nothing is written).
    OSError
        If the file cannot be written (the old file, if any, is then unchanged).
    """
    data = encode_model_file(tensors, header)
    atomic_write_bytes(path, data)
    # Leftovers of earlier saves that were killed outright; see glassnet.atomic.
    remove_stale_temp_files(path)


def save_model(
    path: str | os.PathLike[str],
    network: Network,
    *,
    settings: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
) -> None:
    """Write ``network`` to a model file, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Where to write; conventionally ``*.safetensors``.
    network : Network
        The network: architecture, parameters, standardizer and class names.
    settings : mapping, optional
        Training settings to record; ``network.training_settings`` if not given.
    metrics : mapping, optional
        Results to record (accuracy, loss, ...); ``network.metrics`` if not given.

    Raises
    ------
    ValueError
        If something cannot be stored: NaN or infinite parameters, a setting JSON cannot hold.
    OSError
        If the file cannot be written (the old file, if any, is then unchanged).
    """
    tensors: dict[str, Array] = {}
    for i, (W, b) in enumerate(zip(network.weights, network.biases, strict=True)):
        tensors[weight_name(i)] = W
        tensors[bias_name(i)] = b
    standardizer = network.standardizer
    if standardizer is not None:
        tensors[STANDARDIZER_MEAN] = np.asarray(standardizer.mean)
        tensors[STANDARDIZER_SCALE] = np.asarray(standardizer.scale)
    header = {
        "layer_sizes": list(network.layer_sizes),
        "activation": network.activation,
        "initializer": network.initializer,
        "dtype": np.dtype(network.dtype).name,
        "class_names": list(network.class_names),
        "standardizer": standardizer is not None,
        "training_settings": dict(network.training_settings if settings is None else settings),
        "metrics": dict(network.metrics if metrics is None else metrics),
    }
    write_model_file(path, tensors, header)


N = TypeVar("N", bound="Network")


def load_model(
    path: str | os.PathLike[str], network_class: type[N], *, max_bytes: int = DEFAULT_MAX_BYTES
) -> N:
    """Read a model file written by :func:`save_model` into a new ``network_class``.

    Every field and array is checked first (:func:`read_model_file`); then the network is built, its
    parameters and standardizer set, and it is probed for answers that would not be finite on
    ordinary inputs (:func:`~glassnet.modelfile.checks.check_usable`).

    Raises
    ------
    FormatError
        One line saying what is wrong, for a file that is not a valid glassnet model.
    OSError
        For a file that cannot be read.
    """
    tensors, doc = read_model_file(path, max_bytes=max_bytes)
    n_layers = len(doc["layer_sizes"]) - 1
    try:
        network = network_class(
            doc["layer_sizes"],
            doc["activation"],
            initializer=doc["initializer"],
            seed=0,
            dtype=doc["dtype"],
            class_names=doc["class_names"],
        )
        network.set_parameters(
            [tensors[weight_name(i)] for i in range(n_layers)],
            [tensors[bias_name(i)] for i in range(n_layers)],
        )
        if doc["standardizer"]:
            network.standardizer = Standardizer(
                tensors[STANDARDIZER_MEAN].astype(np.float64),
                tensors[STANDARDIZER_SCALE].astype(np.float64),
            )
        check_usable(network)
    except (GlassnetError, ValueError, TypeError) as exc:
        raise FormatError(f"{os.fspath(path)}: {' '.join(str(exc).split())}") from None
    network.training_settings = doc["training_settings"]
    network.metrics = doc["metrics"]
    return network
