"""Time to accuracy: seconds of training to 97% and 98% test accuracy with the ``fast`` preset.

glassnet runs the preset's epochs through ``Network.fit(test_data=...)``, whose History records
each epoch's training seconds and test accuracy. PyTorch (from glassnet's initial weights, with
its faster thread count on a short probe) and scikit-learn (its own initialization) get the same
network and settings and stop at 98%, at the preset's epochs, or past a time budget.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from contenders import (
    TorchTrainer,
    glassnet_network,
    sklearn_classifier,
    torch_model,
    torch_optimizer,
    torch_thread_counts,
)
from harness import have
from numpy.typing import NDArray

import glassnet
from glassnet.presets import get_preset

THRESHOLDS = (0.97, 0.98)
# Preset settings the other libraries are not given here: with any of them, only glassnet runs.
UNMIRRORED = ("dropout", "augment_shift", "clip_norm", "validation_split", "patience")


@dataclass
class Race:
    """One network and its settings, and the standardized data, for the other libraries."""

    sizes: list[int]
    activation: str
    dtype: str
    initializer: str | None
    settings: dict[str, Any]  # the preset's training settings, with the run's epochs
    config: glassnet.TrainConfig
    schedule: Callable[[float], float]  # the learning-rate factor at progress t in epochs
    budget: float
    X: NDArray[Any]
    y: NDArray[Any]
    Xt: NDArray[Any]
    yt: NDArray[Any]

    @property
    def lr(self) -> float:
        return float(self.settings["learning_rate"])

    @property
    def optimizer(self) -> str:
        return str(self.settings.get("optimizer", "sgd"))

    def done(self, secs: list[float], accs: list[float]) -> bool:
        """The other libraries stop at the preset's epochs, at 98%, or past the time budget."""
        return (
            len(secs) >= self.config.epochs
            or max(accs) >= THRESHOLDS[-1]
            or sum(secs) >= self.budget
        )


