"""The figures the documentation prints beside a command come out again from that command.

Each row of :data:`FIGURES` names a page, the text on it that holds a figure (the figure written
in braces, ``{95.1}``), the command the page prints beside it, a quick form of that command that
runs in seconds (its first epoch, or the same call on less), what to read from the run, and how
close the run must come. The test checks that the page still says exactly that text and that
command, then runs the quick form on the default engine (``--engine auto``: the compiled engine
where ``glassnet[fast]`` is installed, as in CI) and compares. A page edited to another figure, or
a command changed on the page, fails here until this table is changed with it, so the two cannot
drift apart silently.

Figures that take minutes (the presets ``best`` and ``seed`` at full length, Fashion-MNIST's
``best``) are not re-run here: their pages give the command, the engine, the machine and the date.
``docs/explain.md`` is held to its generator by ``tests/test_explain.py``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import mnist_folder

from glassnet.cli import main
from glassnet.engine import available_engines

ROOT = Path(__file__).resolve().parents[1]
FIGURE = re.compile(r"\{([^{}]+)\}")


@dataclass(frozen=True)
class Figure:
    page: str  # relative to the repository
    snippet: str  # the page's text, its figure in braces
    command: str  # the command the page prints beside it (must appear on the page)
    quick: tuple[str, ...]  # the quick form's arguments, after "glassnet"
    read: str  # what to read from the run (see MEASURES)
    tolerance: float  # absolute, in the figure's own unit
    slow: bool = True

    @property
    def text(self) -> str:
        return FIGURE.sub(lambda m: m.group(1), self.snippet)

    @property
    def value(self) -> float:
        found = FIGURE.search(self.snippet)
        assert found, f"{self.snippet!r} marks no figure in braces"
        return float(found.group(1).replace(",", ""))


SEED_20 = "glassnet train --preset seed --epochs 20"
SEED_RUN = ("train", "--preset", "seed", "--epochs", "20")  # ~6 s compiled: the command itself
RELU = ("train", "--preset", "seed", "--epochs", "1", "--activation", "relu", "--initializer", "he")
RELU_SGD = (*RELU, "--learning-rate", "0.01")
RELU_ADAM = (*RELU, "--optimizer", "adam", "--learning-rate", "0.001")
RELU_SGD_COMMAND = f"{SEED_20} --activation relu --initializer he --learning-rate 0.01 -v"
RELU_ADAM_COMMAND = (
    f"{SEED_20} --activation relu --initializer he --optimizer adam --learning-rate 0.001 -v"
)
#: A whole run's test accuracy, in percent: 3 images in 10,000 (the same engine on the same
#: machine repeats a run bit for bit; this leaves room for another BLAS, not for a changed engine).
WHOLE = 0.03
#: A figure the page rounds to one decimal: half a unit of it, and a little.
ROUNDED = 0.06
#: A learning-speed ratio the page gives to two decimals.
RATIO = 0.006


def _post(epoch_figures: str, figure_at: str) -> str:
    return f"SGD 0.002 | {epoch_figures} | {figure_at}"


#: (page, the text holding the figure, the command beside it, its quick form, what to read,
#: tolerance). ``read`` is a measure of MEASURES, ``@N`` for epoch N of the run (default: its
#: last).
FIGURES = [
    # The vanishing gradient, results.md: the post's run whole, the others' first epoch.
    Figure("docs/results.md", "SGD 0.002 | {24.2}% | 47.0% | 74.5% |", f"{SEED_20} -v",
           SEED_RUN, "test_accuracy@1", ROUNDED),
    Figure("docs/results.md", "SGD 0.002 | 24.2% | {47.0}% | 74.5% |", f"{SEED_20} -v",
           SEED_RUN, "test_accuracy@5", ROUNDED),
    Figure("docs/results.md", "SGD 0.002 | 24.2% | 47.0% | {74.5}% |", f"{SEED_20} -v",
           SEED_RUN, "test_accuracy@20", ROUNDED),
    Figure("docs/results.md", "74.5% | {0.11} / 0.17 / 0.23 | 86-88% |", f"{SEED_20} -v",
           SEED_RUN, "speed_ratio@1", RATIO),
    Figure("docs/results.md", "74.5% | 0.11 / {0.17} / 0.23 | 86-88% |", f"{SEED_20} -v",
           SEED_RUN, "speed_ratio@5", RATIO),
    Figure("docs/results.md", "74.5% | 0.11 / 0.17 / {0.23} | 86-88% |", f"{SEED_20} -v",
           SEED_RUN, "speed_ratio@20", RATIO),
    Figure("docs/plots.md", "SGD at learning rate 0.002 in batches of 10. {74.48}% test accuracy.",
           SEED_20, SEED_RUN, "test_accuracy", WHOLE),
    Figure("docs/plots.md", "ends at {98.34}% (9834/10000) where the pictures",
           "glassnet train --epochs 20", ("train", "--epochs", "20"), "test_accuracy", WHOLE),
    Figure("docs/results.md", "| ReLU, He, SGD 0.01 | {95.1}% |", RELU_SGD_COMMAND,
           RELU_SGD, "test_accuracy", ROUNDED),
    Figure("docs/results.md", "97.1% | {1.57} / 1.27 / 1.72 | 0% (dead) |", RELU_SGD_COMMAND,
           RELU_SGD, "speed_ratio", RATIO),
    Figure("docs/results.md", "| ReLU, He, Adam 0.001 | {94.2}% |", RELU_ADAM_COMMAND,
           RELU_ADAM, "test_accuracy", ROUNDED),
    Figure("docs/results.md", "96.7% | {0.94} / 1.21 / 1.93 | 16-22% (dead) |",
           RELU_ADAM_COMMAND, RELU_ADAM, "speed_ratio", RATIO),
    # The presets that run in seconds, whole.
    Figure("docs/results.md", "5 epochs | **{98.21}%**, 5.1 s |", "glassnet train --preset fast",
           ("train", "--preset", "fast"), "test_accuracy", WHOLE),
    Figure("README.md", "| `glassnet train --preset fast` (5 epochs, cosine decay) | {98.21}% |",
           "glassnet train --preset fast", ("train", "--preset", "fast"), "test_accuracy", WHOLE),
    Figure("README.md", "| `glassnet train` (784-256-10 ReLU, plain SGD, 10 epochs) | {98.31}% |",
           "glassnet train", ("train",), "test_accuracy", WHOLE),
    Figure("docs/results.md", "10 epochs | **{98.31}%**, 10.8 s |", "glassnet train",
           ("train",), "test_accuracy", WHOLE),
    Figure("docs/getting-started.md", "test accuracy {98.31}% (9831/10000) after 10 epochs",
           "glassnet train", ("train",), "test_accuracy", WHOLE),
    # Data of one's own.
    Figure("docs/results.md", "| **{95.80}%** (1916/2000) |",
           "glassnet train --data mnist-test-png", (), "picture_folder", WHOLE),
    Figure("docs/results.md", "| **{95.54}%** (343/359) |",
           "glassnet train --data digits.csv --target digit", (), "digits_table", WHOLE),
    # scikit-learn's digits through the estimator.
    Figure("docs/ecosystem.md", "X, y, cv=folds).mean())   # {0.978}",
           "folds = StratifiedKFold(5, shuffle=True, random_state=0)", (),
           "digits_cross_validation", 0.0006),
    Figure("README.md", "X, y, cv=folds).mean())   # about {0.978}",
           "folds = StratifiedKFold(5, shuffle=True, random_state=0)", (),
           "digits_cross_validation", 0.0006),
    Figure("docs/ecosystem.md", "X, y, cv=5).mean())   # {0.943}",
           "cross_val_score(NetClassifier(random_state=0), X, y, cv=5)", (),
           "digits_cross_validation_unshuffled", 0.0006),
    # The walkthrough page quotes the post's example, as `glassnet explain` computes it.
    Figure("docs/walkthrough.md", "standard-normal start scores $C = {2.8609}$ on the example's",
           "[the numbers](explain.md)", ("explain",), "explain_loss", 0.00005),
    Figure("docs/walkthrough.md", "the example's loss falls from {2.860941} to 2.860330",
           "[the numbers](explain.md)", ("explain",), "explain_loss_before", 5e-7),
    Figure("docs/walkthrough.md", "the example's loss falls from 2.860941 to {2.860330}",
           "[the numbers](explain.md)", ("explain",), "explain_loss_after", 5e-7),
    # The web server's body limit, a constant the page states.
    Figure("docs/reliability.md",
           "| A request body over {6} MiB is refused with 413, before it is read |",
           "`Content-Length: 6291457`", (), "body_limit_mib", 0.0, slow=False),
]  # fmt: skip


def _history(folder: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads((folder / "history.json").read_text())["rows"]
    return rows


_RUNS: dict[tuple[str, ...], list[dict[str, Any]]] = {}  # one run serves every figure it gives
_CROSS_VALIDATION: dict[bool, float] = {}


def _train(figure: Figure, tmp_path: Path) -> list[dict[str, Any]]:
    if figure.quick in _RUNS:
        return _RUNS[figure.quick]
    data = mnist_folder()
    if data is None:
        pytest.skip("no MNIST copy (set GLASSNET_TEST_MNIST)")
    if "numba" not in available_engines():
        pytest.skip("the figures are the compiled engine's (pip install 'glassnet[fast]')")
    out = tmp_path / "run"
    status = main([*figure.quick, "--data-dir", str(data), "--out", str(out)])
    assert status == 0
    _RUNS[figure.quick] = _history(out)
    return _RUNS[figure.quick]


def _row(figure: Figure, tmp_path: Path) -> dict[str, Any]:
    """The history's row of the epoch ``read`` names (``@N``), else the last."""
    rows = _train(figure, tmp_path)
    epoch = int(figure.read.split("@")[1]) if "@" in figure.read else len(rows)
    return rows[epoch - 1]


