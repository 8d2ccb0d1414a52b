"""Tests for the drawing page's server: routes, validation, the security rules, and speed.

Most tests call the Starlette app in process through its TestClient; those about sockets (the
address bound, body limits on a real connection, latency) run ``glassnet serve`` as a subprocess.
"""

from __future__ import annotations

import json
import queue
import socket
import statistics
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import RunningServer, start_server

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")
Image = pytest.importorskip("PIL.Image")
ImageDraw = pytest.importorskip("PIL.ImageDraw")

with warnings.catch_warnings():  # newer Starlette prefers httpx2 for its test client
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from glassnet import Network  # noqa: E402
from glassnet.datasets.preprocess import Standardizer  # noqa: E402
from glassnet.errors import GlassnetError  # noqa: E402
from glassnet.images import mnist_pixels, to_mnist  # noqa: E402
from glassnet.web import listen, prediction  # noqa: E402
from glassnet.web.server import (  # noqa: E402
    MAX_BODY_BYTES,
    STATIC_DIR,
    RequestGuard,
    create_app,
    parse_pixels,
    serve,
)

BASE = "http://127.0.0.1:8000"


# ------------------------------------------------------------------------------------ fixtures
def canvas_seven(size: int = 280) -> list[list[int]]:
    """A '7' in thick white strokes on black, as the page's canvas holds it."""
    image = Image.new("L", (size, size), 0)
    s = size / 280
    ImageDraw.Draw(image).line(
        [(80 * s, 60 * s), (200 * s, 60 * s), (120 * s, 230 * s)], fill=255, width=int(20 * s)
    )
    return np.asarray(image).tolist()


@pytest.fixture(scope="module")
def network() -> Network:
    """An untrained network, standardizing as one trained on MNIST would."""
    net = Network([784, 32, 16, 10], "relu", seed=0)
    net.standardizer = Standardizer(np.array([33.3]), np.array([78.6]))
    return net


@pytest.fixture(scope="module")
def client(network: Network) -> Iterator[TestClient]:
    with TestClient(create_app(network), base_url=BASE) as test_client:
        yield test_client


def predict(client: TestClient, payload: Any, **headers: str) -> httpx.Response:
    body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    return client.post(
        "/api/predict", content=body, headers={"content-type": "application/json", **headers}
    )


def assert_error(response: httpx.Response, status: int) -> str:
    """The response is a one-line JSON error of this status, with nothing internal in it."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["error"] and isinstance(body["error"], str)
    message: str = body["error"]
    assert message and "\n" not in message
    for leak in ("Traceback", 'File "', ".py", "site-packages", "starlette", "uvicorn"):
        assert leak not in response.text
    return message


# --------------------------------------------------------------------------------- the routes
def test_page_and_static_files_are_served_with_no_outside_references(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for element in ('id="canvas"', 'id="clear"', 'id="bars"', 'id="prediction"', 'id="input"'):
        assert element in page.text
    names = sorted(p.name for p in STATIC_DIR.iterdir() if p.suffix in (".js", ".css"))
    assert {"app.js", "backward.js", "grids.js", "style.css"} <= set(names)
    for name in names:
        response = client.get(f"/static/{name}")
        assert response.status_code == 200
        kind = "javascript" if name.endswith(".js") else "text/css"
        assert kind in response.headers["content-type"]
        assert "http://" not in response.text and "https://" not in response.text
        assert response.text == (STATIC_DIR / name).read_text()
    assert "https://" not in page.text and "http://" not in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"


def test_model_describes_the_network(client: TestClient, network: Network) -> None:
    info = client.get("/api/model").json()
    assert info["layer_sizes"] == [784, 32, 16, 10]
    assert info["class_names"] == [str(k) for k in range(10)]
    assert info["activation"] == "relu"
    assert info["n_parameters"] == network.n_parameters
    assert info["input_shape"] == [28, 28]


def test_model_metrics_with_non_finite_values_stay_valid_json() -> None:
    net = Network([784, 8, 10], seed=0)
    net.metrics = {"test_accuracy": 0.9, "val_loss": float("nan"), "epochs": np.int64(3)}
    with TestClient(create_app(net), base_url=BASE) as c:
        assert c.get("/api/model").json()["metrics"] == {
            "test_accuracy": 0.9,
            "val_loss": None,
            "epochs": 3,
        }


def test_predict_answers_with_probabilities_and_the_network_inside(
    client: TestClient, network: Network
) -> None:
    response = predict(client, {"pixels": canvas_seven()})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["empty"] is False
    probabilities = answer["probabilities"]
    assert len(probabilities) == 10
    assert sum(probabilities) == pytest.approx(1.0, abs=1e-5)
    top = [t["probability"] for t in answer["top"]]
    assert top == sorted(probabilities, reverse=True)[:3]
    assert [probabilities[t["class"]] for t in answer["top"]] == top
    assert answer["top"][0]["name"] == network.class_names[answer["top"][0]["class"]]
    assert np.shape(answer["input"]) == (28, 28)
    assert [len(layer) for layer in answer["activations"]] == [32, 16]
    assert answer["milliseconds"] > 0


def test_the_page_and_predict_prepare_drawings_the_same_way(
    client: TestClient, network: Network
) -> None:
    pixels = canvas_seven()
    answer = predict(client, {"pixels": pixels}).json()
    image = to_mnist(np.array(pixels, np.uint8))  # the border is black: not inverted
    np.testing.assert_allclose(answer["input"], image, atol=1e-4)
    expected = network.predict_proba(mnist_pixels(image))[0]
    np.testing.assert_allclose(answer["probabilities"], expected, rtol=1e-5, atol=1e-7)


def trimmed(pixels: list[list[int]], margin: int = 8) -> list[list[int]]:
    """The inked part of a canvas with a black margin, as the page's script sends it."""
    canvas = np.array(pixels)
    rows, cols = np.nonzero(canvas)
    top, left = max(rows.min() - margin, 0), max(cols.min() - margin, 0)
    bottom, right = rows.max() + margin + 1, cols.max() + margin + 1
    return canvas[top:bottom, left:right].tolist()


