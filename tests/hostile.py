"""Tiny hostile inputs built in tests (compression bombs), and a peak-memory probe."""

from __future__ import annotations

import functools
import gzip
import struct
import tracemalloc
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

MiB = 1024 * 1024


@functools.cache
def gzip_of_zeros(mib: int) -> bytes:
    """A valid gzip stream of `mib` MiB of zeros, about 1 KB per MiB, built in a fraction of a second.

    Each MiB is compressed once and ended with a full flush, which resets the compressor: every
    further MiB compresses to the same bytes, so the stream is that segment repeated.
    """
    zeros = bytes(MiB)
    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    first = comp.compress(zeros) + comp.flush(zlib.Z_FULL_FLUSH)
    segment = comp.compress(zeros) + comp.flush(zlib.Z_FULL_FLUSH)
    header = first[: len(first) - len(segment)]
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(zeros, crc)
    final_empty_block = b"\x03\x00"
    return header + segment * mib + final_empty_block + struct.pack("<II", crc, (mib * MiB) & 0xFFFFFFFF)


def zlib_of_zeros(mib: int, *, wrapped: bool = True) -> bytes:
    """`mib` MiB of zeros as a zlib stream (`Content-Encoding: deflate`), or a raw deflate one."""
    raw = gzip_of_zeros(mib)[10:-8]
    if not wrapped:
        return raw
    adler = ((mib * MiB) % 65521) << 16 | 1  # Adler-32 of n zero bytes: a = 1, b = n mod 65521
    return b"\x78\xda" + raw + struct.pack(">I", adler)


@functools.cache
def double_gzip_bomb(gib: int = 1) -> bytes:
    """About 2 KB that expand to `gib` GiB when decoded as `Content-Encoding: gzip, gzip`."""
    return gzip.compress(gzip_of_zeros(gib * 1024), 9)


@dataclass
class Peak:
    """Peak Python memory (bytes) above what was allocated when the probe started."""

    bytes: int = 0

    @property
    def mib(self) -> float:
        return self.bytes / MiB


@contextmanager
def peak_memory() -> Iterator[Peak]:
    """Trace allocations for the block (zlib's buffers and every bytes object are traced)."""
    peak = Peak()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        yield peak
        peak.bytes = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
