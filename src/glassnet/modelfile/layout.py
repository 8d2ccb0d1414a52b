"""What a glassnet model file holds: its format's name and version, its header fields, and the
names of its tensors. See :mod:`glassnet.modelfile` and ``docs/model-format.md``."""

from __future__ import annotations

from glassnet.activations import ACTIVATIONS
from glassnet.initializers import INITIALIZERS

FORMAT = "glassnet-model"
FORMAT_VERSION = 1
KIND = "glassnet model file"
STANDARDIZER_MEAN = "standardizer.mean"
STANDARDIZER_SCALE = "standardizer.scale"

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
