"""``glassnet watch``: a local web page that follows a run while it trains."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from glassnet.cli import options
from glassnet.cli.serve import add_server_options, open_browser
from glassnet.errors import printable

EPILOG = """\
examples:
  glassnet watch runs/<run>                      opens the page in your browser
  glassnet train --out runs/long --epochs 100 &  then, while it trains:
  glassnet watch runs/long --port 8001 --no-browser

The page shows the run's loss and accuracy curves, each layer's gradient size (on a log scale,
where a vanishing gradient shows as the first layers' curves sinking below the last's) and the
first layer's weights as 28x28 images. It updates as epochs end: training rewrites the run's
history.json and checkpoint after epochs, and the page asks for them every second. It works for a
finished run too. The server listens on 127.0.0.1 only, unless --host says otherwise, reads only
the run's files and writes nothing. Stop it with Ctrl-C. The page needs nothing from the internet.
"""


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "watch",
        help="a web page that follows a run as it trains",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run", metavar="RUN", help="a run folder (glassnet train --out, or runs/<run>)")
    p.add_argument(
        "--wait",
        type=options.nonnegative_number,
        default=30.0,
        metavar="SECONDS",
        help="how long to wait for RUN to appear, as when training has only just started "
        "(default: 30)",
    )
    add_server_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from glassnet.web.runview import wait_for_run_folder
    from glassnet.web.server import is_loopback_host, require_web, serve_run, warn_if_exposed

    require_web()  # a clear message before anything else
    folder = wait_for_run_folder(
        args.run, args.wait, lambda line: print(f"glassnet watch: {line}", file=sys.stderr)
    )
    warn_if_exposed(args.host, "watch")

    def ready(url: str) -> None:
        print(f"serving on {url}", flush=True)
        print(f"watching {printable(folder)}; press Ctrl-C to stop", file=sys.stderr, flush=True)
        if not args.no_browser:
            port = url.rsplit(":", 1)[1]
            open_browser(url if is_loopback_host(args.host) else f"http://127.0.0.1:{port}")

    serve_run(folder, host=args.host, port=args.port, ready_callback=ready)
    return 0
