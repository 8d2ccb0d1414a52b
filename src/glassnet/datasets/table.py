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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from glassnet.datasets.dataset import Dataset
from glassnet.datasets.idx import DEFAULT_MAX_BYTES
from glassnet.datasets.names import check_names
from glassnet.datasets.split import stratified_split
from glassnet.errors import (
    DatasetNotFoundError,
    FormatError,
    GlassnetError,
    InputError,
    one_line,
    short,
)

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
class _Columns:
    """The columns read from a table: features as numbers, and the target's classes."""

    X: NDArray[np.float64]  # (n_rows, n_features)
    codes: NDArray[np.int64] | None  # each row's class, an index into ``distinct``
    distinct: list[str]  # the target's values, in the order first seen


@dataclass
class _Table:
    """A table's header, and a way to read the columns wanted, whichever format it came in."""

    path: Path
    columns: list[str]
    # The features as numbers and the target's values (or a FormatError naming the cell).
    read: Callable[[str | None, list[str]], _Columns]


def is_table(path: str | os.PathLike[str]) -> bool:
    """Whether ``--data PATH`` names a table (by its suffix) rather than a folder of pictures."""
    return Path(path).suffix.lower() in TABLE_SUFFIXES


def _open_table(path: Path) -> _Table:
    if not path.is_file():
        if path.exists():
            raise FormatError(f"{path}: not a regular file (a folder, a pipe or a device)")
        raise DatasetNotFoundError(f"{path}: no such table file")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise FormatError(f"{path}: the file is {size:,} bytes; tables over 2 GiB are refused")
    if path.suffix.lower() in (".parquet", ".pq"):
        return _open_parquet(path)
    return _open_csv(path, size)


class _Classes:
    """A target column's values as they are read: each row's index into the distinct values."""

    def __init__(self, path: Path, target: str) -> None:
        self.path, self.target = path, target
        self.index: dict[str, int] = {}
        self.codes: list[int] = []

    def add(self, cell: str | None, where: str, number: int) -> None:
        """Add one row's cell; ``where`` and ``number`` name it (``"line", 7``) if it is empty."""
        value = None if cell is None else _cell(cell)
        if value is None:
            raise FormatError(
                f"{self.path}: column {self.target!r}, {where} {number}: no class given"
            )
        code = self.index.get(value)
        if code is None:
            if len(self.index) >= MAX_CLASSES:
                raise FormatError(
                    f"{self.path}: column {self.target!r} holds more than {MAX_CLASSES:,} "
                    f"different values; at most {MAX_CLASSES:,} classes are taken (is it a "
                    "measurement rather than a class?)"
                )
            code = self.index[value] = len(self.index)
        self.codes.append(code)

    def result(self) -> tuple[NDArray[np.int64], list[str]]:
        return np.array(self.codes, dtype=np.int64), list(self.index)


# ------------------------------------------------------------------------------------- CSV
#: Rows parsed and converted to numbers at a time: the text of only this many rows is held.
BATCH_ROWS = 4096
#: The most characters one CSV cell may hold (the csv module's own default limit).
MAX_CELL = 131_072


def _open_csv(path: Path, size: int) -> _Table:
    """A CSV file's header; its rows are read when :attr:`_Table.read` is called, streamed."""
    with open(path, "rb") as handle:
        sample = handle.read(65536)
    if b"\x00" in sample:
        raise FormatError(f"{path}: not a text table (it holds NUL bytes)")
    text = sample.decode("utf-8-sig", errors="ignore")
    dialect = _dialect(path, text)
    with _text(path) as stream:
        reader = csv.reader(_lines(stream, path, MAX_HEADER), dialect=dialect)
        try:
            header = [name.strip() for name in next(reader)]
        except StopIteration:
            raise FormatError(f"{path}: the file is empty; expected a header line") from None
        except csv.Error as exc:
            raise FormatError(f"{path}: line 1: {exc}") from None
        except UnicodeDecodeError as exc:
            raise FormatError(
                f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8"
            ) from None
    _check_header(path, header)
    cells_per_byte = max(1, text.count("\n")) * len(header) / max(1, len(sample))

    def read(target: str | None, features: list[str]) -> _Columns:
        # The numbers take 8 bytes a cell (twice over, while the batches are joined).
        _ensure_fits(path, int(size * cells_per_byte * len(features) / len(header)) * 16)
        return _read_csv(path, dialect, header, target, features)

    return _Table(path, header, read)


