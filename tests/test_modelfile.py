"""Model files: exact round trips, a clear refusal for every kind of bad file, and fuzzing."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import safetensors
import safetensors.numpy
from helpers import reaped
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import glassnet
from glassnet.errors import FormatError
from glassnet.modelfile import (
    FORMAT,
    FORMAT_VERSION,
    METADATA_KEY,
    encode_model_file,
    known_activations,
    known_initializers,
    read_model_file,
    read_model_header,
    save_model,
    write_model_file,
)
from glassnet.network import Network
from glassnet.preprocess import Standardizer

FUZZ_EXAMPLES = int(os.environ.get("GLASSNET_FUZZ_EXAMPLES", "1000"))
fuzz = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
roundtrip = settings(max_examples=60, deadline=None)
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX signals and FIFOs")


# ------------------------------------------------------------------------------------ helpers
def make_model(
    layer_sizes: list[int],
    dtype: str = "float32",
    activation: str = "relu",
    standardizer: tuple[int, ...] | None = (1,),
    seed: int = 0,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Tensors and header for a valid model with random parameters."""
    rng = np.random.default_rng(seed)
    tensors: dict[str, np.ndarray] = {}
    for i, (a, b) in enumerate(itertools.pairwise(layer_sizes)):
        tensors[f"weights.{i}"] = rng.normal(size=(a, b)).astype(dtype)
        tensors[f"biases.{i}"] = rng.normal(size=b).astype(dtype)
    if standardizer is not None:
        tensors["standardizer.mean"] = rng.normal(size=standardizer)
        tensors["standardizer.scale"] = rng.uniform(0.5, 2.0, size=standardizer)
    header = {
        "layer_sizes": layer_sizes,
        "activation": activation,
        "initializer": "he",
        "dtype": dtype,
        "class_names": [f"class {i}" for i in range(layer_sizes[-1])],
        "standardizer": standardizer is not None,
        "training_settings": {"learning_rate": 0.1, "epochs": 3, "optimizer": "sgd"},
        "metrics": {"test_accuracy": 0.97, "val_loss": None},
    }
    return tensors, header


def full_header(header: dict[str, Any]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "glassnet_version": "0.1.0",
        "created": "2024-01-02T03:04:05+00:00",
        **header,
    }


def raw_file(tensors: dict[str, np.ndarray], doc: dict[str, Any] | str) -> bytes:
    """A safetensors file made without glassnet's checks, so it can be wrong on purpose."""
    text = doc if isinstance(doc, str) else json.dumps(doc)
    return safetensors.numpy.save(tensors, metadata={METADATA_KEY: text})


def valid_file() -> bytes:
    return encode_model_file(*make_model([4, 3, 2], standardizer=(4,)))


def assert_same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].dtype == b[name].dtype, name
        assert a[name].shape == b[name].shape, name
        assert np.array_equal(a[name], b[name]), name


def read_or_refuse(data: bytes) -> None:
    """Reading may succeed or raise FormatError with a one-line message; nothing else."""
    try:
        tensors, header = read_model_file(data)
    except FormatError as exc:
        message = str(exc)
        assert message.startswith("<bytes>: ")
        assert "\n" not in message and "\r" not in message
        return
    for array in tensors.values():
        assert np.isfinite(array).all()
    assert header["format"] == FORMAT


# ------------------------------------------------------------------------------ round trips
architectures = st.lists(st.integers(1, 20), min_size=1, max_size=4).flatmap(
    lambda hidden_and_inputs: st.integers(2, 20).map(lambda out: [*hidden_and_inputs, out])
)


