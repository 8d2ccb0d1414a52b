"""Quiet wrong answers and careless output: data that cannot support what a run would claim is
refused (a training part of one class, a test class never trained); a full disk names the file and
says the run can go on; an output file that is a folder, or in no folder, is named as given, never
as a hidden temporary file; --show's pictures are not read back as inputs; a misspelt column gets
a did-you-mean; a table's rows are not called images."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest
from helpers import one_line_error, picture, run_main, separable_rows, write_csv

from glassnet import Network
from glassnet.atomic import atomic_write_text
from glassnet.datasets.idx import write_idx
from glassnet.datasets.idxfolder import load_idx_folder
from glassnet.datasets.table import read_table
from glassnet.errors import FormatError

NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images", "t10k-labels")


def _idx_folder(folder: Path, train_labels: list[int], test_labels: list[int]) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name, labels in ((NAMES[:2], train_labels), (NAMES[2:], test_labels)):
        write_idx(folder / name[0], rng.integers(0, 256, (len(labels), 5, 5), dtype=np.uint8))
        write_idx(folder / name[1], np.array(labels, np.uint8))
    return folder


def test_an_idx_folder_whose_labels_cannot_support_a_classifier_is_refused(
    tmp_path: Path,
) -> None:
    with pytest.raises(FormatError, match="every training label is 0: one class"):
        load_idx_folder(_idx_folder(tmp_path / "one", [0] * 6, [0, 0]))
    with pytest.raises(FormatError, match=r"class 3 is tested .* but never trained"):
        load_idx_folder(_idx_folder(tmp_path / "untrained", [0, 1, 2] * 2, [0, 3, 3]))
    data = load_idx_folder(_idx_folder(tmp_path / "fine", [0, 1, 2] * 2, [2, 1]))
    assert data.class_names == ("0", "1", "2")


def test_a_full_disk_names_the_file_and_says_the_run_can_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "t.csv", separable_rows(60))
    from glassnet.runs import execute

    real = execute.save_checkpoint
    calls = [0]

    def full_disk_on_the_second(path: Path, *args: object) -> None:
        calls[0] += 1
        if calls[0] < 2:
            return real(path, *args)  # type: ignore[arg-type]

        def no_space(fd: int) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        with monkeypatch.context() as patch:
            patch.setattr(os, "fsync", no_space)
            return real(path, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(execute, "save_checkpoint", full_disk_on_the_second)
    train = ["train", "--data", "t.csv", "--target", "kind", "--epochs", "3", "--out", "run"]
    code, _, err = run_main(train, capsys)
    line = err.strip().splitlines()[-1]  # after the epochs' lines
    assert "Traceback" not in err and line.startswith("glassnet train: error: ")
    assert code == 1 and "checkpoint.safetensors: No space left on device" in line
    assert "glassnet train --resume run" in line and ".tmp" not in line
    assert sorted(p.name for p in (tmp_path / "run").iterdir() if not p.name.startswith(".")) == [
        "checkpoint.safetensors", "history.csv", "history.json", "settings.toml"
    ]  # fmt: skip


def test_an_output_file_is_named_as_given(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError) as info:
        atomic_write_text(tmp_path, "x")
    assert info.value.filename == str(tmp_path) and "give a file name" in str(info.value)
    with pytest.raises(FileNotFoundError) as missing:
        atomic_write_text(tmp_path / "no" / "x.csv", "x")
    assert missing.value.filename == str(tmp_path / "no" / "x.csv")
    assert list(tmp_path.iterdir()) == []


def test_predict_out_a_folder_is_refused_before_predicting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "t.csv", separable_rows(60))
    code, _, err = run_main(
        ["train", "--data", "t.csv", "--target", "kind", "--epochs", "1", "--out", "run"], capsys
    )
    assert code == 0, err
    (tmp_path / "out").mkdir()
    code, _, err = run_main(["predict", "run", "t.csv", "--out", "out"], capsys)
    line = one_line_error(err, "predict")
    assert code == 1 and "--out out: a folder" in line and ".tmp" not in line
    code, _, err = run_main(["predict", "run", "t.csv", "--out", "no/p.csv"], capsys)
    assert code == 1 and one_line_error(err, "predict").endswith(
        "no/p.csv: No such file or directory"
    )


def test_a_misspelt_column_gets_a_did_you_mean(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", separable_rows())
    with pytest.raises(FormatError, match=r"no column 'knid' .*; did you mean 'kind'"):
        read_table(path, "knid")
    with pytest.raises(FormatError, match="no column 'wieght'; did you mean 'weight'"):
        read_table(path, "kind", features=["wieght"])


def test_a_table_run_speaks_of_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "t.csv", separable_rows(60))
    code, out, err = run_main(
        ["train", "--data", "t.csv", "--target", "kind", "--epochs", "1", "--out", "run"], capsys
    )
    assert code == 0 and "training rows of table" in out + err and "images" not in out + err


def test_show_pictures_are_not_read_back_and_may_go_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("PIL")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "photos").mkdir()
    picture("bar", 1).save(tmp_path / "photos" / "a.png")
    Network([784, 8, 10], "relu", seed=0).save(tmp_path / "m.safetensors")
    code, out, _ = run_main(["predict", "m.safetensors", "photos/a.png", "--show"], capsys)
    assert code == 0 and "photos/a.mnist.png" in out
    inputs = sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "photos").iterdir())
    code, out, err = run_main(["predict", "m.safetensors", *inputs, "--show"], capsys)
    assert code == 0 and out.count("what the network saw") == 1  # a.mnist.png passed over
    assert "passed over 1 picture that --show wrote" in err
    code, out, err = run_main(
        ["predict", "m.safetensors", "photos/a.png", "--show", "--show-dir", "seen"], capsys
    )
    assert code == 0 and (tmp_path / "seen" / "a.mnist.png").is_file()
    assert sorted(p.name for p in (tmp_path / "photos").iterdir()) == ["a.mnist.png", "a.png"]


def test_file_names_are_echoed_printable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("PIL")
    monkeypatch.chdir(tmp_path)
    evil = "e\x1b[31mvil.png"
    picture("bar", 1).save(tmp_path / evil)
    Network([784, 8, 10], "relu", seed=0).save(tmp_path / "m.safetensors")
    code, out, err = run_main(
        ["predict", "m.safetensors", evil, "nope\x1b[2J.png", "--show"], capsys
    )
    assert code == 1 and "\x1b" not in out + err
    assert "e\\x1b[31mvil.png: " in out and "nope\\x1b[2J.png" in err
