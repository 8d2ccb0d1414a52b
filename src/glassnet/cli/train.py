"""``glassnet train``: train a network, test it, and keep everything in a run folder."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

from glassnet.cli import options
from glassnet.presets import PRESETS, get_preset

EPILOG = """\
examples:
  glassnet train                                  the default: MNIST, 784-256-10 ReLU, plain SGD
  glassnet train --preset seed --epochs 20        the post's network, first 20 of its 1000 epochs
  glassnet train --preset best --dataset fashion-mnist
  glassnet train --hidden 128,64 --activation tanh --learning-rate 0.05 --epochs 5
  glassnet train --config runs/<run>/settings.toml    repeat a run exactly
  glassnet train --resume runs/<run>              continue an interrupted run

Settings are taken in this order, later ones winning: the preset (default: 'default'), the --config
file, then the options given here. Every run writes a folder (under --runs-dir, or --out) holding
settings.toml, history.json/.csv and model.safetensors; Ctrl-C saves a checkpoint to resume from.
"""

#: Settings that describe the data and the network rather than the training loop.
RUN_SETTINGS = (
    "preset",
    "dataset",
    "data_dir",
    "hidden",
    "activation",
    "initializer",
    "dtype",
    "train_limit",
)


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a network and save it",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--preset", choices=sorted(PRESETS), help="a named recipe (default: default)")
    p.add_argument(
        "--config", metavar="FILE", help="a settings file (TOML), e.g. a run's settings.toml"
    )
    p.add_argument(
        "--resume", metavar="RUN", help="continue the run in this folder from its checkpoint"
    )
    g = p.add_argument_group("data")
    g.add_argument("--dataset", help="mnist or fashion-mnist (default: mnist)")
    g.add_argument("--data-dir", metavar="DIR", help="folder holding the four IDX files")
    g.add_argument(
        "--train-limit",
        type=options.positive_int,
        metavar="N",
        help="train on the first N training images only",
    )
    g = p.add_argument_group("network")
    g.add_argument(
        "--hidden",
        type=options.layer_sizes,
        metavar="SIZES",
        help="hidden layer sizes, comma-separated, e.g. 50,50,50",
    )
    g.add_argument("--activation", choices=["sigmoid", "tanh", "relu", "leaky_relu"])
    g.add_argument(
        "--initializer",
        choices=["normal", "glorot", "he"],
        help="normal is the post's N(0,1); default glorot for sigmoid/tanh, he for relu",
    )
    g.add_argument("--dtype", choices=["float32", "float64"], help="default: float32")
    g = p.add_argument_group("training")
    g.add_argument("--epochs", type=options.positive_int)
    g.add_argument("--batch-size", type=options.positive_int)
    g.add_argument("--learning-rate", "--lr", type=options.positive_float, dest="learning_rate")
    g.add_argument(
        "--optimizer", choices=["sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw"]
    )
    g.add_argument("--momentum", type=options.fraction(0.999999))
    g.add_argument("--beta1", type=options.fraction(0.999999))
    g.add_argument("--beta2", type=options.fraction(0.999999))
    g.add_argument(
        "--weight-decay",
        type=options.nonnegative_float,
        help="L2 penalty on weights (decoupled for adamw); never on biases",
    )
    g.add_argument(
        "--dropout", type=options.fraction(0.95), help="drop probability of hidden units"
    )
    g.add_argument(
        "--clip-norm",
        type=options.nonnegative_float,
        help="clip the global gradient norm to this (0: off)",
    )
    g.add_argument("--schedule", choices=["constant", "step", "exponential", "cosine"])
    g.add_argument("--warmup-epochs", type=options.nonnegative_float)
    g.add_argument(
        "--step-epochs", type=options.positive_float, help="step schedule: epochs per step"
    )
    g.add_argument("--gamma", type=options.fraction(1.0), help="step/exponential decay factor")
    g.add_argument(
        "--lr-floor", type=options.fraction(1.0), help="cosine: final fraction of the rate"
    )
    g.add_argument(
        "--validation-split",
        type=options.fraction(0.9),
        help="fraction of the training set held out for validation",
    )
    g.add_argument(
        "--patience",
        type=options.nonnegative_int,
        help="stop after this many epochs without a better validation loss",
    )
    g.add_argument(
        "--augment-shift",
        type=options.nonnegative_int,
        metavar="PIXELS",
        help="shift training images by up to this many pixels each epoch",
    )
    g.add_argument("--seed", type=options.nonnegative_int)
    g = p.add_argument_group("output")
    g.add_argument("--out", metavar="DIR", help="the run folder (default: RUNS_DIR/<time>-<label>)")
    g.add_argument(
        "--runs-dir",
        metavar="DIR",
        default=None,
        help="where run folders go (default: $GLASSNET_RUNS_DIR or ./runs)",
    )
    g.add_argument("--plots", action="store_true", help="draw the run's plots when training ends")
    g.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="per-layer gradient norms and saturated units after every epoch",
    )
    g.add_argument("-q", "--quiet", action="store_true", help="no per-epoch lines, no progress bar")
    p.set_defaults(func=run)


def resolve_settings(args: argparse.Namespace) -> dict[str, Any]:
    """Preset, then config file, then command-line options: one flat dictionary of settings."""
    from glassnet.runs import read_settings
    from glassnet.training import TrainConfig

    config: dict[str, Any] = read_settings(args.config) if args.config else {}
    known = set(RUN_SETTINGS) | set(TrainConfig.field_names())
    check_run_settings(dict(config), args.config or "settings")
    preset = args.preset or config.get("preset") or "default"
    settings: dict[str, Any] = {
        "preset": preset,
        "dataset": "mnist",
        "dtype": "float32",
        "validation_split": 0.0,
    }
    settings.update(get_preset(preset))
    settings.update(config)
    settings["preset"] = preset
    for name in known:
        value = getattr(args, name, None)
        if value is not None:
            settings[name] = value
    return check_run_settings(settings, args.config or "settings")


def check_run_settings(settings: dict[str, Any], source: str) -> dict[str, Any]:
    """Check the settings that describe data and network (``TrainConfig`` checks the rest).

    Values from a settings file get the same checks as command-line options, each failure a
    ``ValueError`` naming the file and the setting.
    """
    from glassnet.activations import ACTIVATIONS
    from glassnet.initializers import INITIALIZERS
    from glassnet.training import TrainConfig

    known = set(RUN_SETTINGS) | set(TrainConfig.field_names())
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ValueError(
            f"{source}: unknown setting {unknown[0]!r}; known settings are "
            f"{', '.join(sorted(known))}"
        )

    def bad(key: str, expected: str) -> ValueError:
        return ValueError(f"{source}: setting {key} must be {expected}, got {settings[key]!r}")

    hidden = settings.get("hidden", [])
    if isinstance(hidden, str):
        try:
            hidden = options.layer_sizes(hidden)
        except argparse.ArgumentTypeError as exc:
            raise ValueError(f"{source}: setting hidden: {exc}") from None
    if not isinstance(hidden, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in hidden
    ):
        raise bad("hidden", "a list of positive whole numbers, like [128, 64]")
    settings["hidden"] = hidden
    for key, choices in (
        ("preset", PRESETS),
        ("activation", ACTIVATIONS),
        ("dtype", ("float32", "float64")),
    ):
        if key in settings and settings[key] not in choices:
            raise bad(key, "one of " + ", ".join(choices))
    if settings.get("initializer") is not None and settings["initializer"] not in INITIALIZERS:
        raise bad("initializer", "one of " + ", ".join(INITIALIZERS))
    if not isinstance(settings.get("dataset", ""), str):
        raise bad("dataset", "a dataset name, like mnist")
    if settings.get("data_dir") is not None and not isinstance(settings["data_dir"], str):
        raise bad("data_dir", "a folder name")
    limit = settings.get("train_limit")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise bad("train_limit", "a whole number >= 1")
    return settings


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from glassnet import checkpoint, datasets, runs
    from glassnet.network import Network
    from glassnet.training import TrainConfig, TrainingInterrupted, train

    resume_state = None
    if args.resume:
        run_dir = Path(args.resume)
        if not (run_dir / runs.SETTINGS).is_file():
            raise ValueError(f"{run_dir}: not a run folder (no {runs.SETTINGS})")
        given = [
            name
            for name in (*RUN_SETTINGS, *TrainConfig.field_names(), "config", "out", "runs_dir")
            if name not in ("epochs", "data_dir") and getattr(args, name, None) is not None
        ]
        if given:
            option = "--" + given[0].replace("_", "-")
            raise ValueError(
                f"{option} cannot change a resumed run: it continues with the settings in "
                f"{run_dir / runs.SETTINGS} (only --epochs and --data-dir may be given)"
            )
        settings = check_run_settings(
            runs.read_settings(run_dir / runs.SETTINGS), str(run_dir / runs.SETTINGS)
        )
        if args.epochs is not None:
            settings["epochs"] = args.epochs
        if args.data_dir is not None:
            settings["data_dir"] = args.data_dir
    else:
        settings = resolve_settings(args)
    train_fields = {f.name for f in fields(TrainConfig)}
    train_settings = {k: v for k, v in settings.items() if k in train_fields}
    TrainConfig(**train_settings)  # every value checked before any data is read

    data = datasets.load(settings["dataset"], data_dir=settings.get("data_dir"))
    X_train, y_train = data.train_images, data.train_labels
    if settings.get("train_limit"):
        X_train, y_train = X_train[: settings["train_limit"]], y_train[: settings["train_limit"]]
    n_inputs = int(np.prod(X_train.shape[1:]))
    network = Network(
        [n_inputs, *settings["hidden"], len(data.class_names)],
        settings["activation"],
        initializer=settings.get("initializer"),
        seed=settings.get("seed", 0),
        dtype=settings["dtype"],
        class_names=data.class_names,
    )
    settings["initializer"] = network.initializer

    if args.resume:
        resume_state = checkpoint.load_checkpoint(run_dir / runs.CHECKPOINT, network)
    else:
        run_dir = _make_run_dir(args, settings)
        runs.write_settings(run_dir, settings)
    quiet = args.quiet
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, file=sys.stderr, flush=True))
    say(
        f"glassnet: {network!r}, {network.n_parameters:,} parameters; "
        f"{len(X_train):,} training images of {data.name}; run folder {run_dir}"
    )
    if resume_state is not None:
        say(f"glassnet: resuming after epoch {resume_state.epoch}")

    last_write = [time.monotonic()]

    def keep(row: dict[str, Any], state: Any) -> None:
        # Checkpoint and history after an epoch, at most every 10 s (and always at the end).
        now = time.monotonic()
        if now - last_write[0] >= 10.0 or row["epoch"] == settings["epochs"]:
            checkpoint.save_checkpoint(run_dir / runs.CHECKPOINT, network, state)
            runs.write_history(run_dir, state.history)
            last_write[0] = now

    started = time.perf_counter()
    try:
        history = train(
            network,
            X_train,
            y_train,
            test_data=(data.test_images, data.test_labels),
            callbacks=[keep],
            verbose=0 if quiet else (2 if args.verbose else 1),
            progress=False if quiet else None,
            resume=resume_state,
            **train_settings,
        )
    except TrainingInterrupted as stop:
        if stop.state is not None and stop.state.epoch > 0:
            checkpoint.save_checkpoint(run_dir / runs.CHECKPOINT, network, stop.state)
            runs.write_history(run_dir, stop.state.history)
            print(
                f"glassnet: interrupted; epoch {stop.state.epoch} is saved. Continue with: "
                f"glassnet train --resume {run_dir}",
                file=sys.stderr,
            )
        else:
            print(
                "glassnet: interrupted before the first epoch ended; nothing to resume",
                file=sys.stderr,
            )
        return 130
    elapsed = time.perf_counter() - started

    test_accuracy = network.score(data.test_images, data.test_labels)
    network.metrics = {
        "test_accuracy": test_accuracy,
        "train_loss": history.rows[-1]["train_loss"],
        "val_accuracy": history.rows[-1]["val_accuracy"],
        "epochs": len(history.rows),
        "seconds": round(elapsed, 3),
    }
    history.test_accuracy = test_accuracy
    network.save(run_dir / runs.MODEL, settings=settings, metrics=network.metrics)
    runs.write_history(run_dir, history)
    (run_dir / runs.CHECKPOINT).unlink(missing_ok=True)
    say(f"glassnet: {history.stopped}")
    chance = 1.0 / network.n_classes
    if history.rows[-1]["train_accuracy"] < 2.0 * chance:
        print(
            f"glassnet: warning: training did not converge: training accuracy "
            f"{history.rows[-1]['train_accuracy']:.1%} is near chance ({chance:.0%}); try another "
            f"--learning-rate, more --epochs, or --initializer glorot/he",
            file=sys.stderr,
        )
    print(
        f"test accuracy {test_accuracy:.2%} ({round(test_accuracy * len(data.test_labels))}"
        f"/{len(data.test_labels)}) after {len(history.rows)} epochs in {elapsed:.1f} s; "
        f"model saved to {run_dir / runs.MODEL}"
    )
    if args.plots:
        from glassnet.plots import plot_run

        written = plot_run(run_dir)
        say(f"glassnet: {len(written)} plots in {run_dir / 'plots'}")
    return 0


def _make_run_dir(args: argparse.Namespace, settings: dict[str, Any]) -> Path:
    import os

    from glassnet.runs import new_run_dir

    if args.out:
        out = Path(args.out)
        if out.exists() and any(out.iterdir()):
            raise ValueError(f"{out}: the run folder exists and is not empty; choose another --out")
        out.mkdir(parents=True, exist_ok=True)
        return out
    root = args.runs_dir or os.environ.get("GLASSNET_RUNS_DIR") or "runs"
    return new_run_dir(root, f"{settings['dataset']}-{settings['preset']}")
