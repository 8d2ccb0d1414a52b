"""Helpers shared by the test modules (fixtures live in conftest.py).

One section per kind of test: where the real MNIST files are; running the ``glassnet`` command, in
this process or as a child; child processes that must not outlive their test, and ``glassnet
serve``; headless Chromium for the pages; a tiny fake dataset and a machine cut off from the
network; and run folders written the way a training run writes them.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, AnyStr

import numpy as np
import platformdirs
import pytest

from glassnet import Network
from glassnet.checkpoint import save_checkpoint
from glassnet.cli import main
from glassnet.datasets.idx import write_idx
from glassnet.datasets.sources import DatasetSource, IdxFile
from glassnet.history import History, TrainingState
from glassnet.runs.folder import CHECKPOINT, HISTORY_JSON, MODEL, write_history, write_settings

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


# ------------------------------------------------------------------------------- real MNIST
def mnist_location() -> Path:
    """Where the real MNIST files should be: ``$GLASSNET_TEST_MNIST``, else
    ``<repo>/../shared/datasets/mnist``."""
    configured = os.environ.get("GLASSNET_TEST_MNIST")
    return Path(configured) if configured else REPO.parent / "shared" / "datasets" / "mnist"


def mnist_folder() -> Path | None:
    """The folder holding the four real MNIST files, or None when any is missing."""
    folder = mnist_location()
    return folder if all((folder / name).is_file() for name in MNIST_FILES) else None


# --------------------------------------------------------------------------- the command line
CLOSED_PROXY = "http://127.0.0.1:9"  # the discard port: nothing listens, a download fails at once
PROXY_VARIABLES = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


def isolated_env(tmp: Path) -> dict[str, str]:
    """The environment for a ``glassnet`` subprocess that can touch nothing outside ``tmp``."""
    env = dict(os.environ)
    env["GLASSNET_DATA_DIR"] = str(tmp / "no-data-dir")  # does not exist
    env["XDG_CACHE_HOME"] = str(tmp / "no-cache")  # does not exist
    env.pop("GLASSNET_RUNS_DIR", None)
    for name in PROXY_VARIABLES:
        env[name] = CLOSED_PROXY
    env["NO_PROXY"] = env["no_proxy"] = ""
    return env


def glassnet_command() -> list[str]:
    """The installed console script beside this Python, else ``python -m glassnet``."""
    script = Path(sys.executable).with_name("glassnet")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "glassnet"]


def ctrl_c_reaches_the_child() -> None:
    """A ``preexec_fn`` giving the child SIGINT's default disposition, as a terminal's foreground
    job has. A test run started in the background (``cmd &`` in a script) has SIGINT ignored, the
    child inherits that, and Python then never turns SIGINT into KeyboardInterrupt."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_glassnet(
    args: Sequence[str], tmp: Path, *, python_flags: Sequence[str] = (), timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the real ``glassnet`` command in ``tmp`` with an isolated environment."""
    command = (
        [sys.executable, *python_flags, "-m", "glassnet"] if python_flags else glassnet_command()
    )
    return subprocess.run(
        [*command, *args],
        cwd=tmp,
        env=isolated_env(tmp),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_main(args: Sequence[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``glassnet ARGS`` in this process: exit status, standard output, standard error."""
    try:
        code = main(list(args))
    except SystemExit as exit_info:  # argparse: --help, --version and usage errors
        code = exit_info.code if isinstance(exit_info.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line_error(err: str, command: str | None = None) -> str:
    """The single line of an error report on standard error."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{err}"
    prefix = f"glassnet {command}: error: " if command else "glassnet"
    assert lines[0].startswith(prefix), lines[0]
    return lines[0]


def listing(folder: Path) -> dict[str, int]:
    """Every file and folder below ``folder``, with file sizes: to show nothing was written."""
    return {
        str(path.relative_to(folder)): (path.stat().st_size if path.is_file() else -1)
        for path in sorted(folder.rglob("*"))
    }


def evil_pickle(marker: Path) -> bytes:
    """The bytes of a pickle that, if anything ever unpickled it, would create ``marker``.

    Written opcode by opcode (protocol 2: PROTO, GLOBAL builtins.exec, BINUNICODE code, TUPLE1,
    REDUCE, STOP) so that no test module needs to import the pickle module.
    """
    code = f"open({str(marker)!r}, 'w').close()".encode()
    return (
        b"\x80\x02"
        + b"cbuiltins\nexec\n"
        + b"X"
        + len(code).to_bytes(4, "little")
        + code
        + b"\x85R."
    )


# ------------------------------------------------------------ child processes and servers
@contextmanager
def reaped(child: subprocess.Popen[AnyStr]) -> Iterator[subprocess.Popen[AnyStr]]:
    """Yield ``child``; on the way out, kill it if it still runs, wait for it, close its pipes."""
    try:
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        for pipe in (child.stdin, child.stdout, child.stderr):
            if pipe is not None:
                pipe.close()


class RunningServer:
    """A ``glassnet serve`` process, the address it printed, and the file holding its stderr."""

    def __init__(
        self, process: subprocess.Popen[str], reader: threading.Thread, url: str, stderr: Path
    ) -> None:
        self.process, self.reader, self.url, self.stderr_path = process, reader, url, stderr

    def stop(self) -> str:
        """Stop the server (SIGTERM, then SIGKILL after 10 s) and return its stderr."""
        _stop(self.process, self.reader)
        return self.stderr_path.read_text()


def start_server(model: Path, folder: Path, *extra: str) -> RunningServer:
    """Run ``glassnet serve MODEL --port 0 --no-browser EXTRA...`` and wait for its address.

    The server's stderr goes to a new file in ``folder``. Fails the test, with that stderr, when
    the server prints no ``serving on http://...`` line within 30 s.
    """
    stderr_path = folder / f"serve-{time.monotonic_ns()}.err"
    with stderr_path.open("w") as stderr:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "glassnet",
                "serve",
                str(model),
                "--port",
                "0",
                "--no-browser",
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    stdout = process.stdout
    assert stdout is not None
    lines: queue.Queue[str] = queue.Queue()

    def read_lines() -> None:
        for line in stdout:
            lines.put(line)
        lines.put("")  # the end of the output

    reader = threading.Thread(target=read_lines, daemon=True)
    reader.start()
    try:
        line = lines.get(timeout=30)
    except queue.Empty:
        line = ""
    if not line.startswith("serving on http://"):
        _stop(process, reader)
        printed = (
            f"printed {line.strip()!r} instead of its address" if line else "printed no address"
        )
        pytest.fail(f"glassnet serve {printed}; stderr: {stderr_path.read_text()}")
    return RunningServer(process, reader, line.split()[-1], stderr_path)


def _stop(process: subprocess.Popen[str], reader: threading.Thread) -> None:
    """Stop the server, then close its stdout once the reader has seen the end of it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    reader.join(timeout=10)
    if process.stdout is not None and not reader.is_alive():
        process.stdout.close()


# ------------------------------------------------------------------------------- browsers
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def trained_model(path: Path) -> bool:
    """Write a 784-64-32-10 ReLU network to ``path``, trained for a few seconds on real MNIST when
    it is available; return whether it was trained."""
    from glassnet.preprocess import Standardizer

    net = Network([784, 64, 32, 10], "relu", seed=0)
    folder = mnist_folder()
    if folder is not None:
        from glassnet.datasets.idx import read_idx

        images = read_idx(folder / MNIST_FILES[0])[:20_000]
        labels = read_idx(folder / MNIST_FILES[1])[:20_000]
        net.fit(images, labels, epochs=2, batch_size=32, learning_rate=0.05, verbose=0)
    else:
        net.standardizer = Standardizer(np.array([33.3]), np.array([78.6]))
    net.save(path)
    return folder is not None


@contextmanager
def chromium() -> Iterator[Any]:
    """Headless Chromium, launched by Playwright; the test is skipped if either is missing."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (install Debian's chromium package)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright package is missing"
    )
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def draw_seven(page: Any) -> None:
    """Two strokes, as a person draws a 7: the top bar, then the long diagonal."""
    box = page.locator("#canvas").bounding_box()
    assert box is not None

    def at(fx: float, fy: float) -> tuple[float, float]:
        return box["x"] + fx * box["width"], box["y"] + fy * box["height"]

    strokes = [
        [(0.28, 0.22), (0.72, 0.22)],
        [(0.72, 0.22), (0.60, 0.45), (0.48, 0.80)],
    ]
    for stroke in strokes:
        page.mouse.move(*at(*stroke[0]))
        page.mouse.down()
        for point in stroke[1:]:
            page.mouse.move(*at(*point), steps=12)
        page.mouse.up()


def probabilities(page: Any) -> list[float]:
    """The ten bars' probabilities, as the page shows them."""
    values = page.eval_on_selector_all(
        "#bars .bar", "bars => bars.map(b => Number(b.dataset.probability))"
    )
    return [float(v) for v in values]


def start_limited_server(model: Path, folder: Path, open_files: int) -> RunningServer:
    """``glassnet serve`` in a process allowed only ``open_files`` descriptors (soft and hard)."""
    code = (
        "import resource, sys\n"
        f"resource.setrlimit(resource.RLIMIT_NOFILE, ({open_files}, {open_files}))\n"
        "from glassnet.cli import main\n"
        f"sys.exit(main(['serve', {str(model)!r}, '--port', '0', '--no-browser']))\n"
    )
    stderr_path = folder / "limited.err"
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", code],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("serving on http://"):
        process.kill()
        process.wait()
        pytest.fail(f"the server did not start: {line!r} {stderr_path.read_text()}")
    reader = threading.Thread(target=process.stdout.read, daemon=True)
    reader.start()
    return RunningServer(process, reader, line.split()[-1], stderr_path)


# ------------------------------------------------------------------ datasets, offline
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def isolate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Use ``tmp_path/cache`` as the user cache, unset ``GLASSNET_DATA_DIR``, forbid the network.

    Returns the cache root (``platformdirs.user_cache_dir("glassnet")`` during the test).
    """
    cache_root = tmp_path / "cache" / "glassnet"

    def user_cache_dir(appname: str | None = None, *args: object, **kwargs: object) -> str:
        return str(tmp_path / "cache" / (appname or ""))

    monkeypatch.setattr(platformdirs, "user_cache_dir", user_cache_dir)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("GLASSNET_DATA_DIR", raising=False)
    for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(proxy, raising=False)

    real_connect = socket.socket.connect

    def loopback_only(sock: socket.socket, address: object) -> None:
        if isinstance(address, tuple) and address[0] not in LOOPBACK:
            raise OSError(f"tests must not use the network (tried to reach {address[0]})")
        real_connect(sock, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", loopback_only)
    return cache_root


@dataclass
class FakeDataset:
    """A dataset of a few random images, with the bytes of its files and a matching source."""

    source: DatasetSource
    raw: dict[str, bytes]  # file name -> uncompressed IDX bytes
    gz: dict[str, bytes]  # file name -> the .gz a mirror serves

    def write(self, directory: Path, *, compressed: bool = True) -> Path:
        """Put the four files in ``directory`` (created), compressed or not."""
        directory.mkdir(parents=True, exist_ok=True)
        for file in self.source.files:
            if compressed:
                (directory / file.name).write_bytes(self.gz[file.name])
            else:
                (directory / file.names[1]).write_bytes(self.raw[file.name])
        return directory

    def with_mirrors(self, *mirrors: str) -> FakeDataset:
        return replace(self, source=replace(self.source, mirrors=tuple(mirrors)))


def _idx(array: np.ndarray, tmp: Path) -> bytes:
    write_idx(tmp, array)
    return tmp.read_bytes()


def make_fake_dataset(
    tmp_path: Path,
    *,
    name: str = "tiny",
    n_train: int = 6,
    n_test: int = 4,
    seed: int = 0,
    arrays: dict[str, np.ndarray] | None = None,
    system_dirs: tuple[Path, ...] = (),
) -> FakeDataset:
    """Build a 10-class dataset whose digests match its files.

    ``arrays`` may replace any of ``"train_images"``, ``"train_labels"``, ``"test_images"``,
    ``"test_labels"`` (to make inconsistent datasets: the digests still match the files).
    """
    rng = np.random.default_rng(seed)
    parts = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    parts.update(arrays or {})
    names = {
        "train_images": "train-images-idx3-ubyte.gz",
        "train_labels": "train-labels-idx1-ubyte.gz",
        "test_images": "t10k-images-idx3-ubyte.gz",
        "test_labels": "t10k-labels-idx1-ubyte.gz",
    }
    scratch = tmp_path / f".scratch-{name}-{seed}"
    scratch.mkdir(parents=True, exist_ok=True)
    raw, gz, files = {}, {}, {}
    for part, array in parts.items():
        file_name = names[part]
        raw[file_name] = _idx(array, scratch / part)
        gz[file_name] = gzip.compress(raw[file_name], mtime=0)
        files[part] = IdxFile(
            file_name,
            sha256=hashlib.sha256(raw[file_name]).hexdigest(),
            gz_sha256=hashlib.sha256(gz[file_name]).hexdigest(),
            shape=array.shape,
        )
    source = DatasetSource(
        name=name,
        title="a tiny fake dataset",
        class_names=tuple(f"class {i}" for i in range(10)),
        mirrors=(),
        system_dirs=system_dirs,
        train_images=files["train_images"],
        train_labels=files["train_labels"],
        test_images=files["test_images"],
        test_labels=files["test_labels"],
    )
    return FakeDataset(source, raw, gz)


def write_idx_folder(folder: Path, names: tuple[str, ...], n: int = 6) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 5, 7), dtype=np.uint8)
    labels = np.arange(n, dtype=np.uint8) % 3
    for name, array in zip(names, (images, labels, images[:4], labels[:4]), strict=True):
        write_idx(folder / name, array)


# ------------------------------------------------------------------------------ run folders
def wait_for_epochs(run: Path, child: subprocess.Popen[str], epochs: int) -> int:
    """Wait (at most a minute) until the run's history holds ``epochs`` rows; return how many."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert child.poll() is None, child.communicate()
        try:
            rows = len(json.loads((run / HISTORY_JSON).read_text())["rows"])
        except (OSError, ValueError):
            rows = 0
        if rows >= epochs:
            return rows
        time.sleep(0.05)
    pytest.fail(f"the run did not reach {epochs} epochs in a minute")


def training_data(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28)).astype(np.uint8), rng.integers(0, 10, n)


