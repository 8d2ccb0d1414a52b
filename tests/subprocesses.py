"""Helpers for tests that run glassnet in a child process.

Imported by test_atomic.py, test_modelfile.py, test_cli_train.py, test_web.py and
test_browser.py. :func:`reaped` makes sure a child never outlives its test; :func:`start_server`
runs ``glassnet serve`` and waits for the address it prints.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import AnyStr

import pytest


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
