"""Safetensors files, read as if from a stranger: the container of model files and checkpoints.

A `safetensors <https://github.com/huggingface/safetensors>`_ file holds nothing but named arrays
and a table of strings, so unlike a pickle it cannot run code when opened:

.. code-block:: text

    8 bytes   N, the header length (unsigned little-endian)
    N bytes   JSON: {"__metadata__": {"glassnet": "<JSON document>"},
                     "weights.0": {"dtype": "F32", "shape": [784, 50], "data_offsets": [0, 156800]},
                     ...}
    the rest  raw little-endian array bytes

glassnet keeps its own description in one metadata entry, ``"glassnet"``, as a JSON document. This
module reads such files with every size bounded before anything is allocated, parses their JSON
strictly (no NaN, no duplicate keys, bounded nesting), names what a file that is not safetensors
looks like (a pickle, a zip, HDF5, gzip), and turns every fault into one line. What the document
and the arrays must hold is the business of the format built on it: :mod:`glassnet.modelfile` and
:mod:`glassnet.checkpoint`.
"""

from __future__ import annotations

import json
import math
import os
import stat
from collections.abc import Callable, Mapping, Sequence
from typing import Any, BinaryIO, NoReturn

import numpy as np
import safetensors
from numpy.typing import NDArray

from glassnet.errors import InputError, short

#: The one safetensors metadata key glassnet uses; its value is a JSON document.
METADATA_KEY = "glassnet"
#: The JSON header of a glassnet file is a few kilobytes; this bounds what a hostile one costs.
MAX_HEADER_BYTES = 8 * 1024 * 1024

#: ``name -> (dtype name, shape)``, as the header lists the tensors.
Table = dict[str, tuple[str, tuple[int, ...]]]
Source = str | os.PathLike[str] | bytes | bytearray | memoryview


class Invalid(Exception):
    """One thing wrong with a file; the caller adds which file."""


def invalid(message: str) -> NoReturn:
    raise Invalid(message)


# safetensors dtype codes, named as NumPy names them (bfloat16 has no NumPy name).
SAFETENSORS_DTYPES = {
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
FOREIGN_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a zip archive (PyTorch .pt/.pth and NumPy .npz files are zip archives)"),
    (b"\x93NUMPY", "a NumPy .npy file"),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file (such as a Keras .h5 model)"),
    (b"\x1f\x8b", "a gzip-compressed file; decompress it first"),
)

Array = NDArray[np.floating[Any]]


# ---------------------------------------------------------------------------------------- messages
def size_text(n: int) -> str:
    return f"{n} bytes" if n < 1024 * 1024 else f"{n / (1024 * 1024):.1f} MiB ({n} bytes)"


def names(items: Sequence[str]) -> str:
    return ", ".join(short(n) for n in items)


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _reject_constant(name: str) -> NoReturn:
    raise InputError(f"{name} is not valid JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise InputError(f"duplicate key {short(key)}")
        result[key] = value
    return result


def parse_json(text: str | bytes, what: str) -> Any:
    """Strict JSON: no NaN or Infinity, no duplicate keys, bounded nesting."""
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_reject_constant)
    except RecursionError:
        invalid(f"{what} is nested too deeply")
    except UnicodeDecodeError:
        invalid(f"{what} is not valid UTF-8")
    except ValueError as exc:  # JSONDecodeError, the hooks above, over-long integers
        invalid(f"{what} is not valid JSON: {first_line(exc)}")