@roundtrip
@given(
    layer_sizes=architectures,
    dtype=st.sampled_from(["float32", "float64"]),
    activation=st.sampled_from(known_activations()),
    standardizer=st.sampled_from(["none", "shared", "per_feature"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_tensor_round_trip_is_bit_identical(
    layer_sizes: list[int], dtype: str, activation: str, standardizer: str, seed: int
) -> None:
    shape = {"none": None, "shared": (1,), "per_feature": (layer_sizes[0],)}[standardizer]
    tensors, header = make_model(layer_sizes, dtype, activation, shape, seed)
    data = encode_model_file(tensors, header)
    loaded, doc = read_model_file(data)
    assert_same(tensors, loaded)
    assert {k: doc[k] for k in header} == header
    assert doc["format"] == FORMAT and doc["format_version"] == FORMAT_VERSION
    for array in loaded.values():
        assert array.flags.writeable and array.dtype.isnative


def test_file_round_trip_and_header(tmp_path: Path) -> None:
    tensors, header = make_model([5, 4, 3], "float64", standardizer=(5,))
    path = tmp_path / "model.safetensors"
    write_model_file(path, tensors, header)
    loaded, doc = read_model_file(path)
    assert_same(tensors, loaded)
    assert read_model_header(path) == doc
    assert doc["glassnet_version"]
    assert doc["created"].endswith("+00:00")
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]


def test_other_safetensors_readers_see_the_same_file(tmp_path: Path) -> None:
    tensors, header = make_model([3, 2], "float32")
    path = tmp_path / "m.safetensors"
    write_model_file(path, tensors, header)
    with safetensors.safe_open(str(path), framework="numpy") as f:
        doc = json.loads(f.metadata()[METADATA_KEY])
        assert sorted(f.keys()) == sorted(tensors)
        assert np.array_equal(f.get_tensor("weights.0"), tensors["weights.0"])
    assert doc["layer_sizes"] == [3, 2]


def test_big_endian_arrays_are_stored_little_endian() -> None:
    tensors, header = make_model([3, 2], "float64", standardizer=None)
    swapped = {k: v.astype(v.dtype.newbyteorder(">")) for k, v in tensors.items()}
    loaded, _ = read_model_file(encode_model_file(swapped, header))
    assert_same(tensors, loaded)


def test_numpy_scalars_and_paths_in_settings_become_json() -> None:
    tensors, header = make_model([3, 2])
    header["training_settings"] = {"seed": np.int64(3), "data": Path("/data"), "sizes": (1, 2)}
    header["metrics"] = {"accuracy": np.float32(0.5), "ok": np.bool_(True)}
    _, doc = read_model_file(encode_model_file(tensors, header))
    assert doc["training_settings"] == {"seed": 3, "data": "/data", "sizes": [1, 2]}
    assert doc["metrics"] == {"accuracy": 0.5, "ok": True}


# ------------------------------------------------------------------------- refusing to write
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t, h: t["weights.0"].__setitem__((0, 0), np.nan), "NaN or infinite"),
        (lambda t, h: t.__setitem__("weights.0", t["weights.0"].T), "has shape"),
        (lambda t, h: t.__setitem__("weights.0", t["weights.0"].tolist()), "not a NumPy array"),
        (lambda t, h: h["metrics"].__setitem__("loss", float("nan")), "metrics"),
        (lambda t, h: h["training_settings"].__setitem__("f", print), "cannot store"),
        (lambda t, h: h.__setitem__("activation", "softplus"), "unknown activation"),
        (lambda t, h: h.__setitem__("format_version", 2), "format_version 2"),
    ],
)
def test_write_refuses_what_read_would_refuse(
    tmp_path: Path, change: Callable[[dict[str, Any], dict[str, Any]], None], message: str
) -> None:
    tensors, header = make_model([4, 3, 2])
    change(tensors, header)
    path = tmp_path / "m.safetensors"
    with pytest.raises(ValueError, match=message) as info:
        write_model_file(path, tensors, header)
    assert str(info.value).startswith("cannot write model file: ")
    assert not isinstance(info.value, FormatError)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------- refusing to read
def corrupt(change: Callable[[dict[str, np.ndarray], dict[str, Any]], object]) -> bytes:
    """A file made from a valid model after ``change`` edits its tensors and header in place."""
    tensors, header = make_model([4, 3, 2], standardizer=(4,))
    doc = full_header(header)
    change(tensors, doc)
    return raw_file(tensors, doc)


def without(key: str) -> Callable[[dict[str, Any]], object]:
    return lambda d: d.pop(key)


def setting(key: str, value: object) -> Callable[[dict[str, Any]], object]:
    return lambda d: d.__setitem__(key, value)


def doc_change(change: Callable[[dict[str, Any]], object]) -> bytes:
    return corrupt(lambda t, d: change(d))