def _test_accuracy(figure: Figure, tmp_path: Path) -> float:
    return 100 * float(_row(figure, tmp_path)["test_accuracy"])


def _speed_ratio(figure: Figure, tmp_path: Path) -> float:
    """First hidden layer's ‖∂C/∂b‖ over the last hidden layer's (``bias_grad_norm_l``)."""
    row = _row(figure, tmp_path)
    layers = sorted(int(k.rsplit("_", 1)[1]) for k in row if k.startswith("bias_grad_norm_"))
    return float(row[f"bias_grad_norm_{layers[0]}"] / row[f"bias_grad_norm_{layers[-2]}"])


def _digits(shuffled: bool) -> float:
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_digits
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    from glassnet.sklearn import NetClassifier

    if "numba" not in available_engines():
        pytest.skip("the figures are the compiled engine's (pip install 'glassnet[fast]')")
    if shuffled not in _CROSS_VALIDATION:
        X, y = load_digits(return_X_y=True)
        folds: Any = StratifiedKFold(5, shuffle=True, random_state=0) if shuffled else 5
        scores = cross_val_score(NetClassifier(random_state=0), X, y, cv=folds)
        _CROSS_VALIDATION[shuffled] = float(np.mean(scores))
    return _CROSS_VALIDATION[shuffled]