def _text(path: Path) -> io.TextIOWrapper:
    return open(path, encoding="utf-8-sig", newline="", errors="strict")


#: The longest header line, and the longest other line unless the header names many columns
#: (256 characters a column): a line of a billion commas would be a billion cells in memory.
MAX_HEADER, MAX_LINE = 4 << 20, 1 << 20


def _lines(stream: io.TextIOWrapper, path: Path, limit: int) -> Iterator[str]:
    """The stream's lines, refusing one longer than ``limit`` characters before it is whole."""
    number = 0
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        number += 1
        if len(line) > limit:
            raise FormatError(
                f"{path}: line {number} is longer than {limit:,} characters; refused (is it a "
                "table of one row a line?)"
            )
        yield line


def _ensure_fits(path: Path, needed: int) -> None:
    from glassnet import memory

    if needed > DEFAULT_MAX_BYTES:
        raise FormatError(
            f"{path}: its numbers would take about {memory.describe(needed)}; at most "
            f"{memory.describe(DEFAULT_MAX_BYTES)} of a table are read (leave columns out with "
            "--features, or use fewer rows)"
        )
    memory.ensure_fits(needed, f"reading {path}")


def _read_csv(
    path: Path,
    dialect: type[csv.Dialect] | csv.Dialect,
    header: list[str],
    target: str | None,
    features: list[str],
) -> _Columns:
    """Stream a CSV file's rows, a batch at a time, into the feature columns' numbers and the
    target's classes: memory is the numbers (8 bytes a cell) and one batch of text."""
    width = len(header)
    wanted = [header.index(name) for name in features]
    classes = None if target is None else _Classes(path, target)
    at = None if target is None else header.index(target)
    most = DEFAULT_MAX_BYTES // 8 // max(len(features), 1)  # rows whose numbers fit the bound
    blocks: list[NDArray[np.float64]] = []
    batch: list[list[str]] = []
    lines: list[int] = []
    n_rows = 0

    def flush() -> None:
        blocks.append(_csv_numbers(path, batch, lines, wanted, features))
        batch.clear()
        lines.clear()

    csv.field_size_limit(MAX_CELL)
    with _text(path) as stream:
        reader = csv.reader(_lines(stream, path, max(MAX_LINE, 256 * width)), dialect=dialect)
        try:
            next(reader)  # the header
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # a blank line
                if len(row) != width:
                    raise FormatError(
                        f"{path}: line {reader.line_num} has {len(row)} cells but the header "
                        f"names {width} columns"
                    )
                n_rows += 1
                if n_rows > most:
                    raise FormatError(
                        f"{path}: more than {most:,} rows of {len(features)} feature columns; "
                        "refused"
                    )
                if classes is not None and at is not None:
                    classes.add(row[at], "line", reader.line_num)
                batch.append(row)
                lines.append(reader.line_num)
                if len(batch) >= BATCH_ROWS:
                    flush()
        except csv.Error as exc:
            raise FormatError(f"{path}: line {reader.line_num}: {one_line(exc, 200)}") from None
        except UnicodeDecodeError:
            raise FormatError(
                f"{path}: not UTF-8 text (after line {reader.line_num}); save it as UTF-8"
            ) from None
    if batch:
        flush()
    X = np.concatenate(blocks) if blocks else np.empty((0, len(features)))
    codes, distinct = classes.result() if classes is not None else (None, [])
    return _Columns(X, codes, distinct)


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
            raise FormatError(f"{path}: the header names column {short(name)} twice")
        seen.add(name)