def test_sending_only_the_inked_part_gives_the_same_answer(client: TestClient) -> None:
    whole = predict(client, {"pixels": canvas_seven()}).json()
    part = trimmed(canvas_seven())
    assert len(part) < 280 and len(part[0]) < 280
    answer = predict(client, {"pixels": part}).json()
    assert answer["input"] == whole["input"]
    assert answer["probabilities"] == whole["probabilities"]


def test_canvas_sizes_other_than_280_and_fractional_values_are_accepted(
    client: TestClient,
) -> None:
    pixels = (np.array(canvas_seven(140)) / 2.0).tolist()  # floats up to 127.5
    answer = predict(client, {"pixels": pixels}).json()
    assert answer["empty"] is False and len(answer["probabilities"]) == 10


def test_an_empty_canvas_is_answered_with_an_empty_flag(client: TestClient) -> None:
    answer = predict(client, {"pixels": [[0] * 280 for _ in range(280)]}).json()
    assert answer["empty"] is True
    assert answer["probabilities"] is None and answer["top"] == []
    assert np.shape(answer["input"]) == (28, 28)


def test_unknown_paths_are_404_in_json(client: TestClient) -> None:
    for path in ("/nope", "/static/nope.js", "/static/../server.py", "/api", "/static/"):
        assert_error(client.get(path), 404)


def test_wrong_methods_are_405(client: TestClient) -> None:
    assert_error(client.get("/api/predict"), 405)
    assert_error(client.post("/", content=b"{}"), 405)
    assert_error(client.put("/api/model", content=b"{}"), 405)
    assert_error(client.delete("/api/predict"), 405)


def test_wrong_content_types_are_415(client: TestClient) -> None:
    body = json.dumps({"pixels": canvas_seven()})
    for kind in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data", ""):
        response = client.post("/api/predict", content=body, headers={"content-type": kind})
        assert_error(response, 415)
    ok = client.post(
        "/api/predict", content=body, headers={"content-type": "application/json; charset=utf-8"}
    )
    assert ok.status_code == 200


