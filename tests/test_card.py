"""The model card: what it shows of a trained run's file, checked against figures measured here
independently; what it says of a file that holds less; files written to mislead; and the command's
refusals, each one line with nothing written."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np
import pytest
from helpers import evil_pickle, listing, one_line_error, run_main

import glassnet
from glassnet import RunSettings, runs
from glassnet.export.card import Card, Field, Note, Section, Table, confusion_figures, read_card
from glassnet.export.card.render import to_markdown, to_text
from glassnet.modelfile import read_model_header


# ------------------------------------------------------------------------------------ helpers
def blocks(card: Card, section: str) -> list[Field | Table | Note]:
    (found,) = [s for s in card.sections if s.title.startswith(section)]
    return found.blocks


def field(card: Card, section: str, label: str) -> str:
    (value,) = [b.value for b in blocks(card, section) if isinstance(b, Field) and b.label == label]
    return value


def table(card: Card, section: str, caption: str) -> Table:
    (found,) = [b for b in blocks(card, section) if isinstance(b, Table) and b.caption == caption]
    return found


def notes(card: Card, section: str) -> str:
    return " ".join(b.text for b in blocks(card, section) if isinstance(b, Note))


def plain_model(path: Path, **save: object) -> Path:
    """A small model saved from Python, with what ``save`` says it records."""
    network = glassnet.Network([784, 8, 3], "tanh", seed=0, class_names=["ant", "bee", "cat"])
    network.fit(np.random.default_rng(0).integers(0, 256, (30, 784)), np.arange(30) % 3, epochs=1)
    return network.save(path, **save)


# ----------------------------------------------------------------------------- confusion_figures
def test_confusion_figures_of_a_confusion_matrix_worked_by_hand() -> None:
    confusion = np.array([[5, 1, 0], [3, 2, 3], [0, 0, 0]])
    figures = confusion_figures(confusion)
    assert figures["test_size"] == 14
    assert figures["test_accuracy"] == pytest.approx(7 / 14)
    assert figures["per_class_accuracy"] == [pytest.approx(5 / 6), pytest.approx(2 / 8), None]
    # Largest first; the tie between 1->0 and 1->2 in class order; no pair that never happened.
    assert figures["most_confused"] == [[1, 0, 3], [1, 2, 3], [0, 1, 1]]
    assert confusion_figures(confusion, most=1)["most_confused"] == [[1, 0, 3]]
    assert confusion_figures(np.diag([4, 4]))["most_confused"] == []


# ------------------------------------------------------------------------- a trained run's file
@pytest.fixture(scope="module")
def trained(mnist_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> runs.RunResult:
    settings = RunSettings.resolve(
        "fast",
        None,
        {
            "data_dir": str(mnist_dir), "train_limit": 2000, "hidden": [16], "epochs": 1,
            "engine": "numpy",
        },
    )  # fmt: skip
    return runs.run(settings, tmp_path_factory.mktemp("card") / "run")


@pytest.fixture(scope="module")
def confusion(trained: runs.RunResult, mnist_dir: Path) -> np.ndarray:
    """The trained model's test confusion matrix, counted here without glassnet's metrics."""
    data = glassnet.datasets.load("mnist", data_dir=mnist_dir)
    predicted = trained.network.predict(data.test_images)
    matrix = np.zeros((10, 10), dtype=np.int64)
    np.add.at(matrix, (data.test_labels.astype(np.int64), predicted), 1)
    return matrix


@pytest.mark.slow
@pytest.mark.mnist
def test_the_card_of_a_trained_run_shows_what_its_file_records(
    trained: runs.RunResult, confusion: np.ndarray
) -> None:
    path = trained.folder / runs.MODEL
    card = read_card(path)
    assert card.title == f"Model card: {path}"
    assert field(card, "Model", "architecture").startswith("784-16-10: 784 inputs, 1 hidden layer")
    assert field(card, "Model", "parameters").startswith(f"{trained.network.n_parameters:,} (")
    assert field(card, "Data", "dataset") == "mnist"
    assert field(card, "Data", "training samples") == "the first 2,000 of the training set"
    assert field(card, "Data", "test samples") == "10,000"
    assert field(card, "Training", "epochs") == "1"
    right = int(np.trace(confusion))
    assert field(card, "Results", "test accuracy") == (
        f"{right / 10_000:.2%} on 10,000 test samples ({right:,} right)"
    )
    per_class = table(card, "Results", "accuracy per class")
    expected = np.diag(confusion) / confusion.sum(axis=1)
    assert [row[2] for row in per_class.rows] == [f"{a:.2%}" for a in expected]
    pairs = table(card, "Results", "most often confused").rows
    wrong = confusion - np.diag(np.diag(confusion))
    assert [int(n) for _, _, n in pairs] == sorted(wrong.ravel(), reverse=True)[: len(pairs)]
    assert all(wrong[int(t), int(p)] == int(n) for t, p, n in pairs)
    header = read_model_header(path)
    assert field(card, "Provenance", "written by") == f"glassnet {header['glassnet_version']}"
    assert field(card, "Provenance", "written on") == header["created"]
    assert field(card, "Provenance", "SHA-256") == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.mnist
def test_confusion_figures_measured_now_agree_with_those_the_file_recorded(
    trained: runs.RunResult, mnist_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = trained.folder / runs.MODEL
    code, out, err = run_main(["card", str(path), "--data-dir", str(mnist_dir)], capsys)
    assert code == 0 and err == ""
    recorded, measured = out.split("Results (recorded in the file)")[1].split(
        "Results (measured now)"
    )
    assert "Measured when this card was made, on the mnist test set" in measured
    measured = measured.split("Provenance")[0]

    def accuracies(text: str) -> list[str]:
        return re.findall(r"^    \d +\d +(\S+%)$", text, flags=re.MULTILINE)

    assert len(accuracies(recorded)) == 10
    assert accuracies(measured) == accuracies(recorded)

    def accuracy_line(text: str) -> list[str]:
        return [" ".join(x.split()) for x in text.splitlines() if "test accuracy" in x]

    assert len(accuracy_line(recorded)) == 1
    assert accuracy_line(measured) == accuracy_line(recorded)


@pytest.mark.slow
@pytest.mark.mnist
def test_markdown_is_written_atomically_or_printed(
    trained: runs.RunResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = trained.folder / runs.MODEL
    code, out, _ = run_main(["card", str(path), "--markdown", str(tmp_path / "CARD.md")], capsys)
    assert code == 0 and out == f"wrote {tmp_path / 'CARD.md'}\n"
    assert listing(tmp_path) == {"CARD.md": (tmp_path / "CARD.md").stat().st_size}
    text = (tmp_path / "CARD.md").read_text(encoding="utf-8")
    assert text == to_markdown(read_card(path))
    assert text.startswith("# Model card: ")
    assert "\n## Results (recorded in the file)\n" in text
    assert "\n| class | name | accuracy |\n| --- | --- | --- |\n| 0 | 0 | " in text
    code, out, _ = run_main(["card", str(path), "--markdown", "-"], capsys)
    assert code == 0 and out == text


# ---------------------------------------------------------------------- files that hold less
def test_a_file_without_per_class_figures_says_so_and_how_to_measure_them(tmp_path: Path) -> None:
    path = plain_model(tmp_path / "old.safetensors", metrics={"test_accuracy": 0.9})
    card = read_card(path)
    assert field(card, "Results", "test accuracy") == "90.00%"
    said = notes(card, "Results")
    assert "Accuracy per class: not recorded in this file" in said
    assert "The most frequent confusions: not recorded in this file" in said
    assert "glassnet card MODEL --data-dir DIR" in said
    assert field(card, "Data", "dataset") == "not recorded in this file"
    assert field(card, "Data", "checksum") == "not recorded in this file"
    assert field(card, "Model", "classes") == "3: ant, bee, cat"


def test_a_file_with_no_figures_or_settings_says_so(tmp_path: Path) -> None:
    card = read_card(plain_model(tmp_path / "bare.safetensors", settings={}, metrics={}))
    assert field(card, "Results", "test accuracy") == "not recorded in this file"
    assert notes(card, "Training") == "No training settings are recorded in this file."
    assert field(card, "Data", "test samples") == "not recorded in this file"


def test_the_data_checksums_a_file_records_are_shown(tmp_path: Path) -> None:
    settings = {
        "dataset": "mnist",
        "data_sha256": "ab" * 32,
        "file_digests": {"t10k-images-idx3-ubyte": "cd" * 32, "t10k-labels-idx1-ubyte": "ef" * 32},
        "epochs": 3,
    }
    card = read_card(plain_model(tmp_path / "m.safetensors", settings=settings))
    assert field(card, "Data", "data_sha256") == "ab" * 32
    assert field(card, "Data", "file_digests t10k-images-idx3-ubyte") == "cd" * 32
    assert field(card, "Data", "file_digests t10k-labels-idx1-ubyte") == "ef" * 32
    assert field(card, "Training", "epochs") == "3"
    assert all(b.label != "checksum" for b in blocks(card, "Data") if isinstance(b, Field))


# -------------------------------------------------------------------------- misleading files
def test_values_written_to_mislead_are_shown_as_data(tmp_path: Path) -> None:
    network = glassnet.Network(
        [784, 4, 3], "relu", seed=0, class_names=["a|b", "<script>x</script>", "*bold*"]
    )
    metrics = {
        "test_accuracy": 7,
        "per_class_accuracy": "all perfect",
        "most_confused": [[0, 9, 5]],
        "note": "x" * 5000,
    }
    card = read_card(network.save(tmp_path / "m.safetensors", metrics=metrics))
    assert field(card, "Results", "test accuracy") == "recorded as 7, which is not a fraction"
    said = notes(card, "Results")
    assert "Accuracy per class: recorded, but not as one fraction per class" in said
    assert "not as [true class, predicted class, count]" in said
    assert len(field(card, "Results", "note")) == 200
    text, markdown = to_text(card), to_markdown(card)
    assert max(len(line) for line in text.splitlines()) < 260
    assert "a\\|b" in markdown and "\\<script\\>x\\</script\\>" in markdown
    assert "\\*bold\\*" in markdown and "<script>" not in markdown


# ------------------------------------------------------------------------------- refusals
@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "No such file"),
        (b"just some text\n", "looks like a text file"),
        (b"", "empty"),
        ("pickle", "pickle"),
    ],
)
def test_a_file_that_is_not_a_glassnet_model_is_one_line(
    content: bytes | str | None, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "model.safetensors"
    if content is not None:
        source.write_bytes(evil_pickle(tmp_path / "pwned") if content == "pickle" else content)
    before = listing(tmp_path)
    code, out, err = run_main(["card", str(source), "--markdown", str(tmp_path / "c.md")], capsys)
    assert code == 1 and out == ""
    assert expected in one_line_error(err, "card")
    assert listing(tmp_path) == before


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("missing-folder/card.md", "missing-folder/card.md: No such file or directory"),
        ("a-file/card.md", "a-file/card.md: Not a directory"),
        ("a-folder", "a-folder: Is a directory"),
        ("a-pipe", "a-pipe: not a regular file; give a file name"),
    ],
)
def test_an_unwritable_output_is_one_line_and_leaves_nothing(
    target: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = plain_model(tmp_path / "model.safetensors")
    (tmp_path / "a-file").write_text("in the way\n")
    (tmp_path / "a-folder").mkdir()
    os.mkfifo(tmp_path / "a-pipe")  # renaming a file over it would replace the pipe itself
    before = listing(tmp_path)
    code, out, err = run_main(["card", str(model), "--markdown", str(tmp_path / target)], capsys)
    assert code == 1 and out == ""
    assert one_line_error(err, "card").endswith(expected)
    assert listing(tmp_path) == before


def test_the_model_file_itself_is_refused_as_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = plain_model(tmp_path / "model.safetensors")
    data = model.read_bytes()
    code, _, err = run_main(["card", str(model), "--markdown", str(model)], capsys)
    assert code == 2
    assert "is the model file itself" in one_line_error(err, "card")
    assert model.read_bytes() == data


@pytest.mark.slow
@pytest.mark.mnist
def test_measuring_on_data_of_another_shape_is_one_line(
    mnist_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    small = glassnet.Network([4, 3], "relu", seed=0).save(tmp_path / "m.safetensors")
    code, out, err = run_main(["card", str(small), "--data-dir", str(mnist_dir)], capsys)
    assert code == 1 and out == ""
    assert "takes 4 inputs and 3 classes; mnist has 784 and 10" in one_line_error(err, "card")
    code, _, err = run_main(["card", str(small), "--data-dir", str(tmp_path / "none")], capsys)
    assert code == 1 and one_line_error(err, "card")


def test_the_text_card_aligns_its_fields_and_tables() -> None:
    fields = [Field("a", "1"), Field("longer", "2")]
    card = Card("Model card: m", [Section("S", [*fields, Table("t", ("x", "yy"), TABLE_ROWS)])])
    assert to_text(card).splitlines() == [
        "Model card: m",
        "",
        "S",
        "  a       1",
        "  longer  2",
        "  t:",
        "    x   yy",
        "    10  2",
        "    3   40",
    ]
    assert to_markdown(card).splitlines() == [
        "# Model card: m",
        "",
        "## S",
        "",
        "- **a**: 1",
        "- **longer**: 2",
        "",
        "**t**",
        "",
        "| x | yy |",
        "| --- | --- |",
        "| 10 | 2 |",
        "| 3 | 40 |",
    ]


TABLE_ROWS = (("10", "2"), ("3", "40"))
