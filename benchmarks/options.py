"""Every optimizer and training option on the post's network, glassnet beside PyTorch.

The post's network (784-50x6-10 sigmoid, N(0, 1) weights, batches of 10) on the first 20,000 MNIST
training images, in float32 and float64, one row per option: SGD, momentum, Nesterov, RMSprop, Adam,
AdamW, and SGD with weight decay, with gradient clipping and with dropout, each alone. Contenders:

- glassnet's compiled engine and NumPy engine, through ``Network.fit(epochs=2)`` as
  ``benchmarks/run.py`` times them (the second epoch, scaled to 60,000 images, its once-per-epoch
  work counted once);
- PyTorch's ``torch.optim`` from the same weights: every implementation it has for the option
  (``foreach``, and ``fused`` where it exists) on 1 and on 2 threads; the table gives the fastest,
  and names it. Clipping is ``clip_grad_norm_`` (foreach), dropout ``nn.Dropout`` after every
  hidden layer, weight decay the optimizer's own (PyTorch decays biases too: the same work);
- the reference (``glassnet.reference``, the post's code with the same optimizer), on fewer steps.

Every contender of a dtype runs once per round, interleaved (``harness.interleaved``), so load from
other programs slows them alike; the ratios to SGD are medians of per-round ratios. ::

    python benchmarks/options.py [--rounds 5] [--dtypes float32 float64] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from contenders import TorchTrainer, glassnet_contender, reference_contender, torch_model
from harness import EPOCH, HERE, Clock, Timed, find_data_dir, interleaved, load_mnist, machine_info

from glassnet import Network
from glassnet.engine import available_engines
from glassnet.reference import Optimizer as TextbookOptimizer
from glassnet.reference import ReferenceNetwork, one_hot_columns

SIZES = [784] + [50] * 6 + [10]
BATCH = 10
#: option: (optimizer, learning rate, glassnet's settings besides)
OPTIONS: dict[str, tuple[str, float, dict[str, Any]]] = {
    "sgd": ("sgd", 0.002, {}),
    "momentum": ("momentum", 0.002, {"momentum": 0.9}),
    "nesterov": ("nesterov", 0.002, {"momentum": 0.9}),
    "rmsprop": ("rmsprop", 0.001, {}),
    "adam": ("adam", 0.001, {}),
    "adamw": ("adamw", 0.001, {"weight_decay": 0.01}),
    "sgd + weight decay": ("sgd", 0.002, {"weight_decay": 1e-4}),
    "sgd + clipping": ("sgd", 0.002, {"clip_norm": 1.0}),
    "sgd + dropout": ("sgd", 0.002, {"dropout": 0.2}),
}
TORCH_BATCHES, REFERENCE_BATCHES = 400, 400


def torch_optimizer(model: Any, option: str, implementation: str) -> Any:
    import torch

    name, lr, settings = OPTIONS[option]
    flag = {implementation: True}
    wd = float(settings.get("weight_decay", 0.0))
    params = model.parameters()
    if name in ("sgd", "momentum", "nesterov"):
        momentum = 0.9 if name != "sgd" else 0.0
        return torch.optim.SGD(
            params, lr=lr, momentum=momentum, nesterov=name == "nesterov", weight_decay=wd, **flag
        )
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=0.9, eps=1e-8, weight_decay=wd, **flag)
    cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW
    return cls(params, lr=lr, weight_decay=wd, **flag)


class OptionTrainer(TorchTrainer):
    """PyTorch's loop, with clipping when the option has it."""

    clip = 0.0

    def epoch(self, max_batches: int | None = None) -> float:
        if not self.clip:
            return super().epoch(max_batches)
        torch = self.torch
        t0 = time.perf_counter()
        perm = torch.randperm(len(self.X), generator=self.generator)
        X, y = self.X[perm], self.y[perm]
        bs = self.batch_size
        n = len(X) if max_batches is None else min(len(X), max_batches * bs)
        params = list(self.model.parameters())
        for lo in range(0, n, bs):
            self.optimizer.zero_grad(set_to_none=True)
            self.loss(self.model(X[lo : lo + bs]), y[lo : lo + bs]).backward()
            torch.nn.utils.clip_grad_norm_(params, self.clip, foreach=True)
            self.optimizer.step()
        return time.perf_counter() - t0


