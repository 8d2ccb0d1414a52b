"""A table as training data: ``glassnet train --data table.csv --target COLUMN``.

A table holds one sample a row: feature columns, and one target column naming each row's class.
CSV files (comma-, semicolon- or tab-separated, with a header line) are read with Python's own
``csv`` module; Parquet files too where pyarrow is installed (``pip install "glassnet[parquet]"``).

- The target's values may be of any type (numbers, words): each distinct value is a class. The
  classes are sorted, as numbers if every value is one (``2`` before ``10``), else as text.
- Every other column (or those named by ``features``) is a feature and must hold a finite number
  in every row. A missing value (an empty cell, ``NA``, ``NaN``, ``null``, ``?``) or a word is
  refused, in one line naming the column and the row: glassnet does not guess a value or an
  encoding. Drop such a column with ``--features``, or fill and encode it before training.

The features are standardized per column when the run begins (each column has its own scale; see
:class:`~glassnet.preprocess.Standardizer`), with statistics of the training rows only.
A table is untrusted as any file is: its size is bounded before it is read, and ragged rows,
repeated column names and text that is not UTF-8 are refused by name.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.datasets.dataset import Dataset
from glassnet.datasets.idx import DEFAULT_MAX_BYTES
from glassnet.datasets.split import stratified_split
from glassnet.errors import DatasetNotFoundError, FormatError, GlassnetError, InputError

__all__ = [
    "MAX_CLASSES",
    "MAX_FILE_BYTES",
    "MISSING",
    "TABLE_SUFFIXES",
    "read_feature_rows",
    "read_table",
]

#: File names read as tables; everything else given as --data is a folder of pictures.
TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq")
#: Largest table file read.
MAX_FILE_BYTES = 2 * 1024**3
#: Most classes a target column may hold.
MAX_CLASSES = 10_000
#: Cells that mean "no value".
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "-"})


@dataclass
class _Table:
    """A table's columns, whichever format it came in."""

    path: Path
    columns: list[str]
    numbers: Callable[[str], NDArray[np.float64]]  # a column as numbers, or a FormatError
    texts: Callable[[str], list[str | None]]  # a column as text, None where it is missing
    n_rows: int
    where: Callable[[int], str]  # data row i (from 0) in words: "line 7", "row 6"


def is_table(path: str | os.PathLike[str]) -> bool:
    """Whether ``--data PATH`` names a table (by its suffix) rather than a folder of pictures."""
    return Path(path).suffix.lower() in TABLE_SUFFIXES


def _open_table(path: Path) -> _Table:
    if not path.is_file():
        raise DatasetNotFoundError(f"{path}: no such table file")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise FormatError(f"{path}: the file is {size:,} bytes; tables over 2 GiB are refused")
    if path.suffix.lower() in (".parquet", ".pq"):
        return _open_parquet(path)
    return _open_csv(path)


