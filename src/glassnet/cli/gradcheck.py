"""``glassnet gradcheck``: backpropagation against central differences, layer by layer."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from glassnet.cli import options
from glassnet.cli.options import MAX_SECONDS, WARN_SECONDS, duration
from glassnet.errors import InputError

EPILOG = """\
examples:
  glassnet gradcheck                                   every activation, hidden layers 7,6,5
  glassnet gradcheck --activation relu --hidden 16,16,16,16

The check runs in float64. It passes when every layer's relative error is below 1e-7 for the smooth
activations (sigmoid, tanh) and 1e-5 for the ReLUs, whose kink at zero a finite difference can
straddle. The exit status is 1 if any layer fails.
"""

TOLERANCE = {"sigmoid": 1e-7, "tanh": 1e-7, "relu": 1e-5, "leaky_relu": 1e-5}


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "gradcheck",
        help="check backprop's gradients against central differences",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--activation", choices=["all", *TOLERANCE], default="all")
    p.add_argument(
        "--hidden",
        type=options.layer_sizes,
        default=[7, 6, 5],
        metavar="SIZES",
        help="hidden layer sizes (default: 7,6,5)",
    )
    p.add_argument(
        "--inputs", type=options.positive_int, default=8, help="input features (default 8)"
    )
    p.add_argument("--classes", type=options.positive_int, default=4, help="classes (default 4)")
    p.add_argument("--batch-size", type=options.positive_int, default=5)
    p.add_argument("--seed", type=options.nonnegative_int, default=0)
    p.set_defaults(func=run)


def _check_size(layer_sizes: list[int], batch_size: int, activations: int = 1) -> float:
    """Refuse a check too big to finish or to fit: it evaluates the loss twice per parameter,
    each time through every layer. Returns the estimated seconds."""
    from glassnet import memory
    from glassnet.gradcheck import check_seconds

    n = memory.n_parameters(layer_sizes)
    seconds = check_seconds(layer_sizes, batch_size, activations)
    if seconds > MAX_SECONDS:
        which = f" for each of {activations} activations" if activations > 1 else ""
        raise InputError(
            f"a gradient check of {n:,} parameters in {len(layer_sizes) - 1:,} layers (--inputs, "
            f"--hidden, --classes) at batch {batch_size:,} (--batch-size) evaluates the loss "
            f"{2 * n:,} times{which}: about {duration(seconds)}, over the "
            f"{duration(MAX_SECONDS)} allowed; check a smaller network, a smaller batch or one "
            "--activation"
        )
    sizes = "-".join(map(str, layer_sizes))
    needed = memory.network_bytes(layer_sizes, 8) + 8 * 4 * batch_size * sum(layer_sizes)
    memory.ensure_fits(needed, f"a gradient check of the network {sizes} at batch {batch_size}")
    return seconds


def run(args: argparse.Namespace) -> int:
    from glassnet.gradcheck import gradcheck_network

    if args.classes < 2:
        raise InputError("--classes must be at least 2 for a softmax output")
    names = list(TOLERANCE) if args.activation == "all" else [args.activation]
    layer_sizes = [args.inputs, *args.hidden, args.classes]
    seconds = _check_size(layer_sizes, args.batch_size, len(names))
    sizes = "-".join(map(str, layer_sizes))
    if len(sizes) > 80:
        sizes = f"of {len(layer_sizes) - 1:,} layers ({sizes[:40]}...{sizes[-20:]})"
    print(f"network {sizes}, batch of {args.batch_size}, float64, central differences h=1e-5")
    if seconds > WARN_SECONDS:
        print(
            f"glassnet gradcheck: this takes about {duration(seconds)} (the loss is evaluated "
            f"twice per parameter, {len(names)} time(s) over)",
            file=sys.stderr,
            flush=True,
        )
    failed = False
    for name in names:
        checks = gradcheck_network(
            name,
            args.hidden,
            n_inputs=args.inputs,
            n_classes=args.classes,
            batch_size=args.batch_size,
            seed=args.seed,
        )
        worst = max(c.relative_error for c in checks)
        ok = worst < TOLERANCE[name]
        failed |= not ok
        print(
            f"\n{name}: max relative error {worst:.2e} "
            f"({'pass' if ok else 'FAIL'}, tolerance {TOLERANCE[name]:.0e})"
        )
        for c in checks:
            print(
                f"  layer {c.layer} {c.kind:<8} relative error {c.relative_error:.2e}  "
                f"max |difference| {c.max_abs_difference:.2e}"
            )
    return 1 if failed else 0