BLANK_ROW = [0] * 20
# 1e999 is valid JSON; Python reads it as infinity.
OVERFLOWING_FLOAT = (
    '{"pixels": [[1e999' + ", 0" * 19 + "]" + (", [" + "0, " * 19 + "0]") * 19 + "]}"
)


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"{not json", "malformed JSON"),
        (b"", "malformed JSON"),
        (b"\xff\xfe\x00", "malformed JSON"),
        (b'{"pixels": [[NaN, 0]]}', "malformed JSON"),
        (b'{"pixels": [[Infinity]]}', "malformed JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "malformed JSON"),
        (json.dumps([1, 2]), "JSON object"),
        (json.dumps({}), "list of rows"),
        (json.dumps({"pixels": "data:image/png;base64,AAAA"}), "list of rows"),
        (json.dumps({"pixels": [BLANK_ROW] * 20, "extra": 1}), "unknown field 'extra'"),
        (json.dumps({"pixels": [1, 2, 3]}), "list of rows"),
        (json.dumps({"pixels": [BLANK_ROW] * 4}), "has 4 rows"),
        (json.dumps({"pixels": [[0] * 2000] * 10}), "2000 columns"),
        (json.dumps({"pixels": [[0] * 2000] * 10}), "expected 8 to 1024"),
        (json.dumps({"pixels": [BLANK_ROW] * 19 + [[0] * 21]}), "differ in length"),
        (json.dumps({"pixels": [BLANK_ROW] * 19 + [["0"] * 20]}), "numbers only, found str"),
        (json.dumps({"pixels": [BLANK_ROW] * 19 + [[True] * 20]}), "numbers only, found bool"),
        (json.dumps({"pixels": [BLANK_ROW] * 19 + [[None] * 20]}), "found NoneType"),
        (json.dumps({"pixels": [BLANK_ROW] * 19 + [[[0]] * 20]}), "found list"),
        (json.dumps({"pixels": [BLANK_ROW] * 19 + [[-1] * 20]}), "0..255"),
        (json.dumps({"pixels": [BLANK_ROW] * 19 + [[256] * 20]}), "0..255"),
        (OVERFLOWING_FLOAT, "not finite"),
        (json.dumps({"pixels": [BLANK_ROW] * 19 + [[10**400] + [0] * 19]}), "too large"),
    ],
)
def test_malformed_requests_are_400_with_the_reason(
    client: TestClient, body: bytes | str, match: str
) -> None:
    message = assert_error(predict(client, body), 400)
    assert any(part in message for part in match.split("|")), message


def test_infinite_numbers_in_range_checks() -> None:
    rows = [[0.0] * 10 for _ in range(10)]
    rows[3][3] = float("inf")
    with pytest.raises(ValueError, match="not finite"):
        parse_pixels({"pixels": rows})
    rows[3][3] = 255
    assert parse_pixels({"pixels": rows}).shape == (10, 10)


def test_internal_errors_are_500_without_details(
    network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"secret detail in {__file__}")

    monkeypatch.setattr(prediction, "predict_canvas", broken)
    with TestClient(create_app(network), base_url=BASE, raise_server_exceptions=False) as c:
        response = predict(c, {"pixels": canvas_seven()})
    assert assert_error(response, 500) == "internal error"
    assert "secret" not in response.text


# ---------------------------------------------------------------------------- security rules
def test_body_over_the_limit_is_413_before_it_is_read(network: Network) -> None:
    """The ASGI app answers 413 from Content-Length alone, without calling ``receive``."""
    import asyncio

    app = create_app(network)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        raise AssertionError("the body was read")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/predict",
        "raw_path": b"/api/predict",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"content-type", b"application/json"),
            (b"content-length", str(MAX_BODY_BYTES + 1).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"]) == {
        "error": f"the request body is over {MAX_BODY_BYTES:,} bytes"
    }


