"""Memory and output stay a small multiple of what the data needs: a CSV table is streamed into
its numbers (not held as text, then as Python strings), a line or a cell larger than any table's
is refused as it is read, and a model of thousands of classes gets a summary on the terminal and
its whole confusion matrix in a file only when asked."""

from __future__ import annotations

import csv
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from helpers import one_line_error, run_main

from glassnet import Network
from glassnet.datasets.table import read_table
from glassnet.errors import FormatError


def _numbers_csv(path: Path, rows: int, columns: int) -> Path:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, columns))
    with open(path, "w") as handle:
        handle.write(",".join([f"f{i}" for i in range(columns)] + ["y"]) + "\n")
        for i, row in enumerate(X):
            handle.write(",".join(f"{v:.6f}" for v in row) + f",{i % 3}\n")
    return path


@pytest.mark.slow
def test_a_csv_table_is_read_in_a_small_multiple_of_its_size(tmp_path: Path) -> None:
    path = _numbers_csv(tmp_path / "t.csv", 20_000, 40)  # 7.3 MB of text, 6.4 MB of numbers
    size = path.stat().st_size
    tracemalloc.start()
    try:
        data = read_table(path, "y")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(data.train_images) + len(data.test_images) == 20_000
    # The numbers (8 bytes a cell), their split into two parts, and one batch of text: about
    # 2.6 times the file (the whole text, then a list of strings per cell took 14 times).
    assert peak < 3.5 * size, f"peak {peak / 2**20:.1f} MiB for a {size / 2**20:.1f} MiB table"


def test_a_line_or_cell_larger_than_any_tables_is_refused_as_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    with open(path, "w") as handle:
        handle.write("a,b,y\n1,2,0\n" + "3," * 3_000_000 + "4,1\n")
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match="line 3 is longer than 1,048,576 characters"):
            read_table(path, "y")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20
    with open(path, "w") as handle:
        handle.write('a,b,y\n1,2,0\n"' + "x" * 500_000 + '",2,1\n')
    with pytest.raises(FormatError, match="line 3: field larger than field limit"):
        read_table(path, "y")


@pytest.mark.slow
def test_a_model_of_many_classes_is_summarized_and_its_matrix_written_on_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    k = 2000
    with open("t.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["a", "b", "y"])
        for i in range(3 * k):
            writer.writerow([i % 7, i % 11, f"c{i % k}"])
    net = Network(
        [2, 4, k],
        "relu",
        seed=0,
        class_names=[f"c{i}" for i in sorted(range(k), key=lambda i: f"c{i}")],
    )
    settings = {
        "dataset": "table",
        "data": str(tmp_path / "t.csv"),
        "target": "y",
        "features": "a,b",
    }
    net.save("m.safetensors", settings=settings)
    started = time.monotonic()
    code, out, err = run_main(["evaluate", "m.safetensors"], capsys)
    assert code == 0, err
    assert len(out) < 5_000 and "least accurate" in out and "--confusion FILE" in out
    code, out, err = run_main(["evaluate", "m.safetensors", "--confusion", "c.csv"], capsys)
    assert code == 0 and "confusion matrix written to c.csv" in err
    with open("c.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) == k + 1 and len(rows[0]) == k + 1
    counts = np.array([[int(v) for v in row[1:]] for row in rows[1:]])
    assert counts.sum() > 0 and counts.shape == (k, k)
    assert time.monotonic() - started < 60
    code, _, err = run_main(["evaluate", "m.safetensors", "--confusion", "."], capsys)
    assert code == 1 and "a folder" in one_line_error(err, "evaluate")
