"""The other IDX sets (Kuzushiji-MNIST, EMNIST's splits), folders of IDX files, and where a
dataset is looked for. Every file is small and written here in its set's exact layout; nothing is
downloaded but from a server on 127.0.0.1."""

from __future__ import annotations

import gzip
import hashlib
import io
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from helpers import isolate, make_fake_dataset, write_idx_folder

from glassnet.datasets import load, write_idx
from glassnet.datasets.fetch import check_file, fetch
from glassnet.datasets.sources import Archive, IdxFile, get_source
from glassnet.errors import DatasetNotFoundError, DownloadError, FormatError


@pytest.fixture(autouse=True)
def cache_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return isolate(monkeypatch, tmp_path)


def letter_l() -> np.ndarray:
    """An upright capital L, 28x28: a bar down the left side and a foot to the right."""
    image = np.zeros((28, 28), np.uint8)
    image[4:24, 6:9] = 255
    image[21:24, 6:20] = 255
    return image


def emnist_letters(tmp_path: Path, upright: np.ndarray, labels: np.ndarray) -> tuple:
    """Files in EMNIST's layout (each image transposed, letters labelled from 1) and a source
    like emnist-letters' for them."""
    folder = tmp_path / "emnist"
    folder.mkdir()
    stored = np.ascontiguousarray(upright.transpose(0, 2, 1))  # how EMNIST writes its images
    source = get_source("emnist-letters")
    files = []
    for file, array in zip(source.files, (stored, labels, stored, labels), strict=True):
        write_idx(folder / file.name, array)
        files.append(replace(file, shape=array.shape))
    small = replace(
        source, train_images=files[0], train_labels=files[1], test_images=files[2],
        test_labels=files[3],
    )  # fmt: skip
    return small, folder


def test_emnist_letters_are_read_the_right_way_up_and_labelled_from_0(tmp_path: Path) -> None:
    upright = np.stack([letter_l(), letter_l()[:, ::-1]])  # L, and its mirror image
    labels = np.array([12, 1], np.uint8)  # EMNIST: L is 12, A is 1
    source, folder = emnist_letters(tmp_path, upright, labels)
    data = load(source, folder)
    np.testing.assert_array_equal(data.train_images, upright)
    assert data.train_images[0][22, 15] == 255  # the foot of the L, at the bottom right
    assert data.train_images[0][5, 15] == 0
    assert list(data.train_labels) == [11, 0]
    assert [data.class_names[k] for k in data.train_labels] == ["L", "A"]
    assert len(data.class_names) == 26


def test_emnist_letters_label_0_is_refused(tmp_path: Path) -> None:
    source, folder = emnist_letters(tmp_path, np.stack([letter_l()]), np.array([0], np.uint8))
    with pytest.raises(FormatError, match="label 0 out of range: emnist-letters labels its 26"):
        load(source, folder)


def test_every_emnist_split_and_kmnist_are_known() -> None:
    for split, classes in [("digits", 10), ("letters", 26), ("balanced", 47), ("byclass", 62)]:
        source = get_source(f"emnist-{split}")
        assert len(source.class_names) == classes and source.transposed
        assert source.archive is not None and source.files[0].name.startswith(f"emnist-{split}")
    kmnist = get_source("kmnist")
    assert kmnist.class_names[0] == "o" and not kmnist.transposed
    assert all(len(f.gz_sha256 or "") == 64 and f.sha256 is None for f in kmnist.files)


def gz_only(tmp_path: Path):  # a fake dataset whose publisher gives only the .gz digests
    fake = make_fake_dataset(tmp_path)
    files = [replace(f, sha256=None) for f in fake.source.files]
    source = replace(
        fake.source, train_images=files[0], train_labels=files[1], test_images=files[2],
        test_labels=files[3],
    )  # fmt: skip
    return replace(fake, source=source)


def test_a_set_with_only_gz_digests_is_checked_by_its_gz(tmp_path: Path) -> None:
    fake = gz_only(tmp_path)
    folder = fake.write(tmp_path / "k")
    assert load(fake.source, folder).train_images.shape == (6, 28, 28)
    name = "t10k-labels-idx1-ubyte.gz"
    assert check_file(fake.source.test_labels, folder / name).checked == "SHA-256 of the .gz"
    # The same data compressed by someone else cannot be checked against the publisher's .gz.
    (folder / name).write_bytes(gzip.compress(fake.raw[name], compresslevel=1, mtime=1))
    with pytest.raises(FormatError, match=r"SHA-256 of the \.gz is"):
        load(fake.source, folder)
    plain = fake.write(tmp_path / "plain", compressed=False)
    check = check_file(fake.source.test_labels, plain / "t10k-labels-idx1-ubyte")
    assert check.ok and check.checked == "shape only"