def _cell(text: str) -> str | None:
    value = text.strip()
    return None if value.lower() in MISSING else value


def _csv_numbers(
    path: Path, rows: list[list[str]], lines: list[int], wanted: list[int], names: list[str]
) -> NDArray[np.float64]:
    """A batch of rows' feature cells as numbers, or a FormatError naming the first bad cell."""
    cells = [[row[i] for i in wanted] for row in rows]
    try:
        values = np.array(cells, dtype=np.float64).reshape(len(rows), len(wanted))
    except ValueError:
        values = None
    if values is not None and np.all(np.isfinite(values)):
        return values
    for row, line in zip(cells, lines, strict=True):  # find the first bad cell, to name it
        for cell, name in zip(row, names, strict=True):
            value = _cell(cell)
            where = f"{path}: column {name!r}, line {line}"
            if value is None:
                raise FormatError(f"{where}: missing value ({short(cell.strip(), 30)}); {_FIX}")
            try:
                number = float(value)
            except ValueError:
                raise FormatError(f"{where}: {_short(value)} is not a number; {_FIX}") from None
            if not math.isfinite(number):
                raise FormatError(f"{where}: {value!r} is not a finite number; {_FIX}")
    raise FormatError(f"{path}: a feature column holds values that are not numbers")  # unreachable


_FIX = (
    "glassnet reads numeric feature columns without gaps: fill or encode the column, or leave it "
    "out with --features"
)


def _short(value: str) -> str:
    return short(value, 32)


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
        header = [str(name) for name in parquet.schema_arrow.names]
    except Exception as exc:  # pyarrow's errors for a file that is not Parquet, or is corrupt
        raise FormatError(f"{path}: not a readable Parquet file ({one_line(exc, 200)})") from None
    _check_header(path, header)

    def read(target: str | None, features: list[str]) -> _Columns:
        rows = parquet.metadata.num_rows
        if rows * max(len(features), 1) * 8 > DEFAULT_MAX_BYTES:
            raise FormatError(
                f"{path}: {rows:,} rows of {len(features)} feature columns are too many; refused"
            )
        _ensure_fits(path, rows * (len(features) + 1) * 16)
        wanted = [*features, *([target] if target is not None else [])]
        try:
            table = parquet.read(columns=wanted)
        except Exception as exc:  # pyarrow's errors for a corrupt file
            raise FormatError(
                f"{path}: not a readable Parquet file ({one_line(exc, 200)})"
            ) from None
        columns = [_parquet_numbers(path, table.column(name), name) for name in features]
        X = np.column_stack(columns) if columns else np.empty((table.num_rows, 0))
        if target is None:
            return _Columns(X.reshape(table.num_rows, len(features)), None, [])
        classes = _Classes(path, target)
        for row, value in enumerate(table.column(target).to_pylist()):
            classes.add(None if value is None else str(value), "row", row + 1)
        codes, distinct = classes.result()
        return _Columns(X.reshape(table.num_rows, len(features)), codes, distinct)

    return _Table(path, header, read)


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
                f"{table.path}: no column {short(unknown[0])}{_did_you_mean(unknown[0], table)} "
                f"(its columns: {_names(table.columns)})"
            )
        if target in chosen:
            raise InputError(f"column {target!r} is the target; it cannot be a feature too")
    if not chosen:
        raise FormatError(f"{table.path}: no feature columns besides the target {target!r}")
    fix = "rename it in the table's header, or leave it out with --features"
    check_names([n for n in [target, *chosen] if n is not None], "column", table.path, fix)
    for name in chosen:
        if "," in name or name != name.strip():
            what = "a comma" if "," in name else "spaces at an end"
            raise FormatError(
                f"{table.path}: feature column {name!r} holds {what}; a run records its feature "
                f"columns comma-separated, and could not read this one back: {fix}"
            )
    return chosen


