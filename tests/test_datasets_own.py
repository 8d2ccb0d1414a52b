"""Data of one's own: a folder of pictures, a table, and the runs, models and commands made from
them; and the input scalings a run may choose."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import SHAPES, picture, picture_folder, separable_rows, write_csv
from PIL import Image

from glassnet.cli import main
from glassnet.datasets.choose import load_for_settings
from glassnet.datasets.pictures import read_picture_folder
from glassnet.datasets.preprocess import input_scaling
from glassnet.datasets.split import stratified_split
from glassnet.datasets.table import read_feature_rows, read_table
from glassnet.errors import DatasetNotFoundError, FormatError
from glassnet.settings import RunSettings


# ------------------------------------------------------------------------- a folder of pictures
def test_a_folder_of_pictures_becomes_a_dataset(tmp_path: Path) -> None:
    data = read_picture_folder(picture_folder(tmp_path / "shapes"), size=16, seed=3)
    assert data.class_names == ("bar", "cross", "ring")
    assert data.train_images.shape == (24, 16, 16) and data.train_images.dtype == np.uint8
    assert np.bincount(data.test_labels).tolist() == [2, 2, 2]  # 20% of each class
    again = read_picture_folder(tmp_path / "shapes", size=16, seed=3)
    np.testing.assert_array_equal(again.test_images, data.test_images)
    assert again.sha256 == data.sha256
    rgb = read_picture_folder(tmp_path / "shapes", size=8, color="rgb")
    assert rgb.train_images.shape[1:] == (8, 8, 3)
    mnist = read_picture_folder(tmp_path / "shapes", prep="mnist")
    assert mnist.train_images.shape[1:] == (28, 28) and mnist.train_images[:, 0, 0].max() == 0


def test_a_folder_split_already_keeps_its_parts(tmp_path: Path) -> None:
    picture_folder(tmp_path / "d" / "train", 4)
    picture_folder(tmp_path / "d" / "test", 2)
    data = read_picture_folder(tmp_path / "d")
    assert (len(data.train_labels), len(data.test_labels)) == (12, 6)
    (tmp_path / "d" / "test" / "star").mkdir()
    picture("bar", 0).save(tmp_path / "d" / "test" / "star" / "s.png")
    with pytest.raises(FormatError, match="class 'star' has no folder in"):
        read_picture_folder(tmp_path / "d")


def test_bad_folders_are_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "flat").mkdir()
    picture("bar", 0).save(tmp_path / "flat" / "a.png")
    with pytest.raises(DatasetNotFoundError, match=r"no class folders \(it holds 1 pictures"):
        read_picture_folder(tmp_path / "flat")
    root = picture_folder(tmp_path / "shapes", 3)
    (root / "empty").mkdir()
    with pytest.raises(DatasetNotFoundError, match="empty: no PNG or JPEG pictures"):
        read_picture_folder(root)
    (root / "empty").rmdir()
    (root / "ring" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    with pytest.raises(FormatError, match=r"ring/broken\.png: "):
        read_picture_folder(root)


def test_a_folder_too_large_for_memory_is_refused_before_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from glassnet.datasets import pictures

    root = picture_folder(tmp_path / "shapes", 2)
    (root / "ring" / "0.jpg").write_bytes(b"never decoded")
    monkeypatch.setattr(pictures, "DEFAULT_MAX_BYTES", 6 * 32 * 32 * 3 - 1)
    with pytest.raises(
        FormatError, match=r"6 pictures of 32x32x3 would take .* smaller --image-size"
    ):
        read_picture_folder(root, size=32, color="rgb")
    monkeypatch.setattr(pictures, "MAX_PICTURES", 5)
    with pytest.raises(FormatError, match="6 pictures; at most 5 are read"):
        read_picture_folder(root)


def test_the_split_is_stratified_seeded_and_keeps_every_class_in_training() -> None:
    labels = np.array([0] * 10 + [1] * 5 + [2])
    train, test = stratified_split(labels, 0.2, seed=1)
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(16))
    assert np.bincount(labels[test], minlength=3).tolist() == [2, 1, 0]
    assert np.array_equal(test, stratified_split(labels, 0.2, seed=1)[1])
    assert not np.array_equal(test, stratified_split(labels, 0.2, seed=2)[1])


# ------------------------------------------------------------------------------ a table
def test_a_table_becomes_a_dataset(tmp_path: Path) -> None:
    data = read_table(write_csv(tmp_path / "t.csv", separable_rows()), "kind")
    assert data.kind == "table" and data.feature_names == ("height", "weight")
    assert data.class_names == ("cat", "dog", "horse")
    assert data.train_images.shape == (48, 2) and data.train_images.dtype == np.float64
    numbers = [["x", "y"]] + [[str(i), str((2, 10, 3)[i % 3])] for i in range(9)]
    assert read_table(write_csv(tmp_path / "n.csv", numbers), "y").class_names == ("2", "3", "10")


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("", "column 'weight', line 3: missing value"),
        ("NA", "column 'weight', line 3: missing value"),
        ("heavy", "column 'weight', line 3: 'heavy' is not a number"),
        ("inf", "column 'weight', line 3: 'inf' is not a finite number"),
    ],
)
def test_gaps_and_words_in_a_feature_column_are_refused_by_column_and_line(
    tmp_path: Path, cell: str, message: str
) -> None:
    rows = separable_rows()
    rows[2][1] = cell
    with pytest.raises(FormatError, match=message):
        read_table(write_csv(tmp_path / "t.csv", rows), "kind")


def test_bad_tables_are_refused_in_one_line(tmp_path: Path) -> None:
    rows = separable_rows()
    path = write_csv(tmp_path / "t.csv", rows)
    with pytest.raises(FormatError, match=r"no column 'species' to take the classes from"):
        read_table(path, "species")
    rows[5] = rows[5][:2]
    with pytest.raises(FormatError, match="line 6 has 2 cells but the header names 3"):
        read_table(write_csv(tmp_path / "r.csv", rows), "kind")
    (tmp_path / "latin1.csv").write_bytes("a,b\n\xe9,1\n".encode("latin-1"))
    with pytest.raises(FormatError, match="not UTF-8"):
        read_table(tmp_path / "latin1.csv", "b")
    features = read_table(path, "kind", features=["weight"]).feature_names
    assert features == ("weight",)


def test_a_parquet_table_reads_as_its_csv(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = separable_rows()
    columns = {name: [row[i] for row in rows[1:]] for i, name in enumerate(rows[0])}
    columns["height"] = [float(v) for v in columns["height"]]
    columns["weight"] = [float(v) for v in columns["weight"]]
    pq.write_table(pa.table(columns), tmp_path / "t.parquet")
    from_csv = read_table(write_csv(tmp_path / "t.csv", rows), "kind")
    from_parquet = read_table(tmp_path / "t.parquet", "kind")
    assert from_parquet.sha256 == from_csv.sha256
    columns["weight"][4] = None
    pq.write_table(pa.table(columns), tmp_path / "gap.parquet")
    with pytest.raises(FormatError, match="column 'weight', row 5: missing value"):
        read_table(tmp_path / "gap.parquet", "kind")


# ------------------------------------------------------------------------------ settings
def test_settings_name_one_source() -> None:
    assert RunSettings(data="t.csv", target="y").dataset == "table"
    assert RunSettings(data="pictures/").dataset == "pictures"
    idx = RunSettings(dataset="idx:/some/dir")
    assert (idx.dataset, idx.data_dir) == ("idx", "/some/dir")
    for bad, message in [
        ({"data": "t.csv"}, "--target COLUMN"),
        ({"data": "t.csv", "target": "y", "dataset": "kmnist"}, "name two sources"),
        ({"data": "d/", "target": "y"}, "target does not apply to a folder of pictures"),
        ({"image_size": 32}, "image size does not apply to the IDX dataset mnist"),
        ({"dataset": "nope"}, "unknown dataset 'nope'"),
    ]:
        with pytest.raises(ValueError, match=message):
            RunSettings(**bad)


def test_scalings() -> None:
    pixels = np.array([[0, 255], [51, 102]], np.uint8)
    unit = input_scaling("unit", pixels)
    assert unit is not None and np.allclose(unit.transform(pixels), pixels / 255)
    assert input_scaling("standardize", pixels) is None  # the training loop fits it
    none = input_scaling("none", pixels)
    assert none is not None and np.array_equal(none.transform(pixels), pixels)
    table = np.array([[1.0, 10.0], [3.0, 30.0], [2.0, 20.0]])
    unit_table = input_scaling("unit", table, table=True)
    assert unit_table is not None
    np.testing.assert_allclose(
        unit_table.transform(table, np.float64), [[0, 0], [1, 1], [0.5, 0.5]]
    )
    standard = input_scaling("standardize", table, table=True)
    assert standard is not None and standard.n_features == 2


# ------------------------------------------------------------------------------ runs and commands
@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GLASSNET_RUNS_DIR", raising=False)
    return tmp_path


def train(*options: str) -> int:
    return main(["train", "-q", "--epochs", "8", "--engine", "numpy", *options])


def test_a_picture_folder_trains_and_its_model_predicts_and_evaluates(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    picture_folder(here / "shapes", 12)
    assert train("--data", "shapes", "--image-size", "12", "--epochs", "40", "--out", "run") == 0
    accuracy = capsys.readouterr().out
    settings = (here / "run" / "settings.toml").read_text()
    assert f'data = "{here / "shapes"}"' in settings and "data_sha256 = " in settings
    assert "image_size = 12" in settings and 'dataset = "pictures"' in settings
    seen = [str(Path("shapes") / shape / "1.png") for shape in SHAPES]  # as training read them
    assert main(["predict", "run/model.safetensors", *seen, "--top", "1"]) == 0
    answers = [line.split()[1] for line in capsys.readouterr().out.splitlines()]
    assert answers == list(SHAPES)
    assert main(["evaluate", "run/model.safetensors"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and "test accuracy" in out
    # Repeating the run from its settings repeats it exactly.
    assert train("--config", "run/settings.toml", "--out", "again") == 0
    assert capsys.readouterr().out.split(" after")[0] == accuracy.split(" after")[0]
    # Changed data is noticed: --config refuses it, evaluate warns.
    picture("ring", 4242).save(here / "shapes" / "ring" / "extra.png")
    assert train("--config", "run/settings.toml", "--out", "changed") == 1
    assert "the data has changed since the run that recorded it" in capsys.readouterr().err
    assert not (here / "changed").exists()
    assert train("--config", "run/settings.toml", "--data-sha256", "", "--out", "now") == 0
    assert "test accuracy" in capsys.readouterr().out
    assert main(["evaluate", "run/model.safetensors"]) == 0
    assert "not the data the model was trained on" in capsys.readouterr().err


def test_a_table_trains_and_its_model_predicts_each_row(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_csv(here / "animals.csv", separable_rows(90))
    assert train("--data", "animals.csv", "--target", "kind", "--epochs", "60", "--out", "run") == 0
    assert "test accuracy" in capsys.readouterr().out
    rows = [["weight", "height"], ["3.1", "1.0"], ["60.5", "20.2"]]  # other order, no target
    write_csv(here / "new.csv", rows)
    assert main(["predict", "run/model.safetensors", "new.csv", "--out", "p.csv"]) == 0
    lines = (here / "p.csv").read_text().splitlines()
    assert lines[0] == "row,class,probability"
    assert [line.split(",")[1] for line in lines[1:]] == ["cat", "horse"]
    assert all(0.0 < float(line.split(",")[2]) <= 1.0 for line in lines[1:])
    assert capsys.readouterr().err == "2 predictions written to p.csv\n"
    write_csv(here / "short.csv", [["weight"], ["3.0"]])
    assert main(["predict", "run/model.safetensors", "short.csv"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "no column 'height', which the model takes as a feature" in err
    np.testing.assert_array_equal(read_feature_rows(here / "new.csv", ["height"]), [[1.0], [20.2]])


def test_unit_scaling_is_recorded_in_the_model(here: Path) -> None:
    picture_folder(here / "shapes", 4)
    assert train("--data", "shapes", "--scaling", "unit", "--epochs", "1", "--out", "run") == 0
    from glassnet import load

    network = load(here / "run" / "model.safetensors")
    assert network.standardizer is not None
    assert network.standardizer.scale.tolist() == [
        255.0
    ] and network.standardizer.mean.tolist() == [0.0]
    assert network.training_settings["scaling"] == "unit"


def test_evaluate_warns_when_given_another_dataset(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from glassnet import Network

    net = Network([35, 4, 3], seed=0)
    net.training_settings = {"dataset": "mnist", "data_sha256": "0" * 64}
    net.save(here / "m.safetensors")
    from helpers import write_idx_folder

    write_idx_folder(here / "mine", ("train-images", "train-labels", "t10k-images", "t10k-labels"))
    assert main(["evaluate", "m.safetensors", "--dataset", f"idx:{here / 'mine'}"]) == 0
    assert "the model was trained on mnist, not on idx" in capsys.readouterr().err
    data = load_for_settings({"dataset": "idx", "data_dir": str(here / "mine")})
    assert data.train_images.shape == (6, 5, 7)


# ------------------------------------------------------------------------------ pictures, hardened
@pytest.fixture
def model(tmp_path: Path) -> Path:
    from glassnet import Network

    return Network([784, 8, 10], "relu", seed=0).save(tmp_path / "model.safetensors")


def test_swapped_arguments_are_named(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    picture("bar", 0).save(tmp_path / "digit.png")
    assert main(["predict", str(tmp_path / "digit.png"), str(model)]) == 1
    err = capsys.readouterr().err
    assert "the model comes first" in err and "header" not in err


def test_a_very_thin_picture_is_read(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, shape in [("wide.png", (1, 4000)), ("tall.png", (4000, 1))]:
        pixels = np.full(shape, 255, np.uint8)
        pixels.reshape(-1)[1000:1400] = 0
        Image.fromarray(pixels).save(tmp_path / name)
    files = [str(tmp_path / "wide.png"), str(tmp_path / "tall.png")]
    assert main(["predict", str(model), *files]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_show_failing_for_one_picture_goes_on_with_the_others_readonly(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    picture("bar", 0).save(locked / "a.png")
    locked.chmod(0o555)
    try:
        assert main(["predict", str(model), str(locked / "a.png"), "--show"]) == 1
    finally:
        locked.chmod(0o755)
    assert f"cannot write {locked / 'a.mnist.png'}" in capsys.readouterr().err


def test_show_failing_for_one_picture_goes_on_with_the_others(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    picture("bar", 0).save(tmp_path / "a.png")
    picture("cross", 0).save(tmp_path / "b.png")
    (tmp_path / "a.mnist.png").mkdir()  # where --show would write a's picture: cannot be replaced
    assert (
        main(["predict", str(model), str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--show"])
        == 1
    )
    out, err = capsys.readouterr()
    assert out.count("what the network saw") == 1 and str(tmp_path / "b.png:") in out
    assert err.startswith(f"glassnet predict: error: cannot write {tmp_path / 'a.mnist.png'}: ")
    assert ".tmp" not in err and err.count("\n") == 1


@pytest.mark.slow
def test_a_large_png_is_reduced_without_a_full_size_copy_in_floats(tmp_path: Path) -> None:
    """A 40-megapixel RGBA PNG took 1.1 GB to read when it was turned into floats at full size."""
    import subprocess

    pixels = np.full((5000, 8000, 4), 255, np.uint8)
    pixels[2000:3000, 3000:3500, :3] = 0
    Image.fromarray(pixels, "RGBA").save(tmp_path / "big.png", compress_level=1)
    del pixels
    probe = (
        "import resource, sys\n"
        "from glassnet.images import load_image\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "gray = load_image(sys.argv[1])\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(gray.shape[0], gray.shape[1], (after - before) // 1024)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "big.png")],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    height, width, megabytes = map(int, result.stdout.split())
    assert (height, width) == (1250, 2000)
    assert megabytes < 500, f"reading took {megabytes} MB more"
