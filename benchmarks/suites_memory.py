"""Memory: the peak resident set size of a fresh process that trains the ``default`` preset.

The benchmark starts ``run.py --memory-child DIR`` for each measurement; that process runs
:func:`memory_child` and prints its figures as one line of JSON.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from harness import HERE, load_mnist, rss_bytes

MEMORY_CHILD = "--memory-child"
ENTRY = HERE / "run.py"  # the script the child runs, with MEMORY_CHILD and the data directory


def memory_child(data_dir: str) -> None:
    """Run in a fresh process: load MNIST, train the default preset one epoch, print peak RSS."""
    rss_start = rss_bytes()
    import glassnet
    from glassnet.presets import get_preset

    rss_imported = rss_bytes()
    data, how = load_mnist(Path(data_dir))
    rss_loaded = rss_bytes()
    preset = get_preset("default")
    net = glassnet.Network(
        [784, *preset["hidden"], 10],
        preset["activation"],
        initializer=preset.get("initializer"),
        seed=0,
    )
    t0 = time.perf_counter()
    net.fit(
        data["train_images"],
        data["train_labels"],
        epochs=1,
        batch_size=preset["batch_size"],
        learning_rate=preset["learning_rate"],
        optimizer=preset["optimizer"],
        progress=False,
    )
    seconds = time.perf_counter() - t0
    # The peak of this process's own address space. Not ru_maxrss: Linux carries into it the
    # resident size of the forked copy of the parent before exec, here the whole benchmark.
    peak = rss_bytes("VmHWM")
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    figures = {
        "peak_rss_bytes": peak,
        "ru_maxrss_bytes": maxrss,
        "rss_at_start_bytes": rss_start,
        "rss_after_imports_bytes": rss_imported,
        "rss_after_loading_mnist_bytes": rss_loaded,
        "loaded_with": how,
        "fit_seconds": seconds,
        "network": repr(net),
        "settings": {k: preset[k] for k in ("batch_size", "learning_rate", "optimizer")},
    }
    print(json.dumps(figures))


def bench_memory(data_dir: Path, runs: int) -> dict[str, Any]:
    """The memory child, ``runs`` times: the peak is the median, with every run's peak kept."""
    results = []
    for _ in range(runs):
        proc = subprocess.run(
            [sys.executable, str(ENTRY), MEMORY_CHILD, str(data_dir)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            return {
                "error": proc.stderr.strip().splitlines()[-1]
                if proc.stderr.strip()
                else f"exit code {proc.returncode}"
            }
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    peaks = [r["peak_rss_bytes"] for r in results]
    out = dict(results[sorted(range(runs), key=lambda i: peaks[i])[runs // 2]])
    out["peak_rss_bytes_runs"] = peaks
    return out