def _body_limit(figure: Figure, tmp_path: Path) -> float:
    from glassnet.web.guard import MAX_BODY_BYTES

    assert str(MAX_BODY_BYTES + 1) in figure.command
    return MAX_BODY_BYTES / 2**20


def _own_data(figure: Figure, tmp_path: Path, kind: str) -> float:
    """The data of one's own, written as results.md says, and trained on with its command."""
    data = mnist_folder()
    if data is None:
        pytest.skip("no MNIST copy (set GLASSNET_TEST_MNIST)")
    if "numba" not in available_engines():
        pytest.skip("the figures are the compiled engine's (pip install 'glassnet[fast]')")
    if kind == "pictures":
        Image = pytest.importorskip("PIL.Image")
        from glassnet import datasets

        mnist = datasets.load("mnist", data_dir=data)
        folder = tmp_path / "mnist-test-png"
        for label in range(10):
            (folder / str(label)).mkdir(parents=True)
        for i, (image, label) in enumerate(zip(mnist.test_images, mnist.test_labels, strict=True)):
            Image.fromarray(image).save(folder / str(label) / f"{i:05d}.png")
        args = ["--data", str(folder)]
    else:
        load_digits = pytest.importorskip("sklearn.datasets").load_digits
        X, y = load_digits(return_X_y=True)
        table = tmp_path / "digits.csv"
        header = ",".join([*(f"pixel_{i}" for i in range(64)), "digit"])
        lines = [
            ",".join(map(str, [*row.astype(int), label])) for row, label in zip(X, y, strict=True)
        ]
        table.write_text("\n".join([header, *lines]) + "\n")
        args = ["--data", str(table), "--target", "digit"]
    out = tmp_path / "run"
    assert main(["train", *args, "--out", str(out)]) == 0
    return 100 * float(_history(out)[-1]["test_accuracy"])


