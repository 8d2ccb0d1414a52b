"""Memory: what a network or a training run will need, checked before anything is allocated.

A typo in a layer size (``--hidden 10000000``) should cost one clear line, not minutes of swapping
followed by a crash. The estimates here count the big arrays a run holds (parameters and their
copies, the data, the buffers of a batch) and compare them with the memory the machine has
available now.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from itertools import pairwise

from glassnet.errors import InputError

#: Copies of the parameters a training run holds: the parameters, their gradient and decay mask,
#: the last good epoch's and the snapshot's copies, the best so far, and one while a checkpoint is
#: written; the optimizer's state comes on top.
TRAINING_COPIES = 7
OPTIMIZER_STATE_ARRAYS = {
    "sgd": 0,
    "momentum": 1,
    "nesterov": 1,
    "rmsprop": 1,
    "adam": 2,
    "adamw": 2,
}


class NotEnoughMemory(InputError):
    """What was asked for would not fit in the memory this machine has available."""


def available_bytes() -> int | None:
    """The memory available to new allocations now (Linux's MemAvailable), or ``None``."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):  # not on this platform
        return None


def describe(n: float) -> str:
    """A byte count for people: ``"29.6 GiB"``."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def n_parameters(layer_sizes: Sequence[int]) -> int:
    """Weights and biases of a fully connected network with these layer sizes."""
    return sum((fan_in + 1) * fan_out for fan_in, fan_out in pairwise(layer_sizes))


def network_bytes(layer_sizes: Sequence[int], itemsize: int) -> int:
    """A network's parameters, their gradient and the decay mask."""
    return 3 * n_parameters(layer_sizes) * itemsize


def training_bytes(
    layer_sizes: Sequence[int],
    itemsize: int,
    n_samples: int,
    batch_size: int,
    optimizer: str = "sgd",
) -> int:
    """A training run: parameters and their copies, the data twice over (as given and the epoch's
    shuffled copy), every sample's probabilities, and the buffers of a batch and of evaluation."""
    copies = TRAINING_COPIES + OPTIMIZER_STATE_ARRAYS.get(optimizer, 2)
    n_in, n_classes = layer_sizes[0], layer_sizes[-1]
    data = n_samples * (2 * (n_in + 1) + 3 * n_classes)
    buffers = (max(batch_size, 1024) + 1) * 4 * sum(n + 1 for n in layer_sizes)
    return (copies * n_parameters(layer_sizes) + data + buffers) * itemsize


def ensure_fits(needed: int, what: str) -> None:
    """Raise :class:`NotEnoughMemory` naming ``what`` when ``needed`` bytes are not available."""
    available = available_bytes()
    if available is not None and needed > available:
        raise NotEnoughMemory(
            f"{what} needs about {describe(needed)} of memory; this machine has "
            f"{describe(available)} available"
        )


__all__ = [
    "NotEnoughMemory",
    "available_bytes",
    "describe",
    "ensure_fits",
    "n_parameters",
    "network_bytes",
    "training_bytes",
]