def train_into(folder: Path, epochs: int, after_epoch: Any = None) -> Network:
    """Train a small network as a run does: after each epoch, the checkpoint and the history."""
    net = Network([784, 12, 10], "sigmoid", seed=0)
    write_settings(folder, {"dataset": "mnist", "hidden": [12], "activation": "sigmoid",
                            "epochs": epochs, "learning_rate": 0.1, "batch_size": 20})  # fmt: skip

    def keep(row: dict[str, Any], state: TrainingState) -> None:
        save_checkpoint(folder / CHECKPOINT, net, state)
        write_history(folder, state.history)
        if after_epoch is not None:
            after_epoch(row)

    X, y = training_data()
    net.fit(X, y, epochs=epochs, batch_size=20, learning_rate=0.1, callbacks=[keep], verbose=0)
    return net


def finish(folder: Path, net: Network, test_accuracy: float = 0.5) -> None:
    """What a run does at its end: the model, the history with the test accuracy, no checkpoint."""
    net.save(folder / MODEL)
    data = json.loads((folder / HISTORY_JSON).read_text())
    history = History(data["rows"], "completed", None, test_accuracy)
    write_history(folder, history)
    (folder / CHECKPOINT).unlink()


def start_watch(folder: Path, log: Path) -> tuple[subprocess.Popen[str], str]:
    """``glassnet watch FOLDER`` in a subprocess, and the address it prints."""
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "glassnet", "watch", str(folder), "--no-browser"],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    assert process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(process.stdout.readline()), daemon=True).start()  # type: ignore[union-attr]
    try:
        line = lines.get(timeout=30)
    except queue.Empty:
        line = ""
    if not line.startswith("serving on http://"):
        process.kill()
        pytest.fail(f"glassnet watch printed {line!r}; stderr: {log.read_text()}")
    return process, line.split()[-1]


