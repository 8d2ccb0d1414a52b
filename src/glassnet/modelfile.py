"""Model files: a trained network as a safetensors file with a JSON header glassnet checks.

A model file must be safe to open even when it comes from a stranger. Python's ``pickle``, which
many libraries use for models, is not: unpickling runs whatever code the file names. glassnet
therefore stores networks as `safetensors <https://github.com/huggingface/safetensors>`_, a format
that holds nothing but named arrays and a table of strings:

.. code-block:: text

    8 bytes   N, the header length (unsigned little-endian)
    N bytes   JSON: {"__metadata__": {"glassnet": "<JSON document>"},
                     "weights.0": {"dtype": "F32", "shape": [784, 50], "data_offsets": [0, 156800]},
                     ...}
    the rest  raw little-endian array bytes

The arrays are ``weights.0 .. weights.{L-1}`` of shape ``(fan_in, fan_out)``, ``biases.0 ..
biases.{L-1}`` of shape ``(fan_out,)``, and, for a network that standardizes its inputs,
``standardizer.mean`` and ``standardizer.scale``. The ``glassnet`` metadata entry is a JSON document
describing the network (layer sizes, activation, dtype, class names, how it was trained, how well it
did). Reading checks every field and every array against that document, and turns any problem into
a one-line :class:`~glassnet.errors.FormatError`. ``docs/model-format.md`` describes the format for
readers in other languages.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, NoReturn

import numpy as np
import safetensors
import safetensors.numpy
from numpy.typing import NDArray

from glassnet import __version__
from glassnet.activations import ACTIVATIONS
from glassnet.atomic import atomic_write_bytes, remove_stale_temp_files
from glassnet.datasets.preprocess import Standardizer
from glassnet.errors import FormatError, GlassnetError
from glassnet.initializers import INITIALIZERS
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
    "load_model",
    "read_model_file",
    "read_model_header",
    "save_model",
    "weight_name",
    "write_model_file",
]

FORMAT = "glassnet-model"
FORMAT_VERSION = 1
#: The one safetensors metadata key glassnet uses; its value is the JSON header document.
METADATA_KEY = "glassnet"
STANDARDIZER_MEAN = "standardizer.mean"
STANDARDIZER_SCALE = "standardizer.scale"

#: Files larger than this are refused before any of their bytes are read.
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
#: The JSON header of a glassnet model is a few kilobytes; this bounds what a hostile one costs.
MAX_HEADER_BYTES = 8 * 1024 * 1024

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

# safetensors dtype codes, named as NumPy names them (bfloat16 has no NumPy name).
_SAFETENSORS_DTYPES = {
    "F64": "float64",
    "F32": "float32",
    "F16": "float16",
    "BF16": "bfloat16",
    "I64": "int64",
    "I32": "int32",
    "I16": "int16",
    "I8": "int8",
    "U64": "uint64",
    "U32": "uint32",
    "U16": "uint16",
    "U8": "uint8",
    "BOOL": "bool",
}

# Leading bytes of formats people mistake for model files, for a helpful refusal.
_FOREIGN_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a zip archive (PyTorch .pt/.pth and NumPy .npz files are zip archives)"),
    (b"\x93NUMPY", "a NumPy .npy file"),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file (such as a Keras .h5 model)"),
    (b"\x1f\x8b", "a gzip-compressed file; decompress it first"),
)

Array = NDArray[np.floating[Any]]


class _Invalid(Exception):
    """One thing wrong with a header or its arrays; the caller adds where it was found."""


def _invalid(message: str) -> NoReturn:
    raise _Invalid(message)


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


# ---------------------------------------------------------------------------------------- messages
def _short(value: object, limit: int = 60) -> str:
    """``repr(value)`` on one line, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _size(n: int) -> str:
    return f"{n} bytes" if n < 1024 * 1024 else f"{n / (1024 * 1024):.1f} MiB ({n} bytes)"


