"""The pictures: each writes a readable PNG of a sensible size, from a small real run folder."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import matplotlib.image

import glassnet
from glassnet import plots, runs
from glassnet.errors import GlassnetError
from glassnet.metrics import confusion_matrix
from glassnet.training import train

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_shape(path: Path) -> tuple[int, int]:
    """(height, width) of a PNG file, after checking that it is one."""
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[2] in (3, 4)
    return image.shape[0], image.shape[1]


def assert_plausible_png(path: Path, min_width: int = 300, min_height: int = 200) -> None:
    height, width = png_shape(path)
    assert width >= min_width and height >= min_height, (width, height)
    assert width <= 4000 and height <= 4000, (width, height)
    assert not list(path.parent.glob(".*.tmp")), "a temporary file was left behind"


def synthetic_data(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """8x8 images of 3 classes told apart by which third of the image is brightest."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    images = rng.random((n, 8, 8)) * 0.5
    for i, label in enumerate(labels):
        images[i, :, 3 * label : 3 * label + 2] += 0.5
    return images, labels


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder as ``glassnet train`` writes it, for a 64-12-12-3 sigmoid network."""
    folder = tmp_path_factory.mktemp("runs") / "20250101-000000-synthetic-tiny"
    folder.mkdir()
    images, labels = synthetic_data()
    network = glassnet.Network([64, 12, 12, 3], "sigmoid", initializer="normal", seed=0)
    history = train(
        network,
        images[:240],
        labels[:240],
        test_data=(images[240:], labels[240:]),
        epochs=4,
        batch_size=10,
        learning_rate=0.5,
        validation_split=0.2,
        seed=0,
    )
    settings = {
        "preset": "tiny",
        "dataset": "no-such-dataset",
        "hidden": [12, 12],
        "activation": "sigmoid",
        "initializer": "normal",
        "epochs": 4,
        "seed": 0,
    }
    runs.write_settings(folder, settings)
    history.test_accuracy = network.score(images[240:], labels[240:])
    runs.write_history(folder, history)
    network.save(folder / runs.MODEL, settings=settings, metrics={})
    return folder


@pytest.fixture(scope="module")
def rows(run_dir: Path) -> list[dict[str, Any]]:
    return runs.read_history(run_dir)["rows"]


# ------------------------------------------------------------------------------- history figures
def test_column_skips_missing_values() -> None:
    rows: list[dict[str, Any]] = [{"epoch": 1, "val_loss": None}, {"epoch": 2, "val_loss": 0.5}]
    rows.append({"epoch": 3})
    assert plots.column(rows, "val_loss") == ([2], [0.5])
    assert plots.column([{"epoch": 1, "x": float("nan")}], "x") == ([], [])


@pytest.mark.slow
def test_plot_curves(rows: list[dict[str, Any]], tmp_path: Path) -> None:
    path = plots.plot_curves(rows, tmp_path / "curves.png")
    assert path == tmp_path / "curves.png"
    assert_plausible_png(path, 1000, 400)


def test_curves_draw_every_split_present(rows: list[dict[str, Any]]) -> None:
    loss_axes, accuracy_axes = plots.curves_figure(rows).axes[:2]
    names = [str(line.get_label()).split()[0] for line in loss_axes.get_lines()]
    assert names == ["train", "validation", "test"]
    assert len(accuracy_axes.get_lines()) == 3
    only_train = [{"epoch": 1, "train_loss": 1.0, "train_accuracy": 0.5, "val_loss": None}]
    assert len(plots.curves_figure(only_train).axes[0].get_lines()) == 1


def test_plot_learning_rate(rows: list[dict[str, Any]], tmp_path: Path) -> None:
    assert_plausible_png(plots.plot_learning_rate(rows, tmp_path / "lr.png"), 600, 300)
    decaying = [{"epoch": e, "learning_rate": 0.1 * 0.5**e} for e in range(1, 11)]
    assert plots.learning_rate_figure(decaying).axes[0].get_yscale() == "log"


@pytest.mark.slow
def test_plot_gradient_norms(rows: list[dict[str, Any]], tmp_path: Path) -> None:
    path = plots.plot_gradient_norms(rows, tmp_path / "gradients.png", layer_sizes=[64, 12, 12, 3])
    assert_plausible_png(path, 1400, 450)


def test_gradient_figure_is_log_scale_one_line_per_layer(rows: list[dict[str, Any]]) -> None:
    figure = plots.gradient_norms_figure(rows, layer_sizes=[64, 12, 12, 3], activation="sigmoid")
    over_time, by_depth, saturation = figure.axes[:3]
    assert over_time.get_yscale() == "log" and by_depth.get_yscale() == "log"
    assert saturation.get_yscale() == "linear"
    assert len(over_time.get_lines()) == 3  # one per weight layer
    assert len(saturation.get_lines()) == 2  # one per hidden layer
    colors = [tuple(line.get_color()) for line in over_time.get_lines()]
    assert len(set(colors)) == 3
    assert "saturated" in saturation.get_title()
    title = figure.get_suptitle()
    assert "the first hidden layer learns" in title and "as fast as the last hidden layer" in title
    assert f"epoch {rows[-1]['epoch']}:" in title


def test_gradient_series_per_weight_divides_by_layer_size() -> None:
    rows = [{"epoch": 1, "grad_norm_1": 8.0, "grad_norm_2": 2.0}]
    assert plots.n_layers(rows) == 2
    assert plots.gradient_series(rows) == {1: ([1], [8.0]), 2: ([1], [2.0])}
    per_weight = plots.gradient_series(rows, [16, 4, 1])
    assert per_weight[1][1] == [pytest.approx(1.0)]  # 8 / sqrt(16 * 4)
    assert per_weight[2][1] == [pytest.approx(1.0)]  # 2 / sqrt(4 * 1)


def test_every_report_of_the_learning_speed_ratio_is_one_definition() -> None:
    """First hidden layer over last hidden layer, bias gradients: the epoch line, the plots'
    headings and the comparison's panel all use glassnet.history.learning_speed_ratio."""
    from glassnet.history import learning_speed_ratio

    row = {"epoch": 3, **{f"bias_grad_norm_{l}": v for l, v in ((1, 0.5), (2, 2.0), (3, 9.0))}}
    assert learning_speed_ratio(row) == 0.25  # layer 1 over layer 2, not over the output layer 3
    assert learning_speed_ratio({"bias_grad_norm_1": 1.0, "bias_grad_norm_2": 2.0}) is None
    assert plots.learning_speed_series([row, {"epoch": 4}]) == ([3], [0.25])
    assert "learns 1/4.0 as fast" in plots.gradient_norms_figure([row]).get_suptitle()


