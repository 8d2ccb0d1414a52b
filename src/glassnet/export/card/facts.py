"""What a model file says, turned into a card's blocks, one function per kind of fact.

Every function here takes parts of a header document that :func:`glassnet.modelfile.read_model_file`
has already checked. The fields the format defines (layer sizes, activation, class names, ...) can
be trusted to have their types; ``training_settings`` and ``metrics`` are free-form JSON, so each
value taken from them is checked before it is used, and one that is missing or malformed is said to
be so in words instead of shown wrong.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

from numpy.typing import NDArray

from glassnet.export.card.parts import Block, Field, Note, Table, count, percent, shown
from glassnet.modelfile import STANDARDIZER_MEAN, STANDARDIZER_SCALE, bias_name, weight_name

__all__ = [
    "FileFacts",
    "accuracy_field",
    "confusion_blocks",
    "data_blocks",
    "is_data_setting",
    "model_fields",
    "other_metric_fields",
    "per_class_blocks",
    "provenance_fields",
    "training_blocks",
]

#: Settings the Model section shows (from the header itself), left out of the Training section.
MODEL_SETTINGS = ("hidden", "activation", "initializer", "dtype")
#: Metrics shown under a name of their own; any other recorded figure is listed as it is stored.
RESULT_METRICS = ("test_accuracy", "test_size", "per_class_accuracy", "most_confused")
MEASURE_HINT = "'glassnet card MODEL --data-dir DIR' or 'glassnet evaluate MODEL' measures it"


@dataclass(frozen=True)
class FileFacts:
    """The model file as a file: its name as given, its size in bytes, its SHA-256 (hex)."""

    name: str
    size: int
    sha256: str


# ------------------------------------------------------------------------------------------- model
def model_fields(doc: Mapping[str, Any], tensors: Mapping[str, NDArray[Any]]) -> list[Block]:
    """Architecture, parameters per layer, precision, inputs and their standardization, classes."""
    sizes: list[int] = doc["layer_sizes"]
    names: list[str] = doc["class_names"]
    layers = [
        (tensors[weight_name(l)].shape, tensors[bias_name(l)].size) for l in range(len(sizes) - 1)
    ]
    per_layer = "; ".join(
        f"layer {l + 1}: {rows}x{cols} + {b} = {count(rows * cols + b)}"
        for l, ((rows, cols), b) in enumerate(layers)
    )
    total = sum(rows * cols + b for (rows, cols), b in layers)
    inputs = f"{sizes[0]} raw values per sample" + (
        " (a 28x28 image, row by row)" if sizes[0] == 784 else ""
    )
    shown_names = ", ".join(shown(n, 40) for n in names[:20])
    more = f", and {len(names) - 20} more" if len(names) > 20 else ""
    return [
        Field("architecture", _architecture(sizes, doc["activation"])),
        Field("parameters", f"{count(total)} ({per_layer})"),
        Field("precision", doc["dtype"]),
        Field("inputs", inputs),
        Field("standardization", _standardization(doc, tensors)),
        Field("classes", f"{len(names)}: {shown_names}{more}"),
        Field("initializer", f"{doc['initializer']} (how the first weights were drawn)"),
    ]


def _architecture(sizes: Sequence[int], activation: str) -> str:
    hidden = list(sizes[1:-1])
    if not hidden:
        layers = "no hidden layer"
    elif len(set(hidden)) == 1:
        plural = "s" if len(hidden) > 1 else ""
        layers = f"{len(hidden)} hidden layer{plural} of {hidden[0]} {activation} units"
    else:
        layers = f"hidden layers of {', '.join(map(str, hidden))} {activation} units"
    return (
        f"{'-'.join(map(str, sizes))}: {sizes[0]} inputs, {layers}, "
        f"a softmax over {sizes[-1]} classes"
    )


def _standardization(doc: Mapping[str, Any], tensors: Mapping[str, NDArray[Any]]) -> str:
    if not doc["standardizer"]:
        return "none: the network takes the inputs as they are"
    mean, scale = tensors[STANDARDIZER_MEAN], tensors[STANDARDIZER_SCALE]
    if mean.size == 1:
        return (
            f"(x - {float(mean[0]):.6g}) / {float(scale[0]):.6g}, one mean and scale for every "
            "input, done by the model"
        )
    return f"one mean and scale per input ({mean.size} of each), done by the model"


# -------------------------------------------------------------------------------------------- data
def is_data_setting(key: str) -> bool:
    """Whether a setting says what the data was: the settings table's data settings (dataset,
    data_dir, data_sha256, ...), how much of it trained, and any checksum or ``data_*`` key."""
    from glassnet.settings import RULES

    rule = RULES.get(key)
    return (
        getattr(rule, "group", None) == "data"
        or key in ("dataset", "train_limit", "validation_split")
        or key.startswith("data_")
        or _is_checksum(key)
    )


def _is_checksum(key: str) -> bool:
    return any(word in key.lower() for word in ("sha256", "checksum", "digest"))


def data_blocks(settings: Mapping[str, Any], metrics: Mapping[str, Any]) -> list[Block]:
    """The dataset, its checksum(s), its folder, how much of it trained and tested the network."""
    blocks: list[Block] = [
        Field("dataset", shown(settings["dataset"]) if "dataset" in settings else _NOT_RECORDED)
    ]
    checksums = [key for key in settings if _is_checksum(key)]
    for key in checksums:
        value = settings[key]
        if isinstance(value, Mapping):  # one digest per file
            blocks += [
                Field(f"{shown(key, 40)} {shown(k, 60)}", shown(v)) for k, v in value.items()
            ]
        else:
            blocks.append(Field(shown(key, 40), shown(value)))
    if not checksums:
        blocks.append(Field("checksum", _NOT_RECORDED))
    for key, value in settings.items():
        # A data setting left empty (null) was not used: another source's, say a table's columns.
        unused = value is None and key not in ("train_limit", "validation_split")
        if key != "dataset" and is_data_setting(key) and not _is_checksum(key) and not unused:
            blocks.append(_data_field(key, value))
    size = metrics.get("test_size")
    blocks.append(Field("test samples", count(size) if _is_count(size) else _NOT_RECORDED))
    return blocks


_NOT_RECORDED = "not recorded in this file"


def _data_field(key: str, value: Any) -> Field:
    if key == "train_limit" and (value is None or value == 0):
        return Field("training samples", "the whole training set")
    if key == "train_limit" and _is_count(value):
        return Field("training samples", f"the first {count(value)} of the training set")
    if key == "validation_split" and _is_number(value) and value > 0:
        return Field("validation", f"{percent(value)} of the training samples held out")
    if key == "validation_split" and value in (0, None):
        return Field("validation", "none held out")
    label = {"data_dir": "data folder"}.get(key, shown(key, 40))
    return Field(label, shown(value))


# ---------------------------------------------------------------------------------------- training
def training_blocks(settings: Mapping[str, Any]) -> list[Block]:
    """Every recorded setting that applied, as it was recorded; those that did not, by name."""
    names = [k for k in settings if not is_data_setting(k) and k not in MODEL_SETTINGS]
    if not names:
        return [Note("No training settings are recorded in this file.")]
    unused = _unused_settings(settings, names)
    blocks: list[Block] = [
        Field(shown(name, 40), _value(settings[name])) for name in names if name not in unused
    ]
    if unused:
        blocks.append(
            Note(f"Recorded, but not used by this optimizer or schedule: {', '.join(unused)}.")
        )
    return blocks


def _unused_settings(settings: Mapping[str, Any], names: Sequence[str]) -> list[str]:
    """The settings the recorded optimizer or schedule ignores; none when that cannot be told."""
    from glassnet.settings import TrainConfig

    try:
        config = TrainConfig.from_settings(settings)
        return [name for name in names if config.unused([name])]
    except (ValueError, TypeError, KeyError):  # settings glassnet itself would not accept
        return []


# ----------------------------------------------------------------------------------------- results
def accuracy_field(metrics: Mapping[str, Any]) -> Field:
    """Test accuracy, with the size of the test set and the count right where both are known."""
    accuracy, size = metrics.get("test_accuracy"), metrics.get("test_size")
    if "test_accuracy" not in metrics or accuracy is None:
        return Field("test accuracy", _NOT_RECORDED)
    if not (_is_number(accuracy) and 0 <= accuracy <= 1):
        return Field("test accuracy", f"recorded as {shown(accuracy)}, which is not a fraction")
    if not (_is_count(size) and size > 0):
        return Field("test accuracy", percent(accuracy))
    right = round(accuracy * size)
    return Field(
        "test accuracy",
        f"{percent(accuracy)} on {count(size)} test samples ({count(right)} right)",
    )


def per_class_blocks(values: Any, class_names: Sequence[str], recorded: bool) -> list[Block]:
    """Accuracy per class as a table and the weakest class; or why there is none."""
    what = "Accuracy per class"
    if values is None:
        return [Note(f"{what}: {_NOT_RECORDED}; {MEASURE_HINT}.")] if recorded else []
    if not (
        isinstance(values, list)
        and len(values) == len(class_names)
        and all(v is None or (_is_number(v) and 0 <= v <= 1) for v in values)
    ):
        return [Note(f"{what}: recorded, but not as one fraction per class, so not shown.")]
    rows = tuple(
        (str(i), shown(name, 40), "no test samples" if v is None else percent(v))
        for i, (name, v) in enumerate(zip(class_names, values, strict=True))
    )
    known = [(v, i) for i, v in enumerate(values) if v is not None]
    blocks: list[Block] = [Table("accuracy per class", ("class", "name", "accuracy"), rows)]
    if known:
        worst, i = min(known)
        blocks.append(Field("weakest class", f"{_class(i, class_names)}: {percent(worst)}"))
    return blocks


def confusion_blocks(values: Any, class_names: Sequence[str], recorded: bool) -> list[Block]:
    """The confusions made most often, as a table; or why there is none."""
    what = "The most frequent confusions"
    k = len(class_names)
    if values is None:
        return [Note(f"{what}: {_NOT_RECORDED}; {MEASURE_HINT}.")] if recorded else []
    if not (
        isinstance(values, list)
        and all(
            isinstance(v, list)
            and len(v) == 3
            and all(_is_count(n) for n in v)
            and v[0] < k
            and v[1] < k
            and v[0] != v[1]
            for v in values
        )
    ):
        return [Note(f"{what}: recorded, but not as [true class, predicted class, count].")]
    if not values:
        return [Note("No test sample was misclassified.")]
    rows = tuple(
        (_class(true, class_names), _class(predicted, class_names), count(n))
        for true, predicted, n in values[:10]
    )
    blocks: list[Block] = [
        Table("most often confused", ("true class", "predicted as", "count"), rows)
    ]
    if len(values) > 10:
        blocks.append(Note(f"And {len(values) - 10} more pairs recorded."))
    return blocks


def other_metric_fields(metrics: Mapping[str, Any]) -> list[Block]:
    """Every other recorded figure: the last training loss, epochs, time, and any others."""
    labels = {
        "train_loss": "final training loss",
        "val_accuracy": "validation accuracy",
        "epochs": "epochs trained",
        "seconds": "training time",
    }
    blocks: list[Block] = []
    for key, value in metrics.items():
        if key in RESULT_METRICS:
            continue
        if key == "val_accuracy" and value is None:
            text = "none (no validation split)"
        elif key == "val_accuracy" and _is_number(value):
            text = percent(value)
        elif key == "seconds" and _is_number(value):
            text = f"{value:.1f} s"
        else:
            text = _value(value)
        blocks.append(Field(labels.get(key, shown(key, 40)), text))
    return blocks


# -------------------------------------------------------------------------------------- provenance
def provenance_fields(doc: Mapping[str, Any], file: FileFacts) -> list[Block]:
    """Who wrote the file and when, in which format; the file's size and SHA-256."""
    return [
        Field("written by", f"glassnet {shown(doc['glassnet_version'], 40)}"),
        Field("written on", shown(doc["created"], 60)),
        Field("format", f"{doc['format']} version {doc['format_version']}"),
        Field("file", f"{shown(file.name)}, {count(file.size)} bytes"),
        Field("SHA-256", file.sha256),
    ]


# ----------------------------------------------------------------------------------------- helpers
def _class(i: int, class_names: Sequence[str]) -> str:
    """A class by index, and by name where the name says more than the index."""
    name = class_names[i]
    return str(i) if name == str(i) else f"{i} ({shown(name, 40)})"


def _is_number(value: Any) -> TypeGuard[float]:
    """A finite number a float holds: a JSON integer may be too large for one (``OverflowError``)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def _is_count(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


def _value(value: Any) -> str:
    """A setting or figure: floats to six significant digits, the rest as :func:`shown`."""
    if isinstance(value, float):
        return f"{value:.6g}"
    return shown(value)