def _names(names: Sequence[str]) -> str:
    return ", ".join(_short(n) for n in names)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# ------------------------------------------------------------------------------------ the checks
def _check_header(doc: Mapping[str, Any]) -> None:
    """Check the header document field by field; raise :class:`_Invalid` at the first fault."""
    if "format" not in doc:
        _invalid("the header has no 'format' field; this is not a glassnet model file")
    if doc["format"] == "glassnet-checkpoint":
        _invalid(
            "this is a training checkpoint, not a model; continue its run with "
            "glassnet train --resume RUN_DIR"
        )
    if doc["format"] != FORMAT:
        _invalid(f"format is {_short(doc['format'])}, expected {FORMAT!r}")
    version = doc.get("format_version")
    if version is None:
        _invalid("the header has no 'format_version' field")
    if not _is_int(version):
        _invalid(f"format_version must be an integer, got {_short(version)}")
    if version != FORMAT_VERSION:
        newer = " (written by a newer glassnet? upgrade)" if version > FORMAT_VERSION else ""
        _invalid(
            f"format_version {version} is not supported; this glassnet reads version "
            f"{FORMAT_VERSION}{newer}"
        )
    unknown = [key for key in doc if key not in HEADER_FIELDS]
    if unknown:
        _invalid(f"unknown header field(s) {_names(unknown)} for format_version {FORMAT_VERSION}")
    missing = [key for key in HEADER_FIELDS if key not in doc]
    if missing:
        _invalid(f"the header is missing field(s) {_names(missing)}")

    for key in ("glassnet_version", "created"):
        if not isinstance(doc[key], str) or not doc[key]:
            _invalid(f"{key} must be a non-empty string, got {_short(doc[key])}")
    try:
        # Python 3.10's fromisoformat does not take the "Z" suffix other writers use.
        datetime.fromisoformat(doc["created"].replace("Z", "+00:00"))
    except ValueError:
        _invalid(f"created must be an ISO 8601 time, got {_short(doc['created'])}")

    sizes = doc["layer_sizes"]
    if not (
        isinstance(sizes, list) and len(sizes) >= 2 and all(_is_int(n) and n > 0 for n in sizes)
    ):
        _invalid(f"layer_sizes must be a list of at least 2 positive integers, got {_short(sizes)}")
    if sizes[-1] < 2:
        _invalid(f"layer_sizes {sizes} ends in {sizes[-1]} unit; a softmax output needs at least 2")

    activations = known_activations()
    if doc["activation"] not in activations:
        _invalid(f"unknown activation {_short(doc['activation'])}; known: {', '.join(activations)}")
    initializers = known_initializers()
    if doc["initializer"] not in initializers:
        _invalid(
            f"unknown initializer {_short(doc['initializer'])}; known: {', '.join(initializers)}"
        )
    if doc["dtype"] not in DTYPES:
        _invalid(f"dtype must be 'float32' or 'float64', got {_short(doc['dtype'])}")

    names = doc["class_names"]
    if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        _invalid(f"class_names must be a list of strings, got {_short(names)}")
    if len(names) != sizes[-1]:
        _invalid(
            f"class_names has {len(names)} name{'' if len(names) == 1 else 's'} but the output "
            f"layer has {sizes[-1]} units"
        )

    if not isinstance(doc["standardizer"], bool):
        _invalid(f"standardizer must be true or false, got {_short(doc['standardizer'])}")
    for key in ("training_settings", "metrics"):
        if not isinstance(doc[key], dict):
            _invalid(f"{key} must be a JSON object, got {_short(doc[key])}")


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
        _invalid(f"missing tensor(s) {_names(missing)} for layer_sizes {doc['layer_sizes']}")
    extra = sorted(name for name in table if name not in expected)
    if extra:
        hint = "" if doc["standardizer"] else " (the header says there is no standardizer)"
        _invalid(f"unexpected tensor(s) {_names(extra)}{hint}")
    for name, shapes in expected.items():
        dtype, shape = table[name]
        if name in (STANDARDIZER_MEAN, STANDARDIZER_SCALE):
            if dtype not in DTYPES:
                _invalid(f"tensor {name!r} is {dtype}; the standardizer must be float32 or float64")
        elif dtype != doc["dtype"]:
            _invalid(f"tensor {name!r} is {dtype} but the header says dtype {doc['dtype']}")
        if shape not in shapes:
            wanted = " or ".join(str(s) for s in shapes)
            _invalid(
                f"tensor {name!r} has shape {shape} but layer_sizes {doc['layer_sizes']} "
                f"needs {wanted}"
            )
    if doc["standardizer"] and table[STANDARDIZER_MEAN][1] != table[STANDARDIZER_SCALE][1]:
        _invalid(
            f"standardizer.mean has shape {table[STANDARDIZER_MEAN][1]} but standardizer.scale "
            f"has shape {table[STANDARDIZER_SCALE][1]}"
        )


