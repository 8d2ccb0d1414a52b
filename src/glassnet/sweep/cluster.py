"""Where trials run: a Dask cluster, made on this machine or one that exists already.

By default :func:`connect` starts a local cluster sized to the machine: one worker process per
usable core, each running one trial at a time on one thread (Dask's workers start with their BLAS
libraries on one thread, so trials side by side do not fight over cores). Given a scheduler's
address it joins that cluster instead, unchanged, and waits for it to have a worker. Dask is an
optional extra (``pip install "glassnet[sweep]"``), imported only here and on the workers.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from glassnet.errors import GlassnetError, one_line, printable
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

    check_scheduler(address, CONNECT_SECONDS)
    try:
        client = Client(address, timeout=CONNECT_SECONDS, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise GlassnetError(
            f"cannot reach the Dask scheduler at {address}: {one_line(exc)}"
        ) from None
    try:
        _wait_for_a_worker(client, address, wait_seconds, stop)
        count = len(client.scheduler_info(n_workers=-1)["workers"])
        yield Cluster(client, f"the Dask cluster at {address} ({_count(count, 'worker')} now)")
    finally:
        client.close()


def check_scheduler(address: str, seconds: float) -> None:
    """Refuse, in one line within about ``seconds``, an address that is not a Dask scheduler's.

    The address must read as ``tcp://HOST:PORT`` (or ``HOST:PORT``); something must listen there;
    and it must answer Dask's greeting as a scheduler does. An HTTP server, a dashboard's port or a
    listener that never answers would otherwise keep a client trying for minutes, and its
    unfinished connection would fail again, with a traceback, as the program ends.
    """
    from distributed.comm import parse_address
    from distributed.comm.addressing import parse_host_port

    try:
        scheme, location = parse_address(address)
        host, port = parse_host_port(location)
    except (ValueError, TypeError) as exc:
        raise GlassnetError(
            f"--scheduler {printable(address, 80)}: not a scheduler's address ({one_line(exc, 120)}); "
            "give it as tcp://HOST:PORT, e.g. tcp://127.0.0.1:8786"
        ) from None
    if scheme not in ("tcp", "tls"):
        return  # another transport: let Dask say what it makes of it
    try:
        reply = asyncio.run(_identity(f"{scheme}://{host}:{port}", seconds))
    except (OSError, TimeoutError, asyncio.TimeoutError) as exc:
        what = "no answer" if isinstance(exc, TimeoutError) else one_line(exc, 120)
        raise GlassnetError(
            f"cannot reach the Dask scheduler at {address}: {what or 'no answer'} (tried for "
            f"{seconds:g} s); start one with: dask scheduler"
        ) from None
    except Exception:  # garbage where Dask's messages belong
        raise GlassnetError(
            f"{address} does not answer as a Dask scheduler (it sent something else); is it the "
            "scheduler's address (not its dashboard's)?"
        ) from None
    if not (isinstance(reply, dict) and reply.get("type") == "Scheduler"):
        raise GlassnetError(f"{address} does not answer as a Dask scheduler")


async def _identity(address: str, seconds: float) -> Any:
    """What the server at ``address`` says it is, asked as Dask asks, all within ``seconds``."""
    from distributed.comm import connect

    async def ask() -> Any:
        comm = await connect(address, timeout=seconds)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    return await asyncio.wait_for(ask(), seconds)


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


class WorkerWatch:
    """Notices a cluster left without workers while trials wait: every worker killed, say.

    A trial handed to a cluster with no worker waits for one for ever. Looked at every
    ``look_seconds``; after ``wait_seconds`` without a worker, :meth:`check` raises.
    """

    def __init__(self, client: Any, wait_seconds: float, look_seconds: float = 2.0) -> None:
        self.client, self.wait_seconds, self.look_seconds = client, wait_seconds, look_seconds
        self.next_look = time.monotonic() + look_seconds
        self.none_since: float | None = None

    def check(self, where: str) -> None:
        """Raise a one-line :class:`GlassnetError` if the cluster has had no worker too long."""
        now = time.monotonic()
        if now < self.next_look:
            return
        self.next_look = now + self.look_seconds
        if self.client.scheduler_info(n_workers=-1).get("workers"):
            self.none_since = None
            return
        self.none_since = self.none_since or now
        if now - self.none_since >= self.wait_seconds:
            raise GlassnetError(
                f"the Dask cluster has had no worker for {self.wait_seconds:g} s, so no trial can "
                f"run: every finished trial is recorded in {where}; start workers and run the same "
                "command again to finish the rest"
            )
