"""The web server under hostile or unlucky conditions: each ends in a clean answer and a quiet log.

* headers the guard cannot read (``Host: 127.0.0.1:²``): 403 or 400, never a 500 and a traceback;
* a client that goes away in the middle of its body: nothing in the log;
* a server out of file descriptors: one line in the log, not tens of thousands of tracebacks, and
  it serves again once connections close;
* the largest canvas the API accepts fits the body limit.

The tests about sockets and logs run ``glassnet serve`` as a subprocess and read its stderr.
"""

from __future__ import annotations

import asyncio
import errno
import io
import json
import socket
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import RunningServer, reaped, start_limited_server, start_server

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

with warnings.catch_warnings():  # newer Starlette prefers httpx2 for its test client
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from glassnet import Network  # noqa: E402
from glassnet.web.limits import ResourceLog, raise_open_file_limit  # noqa: E402
from glassnet.web.server import MAX_BODY_BYTES, MAX_CANVAS_SIDE, create_app  # noqa: E402

BASE = "http://127.0.0.1:8000"
LOG_NOISE = ("Traceback", "Exception", "ERROR")


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Network([784, 16, 10], "relu", seed=0)), base_url=BASE) as c:
        yield c


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("model")
    return Network([784, 16, 10], "relu", seed=0).save(folder / "model.safetensors")


@pytest.fixture(scope="module")
def live(model_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(model_file, tmp_path_factory.mktemp("live"))
    yield running
    running.stop()


def port_of(url: str) -> int:
    return int(url.rstrip("/").rsplit(":", 1)[1])


def raw_exchange(port: int, request: bytes) -> bytes:
    """Send bytes exactly as given; return the whole reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    return reply


def status_of(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1])


# ----------------------------------------------------------------------- unreadable headers
def asgi_request(app: Any, method: str, headers: list[tuple[bytes, bytes]]) -> tuple[int, Any]:
    """Call the ASGI app with header bytes exactly as given (a test client would re-encode them,
    and servers decode header bytes as Latin-1, so the byte 0xB2 arrives as '²')."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": "/api/model" if method == "GET" else "/api/predict",
        "raw_path": b"/", "query_string": b"", "root_path": "", "headers": headers,
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }  # fmt: skip
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], json.loads(sent[1]["body"])


@pytest.fixture(scope="module")
def app() -> Any:
    return create_app(Network([784, 16, 10], "relu", seed=0))


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1:²".encode("latin-1"),  # '²': str.isdigit() says yes, int() says no
        "localhost:¹²".encode("latin-1"),
        "[::1]:³".encode("latin-1"),
        "127.0.0.1:8000²".encode("latin-1"),
        "127.0.0.1:٣".encode(),  # an Arabic-Indic three, in UTF-8
        "localhost:８０００".encode(),  # full-width digits
    ],
)
def test_a_host_header_with_other_digits_is_refused_not_a_fault(app: Any, host: bytes) -> None:
    status, answer = asgi_request(app, "GET", [(b"host", host)])
    assert (status, answer) == (403, {"error": "missing or malformed Host header"})


@pytest.mark.parametrize("length", ["²", "1²", "٣", "１０"])
def test_a_content_length_with_other_digits_is_400(app: Any, length: str) -> None:
    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"content-type", b"application/json"),
        (b"content-length", length.encode("latin-1", errors="ignore") or length.encode()),
    ]
    status, answer = asgi_request(app, "POST", headers)
    assert status == 400 and "Content-Length" in answer["error"]


@pytest.mark.slow
def test_a_host_header_in_raw_bytes_leaves_no_traceback(tmp_path: Path, model_file: Path) -> None:
    """The reported case: the byte 0xB2 ('²' in Latin-1) after the colon of a real request."""
    running = start_server(model_file, tmp_path)
    try:
        port = port_of(running.url)
        for host in (b"127.0.0.1:\xb2", b"localhost:\xb9\xb2", b"[::1]:\xb3"):
            reply = raw_exchange(
                port, b"GET /api/model HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n"
            )
            assert status_of(reply) == 403, reply
        assert httpx.get(running.url + "api/model", timeout=10).status_code == 200
    finally:
        stderr = running.stop()
    assert not any(word in stderr for word in LOG_NOISE), stderr


# ------------------------------------------------------------------- clients that go away
@pytest.mark.slow
def test_a_client_leaving_mid_body_leaves_no_trace_in_the_log(live: RunningServer) -> None:
    port = port_of(live.url)
    head = (
        f"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Content-Type: application/json\r\n"
    ).encode()
    for framing, partial in (
        (b"Content-Length: 5000\r\n\r\n", b'{"pixels": [[0, 0, '),
        (b"Transfer-Encoding: chunked\r\n\r\n", b'10\r\n{"pixels": [[0, \r\n'),
        (b"Content-Length: 5000\r\n\r\n", b""),
    ):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(head + framing + partial)
            time.sleep(0.2)  # let the server start reading the body
    time.sleep(0.5)
    assert httpx.get(live.url + "api/model", timeout=10).status_code == 200
    stderr = live.stderr_path.read_text()
    assert not any(word in stderr for word in LOG_NOISE), stderr


