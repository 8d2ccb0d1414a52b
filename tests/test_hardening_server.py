"""A connection that sends nothing, half a request's head, or a head a byte at a time, is closed
within a few seconds of opening (or of its last answer); a body that stops coming likewise. Tested
with real sockets against a real ``glassnet serve`` on 127.0.0.1, every wait bounded, the server
stopped by its process id; with the server allowed 64 descriptors, 150 idle connections no longer
keep a normal ``GET /`` from being answered."""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import RunningServer, reaped, start_limited_server, start_server

pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

from glassnet import Network  # noqa: E402
from glassnet.web.listen import REQUEST_SECONDS  # noqa: E402

#: How long a test waits for the server to close a connection: the deadline and a margin.
WAIT = REQUEST_SECONDS + 5


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("model")
    return Network([784, 16, 10], "relu", seed=0).save(folder / "model.safetensors")


@pytest.fixture(scope="module")
def live(model_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(model_file, tmp_path_factory.mktemp("live"))
    yield running
    running.stop()


def _port(url: str) -> int:
    return int(url.rstrip("/").rsplit(":", 1)[1])


def _closed_after(conn: socket.socket, dribble: bytes = b"") -> float:
    """Seconds until the server closes ``conn`` (sending ``dribble`` a byte every 0.5 s), or
    fail after :data:`WAIT` seconds."""
    started = time.monotonic()
    conn.settimeout(0.5)
    sent = 0
    while time.monotonic() - started < WAIT:
        if sent < len(dribble):
            try:
                conn.sendall(dribble[sent : sent + 1])
            except OSError:
                return time.monotonic() - started
            sent += 1
        try:
            if conn.recv(65536) == b"":
                return time.monotonic() - started
        except TimeoutError:
            continue
        except OSError:  # reset
            return time.monotonic() - started
    pytest.fail(f"the server kept the connection open for {WAIT:.0f} s")


HALF_HEAD = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sent", "dribble"),
    [(b"", b""), (HALF_HEAD, b""), (b"", HALF_HEAD + b"a" * 40)],
    ids=["nothing", "half-a-head", "a-byte-at-a-time"],
)
def test_an_idle_or_incomplete_request_is_closed_in_seconds(
    live: RunningServer, sent: bytes, dribble: bytes
) -> None:
    with socket.create_connection(("127.0.0.1", _port(live.url)), timeout=5) as conn:
        conn.sendall(sent)
        seconds = _closed_after(conn, dribble)
    assert REQUEST_SECONDS - 0.5 <= seconds <= REQUEST_SECONDS + 2
    assert httpx.get(live.url, timeout=10).status_code == 200


@pytest.mark.slow
def test_a_body_that_stops_coming_is_closed_and_a_kept_alive_connection_too(
    live: RunningServer,
) -> None:
    port = _port(live.url)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(
            f"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode()
            + f"Origin: http://127.0.0.1:{port}\r\nContent-Type: application/json\r\n".encode()
            + b'Content-Length: 1000\r\n\r\n{"pixels": ['
        )
        conn.settimeout(REQUEST_SECONDS - 1)
        with pytest.raises(TimeoutError):
            conn.recv(65536)  # no answer yet: the server waits for the rest of the body
        assert _closed_after(conn) <= 3
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(f"GET /api/model HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        conn.settimeout(5)
        assert conn.recv(65536).startswith(b"HTTP/1.1 200")
        # After the answer: half of the next request's head, then nothing.
        assert _closed_after(conn, b"GET / HTTP/1.1\r\n") <= REQUEST_SECONDS + 2
    stderr = live.stderr_path.read_text()
    assert not any(word in stderr for word in ("Traceback", "Exception", "ERROR")), stderr


@pytest.mark.slow
def test_a_request_sent_in_time_is_answered(live: RunningServer) -> None:
    port = _port(live.url)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.settimeout(10)
        for part in (
            b"GET /api/model HTTP/1.1\r\n",
            f"Host: 127.0.0.1:{port}\r\n".encode(),
            b"\r\n",
        ):
            conn.sendall(part)
            time.sleep(REQUEST_SECONDS / 5)
        assert conn.recv(65536).startswith(b"HTTP/1.1 200")


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX descriptor limits")
def test_idle_connections_cannot_starve_the_page(model_file: Path, tmp_path: Path) -> None:
    running = start_limited_server(model_file, tmp_path, open_files=64)
    connections: list[socket.socket] = []
    try:
        with reaped(running.process):
            port = _port(running.url)
            for _ in range(150):  # far more than the server has descriptors for, left idle
                connections.append(socket.create_connection(("127.0.0.1", port), timeout=10))
            started = time.monotonic()
            answer = None
            while answer is None and time.monotonic() - started < 4 * REQUEST_SECONDS + 10:
                try:
                    answer = httpx.get(running.url, timeout=REQUEST_SECONDS)
                except httpx.HTTPError:
                    continue
            assert answer is not None and answer.status_code == 200
            print(f"\nanswered after {time.monotonic() - started:.1f} s beside 150 idle sockets")
            running.stop()
    finally:
        for conn in connections:
            conn.close()