def _check_values(tensors: Mapping[str, Array]) -> None:
    """Every value finite; every standardizer scale positive."""
    for name, array in tensors.items():
        if not np.isfinite(array).all():
            _invalid(f"tensor {name!r} contains NaN or infinite values")
    scale = tensors.get(STANDARDIZER_SCALE)
    if scale is not None and not (scale > 0).all():
        _invalid(
            f"standardizer.scale must be positive, but its smallest value is {float(scale.min())!r}"
        )


# ------------------------------------------------------------------------------------- JSON
def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {_short(key)}")
        result[key] = value
    return result


def _parse_json(text: str | bytes, what: str) -> Any:
    """Strict JSON: no NaN or Infinity, no duplicate keys, bounded nesting."""
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_reject_constant)
    except RecursionError:
        _invalid(f"{what} is nested too deeply")
    except UnicodeDecodeError:
        _invalid(f"{what} is not valid UTF-8")
    except ValueError as exc:  # JSONDecodeError, the hooks above, over-long integers
        _invalid(f"{what} is not valid JSON: {_first_line(exc)}")


def _jsonable(value: Any, where: str) -> Any:
    """``value`` as plain JSON types, converting NumPy scalars and paths; refuse anything else."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            _invalid(f"{where} is {value!r}; JSON cannot hold NaN or infinity (use null)")
        return float(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                _invalid(f"{where} has a non-string key {_short(key)}")
            out[key] = _jsonable(item, f"{where}[{key!r}]")
        return out
    if isinstance(value, (list, tuple, np.ndarray)):
        items = value.tolist() if isinstance(value, np.ndarray) else value
        return [_jsonable(item, f"{where}[{i}]") for i, item in enumerate(items)]
    _invalid(f"{where} is a {type(value).__name__}, which a model file cannot store")


# ------------------------------------------------------------------------------------- reading
def _foreign_kind(head: bytes) -> str | None:
    """What a file that is not safetensors looks like, judged by its first bytes."""
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "PICKLE"
    for magic, kind in _FOREIGN_MAGIC:
        if head.startswith(magic):
            return kind
    return None


def _not_safetensors(head: bytes, reason: str) -> NoReturn:
    kind = _foreign_kind(head)
    if kind == "PICKLE":
        _invalid("looks like a Python pickle; glassnet never loads pickles (they can run code)")
    if kind is not None:
        _invalid(f"looks like {kind}, not a glassnet model file")
    _invalid(f"not a safetensors file: {reason}")


def _header_length(head: bytes, total_size: int) -> int:
    """Length of the JSON header, checked against the file's size; ``head`` is its first 8 bytes."""
    if total_size == 0:
        _invalid("the file is empty")
    if total_size < 8:
        _not_safetensors(head, f"the file is only {total_size} bytes")
    length = int.from_bytes(head[:8], "little")
    if length > total_size - 8:
        _not_safetensors(
            head, f"its first 8 bytes give a header length of {length}, but it has {total_size}"
        )
    if length > MAX_HEADER_BYTES:
        _invalid(f"the header is {_size(length)}, over the {_size(MAX_HEADER_BYTES)} limit")
    return length


