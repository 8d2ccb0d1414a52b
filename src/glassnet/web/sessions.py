"""The drawing page's own copies of the network: what "learn this" changes, and "reset" throws away.

A page that takes a gradient step on a drawing changes a copy of the network that belongs to that
page alone, kept in the server's memory and never written anywhere. The model file, the network the
server was started with, and every other page stay as they were. Why in the server and not in the
browser: the backward pass the page shows and the step it takes are then :meth:`Network.trace`
itself, the code the tests prove equal to ``backprop`` and to the reference, rather than a second
implementation in JavaScript; and the page needs no copy of the weights.

A page names its copy with a random token it makes when it loads (128 bits, as 32 hex digits) and
sends with each request. A token the server has not seen, or has forgotten, reads the original
network; the first "learn this" makes the copy. Copies are bounded: at most
:data:`MAX_COPY_BYTES` of parameters in all (and :data:`MAX_COPIES` copies); beyond that the copy
used longest ago is dropped, and its page starts again from the original at its next step.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from glassnet.errors import InputError

if TYPE_CHECKING:
    from glassnet.network import Network

__all__ = ["MAX_COPIES", "MAX_COPY_BYTES", "Sessions", "check_token", "copy_network"]

#: At most this many pages keep a copy of their own.
MAX_COPIES = 16
#: And their copies' parameters take at most this much memory together (256 MiB).
MAX_COPY_BYTES = 256 << 20

_TOKEN = re.compile(r"[0-9a-f]{32}")
T = TypeVar("T")


def check_token(value: Any) -> str:
    """A page's session token, checked: 32 lowercase hex digits, else a ``ValueError``."""
    if not isinstance(value, str) or not _TOKEN.fullmatch(value):
        raise InputError('"session" must be 32 hexadecimal digits (0-9, a-f)')
    return value


def copy_network(network: Network) -> Network:
    """A new network with the same shape, parameters, classes and standardizer as ``network``."""
    from glassnet.network import Network

    copy = Network(
        network.layer_sizes,
        network.activation,
        initializer=network.initializer,
        seed=0,
        dtype=network.dtype,
        class_names=network.class_names,
    )
    copy.set_flat_parameters(network.get_flat_parameters())
    copy.standardizer = network.standardizer
    copy.training_settings = dict(network.training_settings)
    copy.metrics = dict(network.metrics)
    return copy


@dataclass
class _Copy:
    network: Network
    steps: int
    lock: threading.Lock


class Sessions:
    """The original network, and the copies pages have changed, by token.

    Parameters
    ----------
    network : Network
        The network the server was started with; never changed.
    max_copies : int, optional
        Most copies kept; by default as many as fit :data:`MAX_COPY_BYTES`, at most
        :data:`MAX_COPIES` and at least one.
    """

    def __init__(self, network: Network, max_copies: int | None = None) -> None:
        self.original = network
        size = max(1, network.n_parameters * network.dtype.itemsize)
        self.max_copies = max_copies or max(1, min(MAX_COPIES, MAX_COPY_BYTES // size))
        self._copies: OrderedDict[str, _Copy] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._copies)

    def steps(self, token: str | None) -> int:
        """How many steps the page's copy has taken (0 for the original)."""
        with self._lock:
            copy = self._copies.get(token) if token else None
            return copy.steps if copy else 0

    def read(self, token: str | None, work: Callable[[Network], T]) -> T:
        """``work(network)`` on the page's copy, or on the original if it has none."""
        with self._lock:
            copy = self._copies.get(token) if token else None
            if copy is not None and token:
                self._copies.move_to_end(token)
        if copy is None:
            return work(self.original)  # never changed, so read without a lock
        with copy.lock:  # one request at a time reads or changes a copy
            return work(copy.network)

    def change(self, token: str, work: Callable[[Network], T]) -> tuple[T, int]:
        """``work(network)`` on the page's copy, made first if need be; and its steps after."""
        with self._lock:
            copy = self._copies.get(token) or self._new_copy(token)
            self._copies.move_to_end(token)
        with copy.lock:
            result = work(copy.network)
            copy.steps += 1
            return result, copy.steps

    def reset(self, token: str) -> bool:
        """Drop the page's copy; whether it had one."""
        with self._lock:
            return self._copies.pop(token, None) is not None

    def _new_copy(self, token: str) -> _Copy:
        while len(self._copies) >= self.max_copies:
            self._copies.popitem(last=False)  # the one used longest ago
        copy = _Copy(copy_network(self.original), 0, threading.Lock())
        self._copies[token] = copy
        return copy