def torch_contender(
    option: str, implementation: str, threads: int, net: Network, X: Any, y: Any, dtype: str
) -> Timed:
    import torch

    _, _, settings = OPTIONS[option]
    model = torch_model(SIZES, "sigmoid", dtype, init_from=net)
    if settings.get("dropout"):
        layers: list[Any] = []
        for layer in model:
            layers.append(layer)
            if isinstance(layer, torch.nn.Sigmoid):
                layers.append(torch.nn.Dropout(settings["dropout"]))
        model = torch.nn.Sequential(*layers)
    trainer = OptionTrainer(model, torch_optimizer(model, option, implementation), X, y, BATCH)
    trainer.clip = float(settings.get("clip_norm", 0.0))

    def run() -> tuple[float, float]:
        torch.set_num_threads(threads)
        clock = Clock()
        trainer.epoch(max_batches=TORCH_BATCHES)
        return clock.stop(EPOCH / min(len(X), TORCH_BATCHES * BATCH))

    def warmup() -> None:
        torch.set_num_threads(threads)
        trainer.epoch(max_batches=20)

    return Timed(run, warmup, TORCH_BATCHES)


def torch_implementations(option: str) -> list[str]:
    name = OPTIONS[option][0]
    return ["foreach"] if name == "rmsprop" else ["foreach", "fused"]


def contenders_for(dtype: str, data: dict[str, Any], std: Any, n: int) -> dict[str, Timed]:
    rows, labels = data["train_images"][:n], data["train_labels"][:n]
    X = std.transform(rows, dtype)
    out: dict[str, Timed] = {}
    start = Network(SIZES, "sigmoid", initializer="normal", seed=0, dtype=dtype)
    for option, (name, lr, settings) in OPTIONS.items():
        fit_settings = {"optimizer": name, "learning_rate": lr, **settings}
        for engine in available_engines():
            net = Network(SIZES, "sigmoid", initializer="normal", seed=0, dtype=dtype)
            out[f"{option}|{engine}"] = glassnet_contender(
                net, rows, labels, BATCH, engine=engine, **fit_settings
            )
        try:
            import torch  # noqa: F401
        except ImportError:
            pass
        else:
            for implementation in torch_implementations(option):
                for threads in (1, 2):
                    out[f"{option}|pytorch {implementation} {threads}t"] = torch_contender(
                        option, implementation, threads, start, X[: TORCH_BATCHES * BATCH],
                        labels[: TORCH_BATCHES * BATCH], dtype,
                    )  # fmt: skip
        ref = ReferenceNetwork(SIZES, "sigmoid", initializer="normal", seed=0, dtype=dtype)
        m = REFERENCE_BATCHES * BATCH
        Xc, Yc = np.ascontiguousarray(X[:m].T), one_hot_columns(labels[:m], 10, dtype)
        out[f"{option}|reference"] = reference_option(ref, Xc, Yc, option)
    return out


