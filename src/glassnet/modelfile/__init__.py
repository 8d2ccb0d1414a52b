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

This module knows the format, not the network: :meth:`glassnet.Network.load` builds a network from
what :func:`read_model_file` returns, and :func:`save_model` reads what it stores from any object
with a network's attributes.
"""

from __future__ import annotations

import itertools
import os
import unicodedata
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import numpy as np

from glassnet import __version__, tensorfile
from glassnet.activations import ACTIVATIONS
from glassnet.atomic import atomic_write_bytes, remove_stale_temp_files
from glassnet.errors import FormatError
from glassnet.initializers import INITIALIZERS
from glassnet.rules import Rule
from glassnet.settings import RULES
from glassnet.tensorfile import (
    MAX_HEADER_BYTES,
    METADATA_KEY,
    Array,
    Invalid,
    Source,
    Table,
    invalid,
    is_int,
    jsonable,
    names,
    short,
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

FORMAT = "glassnet-model"
FORMAT_VERSION = 1
KIND = "glassnet model file"
STANDARDIZER_MEAN = "standardizer.mean"
STANDARDIZER_SCALE = "standardizer.scale"

#: Files larger than this are refused before any of their bytes are read.
DEFAULT_MAX_BYTES = 512 * 1024 * 1024

DTYPES = ("float32", "float64")
HEADER_FIELDS = (
    "format",
    "format_version",
    "glassnet_version",
    "created",
    "layer_sizes",
    "activation",
    "initializer",
    "dtype",
    "class_names",
    "standardizer",
    "training_settings",
    "metrics",
)


def weight_name(i: int) -> str:
    """Name of the weight matrix of layer ``i`` (0-based): ``"weights.<i>"``."""
    return f"weights.{i}"


def bias_name(i: int) -> str:
    """Name of the bias vector of layer ``i`` (0-based): ``"biases.<i>"``."""
    return f"biases.{i}"


def known_activations() -> tuple[str, ...]:
    """Activation names a model file may use: the keys of ``glassnet.activations.ACTIVATIONS``."""
    return tuple(ACTIVATIONS)


def known_initializers() -> tuple[str, ...]:
    """Initializer names a model file may record: keys of ``glassnet.initializers.INITIALIZERS``."""
    return tuple(INITIALIZERS)


# ------------------------------------------------------------------------------------ the checks
def _check_header(doc: Mapping[str, Any]) -> None:
    """Check the header document field by field; raise :class:`Invalid` at the first fault."""
    _check_format(doc)
    _check_provenance(doc)
    _check_network(doc)


def _check_format(doc: Mapping[str, Any]) -> None:
    """A glassnet model of the version this glassnet reads, with exactly the expected fields."""
    if "format" not in doc:
        invalid("the header has no 'format' field; this is not a glassnet model file")
    if doc["format"] == "glassnet-checkpoint":
        invalid(
            "this is a training checkpoint, not a model; continue its run with "
            "glassnet train --resume RUN_DIR"
        )
    if doc["format"] != FORMAT:
        invalid(f"format is {short(doc['format'])}, expected {FORMAT!r}")
    version = doc.get("format_version")
    if version is None:
        invalid("the header has no 'format_version' field")
    if not is_int(version):
        invalid(f"format_version must be an integer, got {short(version)}")
    if version != FORMAT_VERSION:
        newer = " (written by a newer glassnet? upgrade)" if version > FORMAT_VERSION else ""
        invalid(
            f"format_version {version} is not supported; this glassnet reads version "
            f"{FORMAT_VERSION}{newer}"
        )
    unknown = [key for key in doc if key not in HEADER_FIELDS]
    if unknown:
        invalid(f"unknown header field(s) {names(unknown)} for format_version {FORMAT_VERSION}")
    missing = [key for key in HEADER_FIELDS if key not in doc]
    if missing:
        invalid(f"the header is missing field(s) {names(missing)}")


def _check_provenance(doc: Mapping[str, Any]) -> None:
    """Who wrote the file and when."""
    for key in ("glassnet_version", "created"):
        if not isinstance(doc[key], str) or not doc[key]:
            invalid(f"{key} must be a non-empty string, got {short(doc[key])}")
    try:
        # Python 3.10's fromisoformat does not take the "Z" suffix other writers use.
        datetime.fromisoformat(doc["created"].replace("Z", "+00:00"))
    except ValueError:
        invalid(f"created must be an ISO 8601 time, got {short(doc['created'])}")


def _check_network(doc: Mapping[str, Any]) -> None:
    """What the network is: sizes, activation, initializer, dtype, classes, and its records."""
    sizes = doc["layer_sizes"]
    if not (
        isinstance(sizes, list) and len(sizes) >= 2 and all(is_int(n) and n > 0 for n in sizes)
    ):
        invalid(f"layer_sizes must be a list of at least 2 positive integers, got {short(sizes)}")
    if sizes[-1] < 2:
        invalid(
            f"layer_sizes {short(sizes)} ends in {sizes[-1]} unit; a softmax output needs at least 2"
        )

    activations = known_activations()
    if doc["activation"] not in activations:
        invalid(f"unknown activation {short(doc['activation'])}; known: {', '.join(activations)}")
    initializers = known_initializers()
    if doc["initializer"] not in initializers:
        invalid(
            f"unknown initializer {short(doc['initializer'])}; known: {', '.join(initializers)}"
        )
    if doc["dtype"] not in DTYPES:
        invalid(f"dtype must be 'float32' or 'float64', got {short(doc['dtype'])}")

    class_names = doc["class_names"]
    if not (isinstance(class_names, list) and all(isinstance(n, str) for n in class_names)):
        invalid(f"class_names must be a list of strings, got {short(class_names)}")
    for i, name in enumerate(class_names):
        _check_text(name, f"class name {i}", MAX_NAME)
    if len(class_names) != sizes[-1]:
        invalid(
            f"class_names has {len(class_names)} name{'' if len(class_names) == 1 else 's'} but "
            f"the output layer has {sizes[-1]} units"
        )

    if not isinstance(doc["standardizer"], bool):
        invalid(f"standardizer must be true or false, got {short(doc['standardizer'])}")
    for key in ("training_settings", "metrics"):
        if not isinstance(doc[key], dict):
            invalid(f"{key} must be a JSON object, got {short(doc[key])}")
        _check_record(doc[key], key, depth=0)
    for key, value in doc["training_settings"].items():
        # The kind of each known setting, not its range or choices: a file from a newer glassnet
        # may name a preset or an optimizer this one does not know, and is still readable.
        if key in RULES and value is not None:
            kind = "text" if RULES[key].kind == "choice" else RULES[key].kind
            try:
                Rule(kind).check(key, value)
            except ValueError as exc:
                invalid(f"training_settings: {exc}")


#: Longest class name, and longest other text, a model file may hold.
MAX_NAME, MAX_TEXT, MAX_DEPTH = 100, 10_000, 4


def _check_text(text: str, where: str, limit: int) -> None:
    """Text printed to a terminal or a page: bounded, and free of control characters (escape
    sequences, newlines, direction overrides) that would make it print as something else."""
    if len(text) > limit:
        invalid(f"{where} is {len(text):,} characters long; the limit is {limit:,}")
    bad = next((c for c in text if unicodedata.category(c) in ("Cc", "Cf")), None)
    if bad is not None:
        invalid(f"{where} holds the control character U+{ord(bad):04X}")


def _check_record(value: Any, where: str, depth: int) -> None:
    """``training_settings`` and ``metrics``: JSON nested at most MAX_DEPTH deep, keys and strings
    bounded and printable."""
    if depth > MAX_DEPTH:
        invalid(f"{where} is nested more than {MAX_DEPTH} deep")
    if isinstance(value, str):
        _check_text(value, where, MAX_TEXT)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, f"a key of {where}", MAX_NAME)
            _check_record(item, f"{where}[{short(key)}]", depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_record(item, f"{where}[{i}]", depth + 1)


def _expected_tensors(doc: Mapping[str, Any]) -> dict[str, list[tuple[int, ...]]]:
    """Every tensor a checked header promises, with the shapes each may have."""
    sizes: list[int] = doc["layer_sizes"]
    expected: dict[str, list[tuple[int, ...]]] = {}
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        expected[weight_name(i)] = [(fan_in, fan_out)]
        expected[bias_name(i)] = [(fan_out,)]
    if doc["standardizer"]:
        shapes: list[tuple[int, ...]] = [(1,), (sizes[0],)] if sizes[0] != 1 else [(1,)]
        expected[STANDARDIZER_MEAN] = shapes
        expected[STANDARDIZER_SCALE] = shapes
    return expected


def _check_tensor_table(
    table: Mapping[str, tuple[str, tuple[int, ...]]], doc: Mapping[str, Any]
) -> None:
    """Check tensor names, dtypes and shapes (``name -> (dtype name, shape)``) against ``doc``."""
    expected = _expected_tensors(doc)
    missing = [name for name in expected if name not in table]
    if missing:
        invalid(
            f"missing tensor(s) {names(missing[:5])}{' ...' if len(missing) > 5 else ''} for "
            f"layer_sizes {short(doc['layer_sizes'])}"
        )
    extra = sorted(name for name in table if name not in expected)
    if extra:
        hint = "" if doc["standardizer"] else " (the header says there is no standardizer)"
        invalid(f"unexpected tensor(s) {names(extra)}{hint}")
    for name, shapes in expected.items():
        dtype, shape = table[name]
        if name in (STANDARDIZER_MEAN, STANDARDIZER_SCALE):
            if dtype not in DTYPES:
                invalid(f"tensor {name!r} is {dtype}; the standardizer must be float32 or float64")
        elif dtype != doc["dtype"]:
            invalid(f"tensor {name!r} is {dtype} but the header says dtype {doc['dtype']}")
        if shape not in shapes:
            wanted = " or ".join(str(s) for s in shapes)
            invalid(
                f"tensor {short(name)} has shape {short(shape)} but layer_sizes "
                f"{short(doc['layer_sizes'])} "
                f"needs {wanted}"
            )
    if doc["standardizer"] and table[STANDARDIZER_MEAN][1] != table[STANDARDIZER_SCALE][1]:
        invalid(
            f"standardizer.mean has shape {table[STANDARDIZER_MEAN][1]} but standardizer.scale "
            f"has shape {table[STANDARDIZER_SCALE][1]}"
        )


def _check_values(tensors: Mapping[str, Array]) -> None:
    """Every value finite; every standardizer scale positive."""
    for name, array in tensors.items():
        if not np.isfinite(array).all():
            invalid(f"tensor {name!r} contains NaN or infinite values")
    scale = tensors.get(STANDARDIZER_SCALE)
    if scale is not None and not (scale > 0).all():
        invalid(
            f"standardizer.scale must be positive, but its smallest value is {float(scale.min())!r}"
        )


# ------------------------------------------------------------------------------------- reading
def _check(doc: dict[str, Any], table: Table) -> None:
    _check_header(doc)
    _check_tensor_table(table, doc)


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
        tensors, doc = tensorfile.decode(tensorfile.read(source, max_bytes), KIND, _check)
        _check_values(tensors)
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
        _check(doc, table)
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
        _check_header(doc)
        arrays: dict[str, np.ndarray[Any, Any]] = {}
        for name, value in tensors.items():
            if not isinstance(value, np.ndarray):
                invalid(f"tensor {name!r} is a {type(value).__name__}, not a NumPy array")
            arrays[name] = np.ascontiguousarray(value)
        _check_tensor_table({n: (a.dtype.name, a.shape) for n, a in arrays.items()}, doc)
        _check_values(arrays)
        return tensorfile.encode(arrays, doc)
    except Invalid as exc:
        raise ValueError(f"cannot write model file: {exc}") from None


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