_EXPLAINED: list[str] = []


def _explain(figure: Figure, tmp_path: Path, what: str) -> float:
    """A figure of ``glassnet explain``'s walkthrough of the post's example (about 2 s)."""
    if not _EXPLAINED:
        data = mnist_folder()
        if data is None:
            pytest.skip("no MNIST copy (set GLASSNET_TEST_MNIST)")
        out = tmp_path / "explain.txt"
        assert main([*figure.quick, "--data-dir", str(data), "--markdown", str(out)]) == 0
        _EXPLAINED.append(out.read_text())
    text = _EXPLAINED[0]
    pattern = {
        "loss": r"C = (\d+\.\d+) on this batch",
        "loss_before": r"\| loss before \| (\d+\.\d+) \|",
        "loss_after": r"\| loss after \| (\d+\.\d+) \|",
    }[what]
    found = re.search(pattern, text)
    assert found, f"glassnet explain no longer prints {pattern!r}"
    return float(found.group(1))


MEASURES: dict[str, Callable[[Figure, Path], float]] = {
    "explain_loss": lambda figure, tmp_path: _explain(figure, tmp_path, "loss"),
    "explain_loss_before": lambda figure, tmp_path: _explain(figure, tmp_path, "loss_before"),
    "explain_loss_after": lambda figure, tmp_path: _explain(figure, tmp_path, "loss_after"),
    "test_accuracy": _test_accuracy,
    "picture_folder": lambda figure, tmp_path: _own_data(figure, tmp_path, "pictures"),
    "digits_table": lambda figure, tmp_path: _own_data(figure, tmp_path, "table"),
    "speed_ratio": _speed_ratio,
    "digits_cross_validation": lambda figure, tmp_path: _digits(shuffled=True),
    "digits_cross_validation_unshuffled": lambda figure, tmp_path: _digits(shuffled=False),
    "body_limit_mib": _body_limit,
}


def _id(figure: Figure) -> str:
    return f"{figure.page}:{figure.text[:40]}"


@pytest.mark.parametrize("figure", FIGURES, ids=_id)
def test_the_page_says_what_the_table_holds(figure: Figure) -> None:
    """Fast: every figure and command of the table is on its page, word for word."""
    page = (ROOT / figure.page).read_text()
    flat = " ".join(page.split())
    assert " ".join(figure.text.split()) in flat, f"{figure.page} no longer says {figure.text!r}"
    assert " ".join(figure.command.split()) in flat, f"{figure.page} lost {figure.command!r}"
    assert figure.read.split("@")[0] in MEASURES


@pytest.mark.parametrize(
    "figure",
    [pytest.param(f, marks=[pytest.mark.slow] if f.slow else []) for f in FIGURES],
    ids=_id,
)
def test_the_command_gives_the_figure(figure: Figure, tmp_path: Path) -> None:
    found = MEASURES[figure.read.split("@")[0]](figure, tmp_path)
    assert found == pytest.approx(figure.value, abs=figure.tolerance), (
        f"{figure.page}: {figure.command!r} now gives {found:.4f}, the page says {figure.value}"
    )


def test_a_changed_figure_or_command_is_noticed(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("| ReLU | 95.1% |\n`glassnet train --epochs 20`\n")
    figure = Figure(
        str(page), "| ReLU | {95.1}% |", "glassnet train --epochs 20", (), "speed_ratio", 0
    )
    assert figure.value == 95.1 and figure.text == "| ReLU | 95.1% |"
    test_the_page_says_what_the_table_holds(figure)
    for edited in ("| ReLU | 95.3% |\n`glassnet train --epochs 20`\n",
                   "| ReLU | 95.1% |\n`glassnet train --epochs 5`\n"):  # fmt: skip
        page.write_text(edited)
        with pytest.raises(AssertionError):
            test_the_page_says_what_the_table_holds(figure)
