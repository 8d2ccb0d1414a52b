"""Tests for finding, checking and downloading dataset files.

Downloads go to a web server on 127.0.0.1 started by the tests; the real network and the real
user cache are never touched (see conftest_datasets_helpers.isolate).
"""

from __future__ import annotations

import gzip
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from helpers import FakeDataset, isolate, make_fake_dataset

from glassnet.datasets import load
from glassnet.datasets.fetch import (
    ENV_VAR,
    cache_dir,
    download_file,
    fetch,
    locate,
    not_found_message,
    search_dirs,
    verify,
)
from glassnet.datasets.sources import get_source
from glassnet.errors import DatasetNotFoundError, DownloadError, FormatError

NAMES = [
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
]


@pytest.fixture(autouse=True)
def cache_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return isolate(monkeypatch, tmp_path)


@pytest.fixture
def fake(tmp_path: Path) -> FakeDataset:
    return make_fake_dataset(tmp_path, system_dirs=(tmp_path / "system" / "tiny",))


# --- a local web server ----------------------------------------------------------------------


@dataclass
class LocalServer:
    """Serves ``routes`` (path -> (status, body, declared Content-Length)); logs request paths."""

    url: str
    routes: dict[str, tuple[int, bytes, int]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)

    def mirror(self, prefix: str, files: dict[str, bytes], *, status: int = 200) -> str:
        """Serve ``files`` under ``/prefix/``; return that base URL."""
        for name, body in files.items():
            self.routes[f"/{prefix}/{name}"] = (status, body, len(body))
        return f"{self.url}/{prefix}/"

    def lying_mirror(self, prefix: str, files: dict[str, bytes]) -> str:
        """Announce each file's full length but send only half of it, then hang up."""
        for name, body in files.items():
            self.routes[f"/{prefix}/{name}"] = (200, body[: len(body) // 2], len(body))
        return f"{self.url}/{prefix}/"


@pytest.fixture
def server() -> Iterator[LocalServer]:
    routes: dict[str, tuple[int, bytes, int]] = {}
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            status, body, declared = routes.get(self.path, (404, b"not found", 9))
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(declared))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield LocalServer(f"http://127.0.0.1:{httpd.server_address[1]}", routes, hits)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def entries(directory: Path) -> list[str]:
    """Every name in ``directory`` (hidden ones too), or [] if it does not exist."""
    return sorted(os.listdir(directory)) if directory.exists() else []


def bad_mirror(kind: str, server: LocalServer, fake: FakeDataset, other: FakeDataset) -> str:
    """A mirror that fails in the way ``kind`` says."""
    if kind == "404":
        return server.mirror("missing", fake.gz, status=404)
    if kind == "500":
        return server.mirror("error", fake.gz, status=500)
    if kind == "wrong bytes":
        return server.mirror("wrong", other.gz)
    if kind == "short body":
        return server.mirror("short", {k: v[: len(v) // 2] for k, v in fake.gz.items()})
    if kind == "connection cut":
        return server.lying_mirror("cut", fake.gz)
    if kind == "empty body":
        return server.mirror("empty", {k: b"" for k in fake.gz})
    raise AssertionError(kind)


BAD_KINDS = ["404", "500", "wrong bytes", "short body", "connection cut", "empty body"]


# --- downloads -------------------------------------------------------------------------------


def test_download_puts_verified_files_in_the_cache(
    fake: FakeDataset, server: LocalServer, cache_root: Path
) -> None:
    source = fake.with_mirrors(server.mirror("good", fake.gz)).source
    location = fetch(source, progressbar=False)
    assert location.origin == "cache"
    assert location.directory == cache_root / "tiny" == cache_dir(source)
    assert entries(location.directory) == NAMES  # no temporary files left
    for file, path in zip(source.files, location.paths, strict=True):
        assert path.read_bytes() == fake.gz[file.name]
    assert all(check.ok for check in verify(source))
    # Found in the cache from now on: nothing is downloaded again.
    requests_so_far = len(server.hits)
    assert fetch(source, progressbar=False).paths == location.paths
    assert locate(source) == location
    assert len(server.hits) == requests_so_far


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_bad_download_leaves_no_file(
    kind: str, tmp_path: Path, fake: FakeDataset, server: LocalServer
) -> None:
    other = make_fake_dataset(tmp_path, seed=1)
    source = fake.with_mirrors(bad_mirror(kind, server, fake, other)).source
    with pytest.raises(DownloadError) as excinfo:
        fetch(source, progressbar=False, timeout=10)
    message = str(excinfo.value)
    assert "\n" not in message
    assert "cannot download train-images-idx3-ubyte.gz" in message
    assert server.url in message
    assert entries(cache_dir(source)) == []


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_falls_back_to_the_next_mirror(
    kind: str, tmp_path: Path, fake: FakeDataset, server: LocalServer
) -> None:
    other = make_fake_dataset(tmp_path, seed=1)
    bad = bad_mirror(kind, server, fake, other)
    good = server.mirror("good", fake.gz)
    source = fake.with_mirrors(bad, good).source
    location = fetch(source, progressbar=False, timeout=10)
    assert entries(location.directory) == NAMES
    assert all(check.ok for check in verify(source))
    assert any(hit.startswith("/good/") for hit in server.hits)


def test_decompressed_digest_is_checked_after_download(
    fake: FakeDataset, server: LocalServer
) -> None:
    # The .gz matches its digest, but what it decompresses to does not: removed, next mirror.
    file = replace(fake.source.train_labels, sha256="0" * 64)
    target = cache_dir(fake.source)
    first = server.mirror("first", fake.gz)
    second = server.mirror("second", fake.gz)
    with pytest.raises(DownloadError) as excinfo:
        download_file(file, target, [first, second], progressbar=False)
    assert str(excinfo.value).count("SHA-256 of the IDX data is") == 2
    assert entries(target) == []
    assert server.hits == [
        "/first/train-labels-idx1-ubyte.gz",
        "/second/train-labels-idx1-ubyte.gz",
    ]


def test_error_message_names_each_mirror_and_reason(
    tmp_path: Path, fake: FakeDataset, server: LocalServer
) -> None:
    other = make_fake_dataset(tmp_path, seed=1)
    missing = server.mirror("missing", fake.gz, status=404)
    wrong = server.mirror("wrong", other.gz)
    with pytest.raises(DownloadError) as excinfo:
        download_file(fake.source.test_labels, tmp_path / "d", [missing, wrong], progressbar=False)
    assert str(excinfo.value) == (
        f"cannot download t10k-labels-idx1-ubyte.gz: "
        f"{missing}t10k-labels-idx1-ubyte.gz: HTTP 404 Not Found; "
        f"{wrong}t10k-labels-idx1-ubyte.gz: SHA-256 of the download does not match"
    )


def test_unreachable_mirror(fake: FakeDataset) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    source = fake.with_mirrors(f"http://127.0.0.1:{port}/").source
    with pytest.raises(DownloadError, match="cannot connect"):
        fetch(source, progressbar=False, timeout=5)
    assert entries(cache_dir(source)) == []


def test_no_mirrors(fake: FakeDataset) -> None:
    with pytest.raises(DownloadError, match="no mirrors"):
        fetch(fake.source, progressbar=False)


def test_fetch_into_data_dir(tmp_path: Path, fake: FakeDataset, server: LocalServer) -> None:
    source = fake.with_mirrors(server.mirror("good", fake.gz)).source
    target = tmp_path / "mine" / "tiny"
    location = fetch(source, target, progressbar=False)
    assert (location.directory, location.origin) == (target, "data_dir")
    assert entries(target) == NAMES
    assert entries(cache_dir(source)) == []


def test_fetch_keeps_good_files_and_replaces_bad_ones(
    tmp_path: Path, fake: FakeDataset, server: LocalServer
) -> None:
    source = fake.with_mirrors(server.mirror("good", fake.gz)).source
    target = fake.write(tmp_path / "mine")
    (target / "t10k-images-idx3-ubyte.gz").write_bytes(b"garbage")
    (target / "train-labels-idx1-ubyte.gz").unlink()
    fetch(source, target, progressbar=False)
    assert sorted(server.hits) == [
        "/good/t10k-images-idx3-ubyte.gz",
        "/good/train-labels-idx1-ubyte.gz",
    ]
    assert entries(target) == NAMES
    assert all(check.ok for check in verify(source, target))


def test_fetch_accepts_copies_compressed_by_someone_else(
    tmp_path: Path, fake: FakeDataset, server: LocalServer
) -> None:
    # Debian recompressed its files: other .gz bytes, same IDX bytes. No download needed.
    source = fake.with_mirrors(server.mirror("good", fake.gz)).source
    target = tmp_path / "mine"
    target.mkdir()
    for name, raw in fake.raw.items():
        (target / name).write_bytes(gzip.compress(raw, compresslevel=1, mtime=12345))
        assert (target / name).read_bytes() != fake.gz[name]
    fetch(source, target, progressbar=False)
    assert server.hits == []
    fake.write(target, compressed=False)  # and uncompressed copies are fine too
    for name in NAMES:
        (target / name).unlink()
    assert fetch(source, target, progressbar=False).paths[0].name == "train-images-idx3-ubyte"
    assert server.hits == []


def test_fetch_uses_a_copy_found_elsewhere(
    tmp_path: Path, fake: FakeDataset, server: LocalServer
) -> None:
    source = fake.with_mirrors(server.mirror("good", fake.gz)).source
    fake.write(tmp_path / "system" / "tiny")
    location = fetch(source, progressbar=False)
    assert location.origin == "system"
    assert server.hits == []
    assert entries(cache_dir(source)) == []


def test_fetch_refuses_a_corrupt_copy_outside_the_cache(
    tmp_path: Path, fake: FakeDataset, server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = fake.with_mirrors(server.mirror("good", fake.gz)).source
    data = fake.write(tmp_path / "data" / "tiny")
    (data / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\0\0\x08\x01\0\0\0\x01x"))
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "data"))
    with pytest.raises(FormatError, match=r"t10k-labels-idx1-ubyte\.gz: SHA-256"):
        fetch(source, progressbar=False)
    assert server.hits == []


def test_fetch_downloads_a_corrupt_cache_file_again(fake: FakeDataset, server: LocalServer) -> None:
    source = fake.with_mirrors(server.mirror("good", fake.gz)).source
    cached = fake.write(cache_dir(source))
    (cached / "train-images-idx3-ubyte.gz").write_bytes(fake.gz["t10k-images-idx3-ubyte.gz"])
    fetch(source, progressbar=False)
    assert server.hits == ["/good/train-images-idx3-ubyte.gz"]
    assert all(check.ok for check in verify(source))


def test_load_downloads_when_nothing_is_found(fake: FakeDataset, server: LocalServer) -> None:
    source = fake.with_mirrors(server.mirror("good", fake.gz)).source
    data = load(source, progressbar=False)
    assert data.train_images.shape == (6, 28, 28)
    assert data.directory == cache_dir(source)


def test_load_without_download_never_asks_the_mirrors(
    fake: FakeDataset, server: LocalServer
) -> None:
    source = fake.with_mirrors(server.mirror("good", fake.gz)).source
    with pytest.raises(DatasetNotFoundError):
        load(source, download=False)
    assert server.hits == []


def test_load_when_download_fails(fake: FakeDataset, server: LocalServer) -> None:
    source = fake.with_mirrors(server.mirror("missing", fake.gz, status=404)).source
    with pytest.raises(DatasetNotFoundError) as excinfo:
        load(source, progressbar=False)
    message = str(excinfo.value)
    assert "\n" not in message
    assert "tiny not found" in message
    assert "downloading failed: cannot download train-images-idx3-ubyte.gz" in message
    assert "HTTP 404" in message
    assert entries(cache_dir(source)) == []


# --- where files are looked for --------------------------------------------------------------


@pytest.fixture
def everywhere(tmp_path: Path, fake: FakeDataset, monkeypatch: pytest.MonkeyPatch) -> dict:
    """Complete copies in an explicit dir, $GLASSNET_DATA_DIR/tiny, the cache and the system."""
    places = {
        "data_dir": fake.write(tmp_path / "explicit"),
        ENV_VAR: fake.write(tmp_path / "env" / "tiny"),
        "cache": fake.write(cache_dir(fake.source)),
        "system": fake.write(tmp_path / "system" / "tiny"),
    }
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "env"))
    return places


def test_search_order(fake: FakeDataset, everywhere: dict[str, Path]) -> None:
    source = fake.source
    location = locate(source, everywhere["data_dir"])
    assert location is not None and location.origin == "data_dir"
    for origin in (ENV_VAR, "cache", "system"):
        location = locate(source)
        assert location is not None
        assert (location.origin, location.directory) == (origin, everywhere[origin])
        # Take one file away: that directory no longer counts, the next one is used.
        (everywhere[origin] / "t10k-labels-idx1-ubyte.gz").unlink()
    assert locate(source) is None


def test_search_dirs_lists_the_order(
    tmp_path: Path, fake: FakeDataset, monkeypatch: pytest.MonkeyPatch, cache_root: Path
) -> None:
    assert search_dirs(fake.source) == [
        (cache_root / "tiny", "cache"),
        (tmp_path / "system" / "tiny", "system"),
    ]
    monkeypatch.setenv(ENV_VAR, "~/datasets")
    assert search_dirs(fake.source)[0] == (Path("~/datasets/tiny").expanduser(), ENV_VAR)


def test_explicit_dir_must_hold_the_files(
    tmp_path: Path, fake: FakeDataset, everywhere: dict[str, Path]
) -> None:
    explicit = everywhere["data_dir"]
    (explicit / "train-labels-idx1-ubyte.gz").unlink()
    (explicit / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DatasetNotFoundError) as excinfo:
        locate(fake.source, explicit)
    assert str(excinfo.value) == (
        f"{explicit}: tiny files missing: train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz "
        f"(download them with 'glassnet datasets fetch tiny --data-dir {explicit}')"
    )
    with pytest.raises(DatasetNotFoundError, match="missing"):
        load(fake.source, explicit)  # not silently taken from the cache instead
    with pytest.raises(DatasetNotFoundError, match="no such directory"):
        load(fake.source, tmp_path / "typo")


def test_uncompressed_and_mixed_copies_are_found(tmp_path: Path, fake: FakeDataset) -> None:
    directory = fake.write(tmp_path / "raw", compressed=False)
    location = locate(fake.source, directory)
    assert location is not None
    assert [path.name for path in location.paths] == [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ]
    (directory / "t10k-labels-idx1-ubyte.gz").write_bytes(fake.gz["t10k-labels-idx1-ubyte.gz"])
    location = locate(fake.source, directory)
    assert location is not None
    assert location.paths[3].name == "t10k-labels-idx1-ubyte.gz"  # .gz preferred
    assert load(fake.source, directory).test_labels.shape == (4,)


def test_not_found_message_names_files_and_ways(cache_root: Path) -> None:
    message = not_found_message("mnist")
    assert "\n" not in message
    for needed in [
        *(file.name for file in get_source("mnist").files),
        "--data-dir",
        "$GLASSNET_DATA_DIR/mnist",
        str(cache_root / "mnist"),
        "glassnet datasets fetch mnist",
    ]:
        assert needed in message
    with pytest.raises(DatasetNotFoundError) as excinfo:
        load("mnist", download=False)
    assert str(excinfo.value) == message
    fashion = not_found_message("fashion-mnist")
    assert "/usr/share/datasets/fashion-mnist" in fashion
    assert "apt install dataset-fashion-mnist" in fashion


def test_real_cache_is_not_used(tmp_path: Path, cache_root: Path) -> None:
    assert cache_dir("mnist") == cache_root / "mnist"
    assert tmp_path in cache_dir("mnist").parents


def test_verify_without_files_does_not_download(fake: FakeDataset, server: LocalServer) -> None:
    source = fake.with_mirrors(server.mirror("good", fake.gz)).source
    with pytest.raises(DatasetNotFoundError, match="tiny not found"):
        verify(source)
    assert server.hits == []


def test_tests_cannot_reach_the_network(fake: FakeDataset) -> None:
    source = fake.with_mirrors("http://192.0.2.1/").source  # TEST-NET-1: never routed
    with pytest.raises(DownloadError, match="cannot connect"):
        fetch(source, progressbar=False, timeout=5)