def _did_you_mean(name: str, table: _Table) -> str:
    """``"; did you mean 'species'?"`` for the column most like ``name``, or nothing."""
    import difflib

    if len(name) > 200:
        return ""
    lowered = {column.lower(): column for column in table.columns[:100_000]}
    found = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return f"; did you mean {short(lowered[found[0]])}?" if found else ""


def _names(columns: Sequence[str], most: int = 12) -> str:
    shown = ", ".join(columns[:most])
    return shown + (f", ... ({len(columns)} in all)" if len(columns) > most else "")


def _labels(
    path: Path, target: str, codes: NDArray[np.int64], distinct: list[str]
) -> tuple[NDArray[np.int64], tuple[str, ...]]:
    """Each row's class index, and the class names (sorted as numbers where all are numbers)."""
    names = sorted(distinct, key=_class_order(distinct))
    if len(names) < 2:
        raise FormatError(
            f"{path}: column {target!r} holds one class only ({short(names[0], 60)}); a "
            "classifier needs two or more"
        )
    check_names(names, "class", f"{path}: column {target!r}", "change the value")
    index = {name: i for i, name in enumerate(names)}
    order = np.array([index[value] for value in distinct], dtype=np.int64)
    return order[codes], tuple(names)


def _check_spread(path: Path, X: NDArray[np.float64], names: list[str]) -> None:
    """Refuse a column whose mean or spread is not a finite number (values near 1e308 overflow
    when summed or squared): the standardizer could not be fitted, and the message names it."""
    with np.errstate(over="ignore", invalid="ignore"):
        mean = X.mean(axis=0)
        spread = X.std(axis=0)
    bad = ~(np.isfinite(mean) & np.isfinite(spread))
    if bad.any():
        j = int(np.argmax(bad))
        column = np.abs(X[:, j])
        row = int(np.argmax(column))
        raise FormatError(
            f"{path}: column {names[j]!r} holds {X[row, j]:.6g} (data row {row + 1}); values this "
            "large overflow its mean or spread, so it cannot be standardized: rescale the column "
            "(divide it by a power of ten), or leave it out with --features"
        )


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
    if target not in table.columns:
        raise FormatError(
            f"{table.path}: no column {short(target)} to take the classes from"
            f"{_did_you_mean(target, table)} (its columns: {_names(table.columns)})"
        )
    names = _features(table, target, features)
    columns = table.read(target, names)
    X = columns.X
    if len(X) < 2 or columns.codes is None:
        what = "no rows, only a header" if not len(X) else f"{len(X)} row"
        raise FormatError(f"{table.path}: {what}; too few to train and test on")
    labels, class_names = _labels(table.path, target, columns.codes, columns.distinct)
    _check_spread(table.path, X, names)
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


def read_feature_rows(
    path: str | os.PathLike[str],
    features: Sequence[str] | None,
    *,
    target: str | None = None,
    n_features: int | None = None,
) -> NDArray[np.float64]:
    """The named feature columns of a table, to predict on: ``(n_rows, len(features))`` float64.

    Other columns (the target, an identifier) are passed over. With ``features`` ``None`` (a model
    of a table too wide to record its columns by name), every column but ``target`` is a feature,
    in the table's order, and there must be ``n_features`` of them.

    Raises
    ------
    glassnet.errors.FormatError
        If a feature column is missing, or a value in one is missing or not a number.
    """
    table = _open_table(Path(path).expanduser())
    if features is None:
        features = [name for name in table.columns if name != target]
        if n_features is not None and len(features) != n_features:
            raise FormatError(
                f"{table.path}: {len(features):,} columns besides the target {target!r}, but the "
                f"model takes {n_features:,} features (every column of its table but the target, "
                "in order)"
            )
    missing = [name for name in features if name not in table.columns]
    if missing:
        raise FormatError(
            f"{table.path}: no column {missing[0]!r}, which the model takes as a feature (its "
            f"features: {_names(list(features))})"
        )
    X = table.read(None, list(features)).X
    if not len(X):
        raise FormatError(f"{table.path}: no rows to predict, only a header")
    return X
