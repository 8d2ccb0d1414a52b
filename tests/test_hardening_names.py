"""Names are decided where the data enters: a class folder, a class or a column a run could not
record (a newline, an escape, a direction override, 150 characters), and a data path that is not
UTF-8 or holds such characters, are refused in one line before anything is trained, and nothing is
left on disk; a table of 2,000 columns trains and leaves a run folder every command reads back."""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import numpy as np
import pytest
from helpers import listing, picture_folder, run_main

from glassnet.datasets.pictures import read_picture_folder
from glassnet.datasets.table import read_table
from glassnet.errors import FormatError, InputError
from glassnet.runs import read_settings, to_toml


def error_line(err: str, command: str) -> str:
    """The one error line of a command that may first say other things (an engine compiling)."""
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("glassnet ")]
    assert errors and errors[-1].startswith(f"glassnet {command}: error: "), err
    assert len([line for line in errors if ": error: " in line]) == 1, err
    return errors[-1]


BAD_NAMES = {
    "newline": ("ri\nng", re.escape("U+000A")),
    "escape": ("ri\x1b[31mng", re.escape("U+001B")),
    "bidi": ("ri\u202eng", re.escape("U+202E")),
    "long": ("r" * 150, "150 characters long; the limit is 100"),
}


@pytest.mark.parametrize("kind", sorted(BAD_NAMES))
def test_a_class_folder_that_cannot_be_recorded_is_refused_before_reading(
    tmp_path: Path, kind: str
) -> None:
    name, problem = BAD_NAMES[kind]
    root = picture_folder(tmp_path / "shapes", 2)
    (root / "ring").rename(root / name)
    (root / name / "0.jpg").write_bytes(b"not a picture")  # never decoded: names come first
    with pytest.raises(FormatError, match=problem) as info:
        read_picture_folder(root)
    assert "\n" not in str(info.value) and "\x1b" not in str(info.value)
    assert "rename the folder" in str(info.value)


def _table(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows])
    return path


def _rows(n: int = 30, label: object = None) -> list[list[object]]:
    return [
        [i, (i * 7) % 5, label if label is not None and i == 3 else ("a", "b")[i % 2]]
        for i in range(n)
    ]


@pytest.mark.parametrize("kind", sorted(BAD_NAMES))
def test_a_class_or_column_that_cannot_be_recorded_is_refused(tmp_path: Path, kind: str) -> None:
    name, problem = BAD_NAMES[kind]
    labels = _table(tmp_path / "labels.csv", ["x", "z", "y"], _rows(label=name))
    with pytest.raises(FormatError, match=f"column 'y': class .*{problem}"):
        read_table(labels, "y")
    columns = _table(tmp_path / "columns.csv", ["x", name, "y"], _rows())
    with pytest.raises(FormatError, match=f"column .*{problem}"):
        read_table(columns, "y")
    assert read_table(columns, "y", features=["x"]).feature_names == ("x",)  # left out: fine


def test_a_feature_column_holding_a_comma_is_refused(tmp_path: Path) -> None:
    path = _table(tmp_path / "t.csv", ["x", "a,b", "y"], _rows())
    with pytest.raises(FormatError, match="'a,b' holds a comma"):
        read_table(path, "y")


def test_the_command_refuses_before_training_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    _table(tmp_path / "t.csv", ["x", "z", "y"], _rows(label="bad\nlabel"))
    before = listing(tmp_path)
    code, _, err = run_main(["train", "--data", "t.csv", "--target", "y", "--epochs", "1"], capsys)
    assert code == 1 and "U+000A" in error_line(err, "train")
    assert listing(tmp_path) == before  # no runs/ folder, no run


@pytest.mark.parametrize(
    "folder", ["esc\x1b[2Jdir", "new\nline", os.fsdecode(b"latin\xe9")], ids=["esc", "nl", "bytes"]
)
def test_a_data_path_a_run_could_not_record_is_refused_before_training(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    folder: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    picture_folder(tmp_path / folder, 2)
    before = listing(tmp_path)
    code, _, err = run_main(["train", "--data", folder, "--epochs", "1", "--out", "run"], capsys)
    line = error_line(err, "train")
    assert code == 1 and "data" in line
    assert "UTF-8" in line or "control character" in line
    assert "\x1b" not in err
    assert listing(tmp_path) == before


def test_settings_toml_is_never_written_unreadable() -> None:
    with pytest.raises(InputError, match="not valid UTF-8"):
        to_toml({"data": os.fsdecode(b"/data/caf\xe9")})
    with pytest.raises(InputError, match=re.escape("U+001B")):
        to_toml({"target": "a\x1bb"})


def test_a_table_of_2000_columns_trains_and_reads_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    header = [f"feature_column_{i}" for i in range(2000)] + ["y"]
    rows = [[f"{v:.2f}" for v in rng.normal(size=2000)] + [i % 2] for i in range(40)]
    _table(tmp_path / "wide.csv", header, rows)
    train = ["train", "--data", "wide.csv", "--target", "y", "--epochs", "1", "--hidden", "8"]
    code, out, err = run_main([*train, "--out", "run"], capsys)
    assert code == 0, err
    settings = read_settings(tmp_path / "run")
    assert "features" not in settings  # every column but the target, not listed by name
    code, out, err = run_main(["runs", "--runs-dir", "."], capsys)
    assert code == 0 and "unreadable" not in out
    code, out, err = run_main(["predict", "run", "wide.csv"], capsys)
    assert code == 0 and len(out.splitlines()) == 41, err
    code, out, err = run_main(["evaluate", "run"], capsys)
    assert code == 0 and "warning" not in err, err
    code, out, err = run_main(["train", "--config", "run/settings.toml", "--out", "again"], capsys)
    assert code == 0, err
    listed = ",".join(header[:1500])  # named: 1,500 columns are 28,390 characters
    code, out, err = run_main([*train, "--features", listed, "--out", "named"], capsys)
    line = error_line(err, "train")
    assert code == 1 and "characters long" in line and "leave out --features" in line
    assert not (tmp_path / "named").exists()


def test_resume_refuses_what_it_could_not_record_before_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    _table(tmp_path / "t.csv", ["x", "z", "y"], _rows(40))
    train = ["train", "--data", "t.csv", "--target", "y", "--epochs", "1", "--out", "run"]
    assert run_main(train, capsys)[0] == 0
    evil = tmp_path / "t\x1b[2J.csv"
    evil.write_bytes((tmp_path / "t.csv").read_bytes())
    settings = tmp_path / "run" / "settings.toml"
    text = settings.read_text().replace(str(tmp_path / "t.csv"), str(tmp_path / "t\\u001b[2J.csv"))
    settings.write_text(text)  # as an older glassnet could have written it
    (tmp_path / "run" / "checkpoint.safetensors").write_bytes(b"a checkpoint never read")
    before = listing(tmp_path / "run")
    code, _, err = run_main(["train", "--resume", "run", "--epochs", "3"], capsys)
    assert code == 1 and "U+001B" in error_line(err, "train")
    assert listing(tmp_path / "run") == before