def test_relu_gradient_figure_counts_dead_units() -> None:
    rows = [
        {"epoch": e, "grad_norm_1": 1e-4 * e, "grad_norm_2": 1e-2, "grad_norm_3": 1e-2,
         "bias_grad_norm_1": 1e-4 * e, "bias_grad_norm_2": 1e-2, "bias_grad_norm_3": 1e-1,
         "saturation_1": 0.1, "saturation_2": 0.0}
        for e in (1, 2)
    ]  # fmt: skip
    figure = plots.gradient_norms_figure(rows, activation="relu")
    assert "dead" in figure.axes[2].get_title()
    assert "1/50" in figure.get_suptitle()


def test_figures_without_data_still_draw() -> None:
    for draw in (plots.curves_figure, plots.learning_rate_figure, plots.gradient_norms_figure):
        figure = draw([])
        assert figure.axes and figure.axes[0].texts  # says there is nothing to draw


# ------------------------------------------------------------------------------- network figures
def test_plot_first_layer_weights(run_dir: Path, tmp_path: Path) -> None:
    network = glassnet.load(run_dir / runs.MODEL)
    path = plots.plot_first_layer_weights(network, tmp_path / "w.png", image_shape=(8, 8))
    assert_plausible_png(path, 500, 250)
    figure = plots.weights_figure(network, (8, 8), max_units=5)
    assert "first 5 of 12" in figure.get_suptitle()
    with pytest.raises(ValueError, match="64 inputs, not 28x28"):
        plots.weights_figure(network)


def test_weight_changes_subtract_the_rebuilt_start(run_dir: Path) -> None:
    network = glassnet.load(run_dir / runs.MODEL)
    start = plots.initial_first_layer(network, seed=0)
    assert start is not None
    fresh = glassnet.Network([64, 12, 12, 3], "sigmoid", initializer="normal", seed=0)
    np.testing.assert_array_equal(start, fresh.weights[0])
    assert plots.initial_first_layer(network, seed=12345) is None  # another start: uncorrelated
    figure = plots.weights_figure(network, (8, 8), initial=start)
    assert "changes since initialization" in figure.get_suptitle()
    with pytest.raises(ValueError, match="initial weights of shape"):
        plots.weights_figure(network, (8, 8), initial=start[:10])


def test_plot_confusion(tmp_path: Path) -> None:
    confusion = confusion_matrix([0, 0, 1, 1, 2, 2, 2], [0, 1, 1, 1, 2, 0, 2], 3)
    path = plots.plot_confusion(confusion, ["zero", "one", "two"], tmp_path / "confusion.png")
    assert_plausible_png(path, 500, 500)
    title = plots.confusion_figure(confusion, ["a", "b", "c"]).axes[0].get_title()
    assert "5 of 7 right" in title
    with pytest.raises(ValueError, match="for 2 class names"):
        plots.confusion_figure(confusion, ["a", "b"])


