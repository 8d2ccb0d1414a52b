"""``glassnet export``: a saved model as an ONNX file, to run where glassnet is not installed."""

from __future__ import annotations

import argparse
import sys
from typing import Any

EPILOG = """\
examples:
  glassnet export runs/<run>/model.safetensors --onnx mnist.onnx
  glassnet export model.safetensors --onnx model.onnx --no-check

The ONNX file takes raw pixels, input 'pixels' of shape (n, 784) as float32 for MNIST, and gives
'probabilities' (n, 10) and 'predicted_class' (n,); it standardizes the pixels itself. Before
writing, glassnet checks the graph and, where onnxruntime is installed, runs it beside glassnet on
256 inputs: a file whose probabilities differ by more than 1e-5 is not written. Needs the onnx
package: pip install "glassnet[onnx]".
"""


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "export",
        help="write a saved model as an ONNX file, to run without glassnet",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL", help="a model file written by glassnet train")
    p.add_argument(
        "--onnx",
        metavar="OUT",
        required=True,
        help="the ONNX file to write (replaced if it exists)",
    )
    p.add_argument(
        "--no-check",
        action="store_true",
        help="write without running the graph in onnxruntime first",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from glassnet import load
    from glassnet.export.onnx import export_onnx, require_onnx
    from glassnet.export.output import same_file

    if same_file(args.model, args.onnx):
        return usage_error("export", f"--onnx {args.onnx} is the model file itself; choose another")
    require_onnx()  # say how to install it before reading anything
    network = load(args.model)
    result = export_onnx(network, args.onnx, check=not args.no_check)
    sizes = "-".join(map(str, network.layer_sizes))
    print(
        f"wrote {result.path} ({sizes} {network.activation}, ONNX opset {result.opset}, "
        f"{result.n_bytes:,} bytes)"
    )
    if result.max_difference is not None:
        print(
            f"checked: onnxruntime's probabilities match glassnet's to {result.max_difference:.1g} "
            f"on {result.checked_rows} inputs"
        )
    elif not args.no_check:
        print('not run: onnxruntime is not installed (pip install "glassnet[onnx]")')
    return 0


def usage_error(command: str, message: str) -> int:
    """Report a bad combination of options as argparse does (one line, exit status 2)."""
    print(f"glassnet {command}: error: {message}", file=sys.stderr)
    return 2