def jsonable(value: Any, where: str) -> Any:
    """``value`` as plain JSON types, converting NumPy scalars and paths; refuse anything else."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            invalid(f"{where} is {value!r}; JSON cannot hold NaN or infinity (use null)")
        return float(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                invalid(f"{where} has a non-string key {short(key)}")
            out[key] = jsonable(item, f"{where}[{key!r}]")
        return out
    if isinstance(value, (list, tuple, np.ndarray)):
        items = value.tolist() if isinstance(value, np.ndarray) else value
        return [jsonable(item, f"{where}[{i}]") for i, item in enumerate(items)]
    invalid(f"{where} is a {type(value).__name__}, which a model file cannot store")


def _foreign_kind(head: bytes) -> str | None:
    """What a file that is not safetensors looks like, judged by its first bytes."""
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "PICKLE"
    for magic, kind in FOREIGN_MAGIC:
        if head.startswith(magic):
            return kind
    if len(head) == 8 and all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        # A safetensors file starts with a little-endian length, never eight characters of text.
        return "a text file (settings, a table, a script?)"
    return None


def _not_safetensors(head: bytes, reason: str, kind: str) -> NoReturn:
    foreign = _foreign_kind(head)
    if foreign == "PICKLE":
        invalid("looks like a Python pickle; glassnet never loads pickles (they can run code)")
    if foreign is not None:
        invalid(f"looks like {foreign}, not a {kind}")
    invalid(f"not a safetensors file: {reason}")


def header_length(head: bytes, total_size: int, kind: str = "glassnet model file") -> int:
    """Length of the JSON header, checked against the file's size; ``head`` is its first 8 bytes.

    ``kind`` names what the file should be, for the message when it is something else.
    """
    if total_size == 0:
        invalid("the file is empty")
    if total_size < 8:
        _not_safetensors(head, f"the file is only {total_size} bytes", kind)
    length = int.from_bytes(head[:8], "little")
    if length > total_size - 8:
        _not_safetensors(
            head,
            f"its first 8 bytes give a header length of {length}, but it has {total_size}",
            kind,
        )
    if length > MAX_HEADER_BYTES:
        invalid(f"the header is {size_text(length)}, over the {size_text(MAX_HEADER_BYTES)} limit")
    return length


def parse_header(head: bytes, header: bytes, kind: str) -> tuple[dict[str, Any], Table, int]:
    """Parse the safetensors header and the glassnet document inside it.

    Returns the document (a JSON object), the tensor table, and the number of data bytes the table
    says follow the header. What the document must say is left to the caller.
    """
    if not header.startswith(b"{"):
        _not_safetensors(head, "the header is not a JSON object", kind)
    outer = parse_json(header, "the safetensors header")
    if not isinstance(outer, dict):
        _not_safetensors(head, "the header is not a JSON object", kind)
    metadata = outer.pop("__metadata__", None)
    if not isinstance(metadata, dict) or METADATA_KEY not in metadata:
        invalid(
            f"a safetensors file without {METADATA_KEY!r} metadata; not a {kind} "
            "(written by another program?)"
        )
    if not isinstance(metadata[METADATA_KEY], str):
        invalid(f"the {METADATA_KEY!r} metadata entry is not a string")
    doc = parse_json(metadata[METADATA_KEY], f"the {METADATA_KEY!r} metadata")
    if not isinstance(doc, dict):
        invalid(f"the {METADATA_KEY!r} metadata is not a JSON object")
    table: Table = {}
    data_size = 0
    for name, entry in outer.items():
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("dtype"), str)
            and isinstance(entry.get("shape"), list)
            and all(is_int(n) and n >= 0 for n in entry["shape"])
            and isinstance(entry.get("data_offsets"), list)
            and len(entry["data_offsets"]) == 2
            and all(is_int(n) and n >= 0 for n in entry["data_offsets"])
        ):
            invalid(f"tensor {short(name)} has a malformed entry in the safetensors header")
        code: str = entry["dtype"]
        table[name] = (SAFETENSORS_DTYPES.get(code, code), tuple(entry["shape"]))
        data_size = max(data_size, *entry["data_offsets"])
    return doc, table, data_size


def decode(
    data: bytes, kind: str, check: Callable[[dict[str, Any], Table], None]
) -> tuple[dict[str, Array], dict[str, Any]]:
    """Check and decode a whole file held in memory: its header, then (if ``check`` passes the
    document and the table) its arrays, each writable and in native byte order."""
    head = bytes(data[:8])
    length = header_length(head, len(data), kind)
    doc, table, data_size = parse_header(head, bytes(data[8 : 8 + length]), kind)
    check(doc, table)
    # The commonest damage, an interrupted copy or download, deserves a plain message.
    found = len(data) - 8 - length
    if found < data_size:
        invalid(f"the file is truncated: its tensors need {data_size} bytes, only {found} follow")
    if found > data_size:
        invalid(f"{found - data_size} unexpected bytes follow the last tensor")
    try:
        # The library checks what the JSON table cannot: offsets that cover the data exactly.
        entries = dict(safetensors.deserialize(data))
    except Exception as exc:  # SafetensorError
        invalid(f"safetensors cannot read it: {first_line(exc)}")
    except BaseException as exc:
        # A Rust panic inside the library arrives as pyo3's PanicException, a BaseException.
        if type(exc).__name__ != "PanicException":
            raise
        invalid(f"safetensors cannot read it: {first_line(exc)}")
    if entries.keys() != table.keys():
        invalid("safetensors found different tensors than the header lists")
    tensors: dict[str, Array] = {}
    for name, entry in entries.items():
        dtype, shape = table[name]
        # safetensors stores little-endian; the library hands back a fresh, writable bytearray.
        array = np.frombuffer(entry["data"], dtype=np.dtype(dtype).newbyteorder("<"))
        tensors[name] = array.reshape(shape).astype(np.dtype(dtype), copy=False)
    return tensors, doc


def read(source: Source, max_bytes: int) -> bytes:
    """The bytes of a file (or of bytes given), refusing more than ``max_bytes`` before reading."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if len(data) > max_bytes:
            invalid(f"the data is {size_text(len(data))}, over the {size_text(max_bytes)} limit")
        return data
    return read_limited(source, max_bytes)