def test_worst_mistakes_most_confident_first() -> None:
    labels = np.array([0, 1, 0, 0])
    P = np.array([[0.9, 0.1, 0.0], [0.6, 0.4, 0.0], [0.1, 0.0, 0.9], [0.05, 0.95, 0.0]])
    assert plots.worst_mistakes(labels, P, 10).tolist() == [3, 2, 1]
    assert plots.worst_mistakes(labels, P, 1).tolist() == [3]


@pytest.mark.slow
def test_plot_mistakes(tmp_path: Path) -> None:
    images, labels = synthetic_data(60, seed=1)
    P = np.random.default_rng(0).dirichlet(np.ones(3), size=60)
    path = plots.plot_mistakes(images, labels, P, ["a", "b", "c"], tmp_path / "m.png", n=9)
    assert_plausible_png(path, 300, 300)
    figure = plots.mistakes_figure(images.reshape(60, 64), labels, P, ["a", "b", "c"], n=4)
    assert len([a for a in figure.axes if a.images]) == 4
    perfect = np.eye(3)[labels]
    assert_plausible_png(plots.plot_mistakes(images, labels, perfect, "abc", tmp_path / "p.png"))


# ------------------------------------------------------------------------------- run folders
@pytest.mark.slow
def test_plot_run_makes_what_it_can_and_says_what_it_skipped(run_dir: Path) -> None:
    log = io.StringIO()
    written = plots.plot_run(run_dir, log=log)
    names = [p.name for p in written]
    assert names == [
        "curves.png",
        "learning_rate.png",
        "gradients.png",
        "weights.png",
        "weight_changes.png",
    ]
    for path in written:
        assert path.parent == run_dir / "plots"
        assert_plausible_png(path)
    assert "skipped confusion.png, mistakes.png" in log.getvalue()
    assert "no-such-dataset" in log.getvalue()


@pytest.mark.slow
def test_plot_run_without_a_model(run_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "unfinished"
    folder.mkdir()
    for name in (runs.SETTINGS, runs.HISTORY_JSON):
        (folder / name).write_bytes((run_dir / name).read_bytes())
    log = io.StringIO()
    written = plots.plot_run(folder, log=log)
    assert [p.name for p in written] == ["curves.png", "learning_rate.png", "gradients.png"]
    assert "skipped weights.png, weight_changes.png, confusion.png, mistakes.png" in log.getvalue()
    assert "model.safetensors" in log.getvalue()


def test_plot_run_rejects_what_is_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no such run folder"):
        plots.plot_run(tmp_path / "missing")
    with pytest.raises(ValueError, match="not a run folder"):
        plots.plot_run(tmp_path)


@pytest.mark.slow
def test_plot_compare(run_dir: Path, tmp_path: Path) -> None:
    path = plots.plot_compare([run_dir, run_dir], tmp_path / "compare.png")
    assert_plausible_png(path, 1500, 500)
    figure = plots.compare_figure([run_dir])
    accuracy_axes, _, ratio_axes = figure.axes[:3]
    assert accuracy_axes.get_title() == "test accuracy"
    assert ratio_axes.get_yscale() == "log"
    with pytest.raises(ValueError, match="no such run folder"):
        plots.compare_figure([tmp_path / "missing"])


def test_run_labels_and_network_descriptions() -> None:
    assert plots.run_label("runs/2025-mnist-seed", {"preset": "seed"}) == "2025-mnist-seed"
    assert plots.run_label("runs/mine", {"preset": "fast"}) == "mine (fast)"
    assert plots.describe_network({"hidden": [50] * 6, "activation": "sigmoid"}) == "50x6 sigmoid"
    assert plots.describe_network({"hidden": [128, 64]}) == "128-64"


def test_missing_matplotlib_gives_the_install_hint(
    rows: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.raises(GlassnetError, match=r'pip install "glassnet\[plot\]"'):
        plots.plot_curves(rows, tmp_path / "curves.png")
    assert not (tmp_path / "curves.png").exists()


@pytest.mark.slow
@pytest.mark.mnist
def test_plot_run_on_a_real_mnist_run(mnist_dir: Path, tmp_path: Path) -> None:
    data = glassnet.datasets.load("mnist", data_dir=mnist_dir)
    network = glassnet.Network([784, 16, 10], "relu", seed=0)
    history = train(
        network,
        data.train_images[:2000],
        data.train_labels[:2000],
        epochs=1,
        batch_size=32,
        learning_rate=0.05,
    )
    settings = {
        "preset": "tiny",
        "dataset": "mnist",
        "data_dir": str(mnist_dir),
        "hidden": [16],
        "activation": "relu",
        "epochs": 1,
        "seed": 0,
    }
    runs.write_settings(tmp_path, settings)
    runs.write_history(tmp_path, history)
    network.save(tmp_path / runs.MODEL, settings=settings, metrics={})
    log = io.StringIO()
    written = plots.plot_run(tmp_path, log=log)
    assert [p.name for p in written] == list(plots.RUN_PLOTS), log.getvalue()
    for path in written:
        assert_plausible_png(path)
