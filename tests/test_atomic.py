"""Atomic writes: the target holds the old bytes or the new ones, never anything in between."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers import reaped

from glassnet.atomic import (
    atomic_write,
    atomic_write_bytes,
    atomic_write_text,
    default_file_mode,
    remove_stale_temp_files,
)

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX signals and permissions")


def temp_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_writes_new_file(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    atomic_write_bytes(target, b"\x00\x01\x02")
    assert target.read_bytes() == b"\x00\x01\x02"
    assert temp_files(tmp_path) == []


def test_replaces_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    atomic_write_text(target, "new ✓")
    assert target.read_text(encoding="utf-8") == "new ✓"
    assert temp_files(tmp_path) == []


def test_temp_file_is_hidden_sibling_named_after_target(tmp_path: Path) -> None:
    target = tmp_path / "model.safetensors"
    with atomic_write(target) as file:
        name = Path(file.name).name
        assert Path(file.name).parent == tmp_path
        assert name.startswith(".model.safetensors.")
        assert name.endswith(".tmp")
        assert not target.exists()  # nothing visible until the block succeeds
        file.write(b"x")
    assert target.read_bytes() == b"x"


@pytest.mark.parametrize("error", [RuntimeError("disk on fire"), KeyboardInterrupt()])
def test_exception_mid_write_leaves_old_file_and_no_temp(
    tmp_path: Path, error: BaseException
) -> None:
    target = tmp_path / "model.safetensors"
    target.write_bytes(b"old contents")
    with pytest.raises(type(error)), atomic_write(target) as file:
        file.write(b"half of the new")
        file.flush()
        raise error
    assert target.read_bytes() == b"old contents"
    assert temp_files(tmp_path) == []


def test_exception_on_new_file_creates_nothing(tmp_path: Path) -> None:
    target = tmp_path / "new.bin"
    with pytest.raises(ValueError), atomic_write(target) as file:
        file.write(b"abc")
        raise ValueError("stop")
    assert list(tmp_path.iterdir()) == []


def test_failed_replace_removes_temp(tmp_path: Path) -> None:
    target = tmp_path / "occupied"
    target.mkdir()
    (target / "keep").write_text("x")
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"data")
    assert (target / "keep").read_text() == "x"
    assert temp_files(tmp_path) == []


def test_missing_directory_raises_and_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        atomic_write_bytes(tmp_path / "absent" / "f.bin", b"x")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("mode", ["a", "r", "r+b", "x", "ab"])
def test_rejects_non_write_modes(tmp_path: Path, mode: str) -> None:
    with pytest.raises(ValueError, match="mode"), atomic_write(tmp_path / "f", mode):
        pass
    assert list(tmp_path.iterdir()) == []


def test_text_mode_newline_and_encoding(tmp_path: Path) -> None:
    target = tmp_path / "t.csv"
    atomic_write_text(target, "a\nb\n", encoding="latin-1", newline="\r\n")
    assert target.read_bytes() == b"a\r\nb\r\n"
    with pytest.raises(ValueError, match="text modes"), atomic_write(target, "wb", encoding="x"):
        pass


@posix_only
def test_new_file_gets_umask_mode(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        assert default_file_mode() == 0o640
        atomic_write_bytes(tmp_path / "f", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f").stat().st_mode) == 0o640


@posix_only
def test_replacement_keeps_existing_mode(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_bytes(b"old")
    target.chmod(0o600)
    atomic_write_bytes(target, b"new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


@posix_only
def test_symlink_is_replaced_not_followed(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.write_bytes(b"real")
    link = tmp_path / "link"
    link.symlink_to(real)
    atomic_write_bytes(link, b"new")
    assert not link.is_symlink()
    assert link.read_bytes() == b"new"
    assert real.read_bytes() == b"real"


# A child process that starts an atomic write, tells the parent (through its stdout pipe)
# once the temporary file holds part of the new contents, then sleeps until it is killed.
CHILD = textwrap.dedent(
    """
    import os, sys, time
    from glassnet.atomic import atomic_write

    target = sys.argv[1]
    chunk = b"N" * (1 << 20)
    with atomic_write(target) as f:
        for _ in range(8):
            f.write(chunk)
        f.flush()
        print(f.name, flush=True)
        time.sleep(120)
        for _ in range(8):
            f.write(chunk)
    """
)


@posix_only
def test_sigkill_mid_write_leaves_target_byte_identical(tmp_path: Path) -> None:
    target = tmp_path / "model.safetensors"
    old = os.urandom(3 << 20)
    target.write_bytes(old)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(target)], stdout=subprocess.PIPE, text=True
    )
    with reaped(child):
        assert child.stdout is not None
        temp_name = child.stdout.readline().strip()
        assert temp_name, "child exited before starting its write"
        temp = Path(temp_name)
        assert temp.exists() and temp.stat().st_size == 8 << 20  # really mid-write
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    assert target.read_bytes() == old
    # A killed process cannot remove its own temporary file; it stays, hidden, beside the target.
    assert temp_files(tmp_path) == [temp.name]


def test_remove_stale_temp_files_only_removes_old_matching_files(tmp_path: Path) -> None:
    target = tmp_path / "model.safetensors"
    target.write_bytes(b"model")
    stale = tmp_path / ".model.safetensors.abcd1234.tmp"
    fresh = tmp_path / ".model.safetensors.zzzz9999.tmp"
    other_target = tmp_path / ".other.safetensors.abcd1234.tmp"
    odd_name = tmp_path / ".model.safetensors.not-ours.tmp"
    for p in (stale, fresh, other_target, odd_name):
        p.write_bytes(b"partial")
    hour_ago = time.time() - 7200
    for p in (stale, other_target, odd_name):
        os.utime(p, (hour_ago, hour_ago))

    assert remove_stale_temp_files(target) == [stale]
    assert not stale.exists()
    assert fresh.exists() and other_target.exists() and odd_name.exists()
    assert target.read_bytes() == b"model"


@posix_only
def test_remove_stale_temp_files_skips_symlinks(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep")
    link = tmp_path / ".m.abcd1234.tmp"
    link.symlink_to(victim)
    hour_ago = time.time() - 7200
    os.utime(link, (hour_ago, hour_ago), follow_symlinks=False)
    assert remove_stale_temp_files(tmp_path / "m") == []
    assert link.is_symlink() and victim.read_bytes() == b"keep"