def _parse_header(
    head: bytes, header: bytes
) -> tuple[dict[str, Any], dict[str, tuple[str, tuple[int, ...]]], int]:
    """Check the safetensors header and the glassnet document inside it.

    Returns the document, the tensor table ``name -> (dtype name, shape)``, and the number of
    data bytes the table says follow the header.
    """
    if not header.startswith(b"{"):
        _not_safetensors(head, "the header is not a JSON object")
    outer = _parse_json(header, "the safetensors header")
    if not isinstance(outer, dict):
        _not_safetensors(head, "the header is not a JSON object")
    metadata = outer.pop("__metadata__", None)
    if not isinstance(metadata, dict) or METADATA_KEY not in metadata:
        _invalid(
            f"a safetensors file without {METADATA_KEY!r} metadata; not a glassnet model file "
            "(written by another program?)"
        )
    if not isinstance(metadata[METADATA_KEY], str):
        _invalid(f"the {METADATA_KEY!r} metadata entry is not a string")
    doc = _parse_json(metadata[METADATA_KEY], f"the {METADATA_KEY!r} metadata")
    if not isinstance(doc, dict):
        _invalid(f"the {METADATA_KEY!r} metadata is not a JSON object")
    _check_header(doc)

    table: dict[str, tuple[str, tuple[int, ...]]] = {}
    data_size = 0
    for name, entry in outer.items():
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("dtype"), str)
            and isinstance(entry.get("shape"), list)
            and all(_is_int(n) and n >= 0 for n in entry["shape"])
            and isinstance(entry.get("data_offsets"), list)
            and len(entry["data_offsets"]) == 2
            and all(_is_int(n) and n >= 0 for n in entry["data_offsets"])
        ):
            _invalid(f"tensor {_short(name)} has a malformed entry in the safetensors header")
        code: str = entry["dtype"]
        table[name] = (_SAFETENSORS_DTYPES.get(code, code), tuple(entry["shape"]))
        data_size = max(data_size, *entry["data_offsets"])
    _check_tensor_table(table, doc)
    return doc, table, data_size


def _decode(data: bytes) -> tuple[dict[str, Array], dict[str, Any]]:
    """Check and decode a whole model file held in memory."""
    head = bytes(data[:8])
    length = _header_length(head, len(data))
    doc, table, data_size = _parse_header(head, bytes(data[8 : 8 + length]))
    # The commonest damage, an interrupted copy or download, deserves a plain message.
    found = len(data) - 8 - length
    if found < data_size:
        _invalid(f"the file is truncated: its tensors need {data_size} bytes, only {found} follow")
    if found > data_size:
        _invalid(f"{found - data_size} unexpected bytes follow the last tensor")
    try:
        # The library checks what the JSON table cannot: offsets that cover the data exactly.
        entries = dict(safetensors.deserialize(data))
    except Exception as exc:  # SafetensorError
        _invalid(f"safetensors cannot read it: {_first_line(exc)}")
    except BaseException as exc:
        # A Rust panic inside the library arrives as pyo3's PanicException, a BaseException.
        if type(exc).__name__ != "PanicException":
            raise
        _invalid(f"safetensors cannot read it: {_first_line(exc)}")
    if entries.keys() != table.keys():
        _invalid("safetensors found different tensors than the header lists")
    tensors: dict[str, Array] = {}
    for name, entry in entries.items():
        dtype, shape = table[name]
        # safetensors stores little-endian; the library hands back a fresh, writable bytearray.
        array = np.frombuffer(entry["data"], dtype=np.dtype(dtype).newbyteorder("<"))
        tensors[name] = array.reshape(shape).astype(np.dtype(dtype), copy=False)
    _check_values(tensors)
    return tensors, doc