# ------------------------------------------------------------- out of file descriptors
@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX descriptor limits")
def test_running_out_of_file_descriptors_is_one_line_and_the_server_recovers(
    model_file: Path, tmp_path: Path
) -> None:
    psutil = pytest.importorskip("psutil")
    running = start_limited_server(model_file, tmp_path, open_files=64)
    connections: list[socket.socket] = []
    try:
        with reaped(running.process):
            port = port_of(running.url)
            for _ in range(150):  # far more than the server has descriptors for
                connections.append(socket.create_connection(("127.0.0.1", port), timeout=10))
            server = psutil.Process(running.process.pid)
            cpu_before = sum(server.cpu_times()[:2])
            time.sleep(2.5)  # the event loop retries accepting every second meanwhile
            cpu_seconds = sum(server.cpu_times()[:2]) - cpu_before
            for conn in connections:
                conn.close()
            connections.clear()
            time.sleep(1.5)
            answer = httpx.get(running.url + "api/model", timeout=10)
            assert answer.status_code == 200
            stderr = running.stop()
    finally:
        for conn in connections:
            conn.close()
    lines = [line for line in stderr.splitlines() if line.strip()]
    print(f"\nout of descriptors for 2.5 s: {len(lines)} log lines, {cpu_seconds:.2f} s of CPU")
    assert not any(word in stderr for word in LOG_NOISE), stderr[:2000]
    shortage = [line for line in lines if "out of resources" in line]
    assert len(shortage) == 1 and "Too many open files" in shortage[0]
    assert len(lines) <= 3, lines  # "press Ctrl-C to stop", the one report, perhaps nothing else


def test_the_resource_log_reports_once_a_minute_with_a_count() -> None:
    now = [100.0]
    stream = io.StringIO()
    log = ResourceLog(stream, every=60.0, clock=lambda: now[0])
    shortage = OSError(errno.EMFILE, "Too many open files")

    class Loop:
        def __init__(self) -> None:
            self.handled: list[dict[str, object]] = []

        def default_exception_handler(self, context: dict[str, object]) -> None:
            self.handled.append(context)

    loop = Loop()
    for _ in range(5000):
        log(loop, {"message": "socket.accept() out of system resource", "exception": shortage})  # type: ignore[arg-type]
        now[0] += 0.001
    assert stream.getvalue().count("\n") == 1
    now[0] += 60.0
    log(loop, {"exception": shortage})  # type: ignore[arg-type]
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and "(5,000 times since the last report)" in lines[1]
    other = {"message": "something else", "exception": ValueError("x")}
    log(loop, other)  # type: ignore[arg-type]
    assert loop.handled == [other]  # every other error goes to the loop's usual handler


def test_the_open_file_limit_is_raised_towards_the_hard_limit() -> None:
    resource = pytest.importorskip("resource")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        lowered = min(soft, 256)
        resource.setrlimit(resource.RLIMIT_NOFILE, (lowered, hard))
        raised = raise_open_file_limit(ceiling=lowered + 100)
        expected = lowered + 100 if hard == resource.RLIM_INFINITY else min(hard, lowered + 100)
        assert raised == expected == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_requests_failing_for_want_of_descriptors_are_503_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from glassnet.web import limits, prediction

    def out_of_files(*args: object) -> None:
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(limits.SHORTAGES, "last", None)
    monkeypatch.setattr(prediction, "predict_canvas", out_of_files)
    app = create_app(Network([784, 16, 10], "relu", seed=0))
    with TestClient(app, base_url=BASE, raise_server_exceptions=False) as c:
        for _ in range(20):
            response = c.post("/api/predict", json={"pixels": [[0] * 8] * 8})
            assert response.status_code == 503
            assert "short of resources" in response.json()["error"]
    assert capsys.readouterr().err.count("out of resources") == 1


# ----------------------------------------------------------------- canvas and body limit
def largest_canvas_body() -> bytes:
    """The largest canvas the API accepts, as json.dumps writes it: every value three digits, a
    wide frame of 100 (the paper) around a block of 255 (the ink)."""
    side, frame = MAX_CANVAS_SIDE, MAX_CANVAS_SIDE // 16
    paper, ink = [100] * side, [100] * frame + [255] * (side - 2 * frame) + [100] * frame
    rows = [paper] * frame + [ink] * (side - 2 * frame) + [paper] * frame
    return json.dumps({"pixels": rows}).encode()


@pytest.mark.slow
def test_the_largest_canvas_the_docs_allow_fits_the_body_limit(client: TestClient) -> None:
    body = largest_canvas_body()
    assert len(body) <= MAX_BODY_BYTES
    response = client.post(
        "/api/predict", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text[:200]
    assert response.json()["empty"] is False
    # One more row and column is refused for its size, not for its bytes.
    side = MAX_CANVAS_SIDE + 1
    bigger = json.dumps({"pixels": [[0] * side] * side}).encode()
    assert len(bigger) <= MAX_BODY_BYTES
    response = client.post(
        "/api/predict", content=bigger, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400 and "expected 8 to 1024" in response.json()["error"]


@pytest.mark.slow
def test_the_largest_canvas_through_a_real_server(live: RunningServer) -> None:
    started = time.perf_counter()
    response = httpx.post(
        live.url + "api/predict",
        content=largest_canvas_body(),
        headers={"content-type": "application/json"},
        timeout=60,
    )
    seconds = time.perf_counter() - started
    assert response.status_code == 200, response.text[:200]
    assert response.json()["empty"] is False
    print(
        f"\nthe largest canvas, {len(largest_canvas_body()):,} bytes: answered in {seconds:.2f} s"
    )