def tensor_change(change: Callable[[dict[str, np.ndarray]], object]) -> bytes:
    return corrupt(lambda t, d: change(t))


def valid_doc_text() -> str:
    _, header = make_model([4, 3, 2], standardizer=(4,))
    return json.dumps(full_header(header))


def with_doc_text(text: str) -> bytes:
    tensors, _ = make_model([4, 3, 2], standardizer=(4,))
    return raw_file(tensors, text)


def overlapping_tensors() -> bytes:
    """Right names, dtypes and shapes, but two tensors claim the same bytes."""
    data = valid_file()
    length = int.from_bytes(data[:8], "little")
    outer = json.loads(data[8 : 8 + length])
    outer["biases.0"]["data_offsets"] = outer["weights.0"]["data_offsets"][:1] * 2
    outer["biases.0"]["data_offsets"][1] += 12
    header = json.dumps(outer, separators=(",", ":")).encode().ljust(length)
    assert len(header) == length
    return data[:8] + header + data[8 + length :]


def header_length_too_big() -> bytes:
    data = valid_file()
    return (len(data) * 2).to_bytes(8, "little") + data[8:]


CORRUPT_FILES: dict[str, tuple[Callable[[], bytes], str]] = {
    "empty": (lambda: b"", "empty"),
    "tiny": (lambda: b"abc", "only 3 bytes"),
    "text": (lambda: b"hello, this is not a model\n" * 3, "looks like a text file"),
    "pickle": (lambda: pickle.dumps({"w": [1.0, 2.0]}), "looks like a Python pickle"),
    "pickle protocol 2": (lambda: pickle.dumps([1], protocol=2), "looks like a Python pickle"),
    "npy": (lambda: b"\x93NUMPY\x01\x00v\x00{'descr': '<f8'}" + b" " * 64, "NumPy .npy"),
    "header length past end": (header_length_too_big, "header length"),
    "truncated data": (lambda: valid_file()[:-4], "the file is truncated"),
    "extra trailing data": (lambda: valid_file() + b"\0" * 8, "8 unexpected bytes follow"),
    "overlapping tensors": (overlapping_tensors, "safetensors cannot read it"),
    "no glassnet metadata": (
        lambda: safetensors.numpy.save({"x": np.zeros(2)}, metadata={"other": "x"}),
        "without 'glassnet' metadata",
    ),
    "no metadata at all": (
        lambda: safetensors.numpy.save({"x": np.zeros(2)}),
        "without 'glassnet' metadata",
    ),
    "metadata not JSON": (lambda: with_doc_text("{not json"), "is not valid JSON"),
    "metadata not an object": (lambda: with_doc_text("[1, 2]"), "not a JSON object"),
    "metadata with NaN": (
        lambda: with_doc_text(valid_doc_text().replace('"val_loss": null', '"val_loss": NaN')),
        "NaN is not valid JSON",
    ),
    "duplicate field": (
        lambda: with_doc_text(valid_doc_text().replace('"dtype":', '"dtype": "float64", "dtype":')),
        "duplicate key 'dtype'",
    ),
    "deeply nested": (
        lambda: with_doc_text('{"metrics": ' + "[" * 100_000 + "]" * 100_000 + "}"),
        "nested too deeply",
    ),
    "missing format": (lambda: doc_change(without("format")), "no 'format' field"),
    "wrong format": (lambda: doc_change(setting("format", "keras")), "format is 'keras'"),
    "checkpoint": (
        lambda: doc_change(setting("format", "glassnet-checkpoint")),
        "this is a training checkpoint, not a model",
    ),
    "missing format_version": (
        lambda: doc_change(without("format_version")),
        "no 'format_version' field",
    ),
    "format_version as string": (
        lambda: doc_change(setting("format_version", "1")),
        "format_version must be an integer",
    ),
    "newer format_version": (
        lambda: doc_change(setting("format_version", 2)),
        "format_version 2 is not supported",
    ),
    "unknown field": (lambda: doc_change(setting("optimizer_state", {})), "unknown header field"),
    "missing field": (lambda: doc_change(without("metrics")), "missing field(s) 'metrics'"),
    "created not a time": (lambda: doc_change(setting("created", "yesterday")), "ISO 8601"),
    "version not a string": (
        lambda: doc_change(setting("glassnet_version", 1)),
        "glassnet_version must be a non-empty string",
    ),
    "layer_sizes empty": (lambda: doc_change(setting("layer_sizes", [])), "layer_sizes must be"),
    "layer_sizes one layer": (lambda: doc_change(setting("layer_sizes", [4])), "at least 2"),
    "layer_sizes zero": (lambda: doc_change(setting("layer_sizes", [4, 0, 2])), "positive"),
    "layer_sizes float": (lambda: doc_change(setting("layer_sizes", [4, 3.0, 2])), "integers"),
    "layer_sizes bool": (lambda: doc_change(setting("layer_sizes", [4, True, 2])), "integers"),
    "layer_sizes string": (lambda: doc_change(setting("layer_sizes", "4,3,2")), "a list"),
    "one output unit": (
        lambda: corrupt(lambda t, d: d.update(layer_sizes=[4, 1], class_names=["a"])),
        "softmax output needs at least 2",
    ),
    "unknown activation": (
        lambda: doc_change(setting("activation", "softplus")),
        "unknown activation 'softplus'",
    ),
    "unknown initializer": (
        lambda: doc_change(setting("initializer", "orthogonal")),
        "unknown initializer 'orthogonal'",
    ),
    "dtype float16": (
        lambda: doc_change(setting("dtype", "float16")),
        "dtype must be 'float32' or 'float64', got 'float16'",
    ),
    "class_names too few": (
        lambda: doc_change(setting("class_names", ["cat"])),
        "class_names has 1 name but the output layer has 2 units",
    ),
    "class_names not strings": (
        lambda: doc_change(setting("class_names", [0, 1])),
        "class_names must be a list of strings",
    ),
    "standardizer not bool": (
        lambda: doc_change(setting("standardizer", "yes")),
        "standardizer must be true or false",
    ),
    "metrics not an object": (
        lambda: doc_change(setting("metrics", [0.9])),
        "metrics must be a JSON object",
    ),
    "missing tensor": (lambda: tensor_change(lambda t: t.pop("biases.1")), "missing tensor"),
    "extra tensor": (
        lambda: tensor_change(lambda t: t.__setitem__("momentum.0", np.zeros(2, np.float32))),
        "unexpected tensor(s) 'momentum.0'",
    ),
    "standardizer tensors but header says none": (
        lambda: doc_change(setting("standardizer", False)),
        "the header says there is no standardizer",
    ),
    "standardizer in header but no tensors": (
        lambda: tensor_change(lambda t: (t.pop("standardizer.mean"), t.pop("standardizer.scale"))),
        "missing tensor(s) 'standardizer.mean', 'standardizer.scale'",
    ),
    "tensor dtype differs": (
        lambda: tensor_change(lambda t: t.__setitem__("weights.1", t["weights.1"].astype("f8"))),
        "tensor 'weights.1' is float64 but the header says dtype float32",
    ),
    "tensor is integer": (
        lambda: tensor_change(lambda t: t.__setitem__("biases.0", np.zeros(3, np.int32))),
        "tensor 'biases.0' is int32",
    ),
    "tensor shape transposed": (
        lambda: tensor_change(lambda t: t.__setitem__("weights.0", t["weights.0"].T.copy())),
        "tensor 'weights.0' has shape (3, 4) but layer_sizes [4, 3, 2] needs (4, 3)",
    ),
    "bias shape": (
        lambda: tensor_change(lambda t: t.__setitem__("biases.1", np.zeros((1, 2), np.float32))),
        "tensor 'biases.1' has shape (1, 2)",
    ),
    "NaN weight": (
        lambda: tensor_change(lambda t: t["weights.0"].__setitem__((1, 1), np.nan)),
        "tensor 'weights.0' contains NaN or infinite values",
    ),
    "infinite bias": (
        lambda: tensor_change(lambda t: t["biases.1"].__setitem__(0, -np.inf)),
        "tensor 'biases.1' contains NaN or infinite values",
    ),
    "standardizer wrong shape": (
        lambda: tensor_change(
            lambda t: t.update({"standardizer.mean": np.zeros(3), "standardizer.scale": np.ones(3)})
        ),
        "tensor 'standardizer.mean' has shape (3,) but layer_sizes [4, 3, 2] needs (1,) or (4,)",
    ),
    "standardizer shapes differ": (
        lambda: tensor_change(lambda t: t.__setitem__("standardizer.scale", np.ones(1))),
        "standardizer.mean has shape (4,) but standardizer.scale has shape (1,)",
    ),
    "standardizer zero scale": (
        lambda: tensor_change(lambda t: t["standardizer.scale"].__setitem__(2, 0.0)),
        "standardizer.scale must be positive",
    ),
    "standardizer negative scale": (
        lambda: tensor_change(lambda t: t["standardizer.scale"].__setitem__(0, -1.0)),
        "smallest value is -1.0",
    ),
    "standardizer NaN mean": (
        lambda: tensor_change(lambda t: t["standardizer.mean"].__setitem__(0, np.nan)),
        "tensor 'standardizer.mean' contains NaN",
    ),
}


