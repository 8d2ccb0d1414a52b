"""The server when the machine runs short: open files, and a log that stays readable.

Every connection costs the server a file descriptor. When a process reaches its limit (often 1,024
on a desktop), ``accept`` fails with ``EMFILE``, and Python's event loop reports each failure with a
traceback: several for every connection still waiting, several times a second. A few hundred
connections held open once filled a server's log with 50,000 tracebacks in five seconds, and hid
everything else in it. So the server

* raises its own soft limit on open files to the hard limit the system allows (as Go's runtime
  and many servers do), so that it takes far more connections to run out
  (:func:`raise_open_file_limit`);
* reports running out in one line, and again at most once a minute with a count of the failures
  since (:class:`ResourceLog`, installed as the event loop's exception handler); every other
  error goes to the loop's usual handler, traceback and all;
* answers a request that fails for the same reason with 503 and the same one line
  (:func:`glassnet.web.endpoints.error_handlers`).

The connections waiting meanwhile are not lost: the event loop tries again a second later, and
they are served as soon as others close.
"""

from __future__ import annotations

import asyncio
import errno
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

__all__ = ["RESOURCE_ERRNOS", "SHORTAGES", "ResourceLog", "raise_open_file_limit"]

#: Failures that mean "out of file descriptors or memory for sockets", not a fault of the code.
RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
#: Seconds between two reports of the same shortage.
REPORT_EVERY = 60.0
#: The soft limit is raised at most this far, even where the hard limit is higher or unlimited.
MAX_OPEN_FILES = 65536


def raise_open_file_limit(ceiling: int = MAX_OPEN_FILES) -> int | None:
    """Raise this process's soft limit on open files towards its hard limit.

    Parameters
    ----------
    ceiling : int
        The most to raise it to.

    Returns
    -------
    int or None
        The soft limit now, or ``None`` where the system has no such limit (Windows).
    """
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = ceiling if hard == resource.RLIM_INFINITY else min(hard, ceiling)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):  # not allowed here; the old limit stands
            pass
    return int(soft)


class ResourceLog:
    """An event-loop exception handler that reports running out of resources in one line.

    Parameters
    ----------
    stream : text stream, optional
        Where the line goes; standard error by default.
    every : float
        Seconds between two reports.
    clock : callable
        Seconds, monotonic (a test can pass its own).
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        every: float = REPORT_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream, self.every, self.clock = stream, every, clock
        self.last: float | None = None
        self.unreported = 0

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, OSError) and exc.errno in RESOURCE_ERRNOS:
            self.report(exc)
        else:
            loop.default_exception_handler(context)

    def report(self, exc: OSError) -> None:
        """Count one failure; print a line if none was printed in the last ``every`` seconds."""
        self.unreported += 1
        now = self.clock()
        if self.last is not None and now - self.last < self.every:
            return
        since = "" if self.last is None else f" ({self.unreported:,} times since the last report)"
        print(
            f"glassnet serve: out of resources: {exc.strerror or exc}{since}; connections wait "
            "until others close",
            file=self.stream or sys.stderr,
            flush=True,
        )
        self.last, self.unreported = now, 0


#: The one log of shortages in this process: the event loop's and the app's failures count together.
SHORTAGES = ResourceLog()
