"""The benchmark's harness: settings, repetitions, interleaving, wall and CPU time, the machine.

Every timed figure is the median of several repetitions after a warm-up; within a repetition the
contenders run one after another (:func:`interleaved`), so a burst of load from another process
slows all of them rather than one. Each contender is timed on the wall clock and on the process's
CPU clock over the same span (:class:`Clock`).
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

EPOCH = 60_000  # samples in an MNIST training epoch: per-epoch figures are extrapolated to this

# Repetitions and sizes: (full run, --quick).
SETTINGS: dict[str, dict[str, Any]] = {
    "full": {
        "reps": 7,
        "post_batches": 2000,
        "torch_post_batches": 500,
        "wide_batches": 40,
        "latency_calls": 1000,
        "throughput_reps": 7,
        "matmul_reps": 20,
        "tta_epochs": None,
        "tta_train_samples": None,
        "tta_budget_seconds": 150.0,
        "memory_runs": 3,
    },
    "quick": {
        "reps": 1,
        "post_batches": 200,
        "torch_post_batches": 50,
        "wide_batches": 4,
        "latency_calls": 200,
        "throughput_reps": 2,
        "matmul_reps": 3,
        "tta_epochs": 1,
        "tta_train_samples": 5000,
        "tta_budget_seconds": 10.0,
        "memory_runs": 1,
    },
}


# ---------------------------------------------------------------------------- statistics
def median(xs: Sequence[float]) -> float:
    return float(statistics.median(xs))


def summary(xs: Sequence[float]) -> dict[str, Any]:
    return {
        "median": median(xs),
        "min": float(min(xs)),
        "max": float(max(xs)),
        "runs": [float(x) for x in xs],
    }


# ---------------------------------------------------------------------------- timing
@dataclass
class Timed:
    """A contender. ``run`` returns ``(wall, cpu)`` seconds per epoch of 60,000 samples.

    ``cpu`` is the process's CPU time (all its threads) over the same span: unlike wall time it
    does not grow while other programs hold the cores, so for single-threaded contenders it is
    what the wall time would be on an idle machine.
    """

    run: Callable[[], tuple[float, float]]
    warmup: Callable[[], object]
    batches: int  # mini-batches in one timed run


def interleaved(contenders: dict[str, Timed], reps: int) -> dict[str, dict[str, list[float]]]:
    """Warm every contender up, then run ``reps`` rounds of one timed run each.

    Rounds interleave the contenders, so background load hits all of them alike.
    """
    for c in contenders.values():
        c.warmup()
    times: dict[str, dict[str, list[float]]] = {n: {"wall": [], "cpu": []} for n in contenders}
    for _ in range(reps):
        for name, c in contenders.items():
            # A pause first, so that threads the previous contender left spinning (OpenMP,
            # OpenBLAS) have gone to sleep and do not compete with this one.
            time.sleep(0.3)
            wall, cpu = c.run()
            times[name]["wall"].append(wall)
            times[name]["cpu"].append(cpu)
    return times


def timed_summary(t: dict[str, list[float]], batches: int) -> dict[str, Any]:
    return dict(summary(t["wall"]), cpu=summary(t["cpu"]), batches_timed=batches)


def summarize(contenders: dict[str, Timed], reps: int) -> dict[str, dict[str, Any]]:
    """:func:`interleaved`, then each contender's :func:`timed_summary`, in the contenders' order."""
    times = interleaved(contenders, reps)
    return {name: timed_summary(t, contenders[name].batches) for name, t in times.items()}


class Clock:
    """Wall and process CPU seconds since construction, scaled to an epoch."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def stop(self, scale: float = 1.0) -> tuple[float, float]:
        return ((time.perf_counter() - self.wall) * scale, (time.process_time() - self.cpu) * scale)


def rss_bytes(field: str = "VmRSS") -> int:
    """This process's resident set size (``VmRSS``), or its peak (``VmHWM``), from /proc."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages, rounded to two places."""
    return [round(x, 2) for x in os.getloadavg()]


