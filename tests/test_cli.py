"""The ``glassnet`` command line: help, version, and a one-line refusal for every kind of bad input.

Every bad input (a missing or damaged dataset, a model file that is a pickle or lies about its
shapes, an option out of range) must end the same way: exactly one line on standard error naming
what is wrong, no traceback, a non-zero exit status, and nothing written: no run folder, no model
file, not one changed entry in the directory the command ran in.

Nothing here touches the network or the user's real cache: ``GLASSNET_DATA_DIR`` and
``XDG_CACHE_HOME`` point into the test's temporary directory, and any download would have to go
through a proxy on a closed local port.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy
from helpers import (
    evil_pickle,
    isolated_env,
    listing,
    one_line_error,
    run_glassnet,
    run_main,
)

import glassnet
from glassnet.cli import SUBCOMMANDS, build_parser
from glassnet.datasets import write_idx
from glassnet.modelfile import read_model_header

MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


# ------------------------------------------------------------------------------------ helpers
def copy_mnist(source: Path, target: Path) -> Path:
    """A writable copy of the four MNIST files."""
    target.mkdir(parents=True)
    for name in MNIST_FILES:
        shutil.copyfile(source / name, target / name)
    return target


def trained_model(path: Path) -> Path:
    """A small valid model file for MNIST-shaped inputs (784 -> 16 -> 10)."""
    rng = np.random.default_rng(0)
    network = glassnet.Network([784, 16, 10], "relu", seed=0)
    network.fit(rng.integers(0, 256, (40, 28, 28)), np.arange(40) % 10, epochs=1, batch_size=8)
    network.save(path)
    return path


# ------------------------------------------------------------------------------- help, version
def test_console_script_help_lists_commands_and_examples(tmp_path: Path) -> None:
    result = run_glassnet(["--help"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "examples:" in result.stdout
    for name in ("train", "evaluate", "gradcheck", "datasets"):
        assert name in result.stdout


def test_python_dash_m_version(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "glassnet", "--version"],
        cwd=tmp_path,
        env=isolated_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"glassnet {glassnet.__version__}"


def test_no_command_prints_help_and_exits_2(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_main([], capsys)
    assert code == 2
    assert "examples:" in out


def installed_subcommands() -> list[str]:
    parser = build_parser()
    actions = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    return list(actions[0].choices)  # type: ignore[attr-defined]


def test_every_listed_subcommand_is_installed() -> None:
    # predict and serve may still be missing; every other command must be there.
    missing = set(SUBCOMMANDS) - set(installed_subcommands())
    assert missing <= {"predict", "serve"}, missing


@pytest.mark.parametrize("command", installed_subcommands())
def test_every_subcommand_help_has_examples(
    command: str, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_main([command, "--help"], capsys)
    assert code == 0, err
    assert err == ""
    assert "examples:" in out
    examples = out.split("examples:", 1)[1]
    assert f"glassnet {command}" in examples
    assert listing(isolated) == {}


@pytest.mark.parametrize("action", ["list", "fetch", "verify"])
def test_every_datasets_action_help_has_examples(
    action: str, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_main(["datasets", action, "--help"], capsys)
    assert code == 0
    assert f"glassnet datasets {action}" in out.split("examples:", 1)[1]


# --------------------------------------------------------------------------- bad options
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--batch-size", "0"], "--batch-size"),
        (["--learning-rate", "-1"], "greater than 0"),
        (["--learning-rate", "nan"], "finite"),
        (["--hidden", "50,x"], "'x'"),
        (["--hidden", "50,0"], "at least 1 unit"),
        (["--epochs", "abc"], "whole number"),
        (["--epochs", "0"], "--epochs"),
        (["--dropout", "1.5"], "--dropout"),
        (["--optimizer", "adamax"], "invalid choice"),
        (["--preset", "nope"], "invalid choice"),
        (["--train-limit", "-5"], "--train-limit"),
    ],
)
def test_bad_training_option_is_a_usage_error(
    args: list[str], expected: str, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = listing(isolated)
    code, out, err = run_main(["train", "--runs-dir", "runs", *args], capsys)
    assert code == 2
    assert expected in one_line_error(err, "train")
    assert out == ""
    assert listing(isolated) == before == {}


def test_unknown_dataset_is_one_line(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(["train", "--dataset", "nope", "--out", "run"], capsys)
    assert code == 2  # a bad option, as the README promises
    line = one_line_error(err)
    assert "'nope'" in line and "mnist" in line
    assert listing(isolated) == {}


def test_unknown_dataset_in_the_real_command(tmp_path: Path) -> None:
    result = run_glassnet(["train", "--dataset", "nope", "--runs-dir", "runs"], tmp_path)
    assert result.returncode == 2
    assert "unknown dataset 'nope'" in one_line_error(result.stderr)
    assert result.stdout == ""
    assert listing(tmp_path) == {}


def test_unknown_option_is_a_usage_error(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_main(["train", "--epochz", "3"], capsys)
    assert code == 2
    assert "unrecognized arguments: --epochz" in one_line_error(err)
    assert listing(isolated) == {}


# ------------------------------------------------------------------------------- bad data
@pytest.mark.slow
def test_missing_data_dir(tmp_path: Path) -> None:
    result = run_glassnet(
        ["train", "--data-dir", str(tmp_path / "missing"), "--out", "run"], tmp_path
    )
    assert result.returncode == 1
    line = one_line_error(result.stderr, "train")
    assert "missing" in line and "no such directory" in line
    assert listing(tmp_path) == {}


def test_data_dir_without_the_files_names_them(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (isolated / "empty").mkdir()
    before = listing(isolated)
    code, _, err = run_main(["train", "--data-dir", "empty", "--runs-dir", "runs"], capsys)
    assert code == 1
    line = one_line_error(err, "train")
    assert "train-images-idx3-ubyte.gz" in line and "glassnet datasets fetch" in line
    assert listing(isolated) == before


@pytest.mark.mnist
def test_truncated_gzip_file(
    mnist_dir: Path, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = copy_mnist(mnist_dir, isolated / "mnist")
    damaged = data / "train-images-idx3-ubyte.gz"
    damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 2])
    before = listing(isolated)
    code, out, err = run_main(
        ["train", "--data-dir", str(data), "--out", "run", "--epochs", "1"], capsys
    )
    assert code == 1
    line = one_line_error(err, "train")
    assert "train-images-idx3-ubyte.gz" in line and "truncated" in line
    assert out == ""
    assert listing(isolated) == before


@pytest.mark.slow
@pytest.mark.mnist
def test_truncated_gzip_file_in_the_real_command(mnist_dir: Path, tmp_path: Path) -> None:
    data = copy_mnist(mnist_dir, tmp_path / "mnist")
    damaged = data / "t10k-labels-idx1-ubyte.gz"
    damaged.write_bytes(damaged.read_bytes()[:-100])
    before = listing(tmp_path)
    result = run_glassnet(["train", "--data-dir", str(data), "--runs-dir", "runs"], tmp_path)
    assert result.returncode == 1
    line = one_line_error(result.stderr, "train")
    assert "t10k-labels-idx1-ubyte.gz" in line and "truncated" in line
    assert listing(tmp_path) == before


@pytest.mark.mnist
def test_wrong_magic_number(
    mnist_dir: Path, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = copy_mnist(mnist_dir, isolated / "mnist")
    labels = data / "train-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(labels.read_bytes()))
    raw[0:2] = b"\x08\x03"  # MNIST's magic is 00 00 08 01
    labels.write_bytes(gzip.compress(bytes(raw), mtime=0))
    before = listing(isolated)
    code, _, err = run_main(["train", "--data-dir", str(data), "--out", "run"], capsys)
    assert code == 1
    line = one_line_error(err, "train")
    assert "train-labels-idx1-ubyte.gz" in line and "not an IDX file" in line
    assert "0x08 0x03" in line
    assert listing(isolated) == before


def test_images_and_labels_that_disagree(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Through the command line the SHA-256 check of the real dataset refuses such files first;
    # glassnet.datasets.load with a source of one's own reports the counts themselves
    # (tests/test_datasets.py::test_counts_must_agree, and the test below).
    data = isolated / "mnist"
    data.mkdir()
    rng = np.random.default_rng(0)
    write_idx(data / "train-images-idx3-ubyte", rng.integers(0, 256, (5, 28, 28), np.uint8))
    write_idx(data / "train-labels-idx1-ubyte", rng.integers(0, 10, 6, np.uint8))
    write_idx(data / "t10k-images-idx3-ubyte", rng.integers(0, 256, (3, 28, 28), np.uint8))
    write_idx(data / "t10k-labels-idx1-ubyte", rng.integers(0, 10, 3, np.uint8))
    before = listing(isolated)
    code, _, err = run_main(["train", "--data-dir", str(data), "--out", "run"], capsys)
    assert code == 1
    line = one_line_error(err, "train")
    assert "train-images-idx3-ubyte" in line
    assert listing(isolated) == before


def test_counts_that_disagree_are_named(tmp_path: Path) -> None:
    from helpers import make_fake_dataset

    rng = np.random.default_rng(1)
    fake = make_fake_dataset(
        tmp_path,
        arrays={"train_labels": rng.integers(0, 10, 7, dtype=np.uint8)},  # 6 images, 7 labels
    )
    folder = fake.write(tmp_path / "tiny")
    with pytest.raises(glassnet.FormatError) as info:
        glassnet.datasets.load(fake.source, data_dir=folder)
    message = str(info.value)
    assert "\n" not in message
    assert "6 images" in message and "7 labels" in message


# ------------------------------------------------------------------------ bad model files
@pytest.fixture
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained_model(tmp_path_factory.mktemp("model") / "model.safetensors")


def test_evaluate_refuses_a_pickle_without_running_it(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = isolated.parent / f"{isolated.name}-unpickled"
    model = isolated / "model.safetensors"
    model.write_bytes(evil_pickle(marker))
    before = listing(isolated)
    code, out, err = run_main(["evaluate", str(model), "--data-dir", "nowhere"], capsys)
    assert code == 1
    line = one_line_error(err, "evaluate")
    assert "pickle" in line and str(model) in line
    assert out == ""
    assert not marker.exists()
    assert listing(isolated) == before


def test_evaluate_refuses_a_pickle_in_the_real_command(tmp_path: Path) -> None:
    marker = tmp_path.parent / f"{tmp_path.name}-unpickled"
    (tmp_path / "model.pkl").write_bytes(evil_pickle(marker))
    result = run_glassnet(["evaluate", "model.pkl"], tmp_path)
    assert result.returncode == 1
    assert "never loads pickles" in one_line_error(result.stderr, "evaluate")
    assert not marker.exists()
    assert sorted(listing(tmp_path)) == ["model.pkl"]


def test_evaluate_refuses_shapes_that_disagree_with_the_header(
    model_path: Path, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = read_model_header(model_path)
    tensors = safetensors.numpy.load(model_path.read_bytes())
    tensors["weights.0"] = tensors["weights.0"][:, :15].copy()  # the header says (784, 16)
    forged = isolated / "forged.safetensors"
    forged.write_bytes(safetensors.numpy.save(tensors, metadata={"glassnet": json.dumps(header)}))
    before = listing(isolated)
    code, out, err = run_main(["evaluate", str(forged), "--data-dir", "nowhere"], capsys)
    assert code == 1
    line = one_line_error(err, "evaluate")
    assert "'weights.0'" in line and "(784, 15)" in line and "(784, 16)" in line
    assert out == ""
    assert listing(isolated) == before


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda data: data[: len(data) // 2], "truncated"),
        (lambda data: b"", "empty"),
        (lambda data: b"PK\x03\x04" + data[4:], "zip archive"),
        (lambda data: data + b"\0" * 16, "unexpected bytes"),
    ],
    ids=["truncated", "empty", "zip", "trailing"],
)
def test_evaluate_refuses_damaged_model_files(
    damage: object,
    expected: str,
    model_path: Path,
    isolated: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    damaged = isolated / "damaged.safetensors"
    damaged.write_bytes(damage(model_path.read_bytes()))  # type: ignore[operator]
    code, _, err = run_main(["evaluate", str(damaged), "--data-dir", "nowhere"], capsys)
    assert code == 1
    assert expected in one_line_error(err, "evaluate")


def test_evaluate_a_missing_model_or_a_folder(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_main(["evaluate", "missing.safetensors"], capsys)
    assert code == 1
    assert "missing.safetensors" in one_line_error(err, "evaluate")
    code, _, err = run_main(["evaluate", str(isolated)], capsys)
    assert code == 1
    one_line_error(err, "evaluate")
    assert listing(isolated) == {}


@pytest.mark.mnist
def test_evaluate_a_model_for_other_inputs(
    mnist_dir: Path, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    network = glassnet.Network([100, 5, 10], "tanh", seed=0)
    network.save(isolated / "small.safetensors")
    code, out, err = run_main(
        ["evaluate", "small.safetensors", "--data-dir", str(mnist_dir)], capsys
    )
    assert code == 1
    line = one_line_error(err, "evaluate")
    assert "100 inputs" in line and "784" in line
    assert out == ""


# ------------------------------------------------------------------------ predict and serve
def need(command: str) -> None:
    if importlib.util.find_spec(f"glassnet.cli.{command}") is None:
        pytest.skip(f"'glassnet {command}' is not there yet")


def test_predict_refuses_a_pickle(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    need("predict")
    pytest.importorskip("PIL")
    marker = isolated.parent / f"{isolated.name}-unpickled"
    (isolated / "model.pkl").write_bytes(evil_pickle(marker))
    (isolated / "digit.png").write_bytes(b"not really a png")
    code, out, err = run_main(["predict", "model.pkl", "digit.png"], capsys)
    assert code == 1
    assert "never loads pickles" in one_line_error(err, "predict")
    assert out == ""
    assert not marker.exists()


def test_predict_bad_images_are_one_line_each(
    model_path: Path, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    need("predict")
    pytest.importorskip("PIL")
    (isolated / "text.png").write_text("hello, not an image\n")
    before = listing(isolated)
    code, out, err = run_main(["predict", str(model_path), "text.png"], capsys)
    assert code == 1
    assert "text.png" in one_line_error(err, "predict")
    assert out == ""
    code, out, err = run_main(["predict", str(model_path), "missing.png"], capsys)
    assert code == 1
    assert "missing.png" in one_line_error(err, "predict")
    assert listing(isolated) == before


def test_predict_bad_top_is_a_usage_error(
    model_path: Path, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    need("predict")
    code, _, err = run_main(["predict", str(model_path), "x.png", "--top", "0"], capsys)
    assert code == 2
    assert "--top" in one_line_error(err, "predict")


def test_serve_refuses_a_pickle(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    need("serve")
    pytest.importorskip("starlette")
    pytest.importorskip("uvicorn")
    marker = isolated.parent / f"{isolated.name}-unpickled"
    (isolated / "model.pkl").write_bytes(evil_pickle(marker))
    code, out, err = run_main(["serve", "model.pkl", "--no-browser"], capsys)
    assert code == 1
    assert "never loads pickles" in one_line_error(err, "serve")
    assert out == ""
    assert not marker.exists()


@pytest.mark.parametrize("port", ["70000", "-1", "http"])
def test_serve_bad_port_is_a_usage_error(
    port: str, model_path: Path, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    need("serve")
    code, _, err = run_main(["serve", str(model_path), "--port", port, "--no-browser"], capsys)
    assert code == 2
    assert "--port" in one_line_error(err, "serve")


def test_a_command_imports_its_own_module_and_no_others(tmp_path: Path) -> None:
    """``glassnet gradcheck`` does not import the page server's, the sweeps' or the plots' code."""
    code = (
        "import sys\n"
        "from glassnet.cli import main\n"
        "main(['gradcheck', '--hidden', '3', '--inputs', '4', '--classes', '2', '--batch-size', '2'])\n"
        "print(' '.join(m for m in sys.modules if m.startswith('glassnet.cli.')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=isolated_env(tmp_path),
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    loaded = {word for word in result.stdout.split() if word.startswith("glassnet.cli.")}
    assert "glassnet.cli.gradcheck" in loaded
    assert not loaded & {"glassnet.cli.serve", "glassnet.cli.sweep", "glassnet.cli.plot"}
