"""glassnet's speed, memory and time to accuracy, side by side with a plain NumPy reference,
PyTorch on the CPU and scikit-learn, in one run so that the ratios hold on a noisy machine.

    python benchmarks/run.py [--quick] [--out benchmarks/results/latest.json] [--data-dir DIR]
                             [--markdown BENCHMARKS.md]

Every timed figure is the median of several repetitions after a warm-up; within a repetition the
contenders run one after another (interleaved), so a burst of load from another process slows all of
them rather than one. See benchmarks/README.md for what each figure means and how it is counted.

The parts: harness.py (settings, timing, interleaving, the machine), contenders.py (glassnet, the
reference, PyTorch, scikit-learn), the suites_*.py modules (what is measured), report.py and
report_sections.py (the targets, the Markdown report, the JSON).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness import HERE, SETTINGS, find_data_dir, load_average, load_mnist, machine_info
from report import benchmarks_md, machine_markdown, report_markdown, targets, write_json
from suites_accuracy import bench_time_to_accuracy
from suites_compile import bench_compile
from suites_inference import bench_inference
from suites_matmul import bench_matmul
from suites_memory import MEMORY_CHILD, bench_memory, memory_child
from suites_training import bench_post, bench_wide, sanity_check

from glassnet.engine import available_engines

SECTIONS = ["post", "wide", "inference", "memory", "tta", "compile"]


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one repetition of shortened runs: a smoke test, not a measurement",
    )
    parser.add_argument(
        "--out",
        default=str(HERE / "results" / "latest.json"),
        help="where to write the JSON results (default: %(default)s)",
    )
    parser.add_argument(
        "--data-dir",
        help="the folder with MNIST's IDX files (default: "
        "$GLASSNET_DATA_DIR/mnist, else <repo>/../shared/datasets/mnist)",
    )
    parser.add_argument("--markdown", help="also write the report as Markdown to this file")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    return parser.parse_args(argv)


def start(
    argv: Sequence[str], mode: str, data_dir: Path, load_start: list[float]
) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """The results' first keys, MNIST, and the standardizer fitted on its training images."""
    from glassnet.datasets.preprocess import Standardizer

    data, loaded_with = load_mnist(data_dir)
    std = Standardizer.fit(data["train_images"])
    results: dict[str, Any] = {
        "mode": mode,
        "settings": SETTINGS[mode],
        "machine": machine_info(),
        "data": {"dir": str(data_dir), "loaded_with": loaded_with},
        "command": "python benchmarks/run.py " + " ".join(argv),
    }
    results["machine"]["load_average_start"] = load_start
    return results, data, std


def run_sections(
    results: dict[str, Any],
    sections: set[str],
    data: dict[str, Any],
    std: Any,
    data_dir: Path,
    started: float,
) -> None:
    """Measure the chosen sections into ``results``, each under its name, reporting progress."""
    cfg = results["settings"]

    def step(name: str, fn: Callable[[], Any]) -> None:
        t0 = time.perf_counter()
        print(f"[{time.perf_counter() - started:6.1f} s] {name} ...", file=sys.stderr, flush=True)
        results[name] = fn()
        print(
            f"           {name} took {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True
        )

    step("sanity", lambda: sanity_check(data, std))
    if "post" in sections:
        step("post", lambda: bench_post(data, std, cfg))
    if "wide" in sections:
        step("matmul", lambda: bench_matmul(cfg))
        step("wide", lambda: bench_wide(data, std, cfg))
    if "inference" in sections:
        step("inference", lambda: bench_inference(data, std, cfg))
    if "memory" in sections:
        step("memory", lambda: bench_memory(data_dir, cfg["memory_runs"]))
    if "tta" in sections:
        step("time_to_accuracy", lambda: bench_time_to_accuracy(data, std, cfg))
    if "compile" in sections and "numba" in available_engines():
        step("compile", bench_compile)


def finish(results: dict[str, Any], started: float) -> str:
    """The run's totals and targets into ``results``; returns the report's Markdown tables."""
    results["total_seconds"] = time.perf_counter() - started
    results["load_average_start"] = results["machine"]["load_average_start"]
    results["load_average_end"] = load_average()
    results["targets"] = targets(results)
    table = report_markdown(results)
    results["table_markdown"] = table
    return table


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if len(argv) == 2 and argv[0] == MEMORY_CHILD:
        memory_child(argv[1])
        return 0
    args = parse_args(argv)
    mode = "quick" if args.quick else "full"
    started = time.perf_counter()
    load_start = load_average()
    data_dir = find_data_dir(args.data_dir)
    results, data, std = start(argv, mode, data_dir, load_start)
    run_sections(results, set(args.only or SECTIONS), data, std, data_dir, started)
    table = finish(results, started)

    out = Path(args.out)
    write_json(results, out)
    print(table)
    print("\n" + machine_markdown(results))
    print(f"\nwrote {out}", file=sys.stderr)
    if args.markdown:
        Path(args.markdown).write_text(benchmarks_md(results, table))
        print(f"wrote {args.markdown}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
