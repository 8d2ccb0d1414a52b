"""The compiled resampling of :func:`glassnet.augment.warp` (Numba, the ``fast`` extra).

One pass per output pixel: where its source lies, and the bilinear mix of the four pixels around it.
It releases the GIL, so a helper thread makes an epoch's images while another trains.
"""

from __future__ import annotations

import math

from numba import njit


@njit(cache=True, nogil=True)
def warp_bilinear(images, inverse, offsets, fields, out):  # type: ignore[no-untyped-def, unused-ignore]
    """``out[k, i, j]``: ``images[k]`` read bilinearly (zero outside) at
    ``c + inverse[k] (p − c) − offsets[k] + fields[k, :, i, j]`` for ``p = (i, j)``; ``fields`` may
    have no images (none)."""
    n, height, width = images.shape
    cy, cx = (height - 1) / 2.0, (width - 1) / 2.0
    has_fields = fields.shape[0] > 0
    for k in range(n):
        a00, a01 = inverse[k, 0, 0], inverse[k, 0, 1]
        a10, a11 = inverse[k, 1, 0], inverse[k, 1, 1]
        oy, ox = cy - offsets[k, 0], cx - offsets[k, 1]
        for i in range(height):
            y = i - cy
            for j in range(width):
                x = j - cx
                sy = a00 * y + a01 * x + oy
                sx = a10 * y + a11 * x + ox
                if has_fields:
                    sy = sy + fields[k, 0, i, j]
                    sx = sx + fields[k, 1, i, j]
                sy = min(max(sy, -2.0), height + 1.0)
                sx = min(max(sx, -2.0), width + 1.0)
                y0, x0 = math.floor(sy), math.floor(sx)
                fy, fx = sy - y0, sx - x0
                iy, ix = int(y0), int(x0)
                p00 = p01 = p10 = p11 = 0.0
                if 0 <= iy < height:
                    if 0 <= ix < width:
                        p00 = images[k, iy, ix]
                    if 0 <= ix + 1 < width:
                        p01 = images[k, iy, ix + 1]
                if 0 <= iy + 1 < height:
                    if 0 <= ix < width:
                        p10 = images[k, iy + 1, ix]
                    if 0 <= ix + 1 < width:
                        p11 = images[k, iy + 1, ix + 1]
                out[k, i, j] = (1.0 - fy) * ((1.0 - fx) * p00 + fx * p01) + fy * (
                    (1.0 - fx) * p10 + fx * p11
                )
