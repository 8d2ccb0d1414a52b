"""Promises that hold across the code base rather than in one module.

- No pickle anywhere in ``src/glassnet``: no ``pickle``/``joblib``-style imports, no
  ``allow_pickle=True``, no ``numpy.load`` without ``allow_pickle=False`` (an AST scan, so comments
  and docstrings that explain why glassnet never unpickles are fine).
- No ``assert`` statements in ``src/glassnet``: ``python -O`` strips them, and input checks must
  survive it. The parsers are run on corrupt files under ``-O`` and ``-OO`` to show they still refuse.
- The Python API refuses bad input with a ``ValueError`` whose one-line message names the problem:
  NaN or infinite pixels, labels outside the classes, lengths that disagree, the wrong number of
  features.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import glassnet
from glassnet import Network

SOURCE = Path(glassnet.__file__).resolve().parent
# Modules that unpickle (or wrap something that does); glassnet must import none of them.
PICKLING_MODULES = {
    "pickle",
    "_pickle",
    "cPickle",
    "pickletools",
    "copyreg",
    "shelve",
    "dill",
    "cloudpickle",
    "joblib",
    "torch",
}
# Calls that unpickle when handed the wrong file, by their full dotted name.
PICKLING_CALLS = {"pandas.read_pickle", "numpy.lib.format.read_array"}
NUMPY_LOADS = {"numpy.load", "numpy.lib.npyio.load"}


# ------------------------------------------------------------------------------ the scanner
def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def pickle_findings(source: str, filename: str = "<source>") -> list[str]:
    """Every way ``source`` could unpickle something, as ``file:line: what`` strings."""
    tree = ast.parse(source, filename)
    aliases: dict[str, str] = {}  # local name -> full dotted name
    findings: list[str] = []

    def flag(node: ast.AST, what: str) -> None:
        findings.append(f"{filename}:{getattr(node, 'lineno', 0)}: {what}")

    def banned(module: str) -> bool:
        return module.split(".")[0] in PICKLING_MODULES

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if banned(alias.name):
                    flag(node, f"import {alias.name}")
                aliases[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if banned(node.module):
                flag(node, f"from {node.module} import ...")
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        for keyword in node.keywords:
            if keyword.arg == "allow_pickle" and not (
                isinstance(keyword.value, ast.Constant) and keyword.value.value is False
            ):
                flag(node, "allow_pickle other than the constant False")
        name = _dotted(node.func)
        if name is None:
            continue
        head, _, rest = name.partition(".")
        full = aliases.get(head, head) + (f".{rest}" if rest else "")
        if full in PICKLING_CALLS:
            flag(node, f"call to {full}")
        if full in NUMPY_LOADS and not any(
            k.arg == "allow_pickle" and isinstance(k.value, ast.Constant) and k.value.value is False
            for k in node.keywords
        ):
            flag(node, f"{full} without allow_pickle=False")
        if full in {"__import__", "importlib.import_module"} and node.args:
            target = node.args[0]
            if (
                isinstance(target, ast.Constant)
                and isinstance(target.value, str)
                and banned(target.value)
            ):
                flag(node, f"dynamic import of {target.value}")
    return findings


def assert_findings(source: str, filename: str = "<source>") -> list[str]:
    """Every ``assert`` statement in ``source``."""
    return [
        f"{filename}:{node.lineno}: assert"
        for node in ast.walk(ast.parse(source, filename))
        if isinstance(node, ast.Assert)
    ]


def source_files() -> Iterator[Path]:
    yield from sorted(SOURCE.rglob("*.py"))


def test_the_scan_covers_the_whole_package() -> None:
    files = [p.relative_to(SOURCE).as_posix() for p in source_files()]
    assert len(files) >= 25
    for expected in ("modelfile/__init__.py", "checkpoint.py", "datasets/idx.py", "cli/train.py"):
        assert expected in files


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ("import pickle\n", "import pickle"),
        ("import pickle as p\n", "import pickle"),
        ("from pickle import loads\n", "from pickle import"),
        ("import joblib\n", "import joblib"),
        ("from joblib import load as jl\n", "from joblib import"),
        ("import cloudpickle, os\n", "import cloudpickle"),
        ("import numpy as np\nnp.load('a.npy')\n", "numpy.load without allow_pickle=False"),
        ("import numpy\nnumpy.load(f, allow_pickle=True)\n", "allow_pickle other than"),
        ("from numpy import load\nload(f)\n", "numpy.load without"),
        ("import numpy as np\nflag = True\nnp.load(f, allow_pickle=flag)\n", "allow_pickle"),
        ("import numpy as np\nnp.save(f, a, allow_pickle=True)\n", "allow_pickle"),
        ("import pandas as pd\npd.read_pickle(path)\n", "pandas.read_pickle"),
        ("import importlib\nimportlib.import_module('pickle')\n", "dynamic import of pickle"),
        ("__import__('joblib')\n", "dynamic import of joblib"),
    ],
)
def test_the_pickle_scan_finds_each_way_in(snippet: str, expected: str) -> None:
    findings = pickle_findings(snippet)
    assert findings, snippet
    assert any(expected in finding for finding in findings), findings


@pytest.mark.parametrize(
    "snippet",
    [
        '"""Model files never hold a pickle: unpickling runs code."""\n',
        "# joblib and pickle are never used here\n",
        "import numpy as np\nnp.load(f, allow_pickle=False)\n",
        "import safetensors.numpy\nsafetensors.numpy.load(data)\n",
        "def load(path): ...\nload('x')\n",
        "message = 'looks like a Python pickle'\n",
    ],
)
def test_the_pickle_scan_allows_safe_code(snippet: str) -> None:
    assert pickle_findings(snippet) == []


@pytest.mark.slow
def test_no_pickle_anywhere_in_the_package() -> None:
    findings = []
    for path in source_files():
        findings += pickle_findings(path.read_text(encoding="utf-8"), str(path))
    assert findings == []


def test_the_assert_scan_finds_asserts() -> None:
    assert assert_findings("def f(x):\n    assert x > 0, 'x must be positive'\n") == [
        "<source>:2: assert"
    ]
    assert assert_findings("raise AssertionError('unreachable')\n") == []


def test_no_assert_statements_in_the_package() -> None:
    findings = []
    for path in source_files():
        findings += assert_findings(path.read_text(encoding="utf-8"), str(path))
    assert findings == []


# --------------------------------------------------------------------- parsers under python -O
CORRUPT_INPUTS = textwrap.dedent(
    """
    import gzip, json, sys
    from pathlib import Path
    import numpy as np
    import safetensors.numpy
    import glassnet
    from glassnet.datasets import read_idx, write_idx
    from glassnet.modelfile import read_model_file, read_model_header

    folder = Path(sys.argv[1])
    results = {"optimize": sys.flags.optimize}

    def check(name, read, data):
        path = folder / name
        path.write_bytes(data)
        try:
            read(path)
        except Exception as exc:
            results[name] = [type(exc).__name__, str(exc)]
        else:
            results[name] = ["accepted", ""]

    def dims(*sizes):
        return b"".join(n.to_bytes(4, "big") for n in sizes)

    write_idx(folder / "good.idx", np.arange(12, dtype=np.uint8).reshape(3, 4))
    good_idx = (folder / "good.idx").read_bytes()
    check("idx-wrong-magic", read_idx, b"\\x01\\x00" + good_idx[2:])
    check("idx-type-code", read_idx, good_idx[:2] + b"\\x07" + good_idx[3:])
    check("idx-no-dimensions", read_idx, b"\\x00\\x00\\x08\\x00")
    check("idx-short-header", read_idx, good_idx[:6])
    check("idx-truncated", read_idx, good_idx[:-1])
    check("idx-trailing", read_idx, good_idx + b"\\x00")
    check("idx-huge-shape", read_idx, b"\\x00\\x00\\x0e\\x03" + dims(2**32 - 1, 2**32 - 1, 9))
    check("gz-truncated", read_idx, gzip.compress(good_idx)[:-9])
    check("gz-impossible", read_idx, gzip.compress(b"\\x00\\x00\\x08\\x01" + dims(10**9)))
    check("gz-bomb", read_idx, gzip.compress(b"\\x00\\x00\\x08\\x01" + dims(64) + bytes(10**7)))

    net = glassnet.Network([6, 4, 3], "tanh", seed=0)
    net.save(folder / "good.safetensors")
    good_model = (folder / "good.safetensors").read_bytes()
    header = read_model_header(good_model)
    tensors = read_model_file(good_model)[0]
    wrong = dict(tensors, **{"weights.0": np.zeros((6, 5), np.float32)})
    nan = dict(tensors, **{"biases.1": np.full(3, np.nan, np.float32)})
    meta = {"glassnet": json.dumps(header)}
    for read in (read_model_file, glassnet.load):
        tag = read.__name__
        check(f"{tag}-pickle", read, b"\\x80\\x04\\x95" + bytes(8) + b"}\\x94.")
        check(f"{tag}-empty", read, b"")
        check(f"{tag}-header-length", read, (2**60).to_bytes(8, "little") + b"{}")
        check(f"{tag}-truncated", read, good_model[: len(good_model) - 7])
        check(f"{tag}-bad-json", read, (5).to_bytes(8, "little") + b"{nope")
        check(f"{tag}-no-metadata", read, safetensors.numpy.save(tensors))
        check(f"{tag}-wrong-shape", read, safetensors.numpy.save(wrong, metadata=meta))
        check(f"{tag}-nan", read, safetensors.numpy.save(nan, metadata=meta))
    print(json.dumps(results))
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("flag", ["-O", "-OO"])
def test_parsers_refuse_corrupt_files_under_python_dash_o(flag: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, flag, "-c", CORRUPT_INPUTS, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    results = json.loads(result.stdout)
    assert results.pop("optimize") == flag.count("O")
    assert len(results) == 10 + 2 * 8
    for name, (kind, message) in results.items():
        assert kind == "FormatError", f"{name}: {kind}: {message}"
        assert "\n" not in message and name in message, f"{name}: {message}"


@pytest.mark.slow
def test_cli_refusals_hold_under_python_dash_o(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"\x80\x04\x95" + bytes(8) + b"}\x94.")
    result = subprocess.run(
        [sys.executable, "-O", "-m", "glassnet", "evaluate", "model.safetensors"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "never loads pickles" in result.stderr


def test_idx_zero_size_shape_that_overflows_is_a_format_error() -> None:
    from glassnet.datasets import read_idx_bytes

    dims = (16777216, 158, 3489660928, 0)
    data = b"\x00\x00\x08\x04" + b"".join(n.to_bytes(4, "big") for n in dims)
    with pytest.raises(glassnet.FormatError):
        read_idx_bytes(data)


def test_a_model_header_declaring_huge_tensors_costs_no_memory(tmp_path: Path) -> None:
    """A 1 KB file whose header declares 16 GiB of weights is refused, allocating ~1 MiB."""
    from glassnet.modelfile import read_model_header

    Network([4, 3, 2], "relu", seed=0).save(tmp_path / "small.safetensors")
    doc = read_model_header(tmp_path / "small.safetensors")
    n = 1 << 16
    doc.update(layer_sizes=[n, n, 2], standardizer=False)
    table: dict[str, Any] = {"__metadata__": {"glassnet": json.dumps(doc)}}
    offset = 0
    for name, shape in [("weights.0", [n, n]), ("biases.0", [n]), ("weights.1", [n, 2]),
                        ("biases.1", [2])]:  # fmt: skip
        size = 4 * int(np.prod(shape))
        table[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    header = json.dumps(table).encode()
    header += b" " * (-len(header) % 8)
    path = tmp_path / "huge.safetensors"
    path.write_bytes(len(header).to_bytes(8, "little") + header + bytes(64))
    assert offset > 16 << 30 and path.stat().st_size < 2048

    tracemalloc.start()
    try:
        with pytest.raises(glassnet.FormatError, match="truncated"):
            glassnet.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20


# --------------------------------------------------------------------- Python input checks
def small_data(n: int = 12) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n, 6, 6)).astype(np.float64), np.arange(n) % 3


@pytest.fixture(scope="module")
def fitted() -> Network:
    network = Network([36, 5, 3], "relu", seed=0)
    network.fit(*small_data(), epochs=1, batch_size=4)
    return network


def with_value(value: float) -> np.ndarray:
    X, _ = small_data()
    X[3, 2, 4] = value
    return X


def fit(X: Any, y: Any, **settings: Any) -> Callable[[], Any]:
    return lambda: Network([36, 5, 3], "relu", seed=0).fit(X, y, epochs=1, **settings)


X_OK, Y_OK = small_data()
FIT_CASES = {
    "nan pixel": (fit(with_value(np.nan), Y_OK), "NaN or infinite"),
    "infinite pixel": (fit(with_value(np.inf), Y_OK), "NaN or infinite"),
    "label too large": (fit(X_OK, np.where(Y_OK == 2, 3, Y_OK)), "0..2"),
    "negative label": (fit(X_OK, Y_OK - 1), "0..2"),
    "fractional labels": (fit(X_OK, Y_OK + 0.5), "integers"),
    "fewer labels": (fit(X_OK, Y_OK[:-1]), "12 samples but 11 labels"),
    "more labels": (fit(X_OK[:5], Y_OK), "5 samples but 12 labels"),
    "wrong features": (fit(X_OK[:, :5, :5], Y_OK), "36 features"),
    "labels as a column": (fit(X_OK, Y_OK[:, None]), "1-D"),
    "no samples": (fit(X_OK.reshape(12, 36)[:0], Y_OK[:0]), "no training samples"),
    "nan validation": (
        fit(X_OK, Y_OK, validation_data=(with_value(np.nan), Y_OK)),
        "validation inputs contain NaN",
    ),
    "validation lengths": (
        fit(X_OK, Y_OK, validation_data=(X_OK, Y_OK[:4])),
        "validation data has 12 samples but 4 labels",
    ),
    "learning rate": (fit(X_OK, Y_OK, learning_rate=-0.1), "learning rate"),
    "batch size": (fit(X_OK, Y_OK, batch_size=0), "batch size"),
}


@pytest.mark.parametrize("case", sorted(FIT_CASES))
def test_fit_refuses_bad_input(case: str) -> None:
    call, expected = FIT_CASES[case]
    with pytest.raises(ValueError) as info:
        call()
    message = str(info.value)
    assert expected in message
    assert "\n" not in message


@pytest.mark.parametrize("dtype", ["str", "object"])
def test_fit_refuses_inputs_that_are_not_numbers(dtype: str) -> None:
    X = np.full((12, 36), "7").astype(dtype)
    with pytest.raises(ValueError, match="numbers"):
        Network([36, 5, 3], "relu", seed=0).fit(X, Y_OK, epochs=1)


def test_an_empty_batch_of_images(fitted: Network) -> None:
    assert fitted.predict(np.empty((0, 6, 6))).shape == (0,)
    with pytest.raises(ValueError, match="no training samples"):
        Network([36, 5, 3], "relu", seed=0).fit(np.empty((0, 6, 6)), Y_OK[:0], epochs=1)


@pytest.mark.parametrize(
    ("X", "expected"),
    [
        (with_value(np.nan), "NaN or infinite"),
        (with_value(-np.inf), "NaN or infinite"),
        (X_OK[:, :5, :5], "(n, 36)"),
        (X_OK.reshape(12, 36)[:, :35], "(n, 36)"),
        (X_OK.reshape(-1), "expected images"),
        (np.full((2, 36), "x"), "numbers"),
    ],
    ids=["nan", "-inf", "25 pixels", "35 features", "1-D", "strings"],
)
@pytest.mark.parametrize("method", ["predict", "predict_proba"])
def test_predict_refuses_bad_input(
    fitted: Network, method: str, X: np.ndarray, expected: str
) -> None:
    with pytest.raises(ValueError) as info:
        getattr(fitted, method)(X)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("X", "y", "expected"),
    [
        (with_value(np.nan), Y_OK, "NaN or infinite"),
        (X_OK, Y_OK[:-2], "12 inputs but labels of shape (10,)"),
        (X_OK, Y_OK + 1, "0..2"),
        (X_OK, Y_OK - 1, "0..2"),
        (X_OK, Y_OK.astype(float), "whole numbers"),
        (X_OK[:, :4, :4], Y_OK, "(n, 36)"),
    ],
    ids=["nan", "lengths", "label 3", "label -1", "float labels", "16 pixels"],
)
def test_score_refuses_bad_input(
    fitted: Network, X: np.ndarray, y: np.ndarray, expected: str
) -> None:
    with pytest.raises(ValueError) as info:
        fitted.score(X, y)
    assert expected in str(info.value)


def test_good_input_still_works(fitted: Network) -> None:
    X, y = small_data()
    assert fitted.predict(X).shape == (12,)
    assert fitted.predict_proba(X.reshape(12, 36)).shape == (12, 3)
    assert 0.0 <= fitted.score(X, y) <= 1.0
    assert fitted.predict(X.astype(np.uint8)).tolist() == fitted.predict(X).tolist()
