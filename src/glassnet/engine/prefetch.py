"""Each epoch's shuffled copy of the training data, made with a second core's help.

The training loop reads every mini-batch as a contiguous slice of a copy of the training set in the
epoch's shuffled order. Making that copy is pure data movement, so while one core trains, another can
make it; this module does that for every engine.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating[Any]]

#: Copies at least this large get a second core's help; below, a thread costs more than it saves.
HELPER_BYTES = 16 << 20


class ShuffledCopy:
    """Copies of source arrays in an epoch's shuffled order, made a part at a time as training goes.

    Copying 60,000 MNIST rows in a new order costs as much as some 40 steps at batch 10. The copy
    is bound by memory, not arithmetic, and ``np.take`` releases the GIL, so a ``helper`` thread
    can share it. When the products run on one BLAS thread (small batches) a core sits idle, and
    with ``ahead`` the helper copies part ``p + 1`` (whole batches) while training runs on part
    ``p``: only the first part is copied before training starts. Otherwise the whole copy is made
    at once, half by each core (or all by one, without a helper). The result is the same every
    way: ``copy[i] = source[order[i]]`` for every pair.

    An epoch may also change its copy (augmentation): ``change(lo, hi)``, set before
    :meth:`begin`, is called on each range of rows as soon as they are copied, by whichever
    thread copied them; it must give the same rows whichever way the epoch is cut. Changing costs
    far more than copying, so an epoch that changes its copy ahead is cut into ``PARTS_CHANGED``
    parts, and its first part, made before training starts, is shared by both threads.
    """

    PARTS = 16
    PARTS_CHANGED = 64

    def __init__(
        self,
        pairs: list[tuple[Array, Array]],
        batch_size: int,
        helper: bool,
        ahead: bool,
        changes: bool = False,
    ) -> None:
        self.pairs = pairs  # (source, its epoch copy)
        n = len(pairs[0][0])
        steps = math.ceil(n / batch_size)
        self.ahead = ahead and helper
        parts = self.PARTS_CHANGED if changes else self.PARTS
        per_part = math.ceil(steps / parts) if self.ahead else steps
        self.starts = list(range(0, steps, per_part))  # each part's first step
        self.rows = [min(n, first * batch_size) for first in [*self.starts, steps]]
        self.pool = ThreadPoolExecutor(1, "glassnet-shuffle") if helper else None
        self.pending: Future[None] | None = None
        self.order: NDArray[np.intp] = np.empty(0, np.intp)
        self.change: Callable[[int, int], None] | None = None
        self.part = 0
        self.next_step = -1  # the step at which advance() must run; -1: none this epoch

    def begin(self, order: NDArray[np.intp]) -> None:
        """Start an epoch: copy its first part (the whole copy, unless copying ahead), and
        ``change`` every range of rows once it is copied."""
        self._wait()  # an epoch cut short may have left a part in flight
        self.order, self.part = order, 0
        if self.ahead and self.change is None:
            self._copy(self.rows[0], self.rows[1])
        elif self.pool is not None:
            end = self.rows[1] if self.ahead else len(order)
            middle = end // 2
            self.pending = self.pool.submit(self._copy, middle, end)
            self._copy(0, middle)
            self._wait()
        else:
            self._copy(0, len(order))
        self.next_step = -1
        self.advance()

    def advance(self) -> None:
        """Wait for the part training is about to enter; start copying the one after it."""
        self._wait()
        self.part += 1
        if self.ahead and self.part < len(self.starts):
            lo, hi = self.rows[self.part], self.rows[self.part + 1]
            self.pending = self.pool.submit(self._copy, lo, hi)  # type: ignore[union-attr]
            self.next_step = self.starts[self.part]
        else:
            self.next_step = -1

    def close(self) -> None:
        """Stop the helper. A part still in flight (an epoch cut short) is no longer needed: it is
        waited for, but whatever it raised must not hide why the run stopped."""
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.exception()
        if self.pool is not None:
            self.pool.shutdown()

    def _copy(self, lo: int, hi: int) -> None:
        for source, copy in self.pairs:
            # mode="clip" (the indices are valid anyway) lets take write straight into the copy.
            np.take(source, self.order[lo:hi], axis=0, out=copy[lo:hi], mode="clip")
        if self.change is not None:
            self.change(lo, hi)

    def _wait(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.result()


def cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
