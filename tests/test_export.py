"""Taking a model elsewhere: ONNX export checked in onnxruntime on the real MNIST test set, and the
PyTorch and NumPy-only recipes of docs/model-format.md run exactly as the page shows them.

The networks are tiny (784-32-16-10) and trained for one epoch on 2,000 images, enough for their
outputs to be far from uniform; the promise checked is that onnxruntime, PyTorch and the recipe
compute glassnet's probabilities (to 1e-5 in float32) and the same class for every test image.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import evil_pickle, listing, one_line_error, run_main

import glassnet
from glassnet.activations import ACTIVATIONS, Activation
from glassnet.errors import GlassnetError
from glassnet.export import onnx as onnx_export
from glassnet.preprocess import Standardizer

onnx = pytest.importorskip("onnx", reason="ONNX export needs the onnx extra")
onnxruntime = pytest.importorskip("onnxruntime", reason="the ONNX tests run onnxruntime")

ACTIVATION_NAMES = ("sigmoid", "tanh", "relu", "leaky_relu")
DOC = Path(__file__).resolve().parents[1] / "docs" / "model-format.md"
TOLERANCE = {"float32": 1e-5, "float64": 1e-12}
#: ONNX keeps LeakyRelu's alpha as a float32, 0.0099999998: in float64 that shows at about 1e-9.
LEAKY_FLOAT64_TOLERANCE = 1e-7


# ------------------------------------------------------------------------------------ helpers
@pytest.fixture(scope="module")
def mnist(mnist_dir: Path) -> glassnet.datasets.Dataset:
    return glassnet.datasets.load("mnist", data_dir=mnist_dir)


def tiny_network(
    data: glassnet.datasets.Dataset, activation: str, dtype: str = "float32"
) -> glassnet.Network:
    """784-32-16-10, one epoch on 2,000 training images: quick, and clearly trained."""
    network = glassnet.Network([784, 32, 16, 10], activation, seed=1, dtype=dtype)
    network.fit(
        data.train_images[:2000], data.train_labels[:2000], epochs=1, batch_size=20,
        learning_rate=0.003, optimizer="adam", engine="numpy",
    )  # fmt: skip
    return network


def session(path: Path) -> Any:
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def run_onnx(path: Path, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities and predicted classes from onnxruntime, for raw pixels of any shape."""
    rows = np.asarray(pixels, dtype=np.float32).reshape(len(pixels), -1)
    probabilities, classes = session(path).run(None, {"pixels": rows})
    return probabilities, classes


def assert_same_as_glassnet(
    network: glassnet.Network, path: Path, images: np.ndarray, dtype: str = "float32"
) -> None:
    probabilities, classes = run_onnx(path, images)
    expected = network.predict_proba(images)
    assert probabilities.dtype == np.dtype(dtype)
    assert probabilities.shape == expected.shape
    tolerance = TOLERANCE[dtype]
    if dtype == "float64" and network.activation == "leaky_relu":
        tolerance = LEAKY_FLOAT64_TOLERANCE
    assert np.max(np.abs(probabilities - expected)) <= tolerance
    np.testing.assert_array_equal(classes, network.predict(images))
    np.testing.assert_array_equal(np.argmax(probabilities, axis=1), classes)


# -------------------------------------------------------------------- onnxruntime agrees with glassnet
@pytest.mark.slow
@pytest.mark.mnist
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_onnxruntime_matches_glassnet_on_the_whole_mnist_test_set(
    activation: str, dtype: str, mnist: glassnet.datasets.Dataset, tmp_path: Path
) -> None:
    network = tiny_network(mnist, activation, dtype)
    assert network.score(mnist.test_images, mnist.test_labels) > 0.6  # trained: a real test
    path = network.to_onnx(tmp_path / "model.onnx")
    assert path == tmp_path / "model.onnx"
    assert_same_as_glassnet(network, path, mnist.test_images, dtype)


@pytest.mark.slow
@pytest.mark.mnist
def test_any_batch_size_gives_the_same_rows(
    mnist: glassnet.datasets.Dataset, tmp_path: Path
) -> None:
    network = tiny_network(mnist, "relu")
    path = network.to_onnx(tmp_path / "model.onnx")
    whole, _ = run_onnx(path, mnist.test_images[:500])
    for start, size in [(0, 1), (3, 7), (100, 256)]:
        part, classes = run_onnx(path, mnist.test_images[start : start + size])
        assert part.shape == (size, 10) and classes.shape == (size,)
        np.testing.assert_allclose(part, whole[start : start + size], rtol=0, atol=1e-6)


