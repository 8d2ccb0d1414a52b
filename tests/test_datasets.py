"""Tests for glassnet.datasets.load, the registry, the real MNIST files and 'glassnet datasets'."""

from __future__ import annotations

import argparse
import gzip
import os
import re
from pathlib import Path

import numpy as np
import pytest
from helpers import FakeDataset, isolate, make_fake_dataset

import glassnet
from glassnet.cli import datasets as datasets_cli
from glassnet.datasets import Dataset, available, get_source, load, read_idx
from glassnet.datasets.fetch import verify
from glassnet.datasets.sources import SOURCES
from glassnet.errors import DatasetNotFoundError, FormatError


def shared_mnist() -> Path:
    """The real MNIST files: $GLASSNET_TEST_MNIST, else shared/datasets/mnist beside the repo."""
    configured = os.environ.get("GLASSNET_TEST_MNIST")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "mnist"


MNIST_DIR = shared_mnist()
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")

needs_mnist = pytest.mark.skipif(
    not (MNIST_DIR / "train-images-idx3-ubyte.gz").is_file(),
    reason=f"real MNIST not found at {MNIST_DIR} (set GLASSNET_TEST_MNIST)",
)
needs_fashion = pytest.mark.skipif(
    not (FASHION_DIR / "train-images-idx3-ubyte.gz").is_file(),
    reason=f"Debian's dataset-fashion-mnist is not installed ({FASHION_DIR})",
)


@pytest.fixture(autouse=True)
def cache_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return isolate(monkeypatch, tmp_path)


@pytest.fixture
def fake(tmp_path: Path) -> FakeDataset:
    return make_fake_dataset(tmp_path)


# --- the registry ----------------------------------------------------------------------------


def test_available_names() -> None:
    assert available() == (
        "mnist", "fashion-mnist", "kmnist", "emnist-digits", "emnist-letters",
        "emnist-balanced", "emnist-bymerge", "emnist-byclass", "emnist-mnist",
    )  # fmt: skip
    assert glassnet.datasets.read_idx is read_idx


def test_get_source_is_forgiving_about_spelling() -> None:
    assert get_source("MNIST").name == "mnist"
    assert get_source(" Fashion_MNIST ").name == "fashion-mnist"
    assert get_source("KMNIST").name == "kmnist"
    assert get_source("EMNIST_letters").name == "emnist-letters"
    with pytest.raises(ValueError, match=r"unknown dataset 'qmnist' \(known: mnist, fashion-mnist"):
        get_source("qmnist")


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_registry_entries(name: str) -> None:
    source = SOURCES[name]
    assert [file.name for file in source.files] == [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ]
    assert [file.shape for file in source.files] == [
        (60000, 28, 28),
        (60000,),
        (10000, 28, 28),
        (10000,),
    ]
    digests = [digest for file in source.files for digest in (file.sha256, file.gz_sha256)]
    assert len(set(digests)) == 8
    assert all(len(d) == 64 and set(d) <= set("0123456789abcdef") for d in digests)
    assert len(source.class_names) == 10
    assert source.mirrors and all(url.endswith("/") for url in source.mirrors)
    with pytest.raises(AttributeError):
        source.name = "other"  # type: ignore[misc]


def test_fashion_mnist_classes_and_debian_dir() -> None:
    source = get_source("fashion-mnist")
    assert source.class_names == (
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    )  # fmt: skip
    assert source.system_dirs == (Path("/usr/share/datasets/fashion-mnist"),)
    assert get_source("mnist").class_names == tuple("0123456789")


# --- load ------------------------------------------------------------------------------------


def test_load_from_a_directory(tmp_path: Path, fake: FakeDataset) -> None:
    directory = fake.write(tmp_path / "tiny")
    data = load(fake.source, directory)
    assert isinstance(data, Dataset)
    assert data.name == "tiny"
    assert data.directory == directory
    assert data.train_images.shape == (6, 28, 28) and data.train_images.dtype == np.uint8
    assert data.train_labels.shape == (6,) and data.train_labels.dtype == np.uint8
    assert data.test_images.shape == (4, 28, 28)
    assert data.test_labels.shape == (4,)
    assert data.class_names == fake.source.class_names
    np.testing.assert_array_equal(
        data.test_images, read_idx(directory / "t10k-images-idx3-ubyte.gz")
    )
    assert "tiny" in repr(data) and "train 6" in repr(data)
    with pytest.raises(AttributeError):
        data.name = "other"  # type: ignore[misc]