def bench_time_to_accuracy(data: dict[str, Any], std: Any, cfg: dict[str, Any]) -> dict[str, Any]:
    """Seconds of training to reach 97% and 98% test accuracy with the ``fast`` preset."""
    preset = get_preset("fast")
    hidden = list(preset.get("hidden", [256]))
    activation = preset.get("activation", "relu")
    dtype = preset.get("dtype", "float32")
    epochs = int(cfg["tta_epochs"] or preset.get("epochs", 10))
    train_keys = set(glassnet.TrainConfig.field_names())
    settings = {k: v for k, v in preset.items() if k in train_keys}
    settings["epochs"] = epochs
    sizes = [784, *hidden, 10]
    n_train = cfg["tta_train_samples"] or len(data["train_labels"])
    res: dict[str, Any] = {
        "preset": preset,
        "epochs": epochs,
        "thresholds": THRESHOLDS,
        "train_samples": n_train,
        "budget_seconds_others": cfg["tta_budget_seconds"],
        "network": f"{'-'.join(map(str, sizes))} {activation} {dtype}",
    }
    net = glassnet_network(sizes, activation, dtype, preset.get("initializer"))
    res["glassnet"] = tta_glassnet(net, data, n_train, settings)
    config = glassnet.TrainConfig(**settings)
    res["schedule"] = f"{config.schedule}" + (
        f" after {config.warmup_epochs:g} warm-up epochs" if config.warmup_epochs else ""
    )
    unmirrored = [k for k in UNMIRRORED if k in preset and preset[k] not in (0, 0.0)]
    if unmirrored:
        res["not_compared"] = (
            f"preset settings {unmirrored} are not mirrored in the other libraries"
        )
        return res
    race = Race(
        sizes=sizes,
        activation=activation,
        dtype=dtype,
        initializer=preset.get("initializer"),
        settings=settings,
        config=config,
        schedule=config.make_schedule(-(-n_train // config.batch_size)),
        budget=cfg["tta_budget_seconds"],
        X=std.transform(data["train_images"][:n_train], dtype),
        y=data["train_labels"][:n_train],
        Xt=std.transform(data["test_images"], dtype),
        yt=data["test_labels"],
    )
    if have("torch"):
        res["pytorch"] = tta_pytorch(race)
    if have("sklearn"):
        res["scikit-learn"] = tta_sklearn(race, hidden)
    return res


def crossings(seconds: list[float], accuracy: list[float]) -> dict[str, Any]:
    """Per-epoch seconds and accuracy, and the training seconds to the first epoch at each mark."""
    out: dict[str, Any] = {
        "seconds_per_epoch": seconds,
        "test_accuracy": accuracy,
        "epochs_run": len(seconds),
    }
    for thr in THRESHOLDS:
        hit = next((i for i, a in enumerate(accuracy) if a >= thr), None)
        out[f"{thr:.2f}"] = (
            None if hit is None else {"seconds": float(sum(seconds[: hit + 1])), "epoch": hit + 1}
        )
    return out


def tta_glassnet(
    net: glassnet.Network, data: dict[str, Any], n_train: int, settings: dict[str, Any]
) -> dict[str, Any]:
    """glassnet: one fit call with test data; History's per-epoch seconds exclude evaluation."""
    t0 = time.perf_counter()
    history = net.fit(
        data["train_images"][:n_train],
        data["train_labels"][:n_train],
        test_data=(data["test_images"], data["test_labels"]),
        progress=False,
        **settings,
    )
    out = crossings(history.column("seconds"), history.column("test_accuracy"))
    out["wall_seconds_including_evaluation"] = time.perf_counter() - t0
    return out


def fastest_torch_threads(race: Race) -> int:
    """PyTorch's faster thread count (its default or 1) on a short probe of the race's steps."""
    import torch

    probe: dict[int, float] = {}
    for threads in torch_thread_counts():
        torch.set_num_threads(threads)
        m = torch_model(race.sizes, race.activation, race.dtype)
        tr = TorchTrainer(
            m,
            torch_optimizer(m, race.optimizer, race.lr, race.settings),
            race.X,
            race.y,
            race.settings["batch_size"],
        )
        tr.epoch(max_batches=20)
        probe[threads] = min(tr.epoch(max_batches=100) for _ in range(2))
    return min(probe, key=lambda k: probe[k])


def tta_pytorch(race: Race) -> dict[str, Any]:
    """PyTorch at its faster thread count, from glassnet's initial weights, epoch by epoch."""
    import torch

    default_threads = torch.get_num_threads()
    threads = fastest_torch_threads(race)
    torch.set_num_threads(threads)
    init = glassnet_network(race.sizes, race.activation, race.dtype, race.initializer)
    model = torch_model(race.sizes, race.activation, race.dtype, init_from=init)
    constant = race.config.schedule == "constant" and not race.config.warmup_epochs
    trainer = TorchTrainer(
        model,
        torch_optimizer(model, race.optimizer, race.lr, race.settings),
        race.X,
        race.y,
        race.settings["batch_size"],
        schedule=None if constant else race.schedule,
    )
    secs: list[float] = []
    accs: list[float] = []
    while not secs or not race.done(secs, accs):
        secs.append(trainer.epoch())
        accs.append(trainer.accuracy(race.Xt, race.yt))
    torch.set_num_threads(default_threads)
    return dict(crossings(secs, accs), threads=threads, init="glassnet's initial weights")


def tta_sklearn(race: Race, hidden: list[int]) -> dict[str, Any]:
    """scikit-learn's MLPClassifier, its own initialization, one ``partial_fit`` per epoch."""
    lr = race.lr
    clf = sklearn_classifier(
        hidden, race.activation, race.optimizer, lr, race.settings["batch_size"], race.settings
    )
    secs: list[float] = []
    accs: list[float] = []
    while not secs or not race.done(secs, accs):
        t0 = time.perf_counter()
        if secs and hasattr(clf, "_optimizer"):
            # MLPClassifier has no per-step schedule: set the rate of the epoch's midpoint.
            clf._optimizer.learning_rate = lr * race.schedule(len(secs) + 0.5)
        elif not secs:
            clf.set_params(learning_rate_init=lr * race.schedule(0.5))
        clf.partial_fit(race.X, race.y, classes=np.arange(10))
        secs.append(time.perf_counter() - t0)
        accs.append(float(clf.score(race.Xt, race.yt)))
    return dict(
        crossings(secs, accs),
        init="scikit-learn's own (Glorot)",
        coef_dtype=str(clf.coefs_[0].dtype),
    )