@pytest.mark.parametrize("case", sorted(CORRUPT_FILES))
def test_each_corrupt_file_is_refused_with_its_own_message(case: str) -> None:
    make, message = CORRUPT_FILES[case]
    data = make()
    with pytest.raises(FormatError) as info:
        read_model_file(data)
    text = str(info.value)
    assert message in text, text
    assert text.startswith("<bytes>: ") and "\n" not in text


def test_messages_are_distinct() -> None:
    """No two corrupt cases share a message: each tells the user something different."""
    by_message: dict[str, set[str]] = {}
    for case, (make, _) in CORRUPT_FILES.items():
        with pytest.raises(FormatError) as info:
            read_model_file(make())
        by_message.setdefault(str(info.value), set()).add(case)
    shared = [cases for cases in by_message.values() if len(cases) > 1]
    # The same fault reached through two different inputs.
    assert shared == [{"pickle", "pickle protocol 2"}] or sorted(map(sorted, shared)) == [
        ["no glassnet metadata", "no metadata at all"],
        ["pickle", "pickle protocol 2"],
    ]


def test_pickle_file_on_disk_is_refused_without_unpickling(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"weights": [np.zeros((2, 2))]}))
    with pytest.raises(
        FormatError, match="looks like a Python pickle; glassnet never loads"
    ) as info:
        read_model_file(path)
    assert str(info.value).startswith(f"{path}: ")


