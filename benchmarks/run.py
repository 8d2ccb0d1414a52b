"""glassnet's speed, memory and time to accuracy, side by side with a plain NumPy reference,
PyTorch on the CPU and scikit-learn, in one run so that the ratios hold on a noisy machine.

    python benchmarks/run.py [--quick] [--out benchmarks/results/latest.json] [--data-dir DIR]
                             [--markdown BENCHMARKS.md]

Every timed figure is the median of several repetitions after a warm-up; within a repetition the
contenders run one after another (interleaved), so a burst of load from another process slows all of
them rather than one. See benchmarks/README.md for what each figure means and how it is counted.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))  # for reference.py, whatever the working directory

EPOCH = 60_000  # samples in an MNIST training epoch: per-epoch figures are extrapolated to this
POST_SIZES = [784, 50, 50, 50, 50, 50, 50, 10]
WIDE_SIZES = [784, 512, 512, 10]
GiB = 1024**3

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


# ---------------------------------------------------------------------------- small helpers
def median(xs: Sequence[float]) -> float:
    return float(statistics.median(xs))


def summary(xs: Sequence[float]) -> dict[str, Any]:
    return {
        "median": median(xs),
        "min": float(min(xs)),
        "max": float(max(xs)),
        "runs": [float(x) for x in xs],
    }


def fmt_time(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "n/a"
    if seconds >= 100:
        return f"{seconds:.0f} s"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def fmt_ratio(r: float | None) -> str:
    return "n/a" if r is None or not math.isfinite(r) else f"{r:.2f}x"


def ratio(other: float | None, ours: float | None) -> float | None:
    """How many times faster glassnet is: the other's time over glassnet's."""
    if other is None or ours is None or ours <= 0:
        return None
    return other / ours


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


# ---------------------------------------------------------------------------- data
def find_data_dir(cli_dir: str | None) -> Path:
    """The directory holding MNIST's four IDX files.

    Order: ``--data-dir``; ``$GLASSNET_DATA_DIR/mnist`` (glassnet's convention: the variable names
    a root with one folder per dataset) or ``$GLASSNET_DATA_DIR`` itself; ``<repo>/../shared/
    datasets/mnist``.
    """
    names = (
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    )

    def complete(d: Path) -> bool:
        return all((d / n).is_file() or (d / f"{n}.gz").is_file() for n in names)

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
    load_dataset: Callable[..., Any] | None
    try:
        from glassnet.datasets import load as load_dataset
    except ImportError:  # an older glassnet: read the files directly
        load_dataset = None
    if load_dataset is not None:
        data = load_dataset("mnist", data_dir=data_dir)
        arrays = {
            "train_images": data.train_images,
            "train_labels": data.train_labels,
            "test_images": data.test_images,
            "test_labels": data.test_labels,
        }
        how = "glassnet.datasets.load"
    else:
        from glassnet.datasets.idx import read_idx

        def read(name: str) -> NDArray[Any]:
            path = data_dir / f"{name}.gz"
            return read_idx(path if path.is_file() else data_dir / name)

        arrays = {
            "train_images": read("train-images-idx3-ubyte"),
            "train_labels": read("train-labels-idx1-ubyte"),
            "test_images": read("t10k-images-idx3-ubyte"),
            "test_labels": read("t10k-labels-idx1-ubyte"),
        }
        how = "glassnet.datasets.idx.read_idx"
    for key in ("train_images", "test_images"):
        arrays[key] = np.asarray(arrays[key]).reshape(len(arrays[key]), -1)
    for key in ("train_labels", "test_labels"):
        arrays[key] = np.asarray(arrays[key]).astype(np.int64)
    return arrays, how


# ---------------------------------------------------------------------------- machine
def machine_info() -> dict[str, Any]:
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
    for name in ("torch", "sklearn", "psutil"):
        try:
            module = __import__(name)
            info["versions"][name] = module.__version__
        except ImportError:
            info["versions"][name] = None
    source = Path(glassnet.__file__).resolve().parent
    info["glassnet_path"] = str(source)
    try:  # the commit of the glassnet that was imported, and whether its sources were edited
        info["git_commit"] = subprocess.run(
            ["git", "-C", str(source), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(source), "status", "--porcelain", "--", "."],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        info["git_src_dirty"] = bool(dirty)
    except (OSError, subprocess.CalledProcessError):
        info["git_commit"] = None
    return info


# ---------------------------------------------------------------------------- contenders
def glassnet_network(
    sizes: Sequence[int], activation: str, dtype: str, initializer: str | None = None, seed: int = 0
) -> Any:
    import glassnet

    return glassnet.Network(
        list(sizes), activation, initializer=initializer, seed=seed, dtype=dtype
    )


def glassnet_contender(
    net: Any,
    rows: NDArray[Any],
    labels: NDArray[Any],
    batch_size: int,
    threads: int | None = None,
    **settings: Any,
) -> Timed:
    """``Network.fit(epochs=2)`` on the slice; the second epoch, per 60,000 samples.

    A callback marks the end of each epoch. The second epoch spans from the first mark to the
    second: History's ``seconds`` for it (shuffle and steps, which scale with the samples) plus
    the rest of that span (the end-of-epoch layer statistics and snapshot, paid once per epoch
    whatever its size). The second epoch is taken because it is what epochs 2..N of a long run
    cost; data preparation, done once per ``fit`` call, is not counted. With ``threads``, the
    call runs inside ``threadpool_limits(threads)``, which caps the BLAS threads glassnet picks.
    """
    from threadpoolctl import threadpool_limits

    scale = EPOCH / len(rows)

    def run() -> tuple[float, float]:
        marks: list[tuple[float, float]] = []

        def mark(row: dict[str, Any], state: Any) -> None:
            marks.append((time.perf_counter(), time.process_time()))

        with threadpool_limits(limits=threads):
            history = net.fit(
                rows,
                labels,
                epochs=2,
                progress=False,
                batch_size=batch_size,
                callbacks=[mark],
                **settings,
            )
        span_wall = marks[1][0] - marks[0][0]
        span_cpu = marks[1][1] - marks[0][1]
        steps = history.rows[-1]["seconds"]
        wall = steps * scale + (span_wall - steps)
        return wall, span_cpu * wall / span_wall

    def warmup() -> None:
        net.fit(
            rows[: 20 * batch_size],
            labels[: 20 * batch_size],
            epochs=1,
            progress=False,
            batch_size=batch_size,
            **settings,
        )

    return Timed(run, warmup, -(-len(rows) // batch_size))


def reference_contender(
    ref: Any,
    Xc: NDArray[Any],
    Yc: NDArray[Any],
    batch_size: int,
    lr: float,
    threads: int | None = None,
) -> Timed:
    """One shuffled pass of the reference over the slice's columns, per 60,000 samples."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    scale = EPOCH / Xc.shape[1]

    def run() -> tuple[float, float]:
        with threadpool_limits(limits=threads):
            clock = Clock()
            ref.sgd_epoch(Xc, Yc, batch_size, lr, rng)
            return clock.stop(scale)

    def warmup() -> None:
        with threadpool_limits(limits=threads):
            ref.sgd_epoch(Xc, Yc, batch_size, lr, rng, max_batches=20)

    return Timed(run, warmup, -(-Xc.shape[1] // batch_size))


def torch_model(
    sizes: Sequence[int], activation: str, dtype: str, init_from: Any | None = None
) -> Any:
    import torch
    from torch import nn

    layers: list[Any] = []
    for i, (a, b) in enumerate(pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.Sigmoid() if activation == "sigmoid" else nn.ReLU())
    model = nn.Sequential(*layers).to(getattr(torch, dtype))
    if init_from is not None:  # start from glassnet's weights: W (fan_in, fan_out) is Linear's W.T
        linears = [m for m in model if isinstance(m, nn.Linear)]
        with torch.no_grad():
            for lin, W, b in zip(linears, init_from.weights, init_from.biases, strict=True):
                lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T)))
                lin.bias.copy_(torch.from_numpy(np.array(b)))
    return model