# ------------------------------------------------------------------------------------- CSV
def _open_csv(path: Path) -> _Table:
    """Read a CSV file's header and rows as text; each row keeps its line number."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    if "\x00" in text[:65536]:
        raise FormatError(f"{path}: not a text table (it holds NUL bytes)")
    reader = csv.reader(io.StringIO(text, newline=""), dialect=_dialect(path, text))
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise FormatError(f"{path}: the file is empty; expected a header line") from None
    except csv.Error as exc:
        raise FormatError(f"{path}: line 1: {exc}") from None
    _check_header(path, header)
    rows, lines = _csv_rows(path, reader, len(header))
    return _Table(
        path,
        header,
        numbers=lambda name: _csv_numbers(path, rows, lines, header.index(name), name),
        texts=lambda name: [_cell(row[header.index(name)]) for row in rows],
        n_rows=len(rows),
        where=lambda row: f"line {lines[row]}",
    )


def _dialect(path: Path, text: str) -> type[csv.Dialect] | csv.Dialect:
    if path.suffix.lower() == ".tsv":
        return csv.excel_tab
    try:
        return csv.Sniffer().sniff(text[:65536].split("\n", 1)[0], delimiters=",;\t")
    except csv.Error:
        return csv.excel  # one column, or nothing to tell by: commas


def _check_header(path: Path, header: list[str]) -> None:
    if not any(header):
        raise FormatError(f"{path}: the header line names no columns")
    seen: set[str] = set()
    for i, name in enumerate(header):
        if not name:
            raise FormatError(f"{path}: column {i + 1} of the header has no name")
        if name in seen:
            raise FormatError(f"{path}: the header names column {name!r} twice")
        seen.add(name)


def _csv_rows(path: Path, reader: Any, width: int) -> tuple[list[list[str]], list[int]]:
    rows: list[list[str]] = []
    lines: list[int] = []
    most = DEFAULT_MAX_BYTES // 8 // max(width, 1)  # the rows whose numbers fit the memory bound
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line
            if len(row) != width:
                raise FormatError(
                    f"{path}: line {reader.line_num} has {len(row)} cells but the header "
                    f"names {width} columns"
                )
            rows.append(row)
            lines.append(reader.line_num)
            if len(rows) > most:
                raise FormatError(f"{path}: more than {most:,} rows of {width} columns; refused")
    except csv.Error as exc:
        raise FormatError(f"{path}: line {reader.line_num}: {exc}") from None
    return rows, lines


def _cell(text: str) -> str | None:
    value = text.strip()
    return None if value.lower() in MISSING else value


def _csv_numbers(
    path: Path, rows: list[list[str]], lines: list[int], index: int, name: str
) -> NDArray[np.float64]:
    cells = [row[index] for row in rows]
    try:
        values = np.array(cells, dtype=np.float64)
    except ValueError:
        values = None
    if values is not None and np.all(np.isfinite(values)):
        return values
    for cell, line in zip(cells, lines, strict=True):  # find the first bad cell, to name it
        value = _cell(cell)
        where = f"{path}: column {name!r}, line {line}"
        if value is None:
            raise FormatError(f"{where}: missing value ({cell.strip()!r}); {_FIX}")
        try:
            number = float(value)
        except ValueError:
            raise FormatError(f"{where}: {_short(value)} is not a number; {_FIX}") from None
        if not math.isfinite(number):
            raise FormatError(f"{where}: {value!r} is not a finite number; {_FIX}")
    raise FormatError(f"{path}: column {name!r} holds values that are not numbers")  # unreachable


_FIX = (
    "glassnet reads numeric feature columns without gaps: fill or encode the column, or leave it "
    "out with --features"
)


def _short(value: str) -> str:
    return repr(value) if len(value) <= 30 else repr(value[:27] + "...")


# ------------------------------------------------------------------------------------- Parquet
def _open_parquet(path: Path) -> _Table:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise GlassnetError(
            'reading Parquet tables needs pyarrow; install it with: pip install "glassnet[parquet]"'
        ) from None
    try:
        parquet = pq.ParquetFile(path)
        rows, width = parquet.metadata.num_rows, parquet.metadata.num_columns
        if rows * max(width, 1) * 8 > DEFAULT_MAX_BYTES:
            raise FormatError(f"{path}: {rows:,} rows of {width} columns are too many; refused")
        table = parquet.read()
    except GlassnetError:
        raise
    except Exception as exc:  # pyarrow's errors for a file that is not Parquet, or is corrupt
        text = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise FormatError(f"{path}: not a readable Parquet file ({text})") from None
    header = [str(name) for name in table.column_names]
    _check_header(path, header)
    return _Table(
        path,
        header,
        numbers=lambda name: _parquet_numbers(path, table.column(name), name),
        texts=lambda name: [
            None if v is None else _cell(str(v)) for v in table.column(name).to_pylist()
        ],
        n_rows=table.num_rows,
        where=lambda row: f"row {row + 1}",
    )


def _parquet_numbers(path: Path, column: object, name: str) -> NDArray[np.float64]:
    import pyarrow as pa

    where = f"{path}: column {name!r}"
    chunked: Any = column
    if not (pa.types.is_integer(chunked.type) or pa.types.is_floating(chunked.type)):
        values = chunked.to_pylist()
        first = next((i for i, v in enumerate(values) if v is not None), 0)
        shown = _short(str(values[first])) if values else "nothing"
        raise FormatError(
            f"{where}, row {first + 1}: {shown} is not a number (the column is "
            f"{chunked.type}); {_FIX}"
        )
    if chunked.null_count:
        nulls = np.asarray(chunked.is_null().to_numpy(zero_copy_only=False))
        raise FormatError(f"{where}, row {int(np.argmax(nulls)) + 1}: missing value; {_FIX}")
    values = np.asarray(chunked.to_numpy(), dtype=np.float64)
    if not np.all(np.isfinite(values)):
        row = int(np.argmax(~np.isfinite(values))) + 1
        raise FormatError(f"{where}, row {row}: {values[row - 1]} is not a finite number; {_FIX}")
    return values


# ------------------------------------------------------------------------------------- reading
def _features(table: _Table, target: str | None, features: Sequence[str] | None) -> list[str]:
    """The feature columns: those named, else every column but the target."""
    if features is None:
        chosen = [name for name in table.columns if name != target]
    else:
        chosen = list(features)
        unknown = [name for name in chosen if name not in table.columns]
        if unknown:
            raise FormatError(
                f"{table.path}: no column {unknown[0]!r} (its columns: {_names(table.columns)})"
            )
        if target in chosen:
            raise InputError(f"column {target!r} is the target; it cannot be a feature too")
    if not chosen:
        raise FormatError(f"{table.path}: no feature columns besides the target {target!r}")
    return chosen


def _names(columns: Sequence[str], most: int = 12) -> str:
    shown = ", ".join(columns[:most])
    return shown + (f", ... ({len(columns)} in all)" if len(columns) > most else "")


def _labels(table: _Table, target: str) -> tuple[NDArray[np.int64], tuple[str, ...]]:
    """Each row's class index, and the class names (sorted as numbers where all are numbers)."""
    if target not in table.columns:
        raise FormatError(
            f"{table.path}: no column {target!r} to take the classes from (its columns: "
            f"{_names(table.columns)})"
        )
    values = table.texts(target)
    for row, value in enumerate(values):
        if value is None:
            raise FormatError(
                f"{table.path}: column {target!r}, {table.where(row)}: no class given"
            )
    texts = [str(value) for value in values]
    names = sorted(set(texts), key=_class_order(texts))
    if len(names) > MAX_CLASSES:
        raise FormatError(
            f"{table.path}: column {target!r} holds {len(names):,} different values; at most "
            f"{MAX_CLASSES:,} classes are taken (is it a measurement rather than a class?)"
        )
    if len(names) < 2:
        raise FormatError(f"{table.path}: column {target!r} holds one class only ({names[0]!r})")
    index = {name: i for i, name in enumerate(names)}
    return np.array([index[text] for text in texts], dtype=np.int64), tuple(names)