def test_zip_archive_is_named(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps([1, 2]))
    with pytest.raises(FormatError, match="zip archive"):
        read_model_file(path)


def test_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_model_file(tmp_path / "absent.safetensors")


def test_header_reader_needs_only_the_header() -> None:
    data = valid_file()
    header_end = 8 + int.from_bytes(data[:8], "little")
    with pytest.raises(FormatError):
        read_model_file(data[: header_end + 1])
    # Only the header is there, so the file is short; the header still reads.
    doc = read_model_header(data[:header_end] + b"\0")
    assert doc["layer_sizes"] == [4, 3, 2]


def test_header_reader_checks_tensor_table() -> None:
    data = tensor_change(lambda t: t.pop("weights.1"))
    with pytest.raises(FormatError, match="missing tensor"):
        read_model_header(data)


# --------------------------------------------------------------------------- size limits
def test_file_over_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    path.write_bytes(valid_file())
    size = path.stat().st_size
    with pytest.raises(FormatError, match=f"the file is {size} bytes, over the 100 bytes limit"):
        read_model_file(path, max_bytes=100)
    read_model_file(path, max_bytes=size)
    with pytest.raises(FormatError, match="over the 100 bytes limit"):
        read_model_file(path.read_bytes(), max_bytes=100)


def test_huge_file_is_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "huge.safetensors"
    with open(path, "wb") as f:
        f.truncate(4 * 1024**3)  # sparse: takes no disk space, but reading it would take 4 GiB
    reads: list[int] = []
    real_open = open

    class CountingFile:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._f = real_open(*args, **kwargs)

        def __enter__(self) -> CountingFile:
            return self

        def __exit__(self, *exc: object) -> None:
            self._f.close()

        def fileno(self) -> int:
            return self._f.fileno()

        def read(self, n: int = -1) -> bytes:
            reads.append(n)
            return self._f.read(n)

    monkeypatch.setattr("builtins.open", CountingFile)
    with pytest.raises(FormatError, match=r"4096\.0 MiB .* over the 512\.0 MiB"):
        read_model_file(path)
    assert reads == []


