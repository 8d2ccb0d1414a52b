"""The recipes of docs/model-format.md, run exactly as the page shows them: a model file read with
NumPy alone, and loaded into PyTorch with safetensors.torch, must give glassnet's probabilities
(to 1e-5) and the same class for every MNIST test image. The code is taken from the page itself,
so the page cannot go stale without this test failing."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import glassnet

DOC = Path(__file__).resolve().parents[1] / "docs" / "model-format.md"
BLOCK = re.compile(r"<!-- tested: ([\w-]+) -->\n```python\n(.*?)\n```", re.DOTALL)
RECIPES = ("numpy-reader", "numpy-predict", "numpy-usage", "torch-loader", "torch-usage")


def recipes() -> dict[str, str]:
    """Each marked Python block of the page, by its name."""
    return dict(BLOCK.findall(DOC.read_text(encoding="utf-8")))


def run_recipes(names: tuple[str, ...], folder: Path, images: np.ndarray) -> dict[str, Any]:
    """Run the named blocks in order, in ``folder``, in one namespace holding ``images``."""
    code = recipes()
    namespace: dict[str, Any] = {"images": images, "__name__": "recipe"}
    cwd = Path.cwd()
    try:
        os.chdir(folder)
        for name in names:
            exec(compile(code[name], f"{DOC.name}:{name}", "exec"), namespace)
    finally:
        os.chdir(cwd)
    return namespace


@pytest.fixture(scope="module")
def mnist(mnist_dir: Path) -> glassnet.datasets.Dataset:
    return glassnet.datasets.load("mnist", data_dir=mnist_dir)


def trained(data: glassnet.datasets.Dataset, activation: str, dtype: str, folder: Path) -> Any:
    """A 784-32-16-10 network, one epoch on 2,000 images, saved as ``model.safetensors``."""
    network = glassnet.Network([784, 32, 16, 10], activation, seed=2, dtype=dtype)
    network.fit(
        data.train_images[:2000], data.train_labels[:2000], epochs=1, batch_size=20,
        learning_rate=0.003, optimizer="adam", engine="numpy",
    )  # fmt: skip
    network.save(folder / "model.safetensors")
    return network


def assert_same(network: Any, probabilities: np.ndarray, predicted: list[str], images: Any) -> None:
    expected = network.predict_proba(images)
    assert probabilities.shape == expected.shape
    assert np.max(np.abs(probabilities - expected)) <= 1e-5
    classes = network.predict(images)
    assert predicted == [network.class_names[k] for k in classes]
    assert network.score(images, classes) == 1.0 and len(set(classes)) > 5  # trained, not flat


def test_the_page_marks_every_recipe() -> None:
    assert tuple(recipes()) == RECIPES


@pytest.mark.slow
@pytest.mark.mnist
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "leaky_relu"])
def test_the_numpy_only_reader_predicts_as_glassnet_does(
    activation: str, dtype: str, mnist: glassnet.datasets.Dataset, tmp_path: Path
) -> None:
    network = trained(mnist, activation, dtype, tmp_path)
    found = run_recipes(RECIPES[:3], tmp_path, mnist.test_images)
    assert found["doc"] == glassnet.modelfile.read_model_header(tmp_path / "model.safetensors")
    assert_same(network, found["probabilities"], found["predicted"], mnist.test_images)


@pytest.mark.slow
@pytest.mark.mnist
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "leaky_relu"])
def test_the_pytorch_recipe_predicts_as_glassnet_does(
    activation: str, dtype: str, mnist: glassnet.datasets.Dataset, tmp_path: Path
) -> None:
    pytest.importorskip("torch", reason="the PyTorch recipe needs the torch extra")
    network = trained(mnist, activation, dtype, tmp_path)
    found = run_recipes(RECIPES[3:], tmp_path, mnist.test_images)
    model = found["model"]
    assert [type(m).__name__ for m in model][:2] == ["Standardize", "Linear"]
    assert type(model[-1]).__name__ == "Softmax"
    probabilities = found["probabilities"].numpy()
    assert probabilities.dtype == np.dtype(dtype)
    assert_same(network, probabilities, found["predicted"], mnist.test_images)
