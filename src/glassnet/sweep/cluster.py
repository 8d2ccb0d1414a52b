"""Where trials run: a Dask cluster, made on this machine or one that exists already.

By default :func:`connect` starts a local cluster sized to the machine: one worker process per
usable core, each running one trial at a time on one thread (Dask's workers start with their BLAS
libraries on one thread, so trials side by side do not fight over cores). Given a scheduler's
address it joins that cluster instead, unchanged, and waits for it to have a worker. Dask is an
optional extra (``pip install "glassnet[sweep]"``), imported only here and on the workers.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from glassnet.errors import GlassnetError, one_line
from glassnet.sweep.stopping import POLL_SECONDS, StopRequest

#: How long to try to reach a scheduler, and to wait for it to have a worker.
CONNECT_SECONDS = 10.0
WORKER_WAIT_SECONDS = 30.0


@dataclass
class Cluster:
    """A Dask client, and in words which cluster it talks to."""

    client: Any
    description: str


def require_dask() -> None:
    """A one-line :class:`GlassnetError` saying how to install Dask, where it is missing."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise GlassnetError(
            'sweeps run their trials on Dask: pip install "glassnet[sweep]"'
        ) from None


def usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


@contextmanager
def connect(
    scheduler: str | None = None,
    workers: int | None = None,
    *,
    wait_seconds: float = WORKER_WAIT_SECONDS,
    stop: StopRequest | None = None,
) -> Iterator[Cluster]:
    """A client of the cluster at ``scheduler``, or of a new local cluster of ``workers`` workers
    (default: one per usable core), closed on the way out.

    Raises :class:`GlassnetError` when the scheduler cannot be reached or has no worker within
    ``wait_seconds``; :class:`~glassnet.sweep.stopping.Stopped` when ``stop`` notes a signal
    while it waits for a worker.
    """
    require_dask()
    if scheduler:
        with _existing(scheduler, wait_seconds, stop or StopRequest()) as cluster:
            yield cluster
    else:
        with _local(workers or usable_cores()) as cluster:
            yield cluster


@contextmanager
def _existing(address: str, wait_seconds: float, stop: StopRequest) -> Iterator[Cluster]:
    from distributed import Client

    try:
        client = Client(address, timeout=CONNECT_SECONDS, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise GlassnetError(
            f"cannot reach the Dask scheduler at {address}: {one_line(exc)}"
        ) from None
    try:
        _wait_for_a_worker(client, address, wait_seconds, stop)
        count = len(client.scheduler_info(n_workers=-1)["workers"])
        yield Cluster(client, f"the Dask cluster at {address} ({_count(count, 'worker')} now)")
    finally:
        client.close()


def _wait_for_a_worker(client: Any, address: str, wait_seconds: float, stop: StopRequest) -> None:
    """Wait for the cluster to have a worker, a moment at a time, so that a stop request is acted
    on while waiting."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            client.wait_for_workers(1, timeout=max(0.01, min(POLL_SECONDS * 5, wait_seconds)))
            return
        except TimeoutError:
            stop.check()
            if time.monotonic() >= deadline:
                raise GlassnetError(
                    f"the Dask scheduler at {address} has no workers (waited {wait_seconds:g} s); "
                    f"start one with: dask worker {address}"
                ) from None


@contextmanager
def _local(workers: int) -> Iterator[Cluster]:
    from distributed import Client, LocalCluster

    with _sigint_blocked():
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port: never "8787 is in use" beside another
            silence_logs=logging.ERROR,
        )
    try:
        client = Client(cluster, set_as_default=False)
        try:
            yield Cluster(client, f"a local Dask cluster of {_count(workers, 'worker')}")
        finally:
            client.close()
    finally:
        cluster.close()


@contextmanager
def _sigint_blocked() -> Iterator[None]:
    """SIGINT held back from this thread, and from the threads and processes it starts meanwhile.

    Ctrl-C in a terminal reaches every process of the foreground group, the workers too. A local
    cluster's threads and worker processes are started with SIGINT blocked (a mask that new
    threads and new processes inherit, restarted workers too), so that Ctrl-C stops the sweep
    once, here, which then closes them. Blocked, not ignored: a Ctrl-C pressed while the cluster
    starts waits, and is acted on once this thread unblocks it, where ignoring it would lose it.
    """
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - not on POSIX
        yield
        return
    # multiprocessing starts its resource tracker with SIGINT blocked, then unblocks SIGINT in the
    # thread that started it, whatever its mask was: started here first, it is not started again
    # inside the cluster's threads, and their mask stays as set below.
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


__all__ = [
    "CONNECT_SECONDS",
    "WORKER_WAIT_SECONDS",
    "Cluster",
    "connect",
    "require_dask",
    "usable_cores",
]
