"""The drawing page's backward pass and "learn this": the API, the page's own copy, the rules.

The backward view must be the network's own trace (so, backprop); a learning step changes only the
page's copy, in memory; reset brings the model back; and every request obeys the page's rules.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
Image = pytest.importorskip("PIL.Image")
ImageDraw = pytest.importorskip("PIL.ImageDraw")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from glassnet import Network  # noqa: E402
from glassnet.datasets.preprocess import Standardizer  # noqa: E402
from glassnet.images import mnist_pixels, to_mnist  # noqa: E402
from glassnet.web.backward import DEFAULT_LEARNING_RATE  # noqa: E402
from glassnet.web.server import create_app  # noqa: E402
from glassnet.web.sessions import Sessions, copy_network  # noqa: E402

BASE = "http://127.0.0.1:8000"
TOKEN = "0123456789abcdef0123456789abcdef"
OTHER = "fedcba9876543210fedcba9876543210"


def canvas_seven() -> list[list[int]]:
    image = Image.new("L", (280, 280), 0)
    ImageDraw.Draw(image).line([(80, 60), (200, 60), (120, 230)], fill=255, width=20)
    return np.asarray(image).tolist()


@pytest.fixture
def network() -> Network:
    """A deep sigmoid network (so its gradient vanishes), standardizing as a trained one would."""
    net = Network([784, 20, 20, 20, 20, 10], "sigmoid", initializer="normal", seed=0)
    net.standardizer = Standardizer(np.array([33.3]), np.array([78.6]))
    return net


@pytest.fixture
def client(network: Network) -> Iterator[TestClient]:
    with TestClient(create_app(network), base_url=BASE) as c:
        yield c


def post(client: TestClient, path: str, payload: Any) -> Any:
    return client.post(
        path, content=json.dumps(payload), headers={"content-type": "application/json"}
    )


def the_input(network: Network) -> np.ndarray:
    image = to_mnist(np.array(canvas_seven(), np.float32) / 255.0, invert=False)
    return network.prepare(mnist_pixels(image))


def test_the_backward_view_is_the_trace_of_the_drawing(
    client: TestClient, network: Network
) -> None:
    answer = post(client, "/api/backward", {"pixels": canvas_seven(), "label": 3}).json()
    assert answer["empty"] is False and answer["label"] == 3
    x = the_input(network)
    trace = network.trace(x, np.array([3]))
    weight_gradients, _ = network.backprop(x, np.array([3]))
    expected = [float(np.linalg.norm(g)) for g in weight_gradients]
    np.testing.assert_allclose(answer["gradient_norms"], expected, rtol=1e-4)
    assert [len(d) for d in answer["deltas"]] == [20, 20, 20, 20, 10]
    np.testing.assert_allclose(answer["deltas"][-1], trace.layers[-1].delta[:, 0], atol=1e-6)
    p = np.array(answer["probabilities"])
    np.testing.assert_allclose(answer["deltas"][-1], p - np.eye(10)[3], atol=1e-5)  # ŷ − y
    assert answer["loss"] == pytest.approx(-np.log(p[3]), rel=1e-4)
    # The vanishing gradient of a deep sigmoid net, on one drawing: ‖∇b⁽ˡ⁾C‖, how fast each
    # layer's units learn, is smallest in the first hidden layer.
    speeds = answer["bias_gradient_norms"]
    expected = [float(np.linalg.norm(layer.nabla_b)) for layer in trace.layers]
    np.testing.assert_allclose(speeds, expected, rtol=1e-4)
    assert speeds[0] == min(speeds[:-1]) and speeds[0] < speeds[-2] / 2


def test_the_unit_images_are_the_first_layers_largest_gradient_rows(
    client: TestClient, network: Network
) -> None:
    answer = post(client, "/api/backward", {"pixels": canvas_seven(), "label": 1}).json()
    gradient = network.trace(the_input(network), np.array([1])).layers[0].nabla_theta
    norms = np.linalg.norm(gradient, axis=1)
    units = answer["units"]
    assert len(units) == 6
    assert [u["unit"] for u in units] == list(np.argsort(-norms)[:6])
    for unit in units:
        image = np.array(unit["image"])
        assert image.shape == (28, 28) and np.abs(image).max() <= 1.0
        row = gradient[unit["unit"]].reshape(28, 28) / answer["image_scale"]
        np.testing.assert_allclose(image, row, atol=2e-3)
    assert max(np.abs(np.array(u["image"])).max() for u in units) == pytest.approx(1.0)


def test_without_a_label_the_backward_view_takes_the_prediction(client: TestClient) -> None:
    predicted = post(client, "/api/predict", {"pixels": canvas_seven()}).json()["top"][0]["class"]
    answer = post(client, "/api/backward", {"pixels": canvas_seven()}).json()
    assert answer["label"] == predicted
    blank = post(client, "/api/backward", {"pixels": [[0] * 20] * 20}).json()
    assert blank == {"empty": True, "milliseconds": blank["milliseconds"]}


def test_learning_raises_the_labels_probability_in_the_pages_copy_only(
    client: TestClient, network: Network, tmp_path: Path
) -> None:
    original = network.get_flat_parameters()
    before_files = set(Path.cwd().iterdir())
    request = {"pixels": canvas_seven(), "label": 4, "session": TOKEN}
    first = post(client, "/api/learn", request).json()
    assert first["steps"] == 1 and first["label"] == 4
    assert first["learning_rate"] == DEFAULT_LEARNING_RATE
    assert first["after"][4] > first["before"][4]
    assert first["loss_after"] < first["loss_before"]
    second = post(client, "/api/learn", {**request, "learning_rate": 0.5}).json()
    assert second["steps"] == 2 and second["before"] == pytest.approx(first["after"], rel=1e-4)
    # The page's copy reads the drawing differently now; the model and other pages do not.
    mine = post(client, "/api/predict", {"pixels": canvas_seven(), "session": TOKEN}).json()
    theirs = post(client, "/api/predict", {"pixels": canvas_seven(), "session": OTHER}).json()
    nobody = post(client, "/api/predict", {"pixels": canvas_seven()}).json()
    assert mine["probabilities"][4] == pytest.approx(second["after"][4], rel=1e-4)
    assert theirs["probabilities"] == nobody["probabilities"]
    assert theirs["probabilities"][4] == pytest.approx(first["before"][4], rel=1e-4)
    assert (mine["steps"], theirs["steps"]) == (2, 0)
    assert np.array_equal(network.get_flat_parameters(), original)
    assert set(Path.cwd().iterdir()) == before_files  # nothing written

    reset = post(client, "/api/reset", {"session": TOKEN}).json()
    assert reset == {"reset": True, "steps": 0}
    again = post(client, "/api/predict", {"pixels": canvas_seven(), "session": TOKEN}).json()
    assert again["probabilities"] == nobody["probabilities"] and again["steps"] == 0


def test_one_step_is_the_posts_gradient_descent(network: Network) -> None:
    from glassnet.web.backward import learn_step

    copy = copy_network(network)
    x = the_input(network)
    weight_gradients, bias_gradients = network.backprop(x, np.array([2]))
    learn_step(copy, np.array(canvas_seven(), np.float32), 2, 0.1)
    for W, b, W0, b0, dW, db in zip(
        copy.weights, copy.biases, network.weights, network.biases,
        weight_gradients, bias_gradients, strict=True,
    ):  # fmt: skip
        np.testing.assert_allclose(W, W0 - 0.1 * dW, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(b, b0 - 0.1 * db, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("path", "payload", "status", "match"),
    [
        ("/api/backward", {"pixels": [[0] * 20] * 20, "label": 10}, 400, "0 to 9"),
        ("/api/backward", {"pixels": [[0] * 20] * 20, "label": -1}, 400, "0 to 9"),
        ("/api/backward", {"pixels": [[0] * 20] * 20, "label": 2.0}, 400, "whole number"),
        ("/api/backward", {"pixels": [[0] * 20] * 20, "label": True}, 400, "whole number"),
        ("/api/backward", {"pixels": [[0] * 20] * 20, "label": "3"}, 400, "whole number"),
        ("/api/backward", {"pixels": [[0] * 20] * 20, "extra": 1}, 400, "unknown field 'extra'"),
        ("/api/backward", {"label": 3}, 400, "list of rows"),
        ("/api/learn", {"pixels": [[0] * 20] * 20, "label": 3}, 400, '"session" is missing'),
        ("/api/learn", {"pixels": [[0] * 20] * 20, "session": TOKEN}, 400, '"label" is missing'),
        ("/api/learn", {"pixels": [[0] * 20] * 20, "label": 3, "session": "abc"}, 400, "32 hex"),
        ("/api/learn", {"pixels": [[0] * 20] * 20, "label": 3, "session": TOKEN.upper()}, 400,
         "32 hex"),
        ("/api/learn", {"pixels": [[0] * 20] * 20, "label": 3, "session": TOKEN,
                        "learning_rate": 0}, 400, "above 0"),
        ("/api/learn", {"pixels": [[0] * 20] * 20, "label": 3, "session": TOKEN,
                        "learning_rate": 11}, 400, "at most 10"),
        ("/api/learn", {"pixels": [[0] * 20] * 20, "label": 3, "session": TOKEN,
                        "learning_rate": "fast"}, 400, "a number"),
        ("/api/reset", {}, 400, '"session" is missing'),
        ("/api/reset", {"session": 12}, 400, "32 hex"),
        ("/api/predict", {"pixels": [[0] * 20] * 20, "session": None}, 400, "32 hex"),
    ],
)  # fmt: skip
def test_bad_requests_are_400_with_the_reason(
    client: TestClient, path: str, payload: Any, status: int, match: str
) -> None:
    response = post(client, path, payload)
    assert response.status_code == status, response.text
    assert match in response.json()["error"]


def test_a_blank_drawing_teaches_nothing_and_makes_no_copy(
    client: TestClient, network: Network
) -> None:
    answer = post(
        client, "/api/learn", {"pixels": [[0] * 20] * 20, "label": 3, "session": TOKEN}
    ).json()
    assert answer == {"empty": True, "steps": 0}


def test_the_new_endpoints_obey_the_pages_rules(client: TestClient) -> None:
    request = {"pixels": canvas_seven(), "label": 4, "session": TOKEN}
    body = json.dumps(request)
    for path in ("/api/backward", "/api/learn", "/api/reset"):
        foreign = client.post(path, content=body, headers={
            "content-type": "application/json", "origin": "http://evil.example"})  # fmt: skip
        assert foreign.status_code == 403
        rebinding = client.post(path, content=body, headers={
            "content-type": "application/json", "host": "evil.example:8000"})  # fmt: skip
        assert rebinding.status_code == 403
        assert (
            client.post(path, content=body, headers={"content-type": "text/plain"}).status_code
            == 415
        )
        assert client.get(path).status_code == 405
    assert "default-src 'none'" in client.get("/").headers["content-security-policy"]


def test_copies_are_bounded_and_the_oldest_goes_first(network: Network) -> None:
    original = network.get_flat_parameters()
    sessions = Sessions(network, max_copies=2)
    tokens = [f"{k:032x}" for k in range(3)]
    for token in tokens:
        sessions.change(token, lambda net: net.biases[-1].__iadd__(1.0))
    assert len(sessions) == 2
    assert sessions.steps(tokens[0]) == 0  # dropped: the page starts again from the original
    assert sessions.steps(tokens[2]) == 1
    assert sessions.read(tokens[0], lambda net: net) is network
    changed = sessions.read(tokens[2], lambda net: net)
    assert changed is not network
    np.testing.assert_allclose(changed.biases[-1], network.biases[-1] + 1.0)
    assert np.array_equal(network.get_flat_parameters(), original)


def test_the_default_bound_follows_the_networks_size(monkeypatch: pytest.MonkeyPatch) -> None:
    from glassnet.web import sessions as module

    net = Network([784, 64, 10], seed=0)  # 50,890 float32 parameters: 203,560 bytes
    assert Sessions(net).max_copies == module.MAX_COPIES
    monkeypatch.setattr(module, "MAX_COPY_BYTES", 3 * net.n_parameters * 4 + 100)
    assert Sessions(net).max_copies == 3
    monkeypatch.setattr(module, "MAX_COPY_BYTES", 10)
    assert Sessions(net).max_copies == 1  # always room for one


@pytest.mark.slow
def test_latency_of_the_backward_view_and_a_step_through_a_real_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Median round trip of 50 requests each, 784-256-10 network (printed, not judged)."""
    import socket
    import statistics
    import time

    httpx = pytest.importorskip("httpx")
    from helpers import start_server

    folder = tmp_path_factory.mktemp("latency")
    model = Network([784, 256, 10], "relu", seed=0)
    model.standardizer = Standardizer(np.array([33.3]), np.array([78.6]))
    server = start_server(model.save(folder / "model.safetensors"), folder)
    canvas = np.array(canvas_seven())
    rows, cols = np.nonzero(canvas)
    part = canvas[rows.min() - 8 : rows.max() + 9, cols.min() - 8 : cols.max() + 9].tolist()
    nodelay = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
    try:
        with httpx.Client(base_url=server.url, timeout=10, transport=nodelay) as c:
            for path, body in (
                ("/api/predict", {"pixels": part}),
                ("/api/backward", {"pixels": part, "label": 3}),
                ("/api/learn", {"pixels": part, "label": 3, "session": TOKEN}),
            ):
                data = json.dumps(body, separators=(",", ":"))
                headers = {"content-type": "application/json"}
                for _ in range(5):  # warm up
                    c.post(path, content=data, headers=headers)
                times = []
                for _ in range(50):
                    started = time.perf_counter()
                    response = c.post(path, content=data, headers=headers)
                    times.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200
                median = statistics.median(times)
                print(f"\n{path}: median {median:.1f} ms round trip over 50 requests, "
                      f"answer {len(response.content):,} bytes")  # fmt: skip
                assert median < 1000  # a sanity bound only; the figure is for the record
    finally:
        server.stop()
