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
from glassnet.network import Network, load
from glassnet.training import History, TrainConfig, train

__all__ = [
    "DatasetNotFoundError",
    "DownloadError",
    "FormatError",
    "GlassnetError",
    "History",
    "Network",
    "TrainConfig",
    "TrainingDivergedError",
    "__version__",
    "datasets",
    "load",
    "train",
]