@posix_only
# ---------------------------------------------------------------------------------- fuzzing
@pytest.mark.slow
@fuzz
@given(data=st.binary(max_size=4096))
def test_fuzz_arbitrary_bytes(data: bytes) -> None:
    read_or_refuse(data)
    with contextlib.suppress(FormatError):
        read_model_header(data)


@pytest.mark.slow
@fuzz
@given(body=st.binary(max_size=2048), extra=st.integers(-16, 16))
def test_fuzz_plausible_header_length(body: bytes, extra: int) -> None:
    """Bytes whose first 8 bytes give a header length near the truth reach the JSON parser."""
    length = max(0, len(body) + extra)
    read_or_refuse(length.to_bytes(8, "little") + body)


VALID = valid_file()


@fuzz
@given(
    flips=st.lists(
        st.tuples(st.integers(0, len(VALID) - 1), st.integers(1, 255)), min_size=1, max_size=8
    )
)
@pytest.mark.slow
def test_fuzz_mutated_valid_file(flips: list[tuple[int, int]]) -> None:
    data = bytearray(VALID)
    for position, mask in flips:
        data[position] ^= mask
    read_or_refuse(bytes(data))


@pytest.mark.slow
@fuzz
@given(cut=st.integers(0, len(VALID) - 1))
def test_fuzz_truncated_valid_file_is_always_refused(cut: int) -> None:
    with pytest.raises(FormatError):
        read_model_file(VALID[:cut])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@fuzz
@given(
    changes=st.dictionaries(
        st.sampled_from([*full_header(make_model([4, 3, 2])[1]), "extra"]),
        json_values,
        min_size=1,
        max_size=4,
    )
)
@pytest.mark.slow
def test_fuzz_header_field_values(changes: dict[str, Any]) -> None:
    """Any JSON value in any header field is checked, never trusted (no TypeError, KeyError...)."""
    read_or_refuse(corrupt(lambda t, d: d.update(changes)))


# ----------------------------------------------------------------------- atomic and durable
def test_failed_write_keeps_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "m.safetensors"
    write_model_file(path, *make_model([4, 3, 2], seed=1))
    before = path.read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("glassnet.atomic.os.replace", broken_replace)
    with pytest.raises(OSError, match="No space left"):
        write_model_file(path, *make_model([4, 3, 2], seed=2))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]


