"""The contenders: glassnet, the plain NumPy reference, PyTorch on the CPU and scikit-learn.

Each ``*_contender`` function wraps one configuration in a :class:`harness.Timed`: a warm-up and
a timed run that returns wall and CPU seconds per epoch of 60,000 samples. PyTorch and
scikit-learn are imported only when used, so that the benchmark runs without them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Any

import numpy as np
from harness import EPOCH, Clock, Timed, have
from numpy.typing import NDArray

import glassnet
from glassnet.reference import ReferenceNetwork


# ---------------------------------------------------------------------------- glassnet
def glassnet_network(
    sizes: Sequence[int], activation: str, dtype: str, initializer: str | None = None, seed: int = 0
) -> glassnet.Network:
    return glassnet.Network(
        list(sizes), activation, initializer=initializer, seed=seed, dtype=dtype
    )


def glassnet_contender(
    net: glassnet.Network,
    rows: NDArray[Any],
    labels: NDArray[Any],
    batch_size: int,
    threads: int | None = None,
    engine: str | None = None,
    **settings: Any,
) -> Timed:
    """``Network.fit(epochs=2)`` on the slice; the second epoch, per 60,000 samples.

    A callback marks the end of each epoch. The second epoch spans from the first mark to the
    second: History's ``seconds`` for it (shuffle and steps, which scale with the samples) plus
    the rest of that span (the end-of-epoch layer statistics and snapshot, paid once per epoch
    whatever its size). The second epoch is taken because it is what epochs 2..N of a long run
    cost; data preparation, done once per ``fit`` call, is not counted. With ``threads``, the
    call runs inside ``threadpool_limits(threads)``, which caps the BLAS threads glassnet picks.
    With ``engine``, ``fit`` is given ``engine=engine``; without, glassnet's default engine runs.
    """
    from threadpoolctl import threadpool_limits

    scale = EPOCH / len(rows)
    fit_settings = dict(settings, progress=False, batch_size=batch_size)
    if engine is not None:
        fit_settings["engine"] = engine

    def run() -> tuple[float, float]:
        marks: list[tuple[float, float]] = []

        def mark(row: dict[str, Any], state: Any) -> None:
            marks.append((time.perf_counter(), time.process_time()))

        with threadpool_limits(limits=threads):
            history = net.fit(rows, labels, epochs=2, callbacks=[mark], **fit_settings)
        span_wall = marks[1][0] - marks[0][0]
        span_cpu = marks[1][1] - marks[0][1]
        steps = history.rows[-1]["seconds"]
        wall = steps * scale + (span_wall - steps)
        return wall, span_cpu * wall / span_wall

    def warmup() -> None:
        n = 20 * batch_size
        net.fit(rows[:n], labels[:n], epochs=1, **fit_settings)

    return Timed(run, warmup, -(-len(rows) // batch_size))


# ---------------------------------------------------------------------------- the reference
def reference_network(
    sizes: Sequence[int], activation: str, dtype: str, initializer: str, net: glassnet.Network
) -> ReferenceNetwork:
    """The plain NumPy reference of ``sizes``, started from ``net``'s weights (``Θ = Wᵀ``)."""
    ref = ReferenceNetwork(sizes, activation, initializer=initializer, dtype=dtype)
    ref.thetas = [np.ascontiguousarray(W.T) for W in net.weights]
    ref.biases = [b[:, None].copy() for b in net.biases]
    return ref


