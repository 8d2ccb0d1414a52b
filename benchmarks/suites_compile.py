"""What the compiled engine costs before it trains: compiling its kernels, once per machine.

Two fresh Python processes share an empty Numba cache folder. The first compiles every kernel in
both dtypes (:meth:`NumbaEngine.check`) and writes the cache; the second loads them from it. Each
figure is the time from the engine's import to its kernels being ready, and the count of kernels
the second process had to compile again (none, when the cache works).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from typing import Any

PROBE = """
import json, time
t = time.perf_counter()
from glassnet.engine.numba import NumbaEngine
from glassnet.engine import kernels
NumbaEngine.check()
seconds = time.perf_counter() - t
misses = sum(sum(f.stats.cache_misses.values()) for f in
             (kernels.train_steps, kernels.forward, kernels.backward))
print(json.dumps({"seconds": seconds, "kernels_compiled": misses}))
"""


def bench_compile() -> dict[str, Any]:
    """Cold (empty cache) and warm (cache written by the cold run) start of the compiled engine."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        runs = []
        for _ in range(2):
            done = subprocess.run(
                [sys.executable, "-c", PROBE],
                env=env,
                capture_output=True,
                text=True,
                check=True,
                timeout=900,
            )
            runs.append(json.loads(done.stdout))
    return {"cold": runs[0], "warm": runs[1]}
