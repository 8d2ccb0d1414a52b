"""Schedulers that are not: a sweep given a bad address, or left without workers, says so in one
line within a stated time, keeping what finished."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from glassnet.errors import GlassnetError
from glassnet.sweep.cluster import WorkerWatch, check_scheduler


@pytest.fixture
def listener() -> Iterator[tuple[socket.socket, list[bytes]]]:
    """A TCP listener on 127.0.0.1 that answers each connection with what the list holds (nothing,
    while it is empty), closed afterwards."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    answers: list[bytes] = []
    accepted: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            accepted.append(connection)
            if answers:
                connection.sendall(answers[0])

    threading.Thread(target=serve, daemon=True).start()
    yield server, answers
    server.close()
    for connection in accepted:
        connection.close()


@pytest.mark.parametrize("address", ["garbage", "tcp://127.0.0.1", "tcp://[::1", "localhost"])
def test_an_address_that_is_not_one_is_refused_at_once(address: str) -> None:
    started = time.monotonic()
    with pytest.raises(GlassnetError, match=r"not a scheduler's address.*tcp://HOST:PORT"):
        check_scheduler(address, 5.0)
    assert time.monotonic() - started < 2.0


def test_a_server_answering_something_else_is_named(
    listener: tuple[socket.socket, list[bytes]],
) -> None:
    server, answers = listener
    answers.append(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello" * 4)
    address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
    started = time.monotonic()
    with pytest.raises(GlassnetError, match="does not answer as a Dask scheduler"):
        check_scheduler(address, 3.0)
    assert time.monotonic() - started < 5.0


def test_a_listener_that_never_answers_is_given_up_on_in_the_stated_time(
    listener: tuple[socket.socket, list[bytes]],
) -> None:
    server, _ = listener
    address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
    started = time.monotonic()
    with pytest.raises(GlassnetError, match=r"cannot reach the Dask scheduler.*tried for 1 s"):
        check_scheduler(address, 1.0)
    assert 0.9 <= time.monotonic() - started < 4.0


def test_nothing_listening_is_one_line() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once closed: nothing listens there
    with pytest.raises(GlassnetError, match="cannot reach the Dask scheduler"):
        check_scheduler(f"tcp://127.0.0.1:{port}", 2.0)


class FakeClient:
    def __init__(self) -> None:
        self.workers: dict[str, object] = {"w1": {}}

    def scheduler_info(self, n_workers: int = 5) -> dict[str, object]:
        return {"workers": dict(self.workers)}


def test_a_cluster_left_without_workers_stops_the_sweep_after_the_wait() -> None:
    client = FakeClient()
    watch = WorkerWatch(client, wait_seconds=0.3, look_seconds=0.05)
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:  # workers there: nothing to say
        watch.check("sweep")
        time.sleep(0.02)
    client.workers.clear()  # every worker gone
    started = time.monotonic()
    with pytest.raises(GlassnetError, match=r"no worker for 0.3 s.*recorded in sweep"):
        while time.monotonic() - started < 5.0:
            watch.check("sweep")
            time.sleep(0.02)
    assert time.monotonic() - started < 1.0


def test_a_worker_that_comes_back_in_time_is_waited_for() -> None:
    client = FakeClient()
    watch = WorkerWatch(client, wait_seconds=0.5, look_seconds=0.05)
    client.workers.clear()
    time.sleep(0.1)
    watch.check("sweep")
    client.workers["w2"] = {}
    for _ in range(30):
        watch.check("sweep")
        time.sleep(0.03)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_pipes_in_a_sweep_folder_are_not_waited_on(tmp_path: Path) -> None:
    """A named pipe where a trial's record or the trial list belongs is not read: the trial counts
    as not run, and the list as unreadable, at once."""
    from glassnet.sweep.folder import RECORD, TRIALS, TRIALS_DIR, SweepFolder
    from glassnet.sweep.spec import read_spec

    trial = tmp_path / TRIALS_DIR / "trial-001"
    trial.mkdir(parents=True)
    os.mkfifo(trial / RECORD)
    os.mkfifo(tmp_path / TRIALS)
    os.mkfifo(tmp_path / "spec.toml")
    started = time.monotonic()
    assert SweepFolder(tmp_path).records() == {}
    with pytest.raises(ValueError, match="named pipe"):
        SweepFolder(tmp_path).check_same([])
    with pytest.raises(ValueError, match="named pipe"):
        read_spec(tmp_path / "spec.toml")
    assert time.monotonic() - started < 5.0


def test_a_spec_nested_thousands_deep_is_one_line(tmp_path: Path) -> None:
    from glassnet.sweep.spec import read_spec

    spec = tmp_path / "deep.toml"
    spec.write_text("[settings]\nx = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ValueError, match="nested 5,000 deep"):
        read_spec(spec)
