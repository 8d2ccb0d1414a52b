"""Reading untrusted data in bounded pieces, gzip-compressed or not.

The IDX reader (:mod:`glassnet.datasets.idx`) never asks a stream for more than the file's header
promises, plus one byte to detect trailing data. :class:`GunzipReader` inflates a gzip stream
only as far as it is asked, so a small file that would inflate to gigabytes (a "gzip bomb") is
cut off at the size its header declares; it also tells a stream that ended properly from one that
was cut off (``complete``).
"""

from __future__ import annotations

import io
import zlib
from typing import Protocol

__all__ = ["CHUNK", "GunzipReader", "Stream", "fill", "read_up_to"]

#: Bytes read or inflated at a time (1 MiB).
CHUNK = 1 << 20


class Stream(Protocol):
    """What the parser reads from: an open binary file, or a :class:`GunzipReader`."""

    def read(self, n: int, /) -> bytes: ...

    def readinto(self, buffer: memoryview, /) -> int: ...


class GunzipReader:
    """Decompress a gzip stream piece by piece, never producing more than asked for.

    ``read(n)`` returns at most ``n`` bytes and returns fewer only at the end of the data.
    Concatenated gzip members (as ``cat a.gz b.gz`` makes) are read as one stream, like
    :mod:`gzip` does. After a short read, ``complete`` tells whether the stream ended properly
    (end marker and CRC-32/length trailer seen) or was cut off.
    """

    def __init__(self, source: io.BufferedIOBase) -> None:
        self._source = source
        self._inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        self._input = b""
        self.complete = False

    def read(self, n: int) -> bytes:
        parts: list[bytes] = []
        while n > 0:
            if self._inflater.eof:
                # One member ended (its CRC and length already checked by zlib); see whether
                # another follows.
                rest = self._inflater.unused_data or self._input or self._source.read(CHUNK)
                if not rest:
                    self.complete = True
                    break
                self._inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
                self._input = rest
            if not self._input:
                self._input = self._source.read(CHUNK)
                if not self._input:
                    self.complete = False
                    break
            piece = self._inflater.decompress(self._input, n)
            self._input = self._inflater.unconsumed_tail
            n -= len(piece)
            if piece:
                parts.append(piece)
        return b"".join(parts)

    def readinto(self, buffer: memoryview) -> int:
        piece = self.read(len(buffer))
        buffer[: len(piece)] = piece
        return len(piece)


def read_up_to(stream: Stream, n: int) -> bytes:
    """Read ``n`` bytes, or fewer only if the stream ends first."""
    parts: list[bytes] = []
    while n > 0:
        piece = stream.read(n)
        if not piece:
            break
        parts.append(piece)
        n -= len(piece)
    return b"".join(parts)


def fill(stream: Stream, buffer: memoryview) -> int:
    """Fill ``buffer`` from ``stream``; return how many bytes arrived."""
    filled = 0
    while filled < len(buffer):
        count = stream.readinto(buffer[filled : filled + CHUNK])
        if not count:
            break
        filled += count
    return filled
