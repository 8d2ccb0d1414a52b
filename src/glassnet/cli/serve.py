"""``glassnet serve``: a local web page to draw digits and watch a saved model read them."""

from __future__ import annotations

import argparse
import os
import sys
import threading
from typing import Any

from glassnet.cli import options

EPILOG = """\
examples:
  glassnet serve runs/<run>/model.safetensors         opens the page in your browser
  glassnet serve model.safetensors --port 8000 --no-browser
  glassnet serve model.safetensors --host 0.0.0.0     other machines too (no password!)

Draw a digit with the mouse, a pen or a finger; the bars show the ten class probabilities as
you draw, next to the 28x28 image the network reads and its hidden layers' activations. Below,
the backward pass for the label you pick (click a bar; by default the prediction): each layer's
delta, the size of each layer's gradient and the first layer's weight gradient as images. "Learn
this" takes one gradient step on your drawing in the page's own copy of the network, kept in the
server's memory only (the model file never changes); "Reset" goes back to the model.

The server listens on 127.0.0.1 only, unless --host says otherwise, and refuses requests made by
other web sites. Stop it with Ctrl-C. The page needs nothing from the internet.
"""


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "serve",
        help="a web page to draw digits for a saved model",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL", help="a model file written by glassnet train")
    add_server_options(p)
    p.set_defaults(func=run)


def add_server_options(p: argparse.ArgumentParser) -> None:
    """--host, --port and --no-browser, as every command that serves a page takes them."""
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this machine only)",
    )
    p.add_argument(
        "--port", type=port_number, default=0, help="port to listen on (default: 0, any free port)"
    )
    p.add_argument("--no-browser", action="store_true", help="do not open the page in a browser")


def port_number(text: str) -> int:
    """A TCP port, 0..65535 (0: any free port)."""
    value = options.nonnegative_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 0 to 65535, got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    from glassnet import load
    from glassnet.web.server import (
        check_network,
        is_loopback_host,
        require_web,
        serve,
        warn_if_exposed,
    )

    require_web()  # a clear message before the model is even read
    from glassnet.runs import open_run_file

    open_run_file(args.model).close()  # a pipe would be waited on for ever
    network = load(args.model)
    check_network(network)
    warn_if_exposed(args.host)

    def ready(url: str) -> None:
        print(f"serving on {url}", flush=True)
        print("press Ctrl-C to stop", file=sys.stderr, flush=True)
        if not args.no_browser:
            port = url.rsplit(":", 1)[1]
            local = url if is_loopback_host(args.host) else f"http://127.0.0.1:{port}"
            open_browser(local)

    serve(network, host=args.host, port=args.port, ready_callback=ready)
    return 0


def open_browser(url: str) -> None:
    """Open ``url`` in a graphical browser, if there is one; never block the server."""
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return  # no desktop: a text-mode browser would take over the terminal
    import webbrowser

    threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