def reference_contender(
    ref: ReferenceNetwork,
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
            ref.train_epoch(Xc, Yc, batch_size, lr, rng)
            return clock.stop(scale)

    def warmup() -> None:
        with threadpool_limits(limits=threads):
            ref.train_epoch(Xc, Yc, batch_size, lr, rng, max_batches=20)

    return Timed(run, warmup, -(-Xc.shape[1] // batch_size))


# ---------------------------------------------------------------------------- PyTorch
def torch_model(
    sizes: Sequence[int], activation: str, dtype: str, init_from: glassnet.Network | None = None
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
                self.set_rate(self.schedule(self.epochs_done + lo // bs / steps))
            self.optimizer.zero_grad(set_to_none=True)
            loss = self.loss(self.model(X[lo : lo + bs]), y[lo : lo + bs])
            loss.backward()
            self.optimizer.step()
        self.epochs_done += 1
        return time.perf_counter() - t0

    def set_rate(self, factor: float) -> None:
        """Every parameter group's learning rate to ``factor`` times its first rate."""
        for group, base in zip(self.optimizer.param_groups, self.base_lr, strict=True):
            group["lr"] = base * factor

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


def torch_thread_counts() -> list[int]:
    """PyTorch's default thread count and 1, the larger first (one entry when they are equal)."""
    import torch

    return sorted({torch.get_num_threads(), 1}, reverse=True)


def restore_torch_threads(threads: int | None) -> None:
    """Set PyTorch's thread count back to ``threads`` (when PyTorch is in the run)."""
    if threads is not None:
        import torch

        torch.set_num_threads(threads)


def default_torch_threads() -> int | None:
    """PyTorch's thread count before any contender changes it, or ``None`` without PyTorch."""
    if not have("torch"):
        return None
    import torch

    return int(torch.get_num_threads())


def sgd_torch_contenders(
    sizes: Sequence[int],
    activation: str,
    dtype: str,
    net: glassnet.Network,
    X: NDArray[Any],
    labels: NDArray[Any],
    batch_size: int,
    lr: float,
) -> dict[str, Timed]:
    """``pytorch_{n}_threads`` for each of :func:`torch_thread_counts`: plain SGD from ``net``'s
    weights on standardized ``X``."""
    import torch

    contenders: dict[str, Timed] = {}
    for threads in torch_thread_counts():
        model = torch_model(sizes, activation, dtype, init_from=net)
        optimizer = torch.optim.SGD(model.parameters(), lr=lr)
        trainer = TorchTrainer(model, optimizer, X, labels, batch_size)
        contenders[f"pytorch_{threads}_threads"] = torch_contender(trainer, threads)
    return contenders


# ---------------------------------------------------------------------------- scikit-learn
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


# ---------------------------------------------------------------------------- products alone
def products_contender(sizes: Sequence[int], rows: int, batch: int, dtype: str) -> Timed:
    """The compiled engine's matrix products for ``sizes`` (no activation, no softmax, no other
    elementwise work), called as its kernels call them: the same BLAS, the same ``[A, 1]`` buffers
    and leading dimensions, the update folded in with ``beta = 1``. Timed in the same rounds as
    the contenders, this is the floor the compiled engine's epoch reads against."""
    from numba import njit

    from glassnet.engine import kernels

    f = np.dtype(dtype).type
    rng = np.random.default_rng(0)
    L = len(sizes) - 1
    blocks = [(rng.normal(size=(a + 1, b)) * 0.01).astype(f) for a, b in pairwise(sizes)]
    outs = [np.ones((batch, n + 1), f) for n in sizes[1:-1]]
    deltas = [(rng.normal(size=(batch, n)) * 1e-3).astype(f) for n in sizes[1:]]
    P = np.zeros((batch, sizes[-1]), f)
    X1 = np.ones((rows, sizes[0] + 1), f)
    X1[:, :-1] = rng.normal(size=(rows, sizes[0]))
    scalars = np.empty(2, f)
    N, T = kernels._N, kernels._T
    gemm = kernels.gemm

    @njit(nogil=True)
    def step(x, Ws, As, Ds, P, sizes, scalars):  # type: ignore[no-untyped-def]
        m = x.shape[0]
        for l in range(L):  # forward: [A, 1] @ Wb
            k, n = sizes[l] + 1, sizes[l + 1]
            A_in = x if l == 0 else As[l - 1]
            out = P if l == L - 1 else As[l]
            gemm(N, N, m, n, k, A_in, A_in.shape[1], Ws[l], n, 0.0, out, out.shape[1], scalars)
        for l in range(L - 1, -1, -1):  # backward: delta @ Wᵀ, then Wb += [A, 1]ᵀ delta
            k, n = sizes[l] + 1, sizes[l + 1]
            A_in = x if l == 0 else As[l - 1]
            if l > 0:
                gemm(N, T, m, k - 1, n, Ds[l], n, Ws[l], n, 0.0, Ds[l - 1], k - 1, scalars)
            gemm(T, N, k, n, m, A_in, A_in.shape[1], Ds[l], n, 1.0, Ws[l], n, scalars)

    from numba.typed import List

    Ws, As, Ds = List(blocks), List(outs), List(deltas)
    sizes_array = np.array(sizes, np.int64)
    steps = rows // batch

    def epoch() -> None:
        for s in range(steps):
            step(X1[s * batch : (s + 1) * batch], Ws, As, Ds, P, sizes_array, scalars)

    def run() -> tuple[float, float]:
        clock = Clock()
        epoch()
        return clock.stop(EPOCH / rows)

    return Timed(run, epoch, steps)