def _source_name(source: str | os.PathLike[str] | bytes | bytearray | memoryview) -> str:
    return "<bytes>" if isinstance(source, (bytes, bytearray, memoryview)) else os.fspath(source)


def _read_limited(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    """The file's bytes, refusing (before reading) a file larger than ``max_bytes``."""
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size > max_bytes:
            raise _Invalid(f"the file is {_size(size)}, over the {_size(max_bytes)} limit")
        # A pipe, or a file still growing, can hold more than fstat said: read on in chunks,
        # never past the limit (and never ask for a max_bytes-sized buffer up front).
        chunks = [file.read(size)] if size else []
        total = len(chunks[0]) if chunks else 0
        while chunk := file.read(min(1 << 20, max_bytes + 1 - total)):
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise _Invalid(f"the file holds more than the {_size(max_bytes)} limit")
    return b"".join(chunks)


def read_model_file(
    source: str | os.PathLike[str] | bytes | bytearray | memoryview,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
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
    name = _source_name(source)
    try:
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
            if len(data) > max_bytes:
                _invalid(f"the data is {_size(len(data))}, over the {_size(max_bytes)} limit")
        else:
            data = _read_limited(source, max_bytes)
        return _decode(data)
    except _Invalid as exc:
        raise FormatError(f"{name}: {exc}") from None


def read_model_header(
    source: str | os.PathLike[str] | bytes | bytearray | memoryview,
) -> dict[str, Any]:
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
    name = _source_name(source)
    try:
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
            head = data[:8]
            length = _header_length(head, len(data))
            header = data[8 : 8 + length]
        else:
            with open(source, "rb") as file:
                size = os.fstat(file.fileno()).st_size
                head = file.read(8)
                length = _header_length(head, max(size, len(head)))
                header = file.read(length)
            if len(header) != length:
                _invalid("the file ended inside its header")
        return _parse_header(head, header)[0]
    except _Invalid as exc:
        raise FormatError(f"{name}: {exc}") from None


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
        doc = _jsonable(_complete_header(header), "the header")
        _check_header(doc)
        arrays: dict[str, np.ndarray[Any, Any]] = {}
        for name, value in tensors.items():
            if not isinstance(value, np.ndarray):
                _invalid(f"tensor {name!r} is a {type(value).__name__}, not a NumPy array")
            arrays[name] = np.ascontiguousarray(value)
        _check_tensor_table({n: (a.dtype.name, a.shape) for n, a in arrays.items()}, doc)
        _check_values(arrays)
        text = json.dumps(doc, ensure_ascii=True, allow_nan=False)
        data = safetensors.numpy.save(arrays, metadata={METADATA_KEY: text})
        if int.from_bytes(data[:8], "little") > MAX_HEADER_BYTES:
            _invalid(f"the header would be over the {_size(MAX_HEADER_BYTES)} limit")
    except _Invalid as exc:
        raise ValueError(f"cannot write model file: {exc}") from None
    return data


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


def load_model(path: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> Network:
    """Read a network from a model file written by :func:`save_model`.

    Parameters
    ----------
    path : str or os.PathLike
        The model file.
    max_bytes : int, default 512 MiB
        Refuse a larger file without reading it.

    Returns
    -------
    Network
        With the file's parameters (bit for bit), standardizer, class names, training settings
        and metrics.

    Raises
    ------
    FormatError
        If the file is not a valid glassnet model file; the one-line message says why.
    OSError
        If the file cannot be opened or read.
    """
    tensors, doc = read_model_file(path, max_bytes=max_bytes)
    n_layers = len(doc["layer_sizes"]) - 1
    try:
        network = Network(
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
    except (GlassnetError, ValueError, TypeError) as exc:
        raise FormatError(f"{os.fspath(path)}: {_first_line(exc)}") from None
    network.training_settings = doc["training_settings"]
    network.metrics = doc["metrics"]
    return network
