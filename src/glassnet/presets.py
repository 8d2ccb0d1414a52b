"""Named training recipes. Every option of a preset can be overridden on the command line.

``default``  what ``glassnet train`` runs with no options: a plain-SGD ReLU network, about a minute.
``seed``     the post's run, unchanged: 784-50x6-10 sigmoid, standard-normal initialization,
             learning rate 0.002, batches of 10, 1000 epochs.
``fast``     the most accuracy for the least time.
``best``     the most accuracy within a few minutes on two cores.
``record``   the most accuracy within twenty minutes on two cores: ``best``'s network trained five
             times as long on digits distorted afresh every epoch (elastically, as Simard et al.
             2003 did, turned, scaled and sheared), never the same image twice.
``record-fashion``  the same network and schedule for Fashion-MNIST: clothes mirrored left to
             right and shifted, not distorted (a distorted collar is no longer a collar).

The measured results of each are in ``docs/results.md``.
"""

from __future__ import annotations

from typing import Any

from glassnet.errors import InputError

#: The network and optimizer that ``best``, ``record`` and ``record-fashion`` share; they differ in
#: what the training images go through, dropout, and how long they train.
_WIDE: dict[str, Any] = {
    "hidden": [800, 800],
    "activation": "relu",
    "optimizer": "nesterov",
    "momentum": 0.9,
    "learning_rate": 0.05,
    "batch_size": 128,
    "schedule": "cosine",
    "warmup_epochs": 0.5,
}

PRESETS: dict[str, dict[str, Any]] = {
    "default": {
        "hidden": [256],
        "activation": "relu",
        "optimizer": "sgd",
        "learning_rate": 0.05,
        "batch_size": 16,
        "epochs": 10,
    },
    "seed": {
        "hidden": [50, 50, 50, 50, 50, 50],
        "activation": "sigmoid",
        "initializer": "normal",
        "optimizer": "sgd",
        "learning_rate": 0.002,
        "batch_size": 10,
        "epochs": 1000,
    },
    "fast": {
        "hidden": [256],
        "activation": "relu",
        "optimizer": "sgd",
        "learning_rate": 0.1,
        "batch_size": 32,
        "schedule": "cosine",
        "epochs": 5,
    },
    "best": {
        **_WIDE,
        "dropout": 0.2,
        "augment_shift": 2,
        "epochs": 30,
    },
    "record": {
        **_WIDE,
        "dropout": 0.1,
        "augment_shift": 1,
        "augment_affine": [10.0, 0.1, 10.0],
        "augment_elastic": [34.0, 4.0],
        "epochs": 150,
    },
    "record-fashion": {
        **_WIDE,
        "dataset": "fashion-mnist",
        "dropout": 0.2,
        "augment_shift": 1,
        "augment_flip": True,
        "epochs": 150,
    },
}


def get_preset(name: str) -> dict[str, Any]:
    """A copy of the named preset's settings; a ``ValueError`` names the choices otherwise."""
    try:
        return {k: (list(v) if isinstance(v, list) else v) for k, v in PRESETS[name].items()}
    except KeyError:
        raise InputError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None
