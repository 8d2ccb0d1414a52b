"""Tests for the IDX reader and writer: round trips, and refusal of every kind of bad file."""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glassnet.datasets.idx import (
    IDX_TYPE_CODES,
    read_idx,
    read_idx_bytes,
    write_idx,
)
from glassnet.errors import FormatError

FUZZ = settings(max_examples=int(os.environ.get("GLASSNET_FUZZ_EXAMPLES", "1000")), deadline=None)

DTYPES = ["uint8", "int8", "int16", "int32", "float32", "float64"]


def idx_bytes(type_code: int, shape: tuple[int, ...], data: bytes) -> bytes:
    """Hand-build an IDX file: header for ``shape`` then ``data`` as given."""
    return bytes([0, 0, type_code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + data


def extreme_values(dtype: str) -> np.ndarray:
    """A (2, 3, 4) array of ``dtype`` with its limits and some ordinary values."""
    kind = np.dtype(dtype)
    if kind.kind == "f":
        info = np.finfo(kind)
        special = [info.min, info.max, info.tiny, -0.0, np.inf, -np.inf, info.eps]
    else:
        iinfo = np.iinfo(kind)
        special = [iinfo.min, iinfo.max, 0, 1]
    values = np.arange(24, dtype=np.float64) - 7
    values[: len(special)] = special
    return values.astype(kind).reshape(2, 3, 4)


def assert_one_line_error(excinfo: pytest.ExceptionInfo[BaseException], name: str) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    assert message.startswith(f"{name}: ")
    return message


# --- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_round_trip_every_dtype(tmp_path: Path, dtype: str, suffix: str) -> None:
    array = extreme_values(dtype)
    path = tmp_path / f"values{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype)
    assert back.dtype.isnative
    assert back.shape == (2, 3, 4)
    assert back.flags.writeable
    np.testing.assert_array_equal(back, array)
    # -0.0 and 0.0 compare equal: check the bits too.
    assert back.tobytes() == array.tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
def test_file_layout_is_big_endian_with_documented_type_code(tmp_path: Path, dtype: str) -> None:
    array = np.arange(6, dtype=dtype).reshape(2, 3)
    write_idx(tmp_path / "a.idx", array)
    raw = (tmp_path / "a.idx").read_bytes()
    code = {"uint8": 8, "int8": 9, "int16": 11, "int32": 12, "float32": 13, "float64": 14}[dtype]
    expected = idx_bytes(code, (2, 3), array.astype(np.dtype(dtype).newbyteorder(">")).tobytes())
    assert raw == expected
    assert IDX_TYPE_CODES[code] == np.dtype(dtype).newbyteorder(">")


def test_non_native_and_non_contiguous_input(tmp_path: Path) -> None:
    array = np.arange(40, dtype=">i4").reshape(5, 8)[:, ::2]
    write_idx(tmp_path / "a.idx.gz", array)
    back = read_idx(tmp_path / "a.idx.gz")
    np.testing.assert_array_equal(back, array)
    assert back.dtype == np.dtype("int32")


@pytest.mark.parametrize("shape", [(0,), (3, 0, 2), (1,), (7,), (1, 1, 1, 1, 1, 1)])
def test_round_trip_shapes(tmp_path: Path, shape: tuple[int, ...]) -> None:
    array = np.ones(shape, dtype=np.uint8)
    for name in ("a.idx", "a.idx.gz"):
        write_idx(tmp_path / name, array)
        assert read_idx(tmp_path / name).shape == shape


def test_gzip_is_recognized_by_content_not_name(tmp_path: Path) -> None:
    array = np.arange(10, dtype=np.uint8)
    write_idx(tmp_path / "a.gz", array)
    (tmp_path / "a.gz").rename(tmp_path / "plain-name")
    np.testing.assert_array_equal(read_idx(tmp_path / "plain-name"), array)
    # ... and an uncompressed file called .gz reads too.
    (tmp_path / "raw.gz").write_bytes(idx_bytes(8, (3,), b"abc"))
    assert read_idx(tmp_path / "raw.gz").tobytes() == b"abc"


def test_gzip_output_is_reproducible(tmp_path: Path) -> None:
    array = np.arange(1000, dtype=np.int16)
    write_idx(tmp_path / "a.gz", array)
    write_idx(tmp_path / "b.gz", array)
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()
    assert gzip.decompress((tmp_path / "a.gz").read_bytes()) == idx_bytes(
        11, (1000,), array.astype(">i2").tobytes()
    )


def test_concatenated_gzip_members_read_as_one_stream() -> None:
    whole = idx_bytes(8, (6,), b"abcdef")
    data = gzip.compress(whole[:5]) + gzip.compress(whole[5:11]) + gzip.compress(whole[11:])
    assert read_idx_bytes(data).tobytes() == b"abcdef"


def test_read_idx_bytes_matches_read_idx(tmp_path: Path) -> None:
    array = extreme_values("float32")
    write_idx(tmp_path / "a.gz", array)
    data = (tmp_path / "a.gz").read_bytes()
    np.testing.assert_array_equal(read_idx_bytes(data), array)
    np.testing.assert_array_equal(read_idx_bytes(bytearray(data)), array)
    np.testing.assert_array_equal(read_idx_bytes(memoryview(data)), array)


def test_sha256_checks_the_decompressed_bytes(tmp_path: Path) -> None:
    raw = idx_bytes(8, (4,), b"wxyz")
    digest = hashlib.sha256(raw).hexdigest()
    (tmp_path / "a.gz").write_bytes(gzip.compress(raw))
    (tmp_path / "a").write_bytes(raw)
    assert read_idx(tmp_path / "a.gz", sha256=digest).tobytes() == b"wxyz"
    assert read_idx(tmp_path / "a", sha256=digest.upper()).tobytes() == b"wxyz"
    with pytest.raises(FormatError) as excinfo:
        read_idx(tmp_path / "a.gz", sha256="0" * 64)
    message = assert_one_line_error(excinfo, str(tmp_path / "a.gz"))
    assert digest in message and "0" * 64 in message


@pytest.mark.parametrize(
    "array",
    [np.zeros(3, dtype=np.int64), np.zeros(3, dtype=bool), np.zeros(3, np.float16), np.uint8(3)],
    ids=["int64", "bool", "float16", "0-d"],
)
def test_write_refuses_what_idx_cannot_store(tmp_path: Path, array: np.ndarray) -> None:
    with pytest.raises(ValueError):
        write_idx(tmp_path / "a.idx", array)
    assert list(tmp_path.iterdir()) == []


# --- bad files -------------------------------------------------------------------------------


BAD_FILES = {
    "empty": (b"", "truncated header"),
    "three bytes": (b"\x00\x00\x08", "truncated header"),
    "wrong magic": (b"\x01\x00\x08\x01\x00\x00\x00\x01a", "not an IDX file"),
    # The magic is two zero bytes: a check of the first alone would let this one through.
    "wrong second magic byte": (b"\x00\x01\x08\x01\x00\x00\x00\x01a", "0x00 0x01, expected"),
    "text file": (b"hello world, not idx", "not an IDX file"),
    "unknown type code": (idx_bytes(0x0A, (1,), b"a"), "unknown IDX type code 0x0A"),
    "zero dimensions": (b"\x00\x00\x08\x00", "unsupported number of dimensions 0"),
    "too many dimensions": (b"\x00\x00\x08\x21" + b"\x00\x00\x00\x01" * 33, "dimensions 33"),
    "truncated dims": (b"\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00", "truncated header"),
    "truncated data": (idx_bytes(8, (2, 3), b"abcd"), "truncated: header promises 6 bytes"),
    "truncated int32 data": (idx_bytes(0x0C, (2,), b"abcdefg"), "promises 8 bytes of data"),
    "trailing data": (idx_bytes(8, (2,), b"abc"), "trailing data: header promises 2 bytes"),
    "huge shape": (idx_bytes(0x0E, (0xFFFFFFFF,) * 4, b""), "more than the limit"),
}


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_files_raise_format_error(tmp_path: Path, case: str, compress: bool) -> None:
    data, expected = BAD_FILES[case]
    if compress:
        data = gzip.compress(data)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(data)
    with pytest.raises(FormatError) as excinfo:
        read_idx(path)
    message = assert_one_line_error(excinfo, str(path))
    assert expected in message
    with pytest.raises(FormatError, match=expected):
        read_idx_bytes(data, name="x")


def test_truncated_message_names_promised_and_actual_sizes(tmp_path: Path) -> None:
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(idx_bytes(8, (10000, 28, 28), bytes(1234)))
    with pytest.raises(FormatError) as excinfo:
        read_idx(path)
    assert str(excinfo.value) == (
        f"{path}: truncated: header promises 7840000 bytes of data, file has 1234"
    )
    # Compressed: the count of bytes that did arrive is the decompressed one.
    gz = tmp_path / "t10k-images-idx3-ubyte.gz"
    gz.write_bytes(gzip.compress(idx_bytes(8, (100, 28, 28), os.urandom(1234))))
    with pytest.raises(FormatError) as excinfo:
        read_idx(gz)
    assert str(excinfo.value) == (
        f"{gz}: truncated: header promises 78400 bytes of data, file has 1234"
    )


def test_gzip_too_small_for_its_header_is_refused_without_inflating() -> None:
    data = gzip.compress(idx_bytes(8, (10000, 28, 28), bytes(1234)))
    with pytest.raises(FormatError, match=f"but {len(data)} bytes of gzip can hold at most"):
        read_idx_bytes(data)


@pytest.mark.parametrize("keep", [1, 2, 9, 10, 20, 40, -9, -8, -4, -1])
def test_cut_off_gzip_stream(keep: int) -> None:
    # Header and data complete, but the gzip stream (or its CRC/length trailer) is cut off.
    data = gzip.compress(idx_bytes(8, (50,), bytes(range(50))))
    with pytest.raises(FormatError):
        read_idx_bytes(data[:keep])


def test_corrupt_gzip_crc() -> None:
    data = bytearray(gzip.compress(idx_bytes(8, (50,), bytes(range(50)))))
    data[-8] ^= 0xFF  # the CRC-32 of the trailer
    with pytest.raises(FormatError, match="corrupt gzip data"):
        read_idx_bytes(bytes(data))


def test_garbage_after_gzip_stream() -> None:
    data = gzip.compress(idx_bytes(8, (3,), b"abc")) + b"not gzip"
    with pytest.raises(FormatError, match="corrupt gzip data"):
        read_idx_bytes(data)


def test_corrupt_deflate_data() -> None:
    data = bytearray(gzip.compress(idx_bytes(8, (200,), os.urandom(200))))
    data[30:40] = b"\xff" * 10
    with pytest.raises(FormatError):
        read_idx_bytes(bytes(data))


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.gz"
    with pytest.raises(FileNotFoundError, match=str(path)):
        read_idx(path)


def test_directory_is_a_format_error(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="cannot read"):
        read_idx(tmp_path)


def test_max_bytes_is_a_parameter() -> None:
    data = idx_bytes(8, (100,), bytes(100))
    assert read_idx_bytes(data, max_bytes=100).shape == (100,)
    with pytest.raises(FormatError, match="more than the limit of 99 bytes"):
        read_idx_bytes(data, max_bytes=99)


# --- resource limits -----------------------------------------------------------------------


def peak_allocation(function: object, *args: object) -> int:
    """Bytes allocated at the peak while ``function(*args)`` ran (it must raise FormatError)."""
    tracemalloc.start()
    try:
        with pytest.raises(FormatError):
            function(*args)  # type: ignore[operator]
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    "shape",
    [(0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF), (60000, 28, 28), (1 << 30,)],
    ids=["over the limit", "mnist-sized", "1 GiB"],
)
def test_declared_shape_is_checked_before_allocating(
    tmp_path: Path, shape: tuple[int, ...]
) -> None:
    path = tmp_path / "small"
    path.write_bytes(idx_bytes(8, shape, bytes(100)))
    # Reading allocates a 1 MiB input buffer; the array itself would be 47 MB or more.
    assert peak_allocation(read_idx, path) < 4 << 20
    # A small gzip file cannot hold what the header declares: refused without decompressing.
    gz = tmp_path / "small.gz"
    gz.write_bytes(gzip.compress(idx_bytes(8, shape, bytes(100))))
    assert peak_allocation(read_idx, gz) < 4 << 20


@pytest.fixture(scope="module")
def gzip_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1 MiB gzip file that inflates to 1 GiB + a header declaring a 16-byte array.

    Built from 64 copies of one member holding 16 MiB of zeros, which takes milliseconds where
    compressing 1 GiB would take seconds.
    """
    zeros = gzip.compress(bytes(16 << 20), compresslevel=9)
    path = tmp_path_factory.mktemp("bomb") / "bomb.gz"
    path.write_bytes(gzip.compress(idx_bytes(8, (16,), bytes(16))) + zeros * 64)
    return path


@pytest.mark.timeout(20)
def test_gzip_bomb_is_cut_off_at_the_declared_size(gzip_bomb: Path) -> None:
    assert gzip_bomb.stat().st_size < 2 << 20
    assert peak_allocation(read_idx, gzip_bomb) < 8 << 20
    with pytest.raises(FormatError, match="trailing data: header promises 16 bytes"):
        read_idx(gzip_bomb)


@pytest.mark.timeout(20)
def test_single_member_gzip_bomb_is_cut_off() -> None:
    compressor = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [compressor.compress(idx_bytes(8, (28, 28), bytes(784)))]
    parts += [compressor.compress(bytes(1 << 20)) for _ in range(64)]
    parts.append(compressor.flush())
    data = b"".join(parts)
    assert peak_allocation(read_idx_bytes, data) < 8 << 20
    with pytest.raises(FormatError, match="trailing data"):
        read_idx_bytes(data)


# --- fuzzing ---------------------------------------------------------------------------------


def check_array_or_format_error(data: bytes) -> None:
    try:
        array = read_idx_bytes(data, max_bytes=1 << 20)
    except FormatError as exc:
        assert "\n" not in str(exc)
    else:
        assert isinstance(array, np.ndarray)
        assert array.dtype.isnative


@pytest.mark.slow
@FUZZ
@given(st.binary(max_size=200))
def test_fuzz_arbitrary_bytes(data: bytes) -> None:
    check_array_or_format_error(data)
    check_array_or_format_error(gzip.compress(data))


@st.composite
def mutated_idx_files(draw: st.DrawFn) -> bytes:
    """Valid IDX files, then truncated, extended, or with bytes overwritten."""
    code = draw(st.sampled_from([*IDX_TYPE_CODES, 0x0A, 0x07]))
    shape = tuple(draw(st.lists(st.integers(0, 5), min_size=1, max_size=4)))
    itemsize = IDX_TYPE_CODES[code].itemsize if code in IDX_TYPE_CODES else 1
    size = int(np.prod(shape)) * itemsize
    data = bytearray(draw(st.binary(min_size=size, max_size=size + 8)))
    data[:0] = idx_bytes(code, shape, b"")
    for _ in range(draw(st.integers(0, 3))):
        position = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["cut", "set", "insert"]))
        if action == "cut":
            del data[position:]
        elif action == "set" and position < len(data):
            data[position] = draw(st.integers(0, 255))
        else:
            data[position:position] = draw(st.binary(min_size=1, max_size=4))
    if draw(st.booleans()):
        compressed = bytearray(gzip.compress(bytes(data)))
        if draw(st.booleans()) and compressed:
            del compressed[draw(st.integers(0, len(compressed) - 1)) :]
        return bytes(compressed)
    return bytes(data)


@pytest.mark.slow
@FUZZ
@given(mutated_idx_files())
def test_fuzz_mutated_idx_files(data: bytes) -> None:
    check_array_or_format_error(data)