def _class_order(texts: list[str]) -> Callable[[str], tuple[float, str]]:
    try:
        for text in set(texts):
            float(text)
    except ValueError:
        return lambda text: (0.0, text)
    return lambda text: (float(text), text)


def read_table(
    path: str | os.PathLike[str],
    target: str,
    *,
    features: Sequence[str] | None = None,
    test_split: float = 0.2,
    seed: int = 0,
) -> Dataset:
    """Read a table (see the module docstring) as a :class:`Dataset`, a test part held out.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.csv`` (or ``.tsv``, ``.txt``) or ``.parquet`` file with a header.
    target : str
        The column of classes.
    features : sequence of str, optional
        The feature columns, in order; by default every other column.
    test_split : float, default 0.2
        The share of each class held out for testing (stratified, seeded).
    seed : int, default 0
        Seed of that draw.

    Returns
    -------
    Dataset
        Named ``"table"``, inputs ``(n, n_features)`` float64, labels ``(n,)`` int64, the class
        names and ``feature_names``.

    Raises
    ------
    glassnet.errors.FormatError
        One line naming the file, and the column and row where one is at fault.
    glassnet.errors.DatasetNotFoundError
        If the file does not exist.
    """
    table = _open_table(Path(path).expanduser())
    labels, class_names = _labels(table, target)
    names = _features(table, target, features)
    X = np.column_stack([table.numbers(name) for name in names]) if table.n_rows else None
    if X is None or len(X) < 2:
        raise FormatError(f"{table.path}: {table.n_rows} rows; too few to train and test on")
    kept, held = stratified_split(labels, test_split, seed)
    return Dataset(
        name="table",
        train_images=X[kept],
        train_labels=labels[kept],
        test_images=X[held],
        test_labels=labels[held],
        class_names=class_names,
        directory=table.path,
        kind="table",
        feature_names=tuple(names),
    )


def read_feature_rows(path: str | os.PathLike[str], features: Sequence[str]) -> NDArray[np.float64]:
    """The named feature columns of a table, to predict on: ``(n_rows, len(features))`` float64.

    Other columns (the target, an identifier) are passed over.

    Raises
    ------
    glassnet.errors.FormatError
        If a feature column is missing, or a value in one is missing or not a number.
    """
    table = _open_table(Path(path).expanduser())
    missing = [name for name in features if name not in table.columns]
    if missing:
        raise FormatError(
            f"{table.path}: no column {missing[0]!r}, which the model takes as a feature (its "
            f"features: {_names(list(features))})"
        )
    if not table.n_rows:
        raise FormatError(f"{table.path}: no rows to predict")
    return np.column_stack([table.numbers(name) for name in features])