def reference_option(ref: ReferenceNetwork, Xc: Any, Yc: Any, option: str) -> Timed:
    name, lr, settings = OPTIONS[option]
    textbook = None
    if name != "sgd" or settings.get("weight_decay"):
        textbook = TextbookOptimizer(
            name, momentum=0.9, rho=0.9, weight_decay=float(settings.get("weight_decay", 0.0))
        )
    if textbook is None and not settings.get("dropout") and not settings.get("clip_norm"):
        return reference_contender(ref, Xc, Yc, BATCH, lr)
    rng = np.random.default_rng(0)
    scale = EPOCH / Xc.shape[1]
    extra = {"dropout": settings.get("dropout", 0.0), "clip_norm": settings.get("clip_norm", 0.0)}

    def run() -> tuple[float, float]:
        clock = Clock()
        ref.train_epoch(Xc, Yc, BATCH, lr, rng, textbook, **extra)
        return clock.stop(scale)

    def warmup() -> None:
        ref.train_epoch(Xc, Yc, BATCH, lr, rng, textbook, max_batches=20, **extra)

    return Timed(run, warmup, Xc.shape[1] // BATCH)


def summarize(times: dict[str, dict[str, list[float]]]) -> dict[str, Any]:
    """Per option: each contender's median, PyTorch's fastest, and per-round ratios."""
    options: dict[str, Any] = {}
    for option in OPTIONS:
        mine = {
            k.split("|", 1)[1]: v["wall"] for k, v in times.items() if k.startswith(option + "|")
        }
        row: dict[str, Any] = {name: statistics.median(v) for name, v in mine.items()}
        row["runs"] = mine
        torch_names = [k for k in mine if k.startswith("pytorch")]
        if torch_names:
            best = min(torch_names, key=lambda k: row[k])
            row["pytorch_best"] = best
            row["pytorch"] = row[best]
        options[option] = row
    for row in options.values():
        for engine in available_engines():
            sgd = options["sgd"]["runs"][engine]
            row[f"{engine}_over_sgd"] = statistics.median(
                a / b for a, b in zip(row["runs"][engine], sgd, strict=True)
            )
            if "pytorch" in row:
                best = row["runs"][row["pytorch_best"]]
                row[f"pytorch_over_{engine}"] = statistics.median(
                    a / b for a, b in zip(best, row["runs"][engine], strict=True)
                )
    return options


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"Command: `{results['command']}`; {results['cpu']}, {results['cores']} cores; "
        f"{results['date']}. Seconds per epoch of 60,000 images (median of {results['rounds']} "
        "interleaved rounds); ratios are medians of per-round ratios.",
        "",
    ]
    for dtype, options in results["dtypes"].items():
        lines += [
            f"**{dtype}**",
            "",
            "| option | compiled | ×SGD | NumPy | ×SGD | PyTorch (fastest) | PyTorch ÷ compiled "
            "| PyTorch ÷ NumPy | reference |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for option, row in options.items():
            torch_cell = (
                f"{row['pytorch']:.2f} s ({row['pytorch_best'][8:]})" if "pytorch" in row else "—"
            )
            lines.append(
                f"| {option} | {row.get('numba', float('nan')):.3f} s "
                f"| {row.get('numba_over_sgd', float('nan')):.2f}x "
                f"| {row['numpy']:.3f} s | {row['numpy_over_sgd']:.2f}x | {torch_cell} "
                f"| {row.get('pytorch_over_numba', float('nan')):.1f}x "
                f"| {row.get('pytorch_over_numpy', float('nan')):.1f}x | {row['reference']:.2f} s |"
            )
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--data-dir")
    parser.add_argument("--out", default=str(HERE / "results" / "options.json"))
    args = parser.parse_args()
    from glassnet.preprocess import Standardizer

    data, _ = load_mnist(find_data_dir(args.data_dir))
    std = Standardizer.fit(data["train_images"])
    info = machine_info()
    results: dict[str, Any] = {
        "command": "python benchmarks/options.py " + " ".join(sys.argv[1:]),
        "cpu": info["cpu_model"],
        "cores": info["cpus_available"],
        "date": info["date"],
        "rounds": args.rounds,
        "images": args.images,
        "load_average_start": list(np.round(__import__("os").getloadavg(), 2)),
        "dtypes": {},
    }
    for dtype in args.dtypes:
        print(f"{dtype} ...", file=sys.stderr, flush=True)
        contenders = contenders_for(dtype, data, std, args.images)
        results["dtypes"][dtype] = summarize(interleaved(contenders, args.rounds))
        # written after each dtype, so that a run cut short keeps what it measured
        results["load_average_end"] = list(np.round(__import__("os").getloadavg(), 2))
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=1, default=float))
        print(markdown(results), flush=True)


if __name__ == "__main__":
    main()
