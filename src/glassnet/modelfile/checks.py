"""Checking a model file's header and arrays, field by field, before anything is built from them.

Each check raises :class:`glassnet.tensorfile.Invalid` with one line naming what is wrong; the
reader adds the file's name. The header must be glassnet's format at a version this glassnet reads,
with exactly the expected fields; the network it describes must be one glassnet builds; its records
(training settings, metrics) must be bounded, printable JSON; every tensor must have the name,
dtype and shape the header promises, and every value must be finite.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np

from glassnet.config import RULES
from glassnet.errors import InputError, short
from glassnet.modelfile.layout import (
    DTYPES,
    FORMAT,
    FORMAT_VERSION,
    HEADER_FIELDS,
    STANDARDIZER_MEAN,
    STANDARDIZER_SCALE,
    bias_name,
    known_activations,
    known_initializers,
    weight_name,
)
from glassnet.rules import Rule, text_problem
from glassnet.tensorfile import Array, Table, invalid, is_int, names


def check_header(doc: Mapping[str, Any]) -> None:
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


def name_problem(name: str, limit: int = MAX_NAME) -> str | None:
    """What makes a class or column ``name`` unrecordable in a model file (as a few words), or
    ``None``: not empty, and :func:`glassnet.rules.text_problem` with a name's limit."""
    return "is empty" if not name.strip() else text_problem(name, limit)


def _check_text(text: str, where: str, limit: int) -> None:
    """Text printed to a terminal or a page: bounded, and free of control characters (escape
    sequences, newlines, direction overrides) that would make it print as something else."""
    problem = text_problem(text, limit)
    if problem is not None:
        invalid(f"{where} {problem}")


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


def check_tensor_table(
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


def check_values(tensors: Mapping[str, Array]) -> None:
    """Every value finite; every standardizer scale positive."""
    for name, array in tensors.items():
        if not np.isfinite(array).all():
            invalid(f"tensor {name!r} contains NaN or infinite values")
    scale = tensors.get(STANDARDIZER_SCALE)
    if scale is not None and not (scale > 0).all():
        invalid(
            f"standardizer.scale must be positive, but its smallest value is {float(scale.min())!r}"
        )


def check(doc: dict[str, Any], table: Table) -> None:
    """The header document, then the tensor table against it."""
    check_header(doc)
    check_tensor_table(table, doc)


def check_usable(network: Any) -> None:
    """Refuse parameters that cannot give finite answers for ordinary inputs.

    Every value in a model file is finite, yet weights of 1e30 overflow in the first product,
    and a standardizer scale of 1e-300 turns any input into infinity. The probes: standardized
    rows at the mean and three spreads either side of it, and raw rows one unit either side of
    the standardizer's mean.
    """
    n = network.n_inputs
    rows = np.array([np.zeros(n), np.full(n, 3.0), np.full(n, -3.0)], network.dtype)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if not np.isfinite(network.forward(rows)).all():
            raise InputError("its weights give NaN or infinite probabilities for ordinary inputs")
        if network.standardizer is not None:
            mean = np.broadcast_to(network.standardizer.mean, (n,))
            raw = np.array([mean - 1.0, mean, mean + 1.0])
            if not np.isfinite(network.standardizer.transform(raw, network.dtype)).all():
                raise InputError(
                    "its standardizer turns ordinary inputs into infinity (a scale too small)"
                )