@pytest.mark.slow
@pytest.mark.mnist
@pytest.mark.parametrize("standardizer", ["per-feature", "none"])
def test_other_standardizations_are_exported_too(
    standardizer: str, mnist: glassnet.datasets.Dataset, tmp_path: Path
) -> None:
    network = tiny_network(mnist, "tanh")
    images = mnist.test_images[:2000].reshape(2000, -1)
    if standardizer == "per-feature":
        network.standardizer = Standardizer.fit(
            mnist.train_images[:2000].reshape(2000, -1), per_feature=True
        )
    else:  # a network without one takes rows already standardized, as it was trained on
        images = network.standardizer.transform(images)
        network.standardizer = None
    path = network.to_onnx(tmp_path / "model.onnx")
    graph = onnx.load(str(path)).graph
    ops = [node.op_type for node in graph.node]
    assert ("Sub" in ops) == (standardizer != "none")
    assert_same_as_glassnet(network, path, images)


# ------------------------------------------------------------------------------- the graph itself
def small_network(activation: str = "relu", dtype: str = "float32") -> glassnet.Network:
    network = glassnet.Network(
        [784, 8, 6, 3], activation, seed=0, dtype=dtype, class_names=["cat", "dog", "emu"]
    )
    network.fit(np.random.default_rng(0).integers(0, 256, (30, 784)), np.arange(30) % 3, epochs=1)
    return network


@pytest.mark.parametrize(
    ("activation", "operator"),
    [("sigmoid", "Sigmoid"), ("tanh", "Tanh"), ("relu", "Relu"), ("leaky_relu", "LeakyRelu")],
)
def test_the_graph_is_standardization_gemm_and_activation_per_layer_then_softmax(
    activation: str, operator: str, tmp_path: Path
) -> None:
    network = small_network(activation)
    model = onnx.load(str(network.to_onnx(tmp_path / "m.onnx")))
    onnx.checker.check_model(model, full_check=True)
    nodes = model.graph.node
    assert [n.op_type for n in nodes] == [
        "Sub", "Div", "Gemm", operator, "Gemm", operator, "Gemm", "Softmax", "ArgMax",
    ]  # fmt: skip
    if operator == "LeakyRelu":
        alphas = [a.f for n in nodes if n.op_type == "LeakyRelu" for a in n.attribute]
        assert alphas == pytest.approx([0.01, 0.01])
    weights = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    for i, (W, b) in enumerate(zip(network.weights, network.biases, strict=True)):
        np.testing.assert_array_equal(weights[f"weights.{i}"], W)
        np.testing.assert_array_equal(weights[f"biases.{i}"], b)


def test_inputs_and_outputs_are_named_typed_and_documented(tmp_path: Path) -> None:
    network = small_network()
    model = onnx.load(str(network.to_onnx(tmp_path / "m.onnx")))
    (pixels,) = model.graph.input
    assert pixels.name == "pixels"
    assert pixels.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    batch, features = pixels.type.tensor_type.shape.dim
    assert batch.dim_param and not batch.dim_value  # any number of rows
    assert features.dim_value == 784
    assert "float32" in pixels.doc_string and "row" in pixels.doc_string
    assert [o.name for o in model.graph.output] == ["probabilities", "predicted_class"]
    assert all(o.doc_string for o in model.graph.output)
    assert model.producer_name == "glassnet" and model.doc_string
    metadata = {p.key: p.value for p in model.metadata_props}
    assert json.loads(metadata["glassnet.class_names"]) == ["cat", "dog", "emu"]
    assert json.loads(metadata["glassnet.layer_sizes"]) == [784, 8, 6, 3]
    assert json.loads(metadata["glassnet.training_settings"]) == network.training_settings


def test_a_float64_network_casts_its_float32_input_first(tmp_path: Path) -> None:
    network = small_network("sigmoid", "float64")
    path = network.to_onnx(tmp_path / "m.onnx")
    assert onnx.load(str(path)).graph.node[0].op_type == "Cast"
    pixels = np.random.default_rng(1).integers(0, 256, (50, 784))
    assert_same_as_glassnet(network, path, pixels, "float64")