def test_counts_must_agree(tmp_path: Path) -> None:
    labels = np.zeros(5, dtype=np.uint8)
    fake = make_fake_dataset(tmp_path, arrays={"train_labels": labels})
    directory = fake.write(tmp_path / "tiny")
    with pytest.raises(FormatError) as excinfo:
        load(fake.source, directory)
    assert str(excinfo.value) == (
        f"{directory / 'train-images-idx3-ubyte.gz'} holds 6 images but "
        f"{directory / 'train-labels-idx1-ubyte.gz'} holds 5 labels"
    )


def test_labels_must_name_a_class(tmp_path: Path) -> None:
    labels = np.array([0, 1, 2, 10], dtype=np.uint8)
    fake = make_fake_dataset(tmp_path, arrays={"test_labels": labels})
    directory = fake.write(tmp_path / "tiny")
    with pytest.raises(FormatError, match="label 10 out of range for 10 classes"):
        load(fake.source, directory)


@pytest.mark.parametrize(
    ("part", "array", "problem"),
    [
        ("train_images", np.zeros((6, 28, 28), np.int16), "dtype int16"),
        ("train_images", np.zeros((6, 784), np.uint8), "shape (6, 784)"),
        ("test_labels", np.zeros((4, 1), np.uint8), "shape (4, 1)"),
        ("test_labels", np.zeros(4, np.float32), "dtype float32"),
    ],
)
def test_images_and_labels_must_have_the_right_form(
    tmp_path: Path, part: str, array: np.ndarray, problem: str
) -> None:
    fake = make_fake_dataset(tmp_path, arrays={part: array})
    with pytest.raises(FormatError, match=re.escape(problem)):
        load(fake.source, fake.write(tmp_path / "tiny"))


def test_wrong_file_is_refused_with_a_hint(tmp_path: Path, fake: FakeDataset) -> None:
    directory = fake.write(tmp_path / "tiny")
    other = make_fake_dataset(tmp_path, seed=1)
    (directory / "t10k-images-idx3-ubyte.gz").write_bytes(other.gz["t10k-images-idx3-ubyte.gz"])
    with pytest.raises(FormatError) as excinfo:
        load(fake.source, directory)
    message = str(excinfo.value)
    assert "\n" not in message
    assert message.startswith(f"{directory / 't10k-images-idx3-ubyte.gz'}: SHA-256")
    assert f"is {directory} the tiny folder?" in message
    # verify=False skips the digest and loads what is there.
    assert load(fake.source, directory, verify=False).test_images.shape == (4, 28, 28)


def test_truncated_file_is_a_format_error(tmp_path: Path, fake: FakeDataset) -> None:
    directory = fake.write(tmp_path / "tiny")
    path = directory / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(FormatError, match=re.escape("train-images-idx3-ubyte.gz")):
        load(fake.source, directory)


def test_missing_everywhere(fake: FakeDataset) -> None:
    with pytest.raises(DatasetNotFoundError) as excinfo:
        load(fake.source, download=False)
    message = str(excinfo.value)
    assert "\n" not in message
    assert all(name in message for name in fake.gz)
    assert isinstance(excinfo.value, FileNotFoundError)


# --- the real data ---------------------------------------------------------------------------


@pytest.mark.mnist
@needs_mnist
def test_real_mnist() -> None:
    data = load("mnist", data_dir=MNIST_DIR, download=False)
    assert data.train_images.shape == (60000, 28, 28)
    assert data.train_labels.shape == (60000,)
    assert data.test_images.shape == (10000, 28, 28)
    assert data.test_labels.shape == (10000,)
    assert data.train_images.dtype == data.train_labels.dtype == np.uint8
    assert data.train_images.max() == 255 and data.train_images.min() == 0
    # The published class counts of MNIST's two parts.
    assert np.bincount(data.train_labels).tolist() == [
        5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949,
    ]  # fmt: skip
    assert np.bincount(data.test_labels).tolist() == [
        980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009,
    ]  # fmt: skip
    assert all(check.ok for check in verify("mnist", MNIST_DIR))


