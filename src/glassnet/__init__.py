"""glassnet: neural networks from scratch in NumPy, built to be read and fast enough to use.

The public API::

    import glassnet
    data = glassnet.datasets.load("mnist")
    net = glassnet.Network([784, 256, 10], activation="relu", seed=0)
    history = net.fit(data.train_images, data.train_labels, epochs=10, batch_size=16,
                      learning_rate=0.05)
    net.score(data.test_images, data.test_labels)
    net.save("mnist.safetensors")
    same = glassnet.load("mnist.safetensors")

The post's network, written the post's way, is :class:`glassnet.reference.ReferenceNetwork`; a whole
run (data, network, training, test, files) is :func:`glassnet.runs.run`.

Importing glassnet loads the core alone (the network, its engines, the training loop, model files);
``glassnet.datasets``, ``glassnet.runs`` and :class:`RunSettings` are loaded when first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from glassnet.config import TrainConfig
from glassnet.errors import (
    DatasetNotFoundError,
    DownloadError,
    FormatError,
    GlassnetError,
    InputError,
    TrainingDivergedError,
)
from glassnet.history import History
from glassnet.network import Network, load
from glassnet.training import train

if TYPE_CHECKING:
    from glassnet import datasets, runs
    from glassnet.settings import RunSettings

#: Names loaded on first use: each is built on the core, not part of it.
_LAZY = {
    "datasets": ("glassnet.datasets", None),
    "runs": ("glassnet.runs", None),
    "RunSettings": ("glassnet.settings", "RunSettings"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'glassnet' has no attribute {name!r}")
    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "DatasetNotFoundError",
    "DownloadError",
    "FormatError",
    "GlassnetError",
    "History",
    "InputError",
    "Network",
    "RunSettings",
    "TrainConfig",
    "TrainingDivergedError",
    "__version__",
    "datasets",
    "load",
    "runs",
    "train",
]