def test_a_file_of_another_shape_is_refused(tmp_path: Path) -> None:
    fake = make_fake_dataset(tmp_path)
    source = replace(fake.source, test_labels=replace(fake.source.test_labels, shape=(5,)))
    with pytest.raises(FormatError, match=r"shape \(4,\), expected \(5,\)"):
        load(source, fake.write(tmp_path / "t"), verify=False)


# ------------------------------------------------------------------------------ idx:DIR
def test_any_folder_of_idx_files(tmp_path: Path) -> None:
    names = ("my-train-images.idx3", "my-train-labels.idx1.gz", "test_images.idx3", "t10k-labels")
    write_idx_folder(tmp_path / "mine", names)
    data = load(f"idx:{tmp_path / 'mine'}")
    assert data.name == "idx" and data.train_images.shape == (6, 5, 7)
    assert data.class_names == ("0", "1", "2") and len(data.test_labels) == 4


def test_a_folder_of_emnist_files_is_sent_to_its_dataset(tmp_path: Path) -> None:
    names = tuple(f.name for f in get_source("emnist-letters").files)
    write_idx_folder(tmp_path / "e", names)
    with pytest.raises(FormatError, match="--dataset emnist-letters --data-dir"):
        load(f"idx:{tmp_path / 'e'}")


def test_a_folder_of_idx_files_must_be_complete_and_unambiguous(tmp_path: Path) -> None:
    write_idx_folder(tmp_path / "a", ("train-images", "train-labels", "t10k-images", "x.txt"))
    with pytest.raises(DatasetNotFoundError, match="no IDX file of test labels"):
        load(f"idx:{tmp_path / 'a'}")
    (tmp_path / "a" / "t10k-labels").write_bytes(b"")
    (tmp_path / "a" / "test-labels.gz").write_bytes(b"")
    with pytest.raises(FormatError, match="more than one file of test labels"):
        load(f"idx:{tmp_path / 'a'}")


# ------------------------------------------------------------------------------ where to look
def test_data_dir_may_be_a_folder_of_dataset_folders(tmp_path: Path) -> None:
    fake = make_fake_dataset(tmp_path)
    fake.write(tmp_path / "root" / "tiny")
    assert load(fake.source, tmp_path / "root").directory == tmp_path / "root" / "tiny"
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetNotFoundError) as info:
        load(fake.source, tmp_path / "empty")
    assert f"--data-dir {tmp_path / 'empty' / 'tiny'}" in str(info.value)


def test_offline_the_error_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from glassnet.cli import main

    assert main(["datasets", "fetch", "kmnist", "-q"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "cannot connect (offline?)" in err and "Downloading" not in err


# ------------------------------------------------------------------------------ EMNIST's archive
@pytest.fixture
def served() -> Iterator[tuple[str, dict[str, bytes]]]:
    files: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", files
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_an_archive_is_downloaded_checked_unpacked_and_removed(
    tmp_path: Path, cache_root: Path, served: tuple[str, dict[str, bytes]]
) -> None:
    url, files = served
    source, folder = emnist_letters(tmp_path, np.stack([letter_l()]), np.array([12], np.uint8))
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        for file in source.files:
            archive.writestr("gzip/" + file.name, (folder / file.name).read_bytes())
    data = packed.getvalue()
    files["/emnist.zip"] = data
    good = Archive(
        "e.zip",
        ((f"{url}/emnist.zip", "sha256:" + hashlib.sha256(data).hexdigest()),),
        "gzip/",
        len(data),
    )
    bad = Archive("e.zip", ((f"{url}/emnist.zip", "sha256:" + "0" * 64),), "gzip/", len(data))
    with pytest.raises(DownloadError, match="SHA-256 of the download does not match"):
        fetch(replace(source, archive=bad), tmp_path / "bad")
    assert not (tmp_path / "bad").exists() or not any((tmp_path / "bad").iterdir())
    location = fetch(replace(source, archive=good), tmp_path / "got")
    assert sorted(p.name for p in (tmp_path / "got").iterdir()) == sorted(
        f.name for f in source.files
    )
    assert not (tmp_path / "e.zip").exists()
    assert location.directory == tmp_path / "got"
    assert load(replace(source, archive=good), tmp_path / "got").train_labels[0] == 11


def test_idx_file_names_are_the_ones_emnist_publishes() -> None:
    source = get_source("emnist-balanced")
    assert [f.name for f in source.files] == [
        "emnist-balanced-train-images-idx3-ubyte.gz",
        "emnist-balanced-train-labels-idx1-ubyte.gz",
        "emnist-balanced-test-images-idx3-ubyte.gz",
        "emnist-balanced-test-labels-idx1-ubyte.gz",
    ]
    assert isinstance(source.files[0], IdxFile) and source.files[0].shape == (112800, 28, 28)
