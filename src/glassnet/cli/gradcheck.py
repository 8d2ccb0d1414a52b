"""``glassnet gradcheck``: backpropagation against central differences, layer by layer."""

from __future__ import annotations

import argparse
from typing import Any

from glassnet.cli import options
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


#: A check that would take longer than this is refused before it starts.
MAX_SECONDS = 600.0


def _check_size(layer_sizes: list[int], batch_size: int) -> None:
    """Refuse a check too big to finish or to fit: it evaluates the loss twice per parameter."""
    from glassnet import memory

    n = memory.n_parameters(layer_sizes)
    # Each evaluation is a forward pass (2 · batch · n multiply-adds, at ~1 GFLOP/s for these
    # small products) plus ~30 µs of calls.
    seconds = 2 * n * (30e-6 + 2 * batch_size * n / 1e9)
    if seconds > MAX_SECONDS:
        raise InputError(
            f"a gradient check of {n:,} parameters (--inputs, --hidden, --classes) at batch "
            f"{batch_size:,} (--batch-size) evaluates the "
            f"loss twice per parameter: about {seconds / 3600:,.0f} hours; check a smaller network"
        )
    sizes = "-".join(map(str, layer_sizes))
    needed = memory.network_bytes(layer_sizes, 8) + 8 * 4 * batch_size * sum(layer_sizes)
    memory.ensure_fits(needed, f"a gradient check of the network {sizes} at batch {batch_size}")


def run(args: argparse.Namespace) -> int:
    from glassnet.gradcheck import gradcheck_network

    if args.classes < 2:
        raise InputError("--classes must be at least 2 for a softmax output")
    _check_size([args.inputs, *args.hidden, args.classes], args.batch_size)
    names = list(TOLERANCE) if args.activation == "all" else [args.activation]
    sizes = "-".join(map(str, [args.inputs, *args.hidden, args.classes]))
    print(f"network {sizes}, batch of {args.batch_size}, float64, central differences h=1e-5")
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