def torch_optimizer(model: Any, name: str, lr: float, settings: dict[str, Any]) -> Any:
    import torch

    wd = float(settings.get("weight_decay", 0.0))
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, weight_decay=wd)
    if name in ("momentum", "nesterov"):
        return torch.optim.SGD(
            model.parameters(),
            lr=lr,
            momentum=settings.get("momentum", 0.9),
            nesterov=name == "nesterov",
            weight_decay=wd,
        )
    if name in ("adam", "adamw"):
        cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW
        return cls(
            model.parameters(),
            lr=lr,
            weight_decay=wd,
            betas=(settings.get("beta1", 0.9), settings.get("beta2", 0.999)),
        )
    raise ValueError(f"optimizer {name!r} has no PyTorch counterpart here")


class TorchTrainer:
    """A plain PyTorch loop: nn.Sequential, cross-entropy, an optimizer, shuffled mini-batches."""

    def __init__(
        self,
        model: Any,
        optimizer: Any,
        X: NDArray[Any],
        y: NDArray[Any],
        batch_size: int,
        schedule: Callable[[float], float] | None = None,
    ) -> None:
        import torch

        self.torch = torch
        self.model, self.optimizer, self.batch_size = model, optimizer, batch_size
        # schedule(t) is the learning-rate factor at progress t in epochs, set before every step
        # as glassnet's training loop does.
        self.schedule = schedule
        self.base_lr = [group["lr"] for group in optimizer.param_groups]
        self.epochs_done = 0
        dtype = next(model.parameters()).dtype
        self.X = torch.from_numpy(np.ascontiguousarray(X)).to(dtype)
        self.y = torch.from_numpy(np.asarray(y, dtype=np.int64))
        self.loss = torch.nn.CrossEntropyLoss()
        self.generator = torch.Generator().manual_seed(0)

    def epoch(self, max_batches: int | None = None) -> float:
        """One shuffled pass (or its first ``max_batches`` steps); returns its seconds."""
        torch = self.torch
        t0 = time.perf_counter()
        perm = torch.randperm(len(self.X), generator=self.generator)
        X, y = self.X[perm], self.y[perm]
        bs = self.batch_size
        n = len(X) if max_batches is None else min(len(X), max_batches * bs)
        self.model.train()
        steps = -(-len(X) // bs)
        for lo in range(0, n, bs):
            if self.schedule is not None:
                factor = self.schedule(self.epochs_done + lo // bs / steps)
                for group, base in zip(self.optimizer.param_groups, self.base_lr, strict=True):
                    group["lr"] = base * factor
            self.optimizer.zero_grad(set_to_none=True)
            loss = self.loss(self.model(X[lo : lo + bs]), y[lo : lo + bs])
            loss.backward()
            self.optimizer.step()
        self.epochs_done += 1
        return time.perf_counter() - t0

    def accuracy(self, X: NDArray[Any], y: NDArray[Any]) -> float:
        torch = self.torch
        self.model.eval()
        dtype = next(self.model.parameters()).dtype
        with torch.inference_mode():
            out = self.model(torch.from_numpy(np.ascontiguousarray(X)).to(dtype))
        return float((out.argmax(1).numpy() == y).mean())


def torch_contender(trainer: TorchTrainer, threads: int, seconds_per_run: float = 4.0) -> Timed:
    """PyTorch steps on the trainer's data, per 60,000 samples.

    The warm-up also measures a step; when the whole slice would take more than
    ``seconds_per_run`` (as multithreaded PyTorch does at tiny batches on a busy machine), each
    run times fewer steps, at least 50, so one slow configuration cannot eat the whole run.
    """
    bs = trainer.batch_size
    full = -(-len(trainer.X) // bs)
    timed = Timed(lambda: (0.0, 0.0), lambda: None, full)

    def run() -> tuple[float, float]:
        trainer.torch.set_num_threads(threads)
        clock = Clock()
        trainer.epoch(max_batches=timed.batches)
        return clock.stop(EPOCH / min(len(trainer.X), timed.batches * bs))

    def warmup() -> None:
        trainer.torch.set_num_threads(threads)
        per_batch = trainer.epoch(max_batches=20) / 20
        timed.batches = max(50, min(full, int(seconds_per_run / per_batch)))

    timed.run, timed.warmup = run, warmup
    return timed


def sklearn_classifier(
    hidden: Sequence[int],
    activation: str,
    optimizer: str,
    lr: float,
    batch_size: int,
    settings: dict[str, Any],
) -> Any:
    from sklearn.neural_network import MLPClassifier

    solver = "adam" if optimizer == "adam" else "sgd"
    if optimizer not in ("sgd", "momentum", "nesterov", "adam"):
        raise ValueError(f"optimizer {optimizer!r} has no scikit-learn counterpart")
    return MLPClassifier(
        hidden_layer_sizes=tuple(hidden),
        activation=activation,
        solver=solver,
        learning_rate="constant",
        learning_rate_init=lr,
        batch_size=batch_size,
        momentum=settings.get("momentum", 0.9) if optimizer in ("momentum", "nesterov") else 0.0,
        nesterovs_momentum=optimizer == "nesterov",
        alpha=float(settings.get("weight_decay", 0.0)),
        beta_1=settings.get("beta1", 0.9),
        beta_2=settings.get("beta2", 0.999),
        shuffle=True,
        random_state=0,
        max_iter=1,
        tol=0.0,
        n_iter_no_change=10**9,
    )


def sklearn_contender(clf: Any, X: NDArray[Any], y: NDArray[Any]) -> Timed:
    """``partial_fit`` (one shuffled pass) on the slice, per 60,000 samples."""
    scale = EPOCH / len(X)
    classes = np.arange(10)

    def run() -> tuple[float, float]:
        clock = Clock()
        clf.partial_fit(X, y, classes=classes)
        return clock.stop(scale)

    def warmup() -> None:
        n = 20 * clf.batch_size
        clf.partial_fit(X[:n], y[:n], classes=classes)

    return Timed(run, warmup, -(-len(X) // clf.batch_size))


def have(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


# ---------------------------------------------------------------------------- sections
def sanity_check(data: dict[str, Any], std: Any) -> dict[str, Any]:
    """The contenders compute the same gradients from the same weights (float64, one batch)."""
    from reference import ReferenceNetwork, one_hot_columns

    from glassnet.datasets.preprocess import one_hot

    net = glassnet_network(POST_SIZES, "sigmoid", "float64", "normal")
    X = std.transform(data["train_images"][:10], np.float64)
    y = data["train_labels"][:10]
    gw, gb = net.backprop(X, one_hot(y, 10, np.float64))
    ref = ReferenceNetwork(POST_SIZES, "sigmoid", dtype="float64")
    ref.thetas = [np.ascontiguousarray(W.T) for W in net.weights]
    ref.biases = [b[:, None].copy() for b in net.biases]
    rw, rb = ref.backprop(np.ascontiguousarray(X.T), one_hot_columns(y, 10, "float64"))

    def rel(a: NDArray[Any], b: NDArray[Any]) -> float:
        return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), 1e-300))

    out: dict[str, Any] = {
        "reference_vs_glassnet": max(
            max(rel(g, r.T) for g, r in zip(gw, rw, strict=True)),
            max(rel(g, r[:, 0]) for g, r in zip(gb, rb, strict=True)),
        )
    }
    if have("torch"):
        import torch

        model = torch_model(POST_SIZES, "sigmoid", "float64", init_from=net)
        loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(X)), torch.from_numpy(y))
        loss.backward()
        linears = [m for m in model if isinstance(m, torch.nn.Linear)]
        out["pytorch_vs_glassnet"] = max(
            max(rel(g, lin.weight.grad.numpy().T) for g, lin in zip(gw, linears, strict=True)),
            max(rel(g, lin.bias.grad.numpy()) for g, lin in zip(gb, linears, strict=True)),
        )
    return out


def bench_post(data: dict[str, Any], std: Any, cfg: dict[str, Any]) -> dict[str, Any]:
    """The post's run: 784-50x6-10 sigmoid, batch 10, lr 0.002, float64 and float32."""
    from reference import ReferenceNetwork, one_hot_columns

    batch, lr = 10, 0.002
    n = cfg["post_batches"] * batch
    rows, labels = data["train_images"][:n], data["train_labels"][:n]
    result: dict[str, Any] = {
        "batches_timed": cfg["post_batches"],
        "batch_size": batch,
        "samples_timed": n,
        "learning_rate": lr,
        "dtypes": {},
    }
    for dtype in ("float64", "float32"):
        X = std.transform(rows, dtype)
        contenders: dict[str, Timed] = {}
        net = glassnet_network(POST_SIZES, "sigmoid", dtype, "normal")
        contenders["glassnet"] = glassnet_contender(net, rows, labels, batch, learning_rate=lr)
        ref = ReferenceNetwork(POST_SIZES, "sigmoid", dtype=dtype)
        ref.thetas = [np.ascontiguousarray(W.T) for W in net.weights]
        ref.biases = [b[:, None].copy() for b in net.biases]
        Xc, Yc = np.ascontiguousarray(X.T), one_hot_columns(labels, 10, dtype)
        contenders["reference"] = reference_contender(ref, Xc, Yc, batch, lr)
        contenders["reference_1_thread"] = reference_contender(ref, Xc, Yc, batch, lr, threads=1)
        if have("torch"):
            import torch

            default_threads = torch.get_num_threads()
            for threads in sorted({default_threads, 1}, reverse=True):
                model = torch_model(POST_SIZES, "sigmoid", dtype, init_from=net)
                # PyTorch times a shorter slice: it has no per-epoch fixed cost to amortize, and
                # its per-step cost is high enough that the full slice would dominate the run.
                m = cfg["torch_post_batches"] * batch
                trainer = TorchTrainer(
                    model, torch.optim.SGD(model.parameters(), lr=lr), X[:m], labels[:m], batch
                )
                contenders[f"pytorch_{threads}_threads"] = torch_contender(trainer, threads)
            torch.set_num_threads(default_threads)
        times = interleaved(contenders, cfg["reps"])
        if have("torch"):
            torch.set_num_threads(default_threads)
        res: dict[str, Any] = {
            name: timed_summary(t, contenders[name].batches) for name, t in times.items()
        }
        torch_names = [k for k in res if k.startswith("pytorch_")]
        if torch_names:
            best = min(torch_names, key=lambda k: res[k]["median"])
            res["pytorch"] = dict(res[best], threads=int(best.split("_")[1]))
        result["dtypes"][dtype] = res
    f32 = result["dtypes"]["float32"]["glassnet"]["median"]
    result["seed_preset_projected_seconds_float32"] = 1000 * f32
    return result


def bench_matmul(cfg: dict[str, Any]) -> dict[str, Any]:
    """float32 matrix-multiply rate for the wide network's shapes, best of N, per thread count."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    shapes = {  # (M, K) @ (K, N): what a batch of 256 through 784-512-512-10 multiplies
        "forward (256x784)@(784x512)": ((256, 784), (784, 512), False),
        "forward (256x512)@(512x512)": ((256, 512), (512, 512), False),
        "weight grad (784x256)@(256x512)": ((256, 784), (256, 512), True),  # A.T @ delta
        "input grad (256x512)@(512x512)T": ((256, 512), (512, 512), False),
    }
    out: dict[str, Any] = {}
    for threads in (None, 1):
        label = "default_threads" if threads is None else "1_thread"
        rates: dict[str, float] = {}
        with threadpool_limits(limits=threads):
            for name, (sa, sb, transpose_a) in shapes.items():
                a = rng.standard_normal(sa, dtype=np.float32)
                b = rng.standard_normal(sb, dtype=np.float32)
                left = a.T if transpose_a else a
                m, k = left.shape
                best = best_product_seconds(np.matmul, left, b, cfg["matmul_reps"] + 2)
                rates[name] = 2.0 * m * k * b.shape[1] / best / 1e9
        out[label] = {"gflops": rates, "best_gflops": max(rates.values())}
    out["best_gflops"] = max(out["default_threads"]["best_gflops"], out["1_thread"]["best_gflops"])
    out["step_products"] = bench_step_products(cfg, WIDE_SIZES, 256)
    return out


def best_product_seconds(
    product: Callable[..., Any], left: NDArray[Any], right: NDArray[Any], reps: int
) -> float:
    """The fastest of ``reps`` calls of ``product(left, right, out=...)``, in seconds."""
    out = np.empty((left.shape[0], right.shape[1]), left.dtype)
    best = math.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        product(left, right, out=out)
        best = min(best, time.perf_counter() - t0)
    return best


def step_products(sizes: Sequence[int], m: int) -> list[tuple[str, tuple[int, int, int], bool]]:
    """The matrix products of one training step of ``sizes`` at batch ``m``, in glassnet's layout.

    Each is ``(name, (M, K, N), transpose_left)``: forward ``[A, 1] @ Wb``, the weight gradient
    ``[A, 1]ᵀ @ delta`` and, for every layer but the first, ``delta @ Wᵀ``.
    """
    products = []
    for layer, (fan_in, fan_out) in enumerate(pairwise(sizes), start=1):
        products.append((f"forward {layer}", (m, fan_in + 1, fan_out), False))
        products.append((f"weight grad {layer}", (fan_in + 1, m, fan_out), True))
        if layer > 1:
            products.append((f"back {layer}", (m, fan_out, fan_in), False))
    return products


def bench_step_products(cfg: dict[str, Any], sizes: Sequence[int], m: int) -> dict[str, Any]:
    """The floor for any NumPy training loop of ``sizes``: its step's products and nothing else.

    Every product of a step is timed alone, best of N, with default threads and with one; the
    floor takes each at its better setting and counts ``EPOCH / m`` steps.
    """
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(1)
    seconds: dict[str, float] = {}
    for name, (M, K, N), transpose_left in step_products(sizes, m):
        left = rng.standard_normal((K, M) if transpose_left else (M, K), dtype=np.float32)
        a = left.T if transpose_left else left
        b = rng.standard_normal((K, N), dtype=np.float32)
        best = math.inf
        for threads in (None, 1):
            with threadpool_limits(limits=threads):
                best = min(best, best_product_seconds(np.dot, a, b, cfg["matmul_reps"] + 2))
        seconds[name] = best
    per_step = sum(seconds.values())
    return {
        "sizes": list(sizes),
        "batch_size": m,
        "seconds": seconds,
        "floor_seconds_per_epoch": per_step * EPOCH / m,
    }


def n_parameters(sizes: Sequence[int]) -> int:
    return sum(a * b + b for a, b in pairwise(sizes))


def bench_wide(data: dict[str, Any], std: Any, cfg: dict[str, Any]) -> dict[str, Any]:
    """784-512-512-10 ReLU, batch 256, float32: seconds per epoch and achieved GFLOP/s."""
    from reference import ReferenceNetwork, one_hot_columns

    batch, lr, dtype = 256, 0.01, "float32"
    n = cfg["wide_batches"] * batch
    rows, labels = data["train_images"][:n], data["train_labels"][:n]
    X = std.transform(rows, dtype)
    contenders: dict[str, Timed] = {}
    net = glassnet_network(WIDE_SIZES, "relu", dtype)
    contenders["glassnet"] = glassnet_contender(net, rows, labels, batch, learning_rate=lr)
    ref = ReferenceNetwork(WIDE_SIZES, "relu", dtype=dtype, init="he")
    ref.thetas = [np.ascontiguousarray(W.T) for W in net.weights]
    ref.biases = [b[:, None].copy() for b in net.biases]
    contenders["glassnet_1_thread"] = glassnet_contender(
        net, rows, labels, batch, threads=1, learning_rate=lr
    )
    Xc, Yc = np.ascontiguousarray(X.T), one_hot_columns(labels, 10, dtype)
    contenders["reference"] = reference_contender(ref, Xc, Yc, batch, lr)
    contenders["reference_1_thread"] = reference_contender(ref, Xc, Yc, batch, lr, threads=1)
    default_threads = None
    if have("torch"):
        import torch

        default_threads = torch.get_num_threads()
        for threads in sorted({default_threads, 1}, reverse=True):
            model = torch_model(WIDE_SIZES, "relu", dtype, init_from=net)
            trainer = TorchTrainer(
                model, torch.optim.SGD(model.parameters(), lr=lr), X, labels, batch
            )
            contenders[f"pytorch_{threads}_threads"] = torch_contender(trainer, threads)
    if have("sklearn"):
        clf = sklearn_classifier(WIDE_SIZES[1:-1], "relu", "sgd", lr, batch, {})
        contenders["scikit-learn"] = sklearn_contender(clf, X, labels)
    times = interleaved(contenders, cfg["reps"])
    if default_threads is not None:
        import torch

        torch.set_num_threads(default_threads)
    flop_per_epoch = 6.0 * n_parameters(WIDE_SIZES) * EPOCH
    res: dict[str, Any] = {
        "batches_timed": cfg["wide_batches"],
        "batch_size": batch,
        "samples_timed": n,
        "learning_rate": lr,
        "dtype": dtype,
        "parameters": n_parameters(WIDE_SIZES),
        "flop_per_epoch_6P": flop_per_epoch,
    }
    for name, t in times.items():
        res[name] = timed_summary(t, contenders[name].batches)
        res[name]["gflops"] = flop_per_epoch / res[name]["median"] / 1e9
    torch_names = [k for k in res if k.startswith("pytorch_")]
    if torch_names:
        best = min(torch_names, key=lambda k: res[k]["median"])
        res["pytorch"] = dict(res[best], threads=int(best.split("_")[1]))
    if have("sklearn"):
        res["scikit-learn"]["coef_dtype"] = str(clf.coefs_[0].dtype)
    return res


def bench_inference(data: dict[str, Any], std: Any, cfg: dict[str, Any]) -> dict[str, Any]:
    """One-image latency and 10,000-image throughput of ``predict_proba`` (784-256-10 ReLU)."""
    net = glassnet_network([784, 256, 10], "relu", "float32")
    net.standardizer = std
    one = data["test_images"][:1]  # (1, 784) uint8: a raw image as a row
    many = data["test_images"][:10_000]

    def latency(fn: Callable[[], Any]) -> dict[str, float]:
        for _ in range(100):
            fn()
        ts = []
        for _ in range(cfg["latency_calls"]):
            t0 = time.perf_counter_ns()
            fn()
            ts.append((time.perf_counter_ns() - t0) * 1e-9)
        ts.sort()
        return {
            "median": median(ts),
            "p10": ts[len(ts) // 10],
            "p90": ts[len(ts) * 9 // 10],
            "calls": len(ts),
        }

    def throughput(fn: Callable[[], Any]) -> dict[str, Any]:
        fn()
        ts = []
        for _ in range(cfg["throughput_reps"]):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        return dict(summary(ts), images_per_second=len(many) / median(ts))

    res: dict[str, Any] = {
        "network": "784-256-10 relu float32, random weights, standardizer "
        "fitted on the training images"
    }
    res["glassnet"] = {
        "one_image": latency(lambda: net.predict_proba(one)),
        "10000_images": throughput(lambda: net.predict_proba(many)),
    }
    if have("torch"):
        import torch

        model = torch_model([784, 256, 10], "relu", "float32", init_from=net).eval()
        mean, scale = float(std.mean[0]), float(std.scale[0])

        def torch_predict(x: NDArray[Any]) -> Any:
            with torch.inference_mode():
                t = (torch.from_numpy(x).to(torch.float32) - mean) / scale
                return torch.softmax(model(t), dim=1).numpy()

        default_threads = torch.get_num_threads()
        res["pytorch"] = {}
        for threads in sorted({default_threads, 1}, reverse=True):
            torch.set_num_threads(threads)
            res["pytorch"][f"{threads}_threads"] = {
                "one_image": latency(lambda: torch_predict(one)),
                "10000_images": throughput(lambda: torch_predict(many)),
            }
        torch.set_num_threads(default_threads)
    return res


MEMORY_CHILD = "--memory-child"


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
    print(
        json.dumps(
            {
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
        )
    )


def bench_memory(data_dir: Path, runs: int) -> dict[str, Any]:
    """The memory child, ``runs`` times: the peak is the median, with every run's peak kept."""
    results = []
    for _ in range(runs):
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), MEMORY_CHILD, str(data_dir)],
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