def have(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


# ---------------------------------------------------------------------------- data
MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def find_data_dir(cli_dir: str | None) -> Path:
    """The directory holding MNIST's four IDX files.

    Order: ``--data-dir``; ``$GLASSNET_DATA_DIR/mnist`` (glassnet's convention: the variable names
    a root with one folder per dataset) or ``$GLASSNET_DATA_DIR`` itself; ``<repo>/../shared/
    datasets/mnist``.
    """

    def complete(d: Path) -> bool:
        return all((d / n).is_file() or (d / f"{n}.gz").is_file() for n in MNIST_FILES)

    candidates: list[Path] = []
    if cli_dir:
        candidates.append(Path(cli_dir).expanduser())
    elif os.environ.get("GLASSNET_DATA_DIR"):
        root = Path(os.environ["GLASSNET_DATA_DIR"]).expanduser()
        candidates += [root / "mnist", root]
    candidates.append(REPO.parent / "shared" / "datasets" / "mnist")
    for d in candidates:
        if complete(d):
            return d
    raise SystemExit(
        f"benchmarks: error: MNIST's four IDX files not found in any of "
        f"{', '.join(map(str, candidates))}; pass --data-dir DIR"
    )


def load_mnist(data_dir: Path) -> tuple[dict[str, NDArray[Any]], str]:
    """MNIST as uint8 rows ``(n, 784)`` and int64 labels, and how it was loaded.

    Through ``glassnet.datasets.load`` when the installed glassnet has it, else glassnet's IDX
    reader on the files directly.
    """
    try:
        from glassnet.datasets import load as load_dataset
    except ImportError:  # an older glassnet: read the files directly
        arrays, how = read_mnist_files(data_dir), "glassnet.datasets.idx.read_idx"
    else:
        data = load_dataset("mnist", data_dir=data_dir)
        arrays = {
            "train_images": data.train_images,
            "train_labels": data.train_labels,
            "test_images": data.test_images,
            "test_labels": data.test_labels,
        }
        how = "glassnet.datasets.load"
    for key in ("train_images", "test_images"):
        arrays[key] = np.asarray(arrays[key]).reshape(len(arrays[key]), -1)
    for key in ("train_labels", "test_labels"):
        arrays[key] = np.asarray(arrays[key]).astype(np.int64)
    return arrays, how


def read_mnist_files(data_dir: Path) -> dict[str, NDArray[Any]]:
    """MNIST's four IDX files (plain or gzipped) through glassnet's IDX reader."""
    from glassnet.datasets.idx import read_idx

    def read(name: str) -> NDArray[Any]:
        path = data_dir / f"{name}.gz"
        return read_idx(path if path.is_file() else data_dir / name)

    keys = ("train_images", "train_labels", "test_images", "test_labels")
    return {key: read(name) for key, name in zip(keys, MNIST_FILES, strict=True)}


# ---------------------------------------------------------------------------- machine
def machine_info() -> dict[str, Any]:
    """The machine, the libraries and their versions, and the git commit of the glassnet run."""
    import threadpoolctl

    import glassnet

    info: dict[str, Any] = {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_model": "unknown",
        "logical_cpus": os.cpu_count(),
        "cpus_available": len(os.sched_getaffinity(0)),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "(unset)"),
        "versions": {
            "glassnet": glassnet.__version__,
            "numpy": np.__version__,
            "threadpoolctl": threadpoolctl.__version__,
        },
    }
    add_cpu_and_memory(info)
    add_blas(info)
    for name in ("torch", "sklearn", "psutil"):
        try:
            module = __import__(name)
            info["versions"][name] = module.__version__
        except ImportError:
            info["versions"][name] = None
    source = Path(glassnet.__file__).resolve().parent
    info["glassnet_path"] = str(source)
    add_git(info, source)
    return info


def add_cpu_and_memory(info: dict[str, Any]) -> None:
    """The CPU's model and SIMD flags, and the memory in GiB, from /proc (when readable)."""
    try:
        with open("/proc/cpuinfo") as f:
            cpuinfo = f.read()
        for line in cpuinfo.splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
        flags = next(
            (ln.split(":", 1)[1].split() for ln in cpuinfo.splitlines() if ln.startswith("flags")),
            [],
        )
        info["simd_flags"] = [f for f in ("avx2", "fma", "avx512f", "avx512_bf16") if f in flags]
        with open("/proc/meminfo") as f:
            info["memory_gib"] = round(int(f.readline().split()[1]) / 1024**2, 1)
    except OSError:
        pass


def add_blas(info: dict[str, Any]) -> None:
    """The BLAS NumPy was built with, and the BLAS libraries loaded at run time."""
    import threadpoolctl

    try:
        config: Any = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        info["numpy_blas"] = f"{blas.get('name')} {blas.get('version')}"
        info["numpy_blas_config"] = blas.get("openblas configuration", "")
    except Exception:  # numpy's config layout differs between versions: report what there is
        info["numpy_blas"] = "unknown"
    info["blas_runtime"] = [
        {
            k: p.get(k)
            for k in ("internal_api", "version", "num_threads", "architecture", "threading_layer")
        }
        for p in threadpoolctl.threadpool_info()
    ]


def add_git(info: dict[str, Any], source: Path) -> None:
    """The commit of the glassnet that was imported, and whether its sources were edited."""
    try:
        info["git_commit"] = git(source, "rev-parse", "--short", "HEAD")
        info["git_src_dirty"] = bool(git(source, "status", "--porcelain", "--", "."))
    except (OSError, subprocess.CalledProcessError):
        info["git_commit"] = None


def git(where: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(where), *args], capture_output=True, text=True, check=True
    ).stdout.strip()
