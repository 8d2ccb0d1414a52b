"""What a study with pruning buys: TPE with ASHA pruning against random search, the same trials.

    python benchmarks/sweep_search.py --data-dir ../shared/datasets/mnist [--trials 24] [--seeds 3]

One search space (learning rate log-uniform, hidden width, dropout, optimizer; 8 epochs of the fast
preset on 10,000 MNIST images, a tenth of them held out for validation), searched ``--seeds``
times by each of:

- random search: Optuna's random sampler, ``--trials`` trials, each run to its last epoch;
- TPE with ASHA: Optuna's TPE sampler, the same number of trials, each reporting its validation
  accuracy after every epoch and stopped when ASHA says so.

For each search: the best validation accuracy of a trial run whole (the figure a sweep ranks by),
the epochs all its trials ran, and its wall time; then the medians over the seeds. The seeds are
the samplers' (each trial's training seed is the preset's). Both searches run on one local Dask
cluster of ``--workers`` workers, started once. Prints the Markdown table of docs/ecosystem.md.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from distributed import LocalCluster

from glassnet.sweep import read_spec, run_sweep

SPEC = """\
[sweep]
search = "{search}"
trials = {trials}
pruner = "{pruner}"
seed = {seed}

[settings]
preset = "fast"
epochs = 8
train_limit = 10000
validation_split = 0.1

[ranges]
learning_rate = {{ log_uniform = [0.0003, 1.0] }}
hidden = {{ choice = [[32], [64], [128], [256]] }}
dropout = {{ uniform = [0.0, 0.5] }}
optimizer = {{ choice = ["sgd", "momentum", "adam"] }}
"""
SEARCHES = {"random": ("random", "none"), "TPE + ASHA": ("tpe", "asha")}


def search(
    name: str, seed: int, trials: int, data_dir: str, scheduler: str, folder: Path
) -> dict[str, float]:
    """One study: its best validation accuracy, epochs run, trials pruned and wall time."""
    sampler, pruner = SEARCHES[name]
    spec_path = folder / f"{sampler}-{seed}.toml"
    spec_path.write_text(SPEC.format(search=sampler, pruner=pruner, seed=seed, trials=trials))
    started = time.perf_counter()
    result = run_sweep(
        read_spec(spec_path), folder / spec_path.stem, scheduler=scheduler, data_dir=data_dir
    )
    seconds = time.perf_counter() - started
    if result.best is None or result.failed:
        raise SystemExit(f"{name}, seed {seed}: trials failed: {result.failed[:1]}")
    return {
        "best": float(result.best["final_val_accuracy"]),
        "epochs": float(sum(int(r["epochs"] or 0) for r in result.rows)),
        "pruned": float(sum(1 for r in result.rows if r["status"] == "pruned")),
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    found: dict[str, list[dict[str, float]]] = {name: [] for name in SEARCHES}
    with (
        tempfile.TemporaryDirectory() as temp,
        LocalCluster(
            n_workers=args.workers, threads_per_worker=1, dashboard_address=":0"
        ) as cluster,
    ):
        for seed in range(args.seeds):
            for name in SEARCHES:  # interleaved, so that the machine's load falls on both alike
                figures = search(
                    name, seed, args.trials, args.data_dir, cluster.scheduler_address, Path(temp)
                )
                found[name].append(figures)
                print(
                    f"seed {seed}, {name}: best val {figures['best']:.2%}, "
                    f"{figures['epochs']:.0f} epochs, {figures['pruned']:.0f} pruned, "
                    f"{figures['seconds']:.1f} s",
                    flush=True,
                )
    full = args.trials * 8
    print()
    print("| search | seed | best val accuracy | epochs run | trials pruned | wall time |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, runs in found.items():
        for seed, figures in enumerate(runs):
            print(
                f"| {name} | {seed} | {figures['best']:.2%} | {figures['epochs']:.0f} of {full} "
                f"| {figures['pruned']:.0f} | {figures['seconds']:.0f} s |"
            )
    print()
    print("| search | median best val accuracy | median epochs run | median wall time |")
    print("| --- | --- | --- | --- |")
    for name, runs in found.items():
        best = statistics.median(r["best"] for r in runs)
        epochs = statistics.median(r["epochs"] for r in runs)
        seconds = statistics.median(r["seconds"] for r in runs)
        print(
            f"| {name} | {best:.2%} | {epochs:.0f} of {full} ({epochs / full:.0%}) | {seconds:.0f} s |"
        )


if __name__ == "__main__":
    main()
