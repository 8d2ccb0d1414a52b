"""Stopping a sweep: Ctrl-C and SIGTERM noted the moment they arrive, acted on where a sweep can stop.

Left to itself, Python turns Ctrl-C into a ``KeyboardInterrupt`` raised at whatever line the main
thread happens to be running. A sweep's main thread runs Dask's code too, and an exception raised
inside a finalizer (a Dask future's ``__del__``, a callback of the garbage collector, which runs
wherever memory is allocated) is printed as "Exception ignored" and dropped: the Ctrl-C is lost, and
the sweep runs every trial to the end. So while a sweep runs, SIGINT and SIGTERM only note that they
came (:func:`stop_requests`); the loop that waits for trials looks at the note every
:data:`POLL_SECONDS` and stops there, in its own words (:class:`Stopped`). The first signal also
puts back the handlers that were there before, so that a second Ctrl-C stops at once.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: The signals that stop a sweep.
SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: How often a sweep waiting for its trials looks for a stop request, in seconds.
POLL_SECONDS = 0.1


class Stopped(KeyboardInterrupt):
    """A sweep stopped for a signal: ``signum`` is ``SIGINT`` (Ctrl-C) or ``SIGTERM``."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


class StopRequest:
    """The first SIGINT or SIGTERM that came while :func:`stop_requests` listened, if any."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def check(self) -> None:
        """Raise :class:`Stopped` if a signal came."""
        if self.signum is not None:
            raise Stopped(self.signum)


@contextmanager
def stop_requests() -> Iterator[StopRequest]:
    """Note SIGINT and SIGTERM instead of acting on them, inside the ``with`` block.

    Only the main thread can set signal handlers (and Python runs them only there); called from
    another thread this notes nothing, and the signals do what they did before.
    """
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return
    previous = {signum: _handler(signum) for signum in SIGNALS}

    def note(signum: int, frame: Any) -> None:
        # Nothing here may raise: this can run inside any finalizer of the main thread.
        if request.signum is None:
            request.signum = signum
        for number, handler in previous.items():
            signal.signal(number, handler)

    for signum in SIGNALS:
        signal.signal(signum, note)
    try:
        yield request
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _handler(signum: int) -> Any:
    """The handler of ``signum`` now, in a form ``signal.signal`` takes back."""
    handler = signal.getsignal(signum)
    return signal.SIG_DFL if handler is None else handler  # None: set outside Python


__all__ = ["POLL_SECONDS", "SIGNALS", "StopRequest", "Stopped", "stop_requests"]
