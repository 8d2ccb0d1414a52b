"""Read and write IDX files, the format MNIST and Fashion-MNIST come in.

An IDX file is a tiny header followed by the raw values of one n-dimensional array::

    byte 0, 1     0x00 0x00                 (magic: always zero)
    byte 2        type code                 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                                            0x0D float32, 0x0E float64
    byte 3        ndim                      number of dimensions
    4 * ndim      the sizes, one unsigned 32-bit big-endian integer per dimension
    the rest      the values in C order, big-endian

MNIST's ``train-images-idx3-ubyte`` is type 0x08 with ndim 3 and sizes 60000, 28, 28, so the
data part is exactly ``60000 * 28 * 28`` bytes. Files are usually gzip-compressed; the reader
recognizes gzip by its magic bytes (``1f 8b``), not by the file name.

The reader treats its input as untrusted. The header is checked before anything is allocated:
the declared size must fit a limit (``max_bytes``), must equal what an uncompressed file really
holds, and, for gzip, must be possible at all (deflate cannot expand data more than 1032-fold).
Decompression is bounded: it produces at most as many bytes as the header promises, plus one to
detect trailing data, so a gzip bomb is cut off at the size its header declares. Every problem
is reported as :class:`glassnet.errors.FormatError` with a one-line message naming the file.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import math
import os
import struct
import zlib
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from glassnet.atomic import atomic_write
from glassnet.datasets.streams import CHUNK, GunzipReader, Stream, fill, read_up_to
from glassnet.errors import FormatError, InputError

__all__ = ["DEFAULT_MAX_BYTES", "IDX_TYPE_CODES", "read_idx", "read_idx_bytes", "write_idx"]

#: Largest data part (in bytes) the readers accept unless told otherwise: 2 GiB.
DEFAULT_MAX_BYTES = 2 * 1024**3

#: IDX type code -> the big-endian NumPy dtype it stores.
IDX_TYPE_CODES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_MAX_NDIM = 32  # the most dimensions every supported NumPy version can represent
_GZIP_MAGIC = b"\x1f\x8b"
# Deflate expands data at most 1032-fold (a 258-byte match costs at least 2 bits; zlib FAQ), so a
# gzip file of n bytes holds at most 1032 * n. A header promising more is certainly lying.
_MAX_DEFLATE_RATIO = 1032

PathLike = str | os.PathLike[str]


def _shape_text(shape: tuple[int, ...]) -> str:
    return "x".join(str(size) for size in shape)


def _fail(name: str, problem: str) -> FormatError:
    return FormatError(f"{name}: {problem}")


@dataclass(frozen=True)
class _Header:
    """What an IDX header declares, and its raw bytes (part of what the SHA-256 covers)."""

    raw: bytes
    dtype: np.dtype
    shape: tuple[int, ...]

    @property
    def size(self) -> int:
        """Bytes of the header itself: 4, plus 4 per dimension."""
        return len(self.raw)

    @property
    def count(self) -> int:
        """Number of values in the array."""
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        """Bytes of the data part."""
        return self.count * self.dtype.itemsize


def _read_stream(
    source: io.BufferedIOBase, size: int, name: str, max_bytes: int, sha256: str | None
) -> np.ndarray:
    """Parse one IDX array from a seekable binary file of ``size`` bytes.

    The steps are ordered so that hostile input stays cheap: the header is read and every size
    it declares is checked before an array is allocated; only then is the data read, its end
    checked, and its digest compared.
    """
    gzipped = source.read(2) == _GZIP_MAGIC
    source.seek(0)
    stream: Stream
    if gzipped:
        stream = GunzipReader(source)
        capacity = size * _MAX_DEFLATE_RATIO  # most bytes the stream can possibly inflate to
    else:
        stream = source
        capacity = size
    header = _read_header(stream, name)
    _check_declared_size(header, name, max_bytes, size=size, capacity=capacity, gzipped=gzipped)
    array = _read_data(stream, header, name)
    if sha256 is not None:
        _check_sha256(header, array, name, sha256)
    return _to_native(array, header)


def _read_header(stream: Stream, name: str) -> _Header:
    """Read and check the magic, type code, number of dimensions and sizes."""
    head = read_up_to(stream, 4)
    if len(head) < 4:
        raise _fail(
            name, f"truncated header: an IDX header needs at least 4 bytes, file has {len(head)}"
        )
    if head[0] != 0 or head[1] != 0:
        raise _fail(
            name,
            f"not an IDX file: first two bytes are 0x{head[0]:02x} 0x{head[1]:02x}, "
            "expected 0x00 0x00",
        )
    type_code, ndim = head[2], head[3]
    if type_code not in IDX_TYPE_CODES:
        known = ", ".join(f"0x{code:02X}" for code in IDX_TYPE_CODES)
        raise _fail(name, f"unknown IDX type code 0x{type_code:02X} (known: {known})")
    if not 1 <= ndim <= _MAX_NDIM:
        raise _fail(name, f"unsupported number of dimensions {ndim} (expected 1 to {_MAX_NDIM})")
    dims = read_up_to(stream, 4 * ndim)
    if len(dims) < 4 * ndim:
        raise _fail(
            name,
            f"truncated header: {ndim} dimensions need a {4 + 4 * ndim}-byte header, "
            f"file has {4 + len(dims)} bytes",
        )
    shape = struct.unpack(f">{ndim}I", dims)
    return _Header(head + dims, IDX_TYPE_CODES[type_code], shape)


def _check_declared_size(
    header: _Header, name: str, max_bytes: int, *, size: int, capacity: int, gzipped: bool
) -> None:
    """Refuse a header whose sizes no file of ``size`` bytes could honour, before allocating.

    ``capacity`` is the most bytes the file can deliver: its size, or for gzip the size times
    deflate's largest expansion.
    """
    shape, dtype, nbytes = header.shape, header.dtype, header.nbytes
    if nbytes > max_bytes:
        raise _fail(
            name,
            f"header declares a {_shape_text(shape)} array of {dtype.name}, {nbytes} bytes, "
            f"more than the limit of {max_bytes} bytes",
        )
    # An empty array can still declare other dimensions whose product overflows NumPy's index
    # type, which no real array could have.
    if math.prod(d for d in shape if d) * dtype.itemsize > max_bytes:
        raise _fail(
            name,
            f"header declares an empty {_shape_text(shape)} array of {dtype.name} whose other "
            f"dimensions exceed the limit of {max_bytes} bytes",
        )
    data_size = size - header.size
    if not gzipped and data_size != nbytes:
        problem = "truncated" if data_size < nbytes else "trailing data"
        raise _fail(
            name, f"{problem}: header promises {nbytes} bytes of data, file has {data_size}"
        )
    if gzipped and header.size + nbytes > capacity:
        raise _fail(
            name,
            f"truncated: header promises {nbytes} bytes of data, but {size} bytes of gzip "
            f"can hold at most {capacity}",
        )


def _read_data(stream: Stream, header: _Header, name: str) -> np.ndarray:
    """Read exactly the data the header promises into a fresh flat array, bytes as stored."""
    nbytes = header.nbytes
    array = np.empty(header.count, dtype=header.dtype)
    filled = fill(stream, array.view(np.uint8).data)
    if filled < nbytes:
        raise _fail(name, f"truncated: header promises {nbytes} bytes of data, file has {filled}")
    if stream.read(1):
        what = "the decompressed file" if isinstance(stream, GunzipReader) else "file"
        raise _fail(name, f"trailing data: header promises {nbytes} bytes of data, {what} has more")
    if isinstance(stream, GunzipReader) and not stream.complete:
        raise _fail(name, "truncated gzip stream: the data ends before the gzip end marker")
    return array


def _check_sha256(header: _Header, array: np.ndarray, name: str, sha256: str) -> None:
    """The digest covers the IDX bytes as stored: header, then the data before any byte swap."""
    digest = hashlib.sha256(header.raw)
    digest.update(array.view(np.uint8).data)
    if digest.hexdigest() != sha256.lower():
        raise _fail(
            name, f"SHA-256 of the IDX data is {digest.hexdigest()}, expected {sha256.lower()}"
        )


def _to_native(array: np.ndarray, header: _Header) -> np.ndarray:
    """The flat big-endian array in native byte order, in the shape the header declares."""
    if header.dtype.itemsize > 1:
        # Swap in place (no second copy of a large array) and relabel the bytes as native.
        if not header.dtype.isnative:
            array.byteswap(inplace=True)
        array = array.view(header.dtype.newbyteorder("="))
    return array.reshape(header.shape)


def read_idx(
    path: PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES, sha256: str | None = None
) -> np.ndarray:
    """Read the array stored in an IDX file, gzip-compressed or not.

    Parameters
    ----------
    path : str or os.PathLike
        The file. Gzip compression is recognized from the content, whatever the name.
    max_bytes : int, default 2 GiB
        Refuse a file whose header declares a data part larger than this many bytes.
    sha256 : str, optional
        If given, the SHA-256 (hex) that the decompressed IDX bytes, header included, must have.

    Returns
    -------
    numpy.ndarray
        An array of the shape the header declares, e.g. ``(60000, 28, 28)`` for MNIST's
        training images, with dtype uint8, int8, int16, int32, float32 or float64 in native
        byte order. The array is freshly allocated and writable.

    Raises
    ------
    glassnet.errors.FormatError
        If the file is not a well-formed IDX file of the size its header declares, is larger
        than ``max_bytes``, has a corrupt or truncated gzip stream, cannot be read, or does not
        have the expected SHA-256. The message is one line naming the file.
    FileNotFoundError
        If ``path`` does not exist.

    Examples
    --------
    >>> images = read_idx("train-images-idx3-ubyte.gz")  # doctest: +SKIP
    >>> images.shape, images.dtype  # doctest: +SKIP
    ((60000, 28, 28), dtype('uint8'))
    """
    name = os.fspath(path)
    try:
        with open(name, "rb") as source:
            size = os.fstat(source.fileno()).st_size
            return _read_stream(source, size, name, max_bytes, sha256)
    except FileNotFoundError:
        raise FileNotFoundError(f"{name}: no such file") from None
    except zlib.error as exc:
        raise FormatError(f"{name}: corrupt gzip data: {exc}") from None
    except OSError as exc:
        raise FormatError(f"{name}: cannot read: {exc.strerror or exc}") from None
    except MemoryError:
        raise FormatError(f"{name}: not enough memory for the array it declares") from None


def read_idx_bytes(
    data: bytes | bytearray | memoryview,
    *,
    name: str = "<bytes>",
    max_bytes: int = DEFAULT_MAX_BYTES,
    sha256: str | None = None,
) -> np.ndarray:
    """Read an IDX array from bytes in memory, gzip-compressed or not.

    Parameters
    ----------
    data : bytes-like
        The whole file's contents.
    name : str, default "<bytes>"
        What to call the data in error messages.
    max_bytes, sha256
        As for :func:`read_idx`.

    Returns
    -------
    numpy.ndarray
        As for :func:`read_idx`.

    Raises
    ------
    glassnet.errors.FormatError
        For every kind of malformed input; nothing else.
    """
    source = io.BytesIO(data)
    try:
        return _read_stream(source, len(source.getbuffer()), name, max_bytes, sha256)
    except zlib.error as exc:
        raise FormatError(f"{name}: corrupt gzip data: {exc}") from None
    except MemoryError:
        raise FormatError(f"{name}: not enough memory for the array it declares") from None


def _type_code(dtype: np.dtype) -> int:
    for code, stored in IDX_TYPE_CODES.items():
        if stored.kind == dtype.kind and stored.itemsize == dtype.itemsize:
            return code
    names = ", ".join(stored.name for stored in IDX_TYPE_CODES.values())
    raise InputError(f"IDX cannot store dtype {dtype.name} (it stores {names})")


def write_idx(path: PathLike, array: ArrayLike, *, compresslevel: int = 9) -> None:
    """Write an array as an IDX file, gzip-compressed if ``path`` ends in ``.gz``.

    The file is replaced atomically: readers see the old file or the complete new one. The gzip
    header carries no name and no time stamp, so equal arrays give byte-identical files.

    Parameters
    ----------
    path : str or os.PathLike
        Where to write. Its directory must exist.
    array : array_like
        At least one dimension, each smaller than 2**32, of dtype uint8, int8, int16, int32,
        float32 or float64 (any byte order), e.g. images ``(n, 28, 28)`` uint8.
    compresslevel : int, default 9
        Gzip compression level, 1 (fast) to 9 (small).

    Raises
    ------
    ValueError
        If the array has no dimensions, too many, a dimension too large, or a dtype IDX
        cannot store.
    """
    values = np.asarray(array)
    code = _type_code(values.dtype)
    if not 1 <= values.ndim <= _MAX_NDIM:
        raise InputError(f"IDX stores arrays of 1 to {_MAX_NDIM} dimensions, got {values.ndim}")
    if any(size > 0xFFFFFFFF for size in values.shape):
        raise InputError(f"IDX sizes must be below 2**32, got shape {values.shape}")
    header = bytes([0, 0, code, values.ndim]) + struct.pack(f">{values.ndim}I", *values.shape)
    flat = values.reshape(-1)
    big_endian = IDX_TYPE_CODES[code]
    step = max(1, CHUNK // values.dtype.itemsize)

    with atomic_write(path, "wb") as file, contextlib.ExitStack() as stack:
        write = file.write
        if os.fspath(path).endswith(".gz"):
            compressor = gzip.GzipFile(
                filename="", mode="wb", fileobj=file, compresslevel=compresslevel, mtime=0
            )
            # Closing the GzipFile writes the trailer into ``file`` before it is committed.
            write = stack.enter_context(compressor).write
        write(header)
        for start in range(0, flat.size, step):
            write(flat[start : start + step].astype(big_endian, copy=False).tobytes())
