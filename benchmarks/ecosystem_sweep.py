"""What running a sweep's trials on Dask costs, against the same trials one after another.

    python benchmarks/ecosystem_sweep.py --data-dir ../shared/datasets/mnist [--trials 8]

The trials are those of one spec (one epoch of the fast preset on 5,000 MNIST images, a learning
rate drawn for each: about half a second each). Measured, with interleaved repetitions:

- the trials one after another in this process, with :func:`glassnet.sweep.run_trial` (what a trial
  does on a worker, without Dask), after one trial to warm up;
- ``run_sweep`` of the same trials on a running cluster of one worker (``--scheduler``), warmed up
  the same way: one at a time, with everything Dask and the sweep add (connecting, sending each
  trial and its files back, recording it, results.csv, the plot); and on two workers.

The direct figure, (one worker's time − the serial time) / trials, carries the noise of the trials'
own times. So the cost is also taken from each sweep alone: its wall time minus the trials' own
times as their workers measured them, for sweeps of 2 and of ``--trials`` trials; the slope of that
gap is the cost per trial, its intercept the cost per sweep. A fresh local cluster costs, besides,
its start and stop and each new worker's first-trial warm-up (importing glassnet, loading the
compiled engine from its disk cache). Prints the Markdown table of docs/ecosystem.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from distributed import LocalCluster

from glassnet.sweep import make_trials, read_spec, run_sweep, run_trial

SPEC = """\
[sweep]
samples = {trials}
[settings]
preset = "fast"
epochs = 1
train_limit = 5000
validation_split = 0.1
[ranges]
learning_rate = {{ log_uniform = [0.01, 0.3] }}
"""


def serial(spec_path: Path, data_dir: str) -> float:
    trials = make_trials(read_spec(spec_path), data_dir)
    started = time.perf_counter()
    for trial in trials:
        assert run_trial(trial).status == "done"
    return time.perf_counter() - started


def sweep(spec_path: Path, data_dir: str, folder: Path, **where: object) -> tuple[float, float]:
    """``run_sweep`` of the spec into a new folder: its wall time, and its trials' own times."""
    out = folder / f"sweep-{time.monotonic_ns()}"
    started = time.perf_counter()
    result = run_sweep(read_spec(spec_path), out, data_dir=data_dir, **where)  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    assert all(row["status"] == "done" for row in result.rows)
    shutil.rmtree(out)
    return seconds, sum(row["seconds"] for row in result.rows)


def cluster(workers: int) -> LocalCluster:
    return LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=":0")


def measure(n: int, data_dir: str, folder: Path) -> dict[str, list[float]]:
    """Every figure, three times, interleaved."""
    spec, two, one = folder / "spec.toml", folder / "two.toml", folder / "one.toml"
    for path, count in ((spec, n), (two, 2), (one, 1)):
        path.write_text(SPEC.format(trials=count))
    times: dict[str, list[float]] = {k: [] for k in ("serial", "dask1", "dask2", "gap_n", "gap_2")}
    times["cold"] = [sweep(one, data_dir, folder, workers=1)[0] - serial(one, data_dir)]
    with cluster(1) as c1, cluster(2) as c2:
        for c in (c1, c2):  # each worker's first trial warms it up
            for _ in range(len(c.workers)):
                sweep(one, data_dir, folder, scheduler=c.scheduler_address)
        for _ in range(3):
            times["serial"].append(serial(spec, data_dir))
            wall, own = sweep(spec, data_dir, folder, scheduler=c1.scheduler_address)
            times["dask1"].append(wall)
            times["gap_n"].append(wall - own)
            wall, own = sweep(two, data_dir, folder, scheduler=c1.scheduler_address)
            times["gap_2"].append(wall - own)
            times["dask2"].append(sweep(spec, data_dir, folder, scheduler=c2.scheduler_address)[0])
            print({k: [round(t, 2) for t in v] for k, v in times.items()}, flush=True)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True, help="folder holding the MNIST files")
    parser.add_argument("--trials", type=int, default=8)
    args = parser.parse_args()
    n = args.trials
    folder = Path(tempfile.mkdtemp(prefix="glassnet-sweep-bench-"))
    print(f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
    times = measure(n, args.data_dir, folder)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    m = {k: statistics.median(v) for k, v in times.items()}
    per_trial = (m["gap_n"] - m["gap_2"]) / (n - 2)
    print("| | wall time (median of 3) | per trial |\n|---|---|---|")
    for label, key in (
        (f"{n} trials one after another, no Dask", "serial"),
        (f"`run_sweep` of the {n}, a running cluster of 1 worker", "dask1"),
        (f"`run_sweep` of the {n}, a running cluster of 2 workers", "dask2"),
    ):
        print(f"| {label} | {m[key]:.2f} s | {m[key] / n:.3f} s |")
    direct = (m["dask1"] - m["serial"]) / n
    print(
        f"| Dask's cost per trial, direct: (1 worker − serial) / {n} | | {direct * 1000:.0f} ms |"
    )
    print(f"| Dask's cost per trial, from the sweeps' own gaps | | {per_trial * 1000:.0f} ms |")
    print(f"| the cost per sweep (connect, folder, plot), from the gaps | "
          f"{m['gap_2'] - 2 * per_trial:.2f} s | |")  # fmt: skip
    print(f"| a fresh local cluster: start, stop, a new worker's warm-up | {m['cold']:.2f} s | |")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