@pytest.mark.mnist
@needs_mnist
def test_real_mnist_through_the_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # $GLASSNET_DATA_DIR is a root with one folder per dataset, as shared/datasets is.
    monkeypatch.setenv("GLASSNET_DATA_DIR", str(MNIST_DIR.parent))
    data = load("mnist", download=False)
    assert data.directory == MNIST_DIR
    assert len(data.train_labels) == 60000


@needs_fashion
def test_fashion_mnist_from_debian() -> None:
    data = load("fashion-mnist", download=False)
    assert data.directory == FASHION_DIR
    assert data.train_images.shape == (60000, 28, 28)
    assert data.test_images.shape == (10000, 28, 28)
    assert np.bincount(data.train_labels).tolist() == [6000] * 10
    assert np.bincount(data.test_labels).tolist() == [1000] * 10
    assert data.class_names[9] == "Ankle boot"


@needs_mnist
def test_mnist_files_are_not_fashion_mnist() -> None:
    with pytest.raises(FormatError, match="SHA-256"):
        load("fashion-mnist", data_dir=MNIST_DIR)


# --- glassnet datasets -----------------------------------------------------------------------


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="glassnet")
    subparsers = parser.add_subparsers(dest="command")
    datasets_cli.add_parser(subparsers)
    args = parser.parse_args(["datasets", *argv])
    return int(args.func(args))


def test_cli_list(capsys: pytest.CaptureFixture[str], cache_root: Path, tmp_path: Path) -> None:
    assert run_cli("list") == 0
    out = capsys.readouterr().out
    assert "mnist" in out and "fashion-mnist" in out
    assert f"not found (downloads go to {cache_root / 'mnist'})" in out
    assert "glassnet datasets fetch mnist" in out
    # A copy in the cache is listed with where and how big.
    make_fake_dataset(tmp_path).write(cache_root / "mnist")
    assert run_cli("list") == 0
    out = capsys.readouterr().out
    assert f"{cache_root / 'mnist'} (user cache)" in out
    assert " MB" in out


@needs_mnist
def test_cli_verify_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("verify", "mnist", "--data-dir", str(MNIST_DIR)) == 0
    out = capsys.readouterr().out
    assert out.count("OK ") == 4
    assert "mnist: all 4 files OK" in out


def test_cli_verify_mismatch(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    directory = make_fake_dataset(tmp_path).write(tmp_path / "not-mnist")
    assert run_cli("verify", "MNIST", "--data-dir", str(directory)) == 1
    out = capsys.readouterr().out
    assert out.count("MISMATCH") == 4
    assert "mnist: 4 of 4 files failed" in out


@needs_mnist
def test_cli_verify_one_bad_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    directory = tmp_path / "mnist"
    directory.mkdir()
    for file in get_source("mnist").files:
        (directory / file.name).symlink_to(MNIST_DIR / file.name)
    (directory / "t10k-labels-idx1-ubyte.gz").unlink()
    (directory / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\0\0\x08\x01\0\0\0\x00"))
    assert run_cli("verify", "mnist", "--data-dir", str(directory)) == 1
    out = capsys.readouterr().out
    assert out.count("OK ") == 3 and out.count("MISMATCH") == 1


def test_cli_fetch_with_files_present(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = make_fake_dataset(tmp_path, name="mnist")
    directory = fake.write(tmp_path / "d")
    monkeypatch.setattr("glassnet.datasets.fetch.get_source", lambda name: fake.source)
    assert run_cli("fetch", "mnist", "--data-dir", str(directory), "--quiet") == 0
    assert "mnist: 4 files checked" in capsys.readouterr().out


def test_cli_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from glassnet.cli import main

    assert main(["datasets", "verify", "mnist"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "mnist not found" in err
    with pytest.raises(SystemExit) as excinfo:
        main(["datasets", "fetch", "qmnist"])
    assert excinfo.value.code == 2
    assert "unknown dataset 'qmnist'" in capsys.readouterr().err


def test_cli_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        run_cli("--help")
    out = capsys.readouterr().out
    assert "examples:" in out and "glassnet datasets fetch mnist" in out
    assert "GLASSNET_DATA_DIR" in out