def test_save_removes_stale_temp_files_of_killed_saves(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    stale = tmp_path / ".m.safetensors.k1ll3d_0.tmp"
    fresh = tmp_path / ".m.safetensors.runn1ng_.tmp"
    stale.write_bytes(b"partial")
    fresh.write_bytes(b"partial")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    write_model_file(path, *make_model([4, 3, 2]))
    assert not stale.exists()
    assert fresh.exists()  # might belong to a save still in progress elsewhere


# The child saves a model; its fsync (called once the temporary file holds every byte, just
# before the rename) tells the parent through stdout and then sleeps until killed.
KILLED_SAVE = textwrap.dedent(
    """
    import os, sys, time
    import numpy as np
    import glassnet.atomic
    from glassnet.modelfile import write_model_file

    def fsync_then_hang(fd):
        print("saving", flush=True)
        time.sleep(120)

    glassnet.atomic.os.fsync = fsync_then_hang
    rng = np.random.default_rng(1)
    sizes = [784, 1000, 1000, 10]
    tensors = {}
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        tensors[f"weights.{i}"] = rng.normal(size=(a, b)).astype("float32")
        tensors[f"biases.{i}"] = np.zeros(b, "float32")
    header = {
        "layer_sizes": sizes, "activation": "relu", "initializer": "he", "dtype": "float32",
        "class_names": [str(i) for i in range(10)], "standardizer": False,
        "training_settings": {}, "metrics": {},
    }
    write_model_file(sys.argv[1], tensors, header)
    """
)


@pytest.mark.slow
@posix_only
def test_sigkill_during_save_leaves_previous_file_byte_identical(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    write_model_file(path, *make_model([4, 3, 2]))
    before = path.read_bytes()
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_SAVE, str(path)], stdout=subprocess.PIPE, text=True
    )
    with reaped(child):
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "saving", "child failed before saving"
        temps = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        assert len(temps) == 1 and temps[0].stat().st_size > 7_000_000  # new model written...
        assert path.read_bytes() == before  # ...but not yet renamed into place
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    assert path.read_bytes() == before
    read_model_file(path)
    # The killed process could not remove its temporary file; a later save removes it once it
    # is old enough (see test_save_removes_stale_temp_files_of_killed_saves).
    assert [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == temps


# ------------------------------------------------------------------------------ networks
def test_known_names_come_from_the_registries() -> None:
    from glassnet.activations import ACTIVATIONS
    from glassnet.initializers import INITIALIZERS

    assert set(known_activations()) == set(ACTIVATIONS)
    assert set(known_initializers()) == set(INITIALIZERS)


@roundtrip
@given(
    layer_sizes=architectures,
    dtype=st.sampled_from(["float32", "float64"]),
    activation=st.sampled_from(known_activations()),
    standardize=st.sampled_from(["none", "shared", "per_feature"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_network_save_load_predicts_bit_identically(
    layer_sizes: list[int], dtype: str, activation: str, standardize: str, seed: int
) -> None:
    net = Network(layer_sizes, activation, seed=seed, dtype=dtype)
    rng = np.random.default_rng(seed)
    if standardize != "none":
        width = 1 if standardize == "shared" else layer_sizes[0]
        net.standardizer = Standardizer(rng.normal(size=width), rng.uniform(0.1, 3, size=width))
    net.class_names = [f"c{i}" for i in range(layer_sizes[-1])]
    X = rng.normal(size=(7, layer_sizes[0])) * 3

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "net.safetensors"
        save_model(path, net, settings={"epochs": 2}, metrics={"accuracy": 0.5})
        loaded = Network.load(path)

    assert loaded.layer_sizes == net.layer_sizes
    assert (loaded.activation, loaded.initializer) == (net.activation, net.initializer)
    assert loaded.dtype == net.dtype
    for a, b in zip(net.weights + net.biases, loaded.weights + loaded.biases, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    if net.standardizer is None:
        assert loaded.standardizer is None
    else:
        assert loaded.standardizer is not None
        assert np.array_equal(loaded.standardizer.mean, net.standardizer.mean)
        assert np.array_equal(loaded.standardizer.scale, net.standardizer.scale)
    assert loaded.class_names == net.class_names
    assert loaded.training_settings == {"epochs": 2}
    assert loaded.metrics == {"accuracy": 0.5}
    assert np.array_equal(loaded.forward(net.prepare(X)), net.forward(net.prepare(X)))
    assert np.array_equal(loaded.predict_proba(X), net.predict_proba(X))


def test_network_methods_delegate_here(tmp_path: Path) -> None:
    net = Network([6, 4, 3], "tanh", seed=3)
    net.training_settings = {"learning_rate": 0.5}
    net.metrics = {"test_accuracy": 0.25}
    path = net.save(tmp_path / "n.safetensors")
    loaded = glassnet.load(path)
    assert loaded.training_settings == {"learning_rate": 0.5}
    assert loaded.metrics == {"test_accuracy": 0.25}
    X = np.random.default_rng(0).normal(size=(5, 6))
    assert np.array_equal(loaded.predict_proba(X), net.predict_proba(X))


def test_network_load_names_the_file_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.safetensors"
    path.write_bytes(pickle.dumps([1]))
    with pytest.raises(FormatError, match=f"^{path}: looks like a Python pickle"):
        Network.load(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_a_pipe_given_as_a_model_is_refused_at_once_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "model.safetensors"
    os.mkfifo(fifo)
    started = time.monotonic()
    for read in (Network.load, read_model_header):
        with pytest.raises(ValueError, match="named pipe"):
            read(fifo)
    assert time.monotonic() - started < 5.0
