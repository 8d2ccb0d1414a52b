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
"""

__version__ = "0.1.0"

from glassnet import datasets
from glassnet.errors import (
    DatasetNotFoundError,
    DownloadError,
    FormatError,
    GlassnetError,
    TrainingDivergedError,
)
from glassnet.history import History
from glassnet.network import Network, load
from glassnet.settings import RunSettings, TrainConfig
from glassnet.training import train

__all__ = [
    "DatasetNotFoundError",
    "DownloadError",
    "FormatError",
    "GlassnetError",
    "History",
    "Network",
    "RunSettings",
    "TrainConfig",
    "TrainingDivergedError",
    "__version__",
    "datasets",
    "load",
    "train",
]