def bench_time_to_accuracy(data: dict[str, Any], std: Any, cfg: dict[str, Any]) -> dict[str, Any]:
    """Seconds of training to reach 97% and 98% test accuracy with the ``fast`` preset."""
    import glassnet
    from glassnet.presets import get_preset
    from glassnet.training import TrainConfig

    preset = get_preset("fast")
    hidden = list(preset.get("hidden", [256]))
    activation = preset.get("activation", "relu")
    dtype = preset.get("dtype", "float32")
    epochs = int(cfg["tta_epochs"] or preset.get("epochs", 10))
    train_keys = set(TrainConfig.field_names())
    settings = {k: v for k, v in preset.items() if k in train_keys}
    settings["epochs"] = epochs
    sizes = [784, *hidden, 10]
    thresholds = (0.97, 0.98)
    budget = cfg["tta_budget_seconds"]
    n_train = cfg["tta_train_samples"] or len(data["train_labels"])
    res: dict[str, Any] = {
        "preset": preset,
        "epochs": epochs,
        "thresholds": thresholds,
        "train_samples": n_train,
        "budget_seconds_others": budget,
        "network": f"{'-'.join(map(str, sizes))} {activation} {dtype}",
    }

    def crossings(seconds: list[float], accuracy: list[float]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "seconds_per_epoch": seconds,
            "test_accuracy": accuracy,
            "epochs_run": len(seconds),
        }
        for thr in thresholds:
            hit = next((i for i, a in enumerate(accuracy) if a >= thr), None)
            out[f"{thr:.2f}"] = (
                None
                if hit is None
                else {"seconds": float(sum(seconds[: hit + 1])), "epoch": hit + 1}
            )
        return out

    def done(secs: list[float], accs: list[float]) -> bool:
        """The other libraries stop at the preset's epochs, at 98%, or past the time budget."""
        return len(secs) >= epochs or max(accs) >= thresholds[-1] or sum(secs) >= budget

    # glassnet: one fit call with test data; History's per-epoch seconds exclude evaluation.
    net = glassnet.Network(
        sizes, activation, initializer=preset.get("initializer"), seed=0, dtype=dtype
    )
    init = glassnet.Network(
        sizes, activation, initializer=preset.get("initializer"), seed=0, dtype=dtype
    )
    t0 = time.perf_counter()
    history = net.fit(
        data["train_images"][:n_train],
        data["train_labels"][:n_train],
        test_data=(data["test_images"], data["test_labels"]),
        progress=False,
        **settings,
    )
    res["glassnet"] = crossings(history.column("seconds"), history.column("test_accuracy"))
    res["glassnet"]["wall_seconds_including_evaluation"] = time.perf_counter() - t0

    unmirrored = [
        k
        for k in ("dropout", "augment_shift", "clip_norm", "validation_split", "patience")
        if k in preset and preset[k] not in (0, 0.0)
    ]
    config = TrainConfig(**settings)
    steps = -(-n_train // config.batch_size)
    schedule = config.make_schedule(steps)
    res["schedule"] = f"{config.schedule}" + (
        f" after {config.warmup_epochs:g} warm-up epochs" if config.warmup_epochs else ""
    )
    X = std.transform(data["train_images"][:n_train], dtype)
    Xt = std.transform(data["test_images"], dtype)
    y, yt = data["train_labels"][:n_train], data["test_labels"]
    lr, bs = settings["learning_rate"], settings["batch_size"]
    opt = settings.get("optimizer", "sgd")
    if unmirrored:
        res["not_compared"] = (
            f"preset settings {unmirrored} are not mirrored in the other libraries"
        )
        return res
    if have("torch"):
        import torch

        # Pick the faster thread count on a short probe, then train from glassnet's initial weights.
        default_threads = torch.get_num_threads()
        probe: dict[int, float] = {}
        for threads in sorted({default_threads, 1}, reverse=True):
            torch.set_num_threads(threads)
            m = torch_model(sizes, activation, dtype)
            tr = TorchTrainer(m, torch_optimizer(m, opt, lr, settings), X, y, bs)
            tr.epoch(max_batches=20)
            probe[threads] = min(tr.epoch(max_batches=100) for _ in range(2))
        threads = min(probe, key=lambda k: probe[k])
        torch.set_num_threads(threads)
        model = torch_model(sizes, activation, dtype, init_from=init)
        trainer = TorchTrainer(
            model,
            torch_optimizer(model, opt, lr, settings),
            X,
            y,
            bs,
            schedule=None
            if config.schedule == "constant" and not config.warmup_epochs
            else schedule,
        )
        secs: list[float] = []
        accs: list[float] = []
        while not secs or not done(secs, accs):
            secs.append(trainer.epoch())
            accs.append(trainer.accuracy(Xt, yt))
        torch.set_num_threads(default_threads)
        res["pytorch"] = dict(
            crossings(secs, accs), threads=threads, init="glassnet's initial weights"
        )
    if have("sklearn"):
        clf = sklearn_classifier(hidden, activation, opt, lr, bs, settings)
        secs = []
        accs = []
        while not secs or not done(secs, accs):
            t0 = time.perf_counter()
            if secs and hasattr(clf, "_optimizer"):
                # MLPClassifier has no per-step schedule: set the rate of the epoch's midpoint.
                clf._optimizer.learning_rate = lr * schedule(len(secs) + 0.5)
            elif not secs:
                clf.set_params(learning_rate_init=lr * schedule(0.5))
            clf.partial_fit(X, y, classes=np.arange(10))
            secs.append(time.perf_counter() - t0)
            accs.append(float(clf.score(Xt, yt)))
        res["scikit-learn"] = dict(
            crossings(secs, accs),
            init="scikit-learn's own (Glorot)",
            coef_dtype=str(clf.coefs_[0].dtype),
        )
    return res


# ---------------------------------------------------------------------------- report
def targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def add(
        what: str, value: float | None, target: str, ok: bool | None, text: str, cpu: str = ""
    ) -> None:
        rows.append(
            {
                "what": what,
                "value": value,
                "target": target,
                "met": ok,
                "text": text,
                "cpu_text": cpu,
            }
        )

    def cpu_ratio(other: dict[str, Any], ours: dict[str, Any]) -> str:
        return fmt_ratio(ratio(other["cpu"]["median"], ours["cpu"]["median"]))

    post = r.get("post", {}).get("dtypes", {})
    for dtype, need in (("float32", 3.0), ("float64", 2.0)):
        d = post.get(dtype)
        if d:
            x = ratio(d["reference"]["median"], d["glassnet"]["median"])
            add(
                f"post's run {dtype}: glassnet vs reference",
                x,
                f">= {need:g}x",
                x is not None and x >= need,
                fmt_ratio(x),
                cpu_ratio(d["reference"], d["glassnet"]),
            )
    for dtype in ("float32", "float64"):
        d = post.get(dtype)
        if d and "pytorch" in d:
            x = ratio(d["pytorch"]["median"], d["glassnet"]["median"])
            add(
                f"post's run {dtype}: glassnet vs PyTorch CPU",
                x,
                ">= 5x",
                x is not None and x >= 5.0,
                fmt_ratio(x),
                cpu_ratio(d["pytorch"], d["glassnet"]),
            )
    if "post" in r:
        s = r["post"]["seed_preset_projected_seconds_float32"]
        add(
            "seed preset (1000 epochs) projected, float32",
            s,
            "(reported)",
            None,
            f"{s / 3600:.2f} h ({s / 60:.0f} min)",
        )
    w = r.get("wide")
    if w:
        for other, label in (("pytorch", "PyTorch CPU"), ("reference", "reference")):
            if other in w:
                x = ratio(w[other]["median"], w["glassnet"]["median"])
                add(
                    f"wide net batch 256: glassnet vs {label}",
                    x,
                    ">= 1.2x",
                    x is not None and x >= 1.2,
                    fmt_ratio(x),
                    cpu_ratio(w[other], w["glassnet"]),
                )
    inf = r.get("inference")
    if inf:
        s = inf["glassnet"]["one_image"]["median"]
        add("one-image predict_proba latency", s, "< 100 µs", s < 100e-6, fmt_time(s))
    mem = r.get("memory")
    if mem and "peak_rss_bytes" in mem:
        b = mem["peak_rss_bytes"]
        add("full-MNIST training peak RSS", b, "< 1 GiB", b < GiB, f"{b / 2**20:.0f} MiB")
    return rows


def noisy_figures(r: dict[str, Any]) -> list[str]:
    """Timed figures whose repetitions spread widely: the run was disturbed there."""
    found: list[str] = []
    sections = [(f"post {dtype}", d) for dtype, d in r.get("post", {}).get("dtypes", {}).items()]
    sections.append(("wide", r.get("wide", {})))
    for label, d in sections:
        for name, v in d.items():
            if (
                isinstance(v, dict)
                and "min" in v
                and name not in ("pytorch",)
                and v["min"] > 0
                and v["max"] / v["min"] > 1.3
            ):
                found.append(f"{label} {name} ({v['max'] / v['min']:.1f}x)")
    return found


def cell(d: dict[str, Any] | None, key: str = "median") -> str:
    return "n/a" if not d else fmt_time(d[key])


def spread(d: dict[str, Any] | None) -> str:
    if not d:
        return ""
    return f" ({fmt_time(d['min'])}–{fmt_time(d['max'])})" if d["min"] != d["max"] else ""


def report_markdown(r: dict[str, Any]) -> str:
    lines: list[str] = []
    mode = r["mode"]
    lines.append("### Targets\n")
    lines.append(
        "Ratios are the other's seconds over glassnet's (above 1: glassnet is faster), "
        "on wall time, which the targets use; the CPU-time ratio beside it is less "
        "sensitive to other programs sharing the machine (see benchmarks/README.md).\n"
    )
    lines.append("| measurement | result | target | met | on CPU time |")
    lines.append("|---|---|---|---|---|")
    for t in r["targets"]:
        met = "—" if t["met"] is None else ("yes" if t["met"] else "**no**")
        lines.append(
            f"| {t['what']} | {t['text']} | {t['target']} | {met} | {t.get('cpu_text', '')} |"
        )

    post = r.get("post")
    if post:
        lines.append("\n### The post's run: 784-50x6-10 sigmoid, batch 10, lr 0.002\n")
        lines.append(
            f"Seconds per epoch of 60,000 samples, extrapolated from "
            f"{post['batches_timed']} batches of 10 ({post['samples_timed']:,} samples; "
            f"PyTorch: at most {r['settings']['torch_post_batches']}, fewer when its "
            f"steps are slow, see the JSON); median of "
            f"{r['settings']['reps']} after a warm-up (min–max). glassnet: the second "
            "epoch of `Network.fit(epochs=2)` on the slice, its once-per-epoch "
            "statistics counted once. CPU = the process's CPU seconds over the same "
            "span (all threads).\n"
        )
        lines.append(
            "| contender | float64 s/epoch | CPU | ratio | float32 s/epoch | CPU | ratio |"
        )
        lines.append("|---|---|---|---|---|---|---|")
        d64, d32 = post["dtypes"]["float64"], post["dtypes"]["float32"]
        names = [
            ("glassnet (Network.fit)", "glassnet"),
            ("reference NumPy (default BLAS threads)", "reference"),
            ("reference NumPy (1 BLAS thread)", "reference_1_thread"),
        ]
        names += [
            (f"PyTorch CPU, {k.split('_')[1]} thread(s)", k)
            for k in d32
            if k.startswith("pytorch_")
        ]
        if "pytorch" in d32:
            names.append(("**PyTorch CPU, best**", "pytorch"))
        for label, key in names:
            a, b = d64.get(key), d32.get(key)
            ra = (
                ""
                if key == "glassnet"
                else fmt_ratio(ratio(a and a["median"], d64["glassnet"]["median"]))
            )
            rb = (
                ""
                if key == "glassnet"
                else fmt_ratio(ratio(b and b["median"], d32["glassnet"]["median"]))
            )
            lines.append(
                f"| {label} | {cell(a)}{spread(a)} | {cell(a and a['cpu'])} | {ra} | "
                f"{cell(b)}{spread(b)} | {cell(b and b['cpu'])} | {rb} |"
            )
        s = post["seed_preset_projected_seconds_float32"]
        lines.append(
            f"\nThe `seed` preset (1000 such epochs, float32) projects to "
            f"**{s / 3600:.2f} h** of training with glassnet (1000 × the float32 epoch; "
            f"per-epoch test evaluation not included)."
        )

    w = r.get("wide")
    if w:
        mm = r["matmul"]
        lines.append("\n### Wide network: 784-512-512-10 ReLU, batch 256, float32\n")
        lines.append(
            f"Seconds per epoch extrapolated from {w['batches_timed']} batches of 256 "
            f"({w['samples_timed']:,} samples), median of {r['settings']['reps']}. "
            f"GFLOP/s counts 6 × parameters ({w['parameters']:,}) FLOP per sample for "
            f"forward + backward (2 forward, 4 backward), the same nominal count for "
            f"every contender. Best float32 matmul in this run: "
            f"**{mm['best_gflops']:.0f} GFLOP/s** "
            f"({mm['default_threads']['best_gflops']:.0f} with default threads, "
            f"{mm['1_thread']['best_gflops']:.0f} with 1).\n"
        )
        lines.append("| contender | s/epoch | CPU | GFLOP/s | % of best matmul | ratio |")
        lines.append("|---|---|---|---|---|---|")
        names = [
            ("glassnet (Network.fit)", "glassnet"),
            ("glassnet, 1 BLAS thread (for information)", "glassnet_1_thread"),
            ("reference NumPy (default BLAS threads)", "reference"),
            ("reference NumPy, 1 BLAS thread (for information)", "reference_1_thread"),
        ]
        names += [
            (f"PyTorch CPU, {k.split('_')[1]} thread(s)", k) for k in w if k.startswith("pytorch_")
        ]
        if "pytorch" in w:
            names.append(("**PyTorch CPU, best**", "pytorch"))
        if "scikit-learn" in w:
            names.append(
                (
                    f"scikit-learn MLPClassifier ({w['scikit-learn'].get('coef_dtype')})",
                    "scikit-learn",
                )
            )
        for label, key in names:
            d = w[key]
            rr = "" if key == "glassnet" else fmt_ratio(ratio(d["median"], w["glassnet"]["median"]))
            lines.append(
                f"| {label} | {cell(d)}{spread(d)} | {cell(d['cpu'])} | "
                f"{d['gflops']:.1f} | "
                f"{100 * d['gflops'] / mm['best_gflops']:.0f}% | {rr} |"
            )
        sp = mm.get("step_products")
        if sp:
            floor = sp["floor_seconds_per_epoch"]
            lines.append(
                f"\nThe floor: the {len(sp['seconds'])} products of one step of this network "
                "(forward, weight gradient, and the backward product of every layer but the "
                "first), each timed alone at its better thread setting, take "
                f"**{fmt_time(floor)}** per epoch: no loop that computes them through NumPy's "
                "BLAS can train faster. "
                f"Of glassnet's epoch, {100 * floor / w['glassnet']['median']:.0f}% is that floor."
            )
            if "pytorch" in w:
                lines.append(
                    "1.2x PyTorch's epoch would be "
                    f"{fmt_time(w['pytorch']['median'] / 1.2)}"
                    f" ({100 * w['pytorch']['median'] / 1.2 / floor:.0f}% of the floor)."
                )
        lines.append(f"\nMatmul rates (GFLOP/s, best of {r['settings']['matmul_reps'] + 2}):\n")
        lines.append("| shape | default threads | 1 thread |")
        lines.append("|---|---|---|")
        for shape, g in mm["default_threads"]["gflops"].items():
            lines.append(f"| {shape} | {g:.0f} | {mm['1_thread']['gflops'][shape]:.0f} |")

    inf = r.get("inference")
    if inf:
        lines.append(f"\n### Inference: {inf['network']}\n")
        lines.append(
            "One image: median of "
            f"{inf['glassnet']['one_image']['calls']} calls of `predict_proba` on a "
            "(1, 784) uint8 row (standardizing included). 10,000 images: one call on the "
            "test images, median of several.\n"
        )
        lines.append("| contender | one image (p10–p90) | 10,000 images | images/s |")
        lines.append("|---|---|---|---|")
        entries = [("glassnet predict_proba", inf["glassnet"])]
        for k, v in inf.get("pytorch", {}).items():
            entries.append((f"PyTorch CPU, {k.replace('_', ' ')} (inference_mode)", v))
        for label, v in entries:
            o, m = v["one_image"], v["10000_images"]
            lines.append(
                f"| {label} | {fmt_time(o['median'])} ({fmt_time(o['p10'])}–"
                f"{fmt_time(o['p90'])}) | {fmt_time(m['median'])} | "
                f"{m['images_per_second']:,.0f} |"
            )

    mem = r.get("memory")
    if mem:
        lines.append("\n### Memory: one epoch of the `default` preset on full MNIST\n")
        if "error" in mem:
            lines.append(f"Failed: {mem['error']}")
        else:
            runs = ", ".join(f"{p / 2**20:.0f}" for p in mem["peak_rss_bytes_runs"])
            lines.append(
                "Peak resident set size (`VmHWM`) of a fresh Python process that "
                f"imports glassnet, loads MNIST ({mem['loaded_with']}) and runs "
                f"`Network.fit` for one epoch ({mem['network']}, "
                f"{mem['settings']}); the median of {len(mem['peak_rss_bytes_runs'])} "
                f"such processes (peaks: {runs} MiB).\n"
            )
            lines.append("| stage | resident |")
            lines.append("|---|---|")
            for label, key in (
                ("after `import glassnet`", "rss_after_imports_bytes"),
                ("after loading MNIST (uint8)", "rss_after_loading_mnist_bytes"),
                ("**peak, end of the epoch**", "peak_rss_bytes"),
            ):
                lines.append(f"| {label} | {mem[key] / 2**20:.0f} MiB |")
            lines.append(
                f"\n(`fit` took {mem['fit_seconds']:.1f} s including data preparation "
                "and its end-of-epoch statistics.)"
            )

    tta = r.get("time_to_accuracy")
    if tta:
        lines.append(f"\n### Time to accuracy: the `fast` preset ({tta['network']})\n")
        p = tta["preset"]
        subset = (
            ""
            if tta["train_samples"] >= EPOCH
            else f" on the first {tta['train_samples']:,} training images only (quick run)"
        )
        lines.append(
            f"Settings: `{json.dumps(p)}`{subset}. Test accuracy after every epoch; "
            "seconds are training time summed up to the first epoch that reaches the "
            "mark (evaluation not counted). glassnet runs the preset's "
            f"{tta['epochs']} epochs; PyTorch (started from glassnet's initial weights) "
            "and scikit-learn (its own initialization) stop at 98%, at "
            f"{tta['epochs']} epochs, or once their training time passes "
            f"{tta['budget_seconds_others']:.0f} s. Learning-rate schedule "
            f"({tta.get('schedule', 'constant')}): glassnet's own schedule function "
            "sets PyTorch's rate before every step, as glassnet's loop does; "
            "scikit-learn, which has no per-step hook, gets each epoch's midpoint "
            "rate.\n"
        )
        lines.append("| contender | 97% | 98% | final test accuracy | s/epoch (median) |")
        lines.append("|---|---|---|---|---|")
        for name, label in (
            ("glassnet", "glassnet"),
            ("pytorch", "PyTorch CPU"),
            ("scikit-learn", "scikit-learn MLPClassifier"),
        ):
            d = tta.get(name)
            if not d:
                continue
            cells = []
            for thr in ("0.97", "0.98"):
                c = d[thr]
                cells.append(
                    f"not reached in {d['epochs_run']} epochs"
                    if c is None
                    else f"{c['seconds']:.1f} s (epoch {c['epoch']})"
                )
            if name == "pytorch":
                label += f", {d['threads']} thread(s)"
            lines.append(
                f"| {label} | {cells[0]} | {cells[1]} | "
                f"{100 * d['test_accuracy'][-1]:.2f}% | "
                f"{fmt_time(median(d['seconds_per_epoch']))} |"
            )
        if "not_compared" in tta:
            lines.append(f"\n{tta['not_compared']}.")
    lines.append(
        f"\n({mode} run; load average {r['load_average_start']} at the start, "
        f"{r['load_average_end']} at the end; total {r['total_seconds']:.0f} s.)"
    )
    noisy = noisy_figures(r)
    if noisy:
        lines.append(
            "\nDisturbed figures (slowest repetition over 1.3 × the fastest): "
            + ", ".join(noisy)
            + "."
        )
    return "\n".join(lines)


def machine_markdown(r: dict[str, Any]) -> str:
    m = r["machine"]
    v = m["versions"]
    blas = "; ".join(
        f"{b['internal_api']} {b['version']} ({b['architecture']}, {b['num_threads']} threads)"
        for b in m["blas_runtime"]
    )
    return "\n".join(
        [
            "| | |",
            "|---|---|",
            f"| CPU | {m['cpu_model']} ({', '.join(m.get('simd_flags', []))}) |",
            f"| cores | {m['cpus_available']} available of {m['logical_cpus']} logical |",
            f"| memory | {m.get('memory_gib')} GiB |",
            f"| OS | {m['platform']} |",
            f"| Python | {m['python']} |",
            f"| NumPy | {v['numpy']}, BLAS {m.get('numpy_blas')} |",
            f"| BLAS at run time | {blas} |",
            f"| OPENBLAS_CORETYPE | {m['OPENBLAS_CORETYPE']} |",
            f"| glassnet | {v['glassnet']} (commit {m.get('git_commit')}"
            f"{', src modified' if m.get('git_src_dirty') else ''}) |",
            f"| PyTorch | {v.get('torch') or 'not installed'} |",
            f"| scikit-learn | {v.get('sklearn') or 'not installed'} |",
            f"| date | {m['date']} |",
        ]
    )


# ---------------------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if len(argv) == 2 and argv[0] == MEMORY_CHILD:
        memory_child(argv[1])
        return 0
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
    parser.add_argument(
        "--only",
        nargs="+",
        choices=["post", "wide", "inference", "memory", "tta"],
        help="run only these sections",
    )
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full"
    cfg = SETTINGS[mode]
    sections = set(args.only or ["post", "wide", "inference", "memory", "tta"])

    started = time.perf_counter()
    load_start = os.getloadavg()
    data_dir = find_data_dir(args.data_dir)
    from glassnet.datasets.preprocess import Standardizer

    data, loaded_with = load_mnist(data_dir)
    std = Standardizer.fit(data["train_images"])
    results: dict[str, Any] = {
        "mode": mode,
        "settings": cfg,
        "machine": machine_info(),
        "data": {"dir": str(data_dir), "loaded_with": loaded_with},
        "command": "python benchmarks/run.py " + " ".join(argv),
    }
    results["machine"]["load_average_start"] = [round(x, 2) for x in load_start]

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

    results["total_seconds"] = time.perf_counter() - started
    results["load_average_start"] = results["machine"]["load_average_start"]
    results["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    results["targets"] = targets(results)
    table = report_markdown(results)
    results["table_markdown"] = table

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps(results, indent=1, default=str) + "\n")
    os.replace(tmp, out)
    print(table)
    print("\n" + machine_markdown(results))
    print(f"\nwrote {out}", file=sys.stderr)
    if args.markdown:
        Path(args.markdown).write_text(benchmarks_md(results, table))
        print(f"wrote {args.markdown}", file=sys.stderr)
    return 0


def benchmarks_md(r: dict[str, Any], table: str) -> str:
    return "\n".join(
        [
            "# Benchmarks",
            "",
            "glassnet beside a plain NumPy reference (`benchmarks/reference.py`, the post's code with "
            "samples as columns), PyTorch on the CPU and scikit-learn, measured in one run by "
            "`benchmarks/run.py`; what each figure means is in `benchmarks/README.md`. The JSON of "
            "this run is `BENCHMARKS.json`.",
            "",
            "Command:",
            "",
            "```",
            r["command"].strip(),
            "```",
            "",
            table,
            "",
            "## Machine",
            "",
            machine_markdown(r),
            "",
        ]
    )


if __name__ == "__main__":
    import glassnet  # noqa: F401  (fail early with a clear ImportError if not installed)

    raise SystemExit(main())