def read_header(source: Source, kind: str) -> tuple[dict[str, Any], Table]:
    """Only the header of a file or of bytes given: the document and the tensor table."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        head = data[:8]
        length = header_length(head, len(data), kind)
        header = data[8 : 8 + length]
    else:
        with open_regular_file(source) as file:
            size = os.fstat(file.fileno()).st_size
            head = file.read(8)
            length = header_length(head, max(size, len(head)), kind)
            header = file.read(length)
        if len(header) != length:
            invalid("the file ended inside its header")
    doc, table, _ = parse_header(head, header, kind)
    return doc, table


def source_name(source: Source) -> str:
    return "<bytes>" if isinstance(source, (bytes, bytearray, memoryview)) else os.fspath(source)


def open_regular_file(path: str | os.PathLike[str]) -> BinaryIO:
    """Open a file for reading, refusing anything but a regular file.

    A FIFO would make the reader wait forever for a writer, and a device (``/dev/zero``) would read
    without end; no model, checkpoint or run file is either. The file is opened without waiting
    and checked as opened (not by a look at its name first, which a swap could outrun).

    Raises
    ------
    glassnet.errors.InputError
        If ``path`` is not a regular file; ``OSError`` if it cannot be opened.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
            raise InputError(f"{os.fspath(path)}: {kind}, not a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular_file(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a regular file; anything else refused as :func:`open_regular_file` does."""
    with open_regular_file(path) as file:
        return file.read()


_KINDS = {
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a folder",
}


def read_limited(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    """The file's bytes, refusing (before reading) a file larger than ``max_bytes``."""
    with open_regular_file(path) as file:
        size = os.fstat(file.fileno()).st_size
        if size > max_bytes:
            invalid(f"the file is {size_text(size)}, over the {size_text(max_bytes)} limit")
        # A pipe, or a file still growing, can hold more than fstat said: read on in chunks,
        # never past the limit (and never ask for a max_bytes-sized buffer up front).
        chunks = [file.read(size)] if size else []
        total = len(chunks[0]) if chunks else 0
        while chunk := file.read(min(1 << 20, max_bytes + 1 - total)):
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                invalid(f"the file holds more than the {size_text(max_bytes)} limit")
    return b"".join(chunks)


def encode(arrays: Mapping[str, NDArray[Any]], doc: Mapping[str, Any]) -> bytes:
    """A safetensors file holding ``arrays`` and the JSON document ``doc`` as its metadata."""
    import safetensors.numpy

    text = json.dumps(doc, ensure_ascii=True, allow_nan=False)
    data = safetensors.numpy.save(
        {name: np.ascontiguousarray(a) for name, a in arrays.items()}, metadata={METADATA_KEY: text}
    )
    if int.from_bytes(data[:8], "little") > MAX_HEADER_BYTES:
        invalid(f"the header would be over the {size_text(MAX_HEADER_BYTES)} limit")
    return data