# --------------------------------------------------------------------------- refusals, nothing written
class Softplus(Activation):
    """An activation glassnet could train but the exporter has no ONNX operator for."""

    name = "softplus"

    def forward(self, Z: Any, out: Any = None) -> Any:
        return np.logaddexp(0.0, Z, out=out)


@pytest.fixture
def softplus_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setitem(ACTIVATIONS, "softplus", Softplus)
    network = glassnet.Network([784, 4, 3], "softplus", initializer="glorot", seed=0)
    return network.save(tmp_path / "softplus.safetensors")


def test_an_activation_onnx_cannot_express_is_one_line_and_writes_nothing(
    softplus_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = softplus_model.parent
    before = listing(folder)
    with pytest.raises(GlassnetError, match="'softplus' has no ONNX operator"):
        glassnet.load(softplus_model).to_onnx(folder / "api.onnx")
    code, out, err = run_main(["export", str(softplus_model), "--onnx", "cli.onnx"], capsys)
    assert code == 1 and out == ""
    assert "softplus" in one_line_error(err, "export")
    assert listing(folder) == before


def test_a_graph_that_disagrees_with_glassnet_is_not_written(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    network = small_network("relu")
    # Export a relu network with the wrong operator: the check before writing must catch it.
    monkeypatch.setitem(onnx_export.ONNX_ACTIVATIONS, "relu", ("Sigmoid", {}))
    with pytest.raises(GlassnetError, match="differ from glassnet's"):
        network.to_onnx(tmp_path / "m.onnx")
    assert listing(tmp_path) == {}


def test_a_graph_that_gives_nan_where_glassnet_does_not_is_not_written(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    network = small_network("relu")
    # Log of the negative pre-activations: NaN in onnxruntime, finite numbers in glassnet. A NaN
    # difference is no difference within the tolerance.
    monkeypatch.setitem(onnx_export.ONNX_ACTIVATIONS, "relu", ("Log", {}))
    with pytest.raises(GlassnetError, match="differ from glassnet's by up to nan"):
        network.to_onnx(tmp_path / "m.onnx")
    assert listing(tmp_path) == {}


def test_a_graph_onnx_itself_refuses_is_one_line_and_not_written(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    network = small_network("relu")
    monkeypatch.setitem(onnx_export.ONNX_ACTIVATIONS, "relu", ("NoSuchOperator", {}))
    with pytest.raises(GlassnetError, match=r"fails onnx's own check: .*NoSuchOperator") as refused:
        network.to_onnx(tmp_path / "m.onnx")
    assert "\n" not in str(refused.value)
    assert listing(tmp_path) == {}


@pytest.mark.parametrize("value", [np.nan, np.inf])
@pytest.mark.parametrize("check", [True, False])
def test_a_network_with_a_nan_weight_is_refused_and_nothing_written(
    value: float, check: bool, tmp_path: Path
) -> None:
    network = small_network("relu")
    network.weights[1][2, 3] = value  # as a diverged run might leave it
    with pytest.raises(GlassnetError, match=r"weights\.1 holds 1 NaN or infinite value, so"):
        onnx_export.export_onnx(network, tmp_path / "m.onnx", check=check)
    assert listing(tmp_path) == {}


def test_without_the_onnx_package_the_message_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = small_network().save(tmp_path / "model.safetensors")
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    with pytest.raises(GlassnetError, match=re.escape('pip install "glassnet[onnx]"')):
        glassnet.load(model).to_onnx(tmp_path / "m.onnx")
    code, _, err = run_main(["export", str(model), "--onnx", str(tmp_path / "m.onnx")], capsys)
    assert code == 1 and "glassnet[onnx]" in one_line_error(err, "export")
    assert listing(tmp_path) == {"model.safetensors": model.stat().st_size}


# ------------------------------------------------------------------------------------ the command
def test_export_command_writes_a_file_onnxruntime_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    network = small_network("leaky_relu")
    model = network.save(tmp_path / "model.safetensors")
    code, out, err = run_main(["export", str(model), "--onnx", str(tmp_path / "m.onnx")], capsys)
    assert code == 0 and err == ""
    assert "wrote" in out and "784-8-6-3" in out
    assert "checked: onnxruntime" in out and "on 256 inputs" in out
    assert_same_as_glassnet(network, tmp_path / "m.onnx", np.arange(784 * 5).reshape(5, 784) % 256)
    code, out, _ = run_main(
        ["export", str(model), "--onnx", str(tmp_path / "n.onnx"), "--no-check"], capsys
    )
    assert code == 0 and "checked" not in out
    assert (tmp_path / "n.onnx").read_bytes() == (tmp_path / "m.onnx").read_bytes()


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda d: d / "absent.safetensors", "No such file"),
        (lambda d: _write(d / "notes.txt", b"just some text\n"), "looks like a text file"),
        (lambda d: _write(d / "m.pkl", evil_pickle(d / "pwned")), "pickle"),
        (lambda d: _write(d / "m.onnx", b"\x08\x08\x12\x07glassnet" * 20), "not a safetensors"),
        (lambda d: _write(d / "empty.safetensors", b""), "empty"),
        (lambda d: _safetensors(d / "other.safetensors", None), "without 'glassnet' metadata"),
        (lambda d: _safetensors(d / "ckpt.safetensors", "glassnet-checkpoint"), "checkpoint"),
    ],
)
def test_a_file_that_is_not_a_glassnet_model_is_one_line(
    make: Any, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = make(tmp_path)
    before = listing(tmp_path)
    code, out, err = run_main(["export", str(source), "--onnx", str(tmp_path / "o.onnx")], capsys)
    assert code == 1 and out == ""
    assert expected in one_line_error(err, "export")
    assert listing(tmp_path) == before
    assert not (tmp_path / "pwned").exists()


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _safetensors(path: Path, glassnet_format: str | None) -> Path:
    """A valid safetensors file: another program's (no glassnet metadata), or a glassnet one of
    another format."""
    import safetensors.numpy

    doc = {"format": glassnet_format, "format_version": 1}
    metadata = None if glassnet_format is None else {"glassnet": json.dumps(doc)}
    safetensors.numpy.save_file({"w": np.zeros((2, 2), np.float32)}, path, metadata=metadata)
    return path


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("missing-folder/m.onnx", "missing-folder/m.onnx: No such file or directory"),
        ("a-file/m.onnx", "a-file/m.onnx: Not a directory"),
        ("a-folder", "a-folder: Is a directory"),
        ("a-pipe", "a-pipe: not a regular file; give a file name"),
    ],
)
def test_an_unwritable_output_is_one_line_and_leaves_nothing(
    target: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = small_network().save(tmp_path / "model.safetensors")
    (tmp_path / "a-file").write_text("in the way\n")
    (tmp_path / "a-folder").mkdir()
    os.mkfifo(tmp_path / "a-pipe")  # renaming a file over it would replace the pipe itself
    before = listing(tmp_path)
    code, out, err = run_main(["export", str(model), "--onnx", str(tmp_path / target)], capsys)
    assert code == 1 and out == ""
    assert one_line_error(err, "export").endswith(expected)
    assert listing(tmp_path) == before


def test_the_model_file_itself_is_refused_as_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = small_network().save(tmp_path / "model.safetensors")
    data = model.read_bytes()
    code, _, err = run_main(["export", str(model), "--onnx", str(model)], capsys)
    assert code == 2
    assert "is the model file itself" in one_line_error(err, "export")
    assert model.read_bytes() == data
    code, _, err = run_main(["export", str(model)], capsys)
    assert code == 2 and "--onnx" in one_line_error(err)


@pytest.mark.slow
@pytest.mark.mnist
def test_the_example_in_docs_export_md_runs_as_written(
    mnist: glassnet.datasets.Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (DOC.parent / "export.md").read_text(encoding="utf-8")
    (code,) = re.findall(r"<!-- tested: onnx-usage -->\n```python\n(.*?)\n```", text, re.DOTALL)
    network = tiny_network(mnist, "sigmoid")
    network.to_onnx(tmp_path / "mnist.onnx")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"images": mnist.test_images}
    exec(compile(code, "export.md", "exec"), namespace)
    assert (
        np.max(np.abs(namespace["probabilities"] - network.predict_proba(mnist.test_images))) < 1e-5
    )
    np.testing.assert_array_equal(namespace["predicted_class"], network.predict(mnist.test_images))