def test_body_over_the_limit_is_413_with_and_without_a_length(client: TestClient) -> None:
    big = b'{"pixels": [' + b"0," * (MAX_BODY_BYTES // 2) + b"0]}"
    assert_error(predict(client, big), 413)

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        for _ in range(MAX_BODY_BYTES // 65536 + 8):
            yield b" " * 65536

    response = client.post(
        "/api/predict", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert_error(response, 413)
    # Just under the limit is read (and then judged on its contents).
    under = b" " * (MAX_BODY_BYTES - 20) + json.dumps({"pixels": [BLANK_ROW] * 8}).encode()[:19]
    assert predict(client, under).status_code == 400


@pytest.mark.parametrize(
    "host", ["evil.example:8000", "evil.example", "127.0.0.1:9999", "localhost:80", "", "[::1"]
)
def test_a_foreign_host_header_is_403(client: TestClient, host: str) -> None:
    response = predict(client, {"pixels": canvas_seven()}, host=host)
    assert_error(response, 403)
    assert_error(client.get("/api/model", headers={"host": host}), 403)


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "LOCALHOST:8000"])
def test_the_servers_own_names_are_accepted(client: TestClient, host: str) -> None:
    assert predict(client, {"pixels": canvas_seven()}, host=host).status_code == 200


def test_extra_allowed_hosts(network: Network) -> None:
    with TestClient(create_app(network, allowed_hosts=["digits.lan"]), base_url=BASE) as c:
        assert c.get("/api/model", headers={"host": "digits.lan:8000"}).status_code == 200
        assert_error(c.get("/api/model", headers={"host": "other.lan:8000"}), 403)


@pytest.mark.parametrize(
    "origin", ["http://evil.example", "http://127.0.0.1:9999", "https://127.0.0.1:8000", "null"]
)
def test_a_foreign_origin_is_403(client: TestClient, origin: str) -> None:
    assert_error(predict(client, {"pixels": canvas_seven()}, origin=origin), 403)


def test_same_origin_posts_are_accepted_and_cross_site_fetches_refused(client: TestClient) -> None:
    ok = predict(
        client, {"pixels": canvas_seven()}, origin=BASE, **{"sec-fetch-site": "same-origin"}
    )
    assert ok.status_code == 200
    cross = predict(client, {"pixels": canvas_seven()}, **{"sec-fetch-site": "cross-site"})
    assert_error(cross, 403)


def test_guard_is_a_plain_asgi_middleware() -> None:
    assert RequestGuard(app=lambda *a: None).max_body_bytes == MAX_BODY_BYTES  # type: ignore[arg-type]


def test_the_guard_alone_stops_a_streamed_body_at_its_limit() -> None:
    """No declared length, and an app that reads without a limit of its own: the guard's count of
    what arrives is what stops it, one chunk past the limit, with the rest never read."""
    import asyncio

    from glassnet.web.guard import BodyTooLarge

    limit, chunk, read = 1000, 300, []

    async def greedy_app(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            read.append(len(message["body"]))
            if not message.get("more_body"):
                return

    calls = 0

    async def receive() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        return {"type": "http.request", "body": b" " * chunk, "more_body": calls < 100}

    async def send(message: dict[str, Any]) -> None:
        raise AssertionError("nothing is sent by the guard once the app has the request")

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"transfer-encoding", b"chunked")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    guard = RequestGuard(greedy_app, max_body_bytes=limit)
    with pytest.raises(BodyTooLarge):
        asyncio.run(guard(scope, receive, send))
    assert sum(read) <= limit  # the app never saw a byte past the limit
    assert calls == limit // chunk + 1  # and the stream was not read on


def test_a_network_not_taking_784_inputs_is_refused() -> None:
    with pytest.raises(ValueError, match="784"):
        create_app(Network([64, 10], seed=0))


# -------------------------------------------------------------------------- a real server
@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A default-sized (784-256-10) network; its weights do not matter for these tests."""
    folder = tmp_path_factory.mktemp("model")
    return Network([784, 256, 10], "relu", seed=0).save(folder / "model.safetensors")


@pytest.fixture(scope="module")
def live(model_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(model_file, tmp_path_factory.mktemp("live"))
    yield running
    running.stop()


def test_serve_binds_127_0_0_1_by_default(live: RunningServer) -> None:
    assert live.url.startswith("http://127.0.0.1:") and live.url.endswith("/")
    port = int(live.url.rstrip("/").rsplit(":", 1)[1])
    assert port > 0
    psutil = pytest.importorskip("psutil")
    listening = [
        c.laddr
        for c in psutil.Process(live.process.pid).net_connections(kind="tcp")
        if c.status == psutil.CONN_LISTEN
    ]
    assert [(a.ip, a.port) for a in listening] == [("127.0.0.1", port)]
    assert httpx.get(live.url, timeout=10).status_code == 200


@pytest.mark.slow
def test_serve_warns_when_listening_beyond_this_machine(model_file: Path, tmp_path: Path) -> None:
    running = start_server(model_file, tmp_path, "--host", "0.0.0.0")
    try:
        port = running.url.rstrip("/").rsplit(":", 1)[1]
        response = httpx.get(f"http://127.0.0.1:{port}/api/model", timeout=10)
        assert response.status_code == 200
    finally:
        stderr = running.stop()
    assert "warning: listening on 0.0.0.0" in stderr


def test_live_body_limits_with_and_without_length(live: RunningServer) -> None:
    url = live.url + "api/predict"
    headers = {"content-type": "application/json"}
    big = b"[" + b"0," * MAX_BODY_BYTES + b"0]"
    assert_error(httpx.post(url, content=big, headers=headers, timeout=30), 413)

    def chunks() -> Iterator[bytes]:
        for _ in range(MAX_BODY_BYTES // 65536 + 8):
            yield b" " * 65536

    assert_error(httpx.post(url, content=chunks(), headers=headers, timeout=30), 413)


def raw_request(url: str, head: str, body: bytes = b"") -> tuple[int, bytes]:
    """Send bytes as they are, read the reply: (status, body)."""
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    status = int(reply.split(b" ", 2)[1])
    return status, reply.split(b"\r\n\r\n", 1)[1]


def test_live_body_limits_with_lying_lengths(live: RunningServer) -> None:
    port = live.url.rstrip("/").rsplit(":", 1)[1]
    head = f"POST /api/predict HTTP/1.1\nHost: 127.0.0.1:{port}\nContent-Type: application/json\n"
    # Declares 95 MB and sends two bytes: refused at once, nothing waited for.
    status, body = raw_request(
        live.url, head + "Content-Length: 99999999\nConnection: close\n", b"{}"
    )
    assert status == 413 and b"error" in body
    # Declares nothing and streams chunks past the limit.
    chunk = b"10000\r\n" + b" " * 0x10000 + b"\r\n"
    status, body = raw_request(
        live.url,
        head + "Transfer-Encoding: chunked\nConnection: close\n",
        chunk * (MAX_BODY_BYTES // 0x10000 + 1) + b"0\r\n\r\n",
    )
    assert status == 413 and json.loads(body)["error"].startswith("the request body is over")


def test_live_foreign_host_and_origin(live: RunningServer) -> None:
    url = live.url + "api/predict"
    body = json.dumps({"pixels": canvas_seven()})
    headers = {"content-type": "application/json"}
    assert_error(httpx.post(url, content=body, headers={**headers, "host": "evil.example"}), 403)
    assert_error(
        httpx.post(url, content=body, headers={**headers, "origin": "http://evil.example"}), 403
    )
    assert httpx.post(url, content=body, headers=headers, timeout=10).status_code == 200


@pytest.mark.slow
def test_predict_latency_through_a_real_server(live: RunningServer) -> None:
    """Median time of 50 predictions by a 784-256-10 network (printed, not judged).

    Twice: for the whole 280x280 canvas (the most a page could send), and for the inked part with
    its black margin, which is what the page sends.
    """
    headers = {"content-type": "application/json", "origin": live.url.rstrip("/")}
    # TCP_NODELAY, as browsers and curl set it: otherwise Nagle's algorithm holds the body back
    # until the headers are acknowledged, and a delayed ACK adds 40 ms that no browser would see.
    nodelay = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
    with httpx.Client(base_url=live.url, timeout=10, transport=nodelay) as c:
        for name, pixels in (
            ("whole canvas", canvas_seven()),
            ("inked part", trimmed(canvas_seven())),
        ):
            # Compact, as the page's JSON.stringify sends it.
            body = json.dumps({"pixels": pixels}, separators=(",", ":"))
            for _ in range(5):  # warm up
                c.post("/api/predict", content=body, headers=headers)
            round_trips, on_server = [], []
            for _ in range(50):
                started = time.perf_counter()
                response = c.post("/api/predict", content=body, headers=headers)
                round_trips.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200
                on_server.append(response.json()["milliseconds"])
            median = statistics.median(round_trips)
            print(
                f"\npredict latency, {name} ({len(pixels)}x{len(pixels[0])}, {len(body):,} bytes), "
                f"50 requests: median {median:.1f} ms round trip (server "
                f"{statistics.median(on_server):.1f} ms), p90 {sorted(round_trips)[44]:.1f} ms"
            )
            assert median < 1000  # a sanity bound only; the figure is for the record


def test_serve_from_python_calls_back_and_stops(network: Network) -> None:
    ready: queue.Queue[str] = queue.Queue()
    stop = threading.Event()
    thread = threading.Thread(
        target=serve,
        args=(network,),
        kwargs={"ready_callback": ready.put, "stop": stop},
        daemon=True,
    )
    thread.start()
    url = ready.get(timeout=30)
    try:
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(url + "api/model", timeout=10).json()["layer_sizes"] == [784, 32, 16, 10]
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_serve_cli_errors_are_one_line(
    model_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from glassnet.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["serve", str(model_file), "--port", "70000"])
    assert exit_info.value.code == 2
    assert "port number" in capsys.readouterr().err
    small = Network([64, 10], seed=0).save(tmp_path / "small.safetensors")
    assert main(["serve", str(small), "--no-browser"]) == 1
    assert "784" in capsys.readouterr().err


def test_the_listening_socket_says_tcp_so_answers_are_not_delayed() -> None:
    """asyncio sets TCP_NODELAY only on sockets created with IPPROTO_TCP; without it, answers on a
    kept-alive connection wait ~40 ms for a delayed acknowledgement."""
    sock = listen._bind("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.getsockname()[0] == "127.0.0.1"
    finally:
        sock.close()


def test_without_starlette_the_message_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, model_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from glassnet.cli import main

    monkeypatch.setitem(sys.modules, "starlette", None)
    with pytest.raises(GlassnetError, match=r'pip install "glassnet\[web\]"'):
        create_app(Network([784, 10], seed=0))
    assert main(["serve", str(model_file), "--no-browser"]) == 1
    assert 'pip install "glassnet[web]"' in capsys.readouterr().err
