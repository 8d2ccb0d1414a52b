"""Subnormal numbers flushed to zero while an engine trains.

A float32 below about 1.2e-38 (1e-308 in float64) is *subnormal*: stored with less precision so that
values can fade gradually to zero. Many x86 CPUs handle them in microcode, tens of times slower than
normal numbers. The post's own run makes them: standard-normal weights saturate its first sigmoid
layer, whose outputs ``σ(z) ≈ e^z`` then fall below the normal range for ``z < −87``, and so do the
derivatives and deltas computed from them. On an Intel Xeon its epoch grew from 1.0 s to 1.7 s as
training went on; on the AMD EPYC glassnet is measured on, subnormals cost nothing
(``docs/performance.md``).

Every engine therefore trains with the SSE control register's *flush to zero* (FTZ, bit 15: a
subnormal result becomes 0) and *denormals are zero* (DAZ, bit 6: a subnormal input reads as 0)
set, through :func:`flushing_subnormals`, which an engine's ``step`` and ``steps`` enter and which
restores the caller's floating-point state when they return. The numbers this changes are all
smaller than 1.2e-38 in size, far below what the comparison with the reference can see (a relative
1e-5 in float32), and it is what PyTorch does with ``torch.set_flush_denormal(True)``.

The control register belongs to one thread: the mode covers the thread that calls the engine, which
runs the compiled kernels, NumPy's elementwise work and, at small batches (one BLAS thread, where
the post's network trains), the matrix products too. BLAS's own worker threads, used for large
products, keep their mode. The mode is reached through the C library's ``fegetenv`` and
``fesetenv`` (glibc on x86-64, where the register's value sits at byte 28 of ``fenv_t``); on any
other platform :func:`flushing_subnormals` does nothing, and :data:`UNAVAILABLE` says why.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform
import sys
import threading

#: The SSE control register's bits: flush to zero (15) and denormals are zero (6).
FTZ, DAZ = 1 << 15, 1 << 6
FLUSH = FTZ | DAZ
_ENV_BYTES, _MXCSR_OFFSET = 32, 28  # glibc's fenv_t on x86-64: the x87 environment, then MXCSR


def _load() -> tuple[ctypes.CDLL | None, str]:
    """The C library with ``fegetenv``/``fesetenv``, or None and why not."""
    machine = platform.machine().lower()
    if machine not in ("x86_64", "amd64"):
        return None, f"no SSE control register on {machine or 'this machine'}"
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return None, "the floating-point environment's layout is known for glibc on Linux only"
    try:
        libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
        libm.fegetenv.argtypes = libm.fesetenv.argtypes = [ctypes.c_void_p]
        libm.fegetenv.restype = libm.fesetenv.restype = ctypes.c_int
    except (OSError, AttributeError) as exc:
        return None, f"the C library's fegetenv is not reachable ({exc})"
    return libm, ""


_LIBM, UNAVAILABLE = _load()
#: Whether :func:`flushing_subnormals` changes anything here.
AVAILABLE = _LIBM is not None


def mxcsr() -> int | None:
    """The calling thread's SSE control register, or None where it cannot be read."""
    if _LIBM is None:
        return None
    env = ctypes.create_string_buffer(_ENV_BYTES)
    _LIBM.fegetenv(env)
    return int.from_bytes(env.raw[_MXCSR_OFFSET : _MXCSR_OFFSET + 4], "little")


class _Flush:
    """The context :func:`flushing_subnormals` returns, one per thread. Entering reads the caller's
    environment and sets the flushing one (made again only when the caller's has changed); leaving
    sets the caller's back: three C calls, a few microseconds."""

    def __init__(self) -> None:
        self.saved = ctypes.create_string_buffer(_ENV_BYTES)
        self.flushed = ctypes.create_string_buffer(_ENV_BYTES)
        self.flushed_from = b""  # the caller's environment self.flushed was made from
        self.depth = 0
        self.changed = False

    def __enter__(self) -> None:
        self.depth += 1
        if self.depth > 1 or _LIBM is None:
            return
        _LIBM.fegetenv(self.saved)
        caller = self.saved.raw
        word = int.from_bytes(caller[_MXCSR_OFFSET : _MXCSR_OFFSET + 4], "little")
        self.changed = word & FLUSH != FLUSH
        if not self.changed:
            return
        if caller != self.flushed_from:
            flushed = (word | FLUSH).to_bytes(4, "little")
            self.flushed.raw = caller[:_MXCSR_OFFSET] + flushed + caller[_MXCSR_OFFSET + 4 :]
            self.flushed_from = caller
        _LIBM.fesetenv(self.flushed)

    def __exit__(self, *exc: object) -> None:
        self.depth -= 1
        if self.depth == 0 and self.changed and _LIBM is not None:
            _LIBM.fesetenv(self.saved)  # the caller's environment, as it was
            self.changed = False


class _PerThread(threading.local):
    def __init__(self) -> None:
        self.context = _Flush()


_PER_THREAD = _PerThread()


def flushing_subnormals() -> _Flush:
    """A context in which this thread's subnormal results and inputs count as zero.

    On leaving it, the thread's floating-point environment is the caller's again (also when the
    caller had set the mode itself, in which case nothing changes). Re-entering it inside itself is
    free. Does nothing where :data:`AVAILABLE` is false.
    """
    return _PER_THREAD.context


__all__ = ["AVAILABLE", "DAZ", "FLUSH", "FTZ", "UNAVAILABLE", "flushing_subnormals", "mxcsr"]