# ------------------------------------------------------------------ your own data
SHAPES = ("bar", "cross", "ring")


def picture(shape: str, seed: int, size: int = 24) -> Any:
    """Dark ink on white paper, as a PIL image: a vertical bar, a cross or a ring, slightly moved
    each time."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    pixels = np.full((size, size), 250, np.uint8)
    dy, dx = rng.integers(-2, 3, 2)
    c = size // 2
    if shape in ("bar", "cross"):
        pixels[4 + dy : size - 4 + dy, c - 2 + dx : c + 2 + dx] = 10
    if shape == "cross":
        pixels[c - 2 + dy : c + 2 + dy, 4 + dx : size - 4 + dx] = 10
    if shape == "ring":
        yy, xx = np.mgrid[:size, :size]
        r = np.hypot(yy - c - dy, xx - c - dx)
        pixels[(r > 5) & (r < 8)] = 10
    return Image.fromarray(pixels)


def picture_folder(root: Path, per_class: int = 10, *, rgb: bool = False) -> Path:
    for shape in SHAPES:
        (root / shape).mkdir(parents=True)
        for i in range(per_class):
            image = picture(shape, i + 100 * SHAPES.index(shape))
            suffix = ".jpg" if i % 3 == 0 else ".png"
            (image.convert("RGB") if rgb or suffix == ".jpg" else image).save(
                root / shape / f"{i}{suffix}"
            )
    (root / "bar" / "notes.txt").write_text("not a picture, passed over")
    return root


def write_csv(path: Path, rows: list[list[object]]) -> Path:
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def separable_rows(n: int = 60) -> list[list[object]]:
    rng = np.random.default_rng(0)
    rows: list[list[object]] = [["height", "weight", "kind"]]
    for i in range(n):
        kind = ("cat", "dog", "horse")[i % 3]
        base = {"cat": 1.0, "dog": 5.0, "horse": 20.0}[kind]
        rows.append([f"{base + rng.normal(0, 0.3):.3f}", f"{base * 3 + rng.normal():.3f}", kind])
    return rows


def record_shuffled_copies(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every ShuffledCopy the training loop makes from now on, in the order made: to see whether a
    run got the prefetch helper thread (``pool``) and copied ahead (``ahead``)."""
    import glassnet.training

    made: list[Any] = []
    original = glassnet.training.ShuffledCopy

    def spy(*args: Any, **kwargs: Any) -> Any:
        made.append(original(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(glassnet.training, "ShuffledCopy", spy)
    return made
