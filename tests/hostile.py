"""Tiny hostile inputs built in tests (compression bombs), and a peak-memory probe."""

from __future__ import annotations

import functools
import gzip
import struct
import tarfile
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


def _octal(value: int, width: int) -> bytes:
    return f"{value:0{width - 1}o}".encode() + b"\0"


def sparse_tar(name: str, declared: int) -> bytes:
    """A GNU sparse tar of a few KB whose one member expands to `declared` bytes (holes read as zeros)."""
    info = tarfile.TarInfo(name)
    info.size = 512  # stored bytes: one block of data, at the end of the file
    info.type = tarfile.GNUTYPE_SPARSE
    header = bytearray(info.tobuf(tarfile.GNU_FORMAT))
    header[386:398] = _octal(declared - 512, 12)  # the one sparse entry: offset, then length
    header[398:410] = _octal(512, 12)
    header[482] = 0  # no extended sparse headers
    header[483:495] = _octal(declared, 12)  # the real size
    header[148:156] = b" " * 8
    header[148:156] = f"{sum(header[:512]):06o}".encode() + b"\0 "
    body = bytes(header) + b"\xff" * 512 + bytes(1024)
    return body + bytes(-len(body) % 10240)  # tar's 10 KiB record


def targz_of_zeros(name: str, mib: int) -> bytes:
    """A .tar.gz of about 1 KB per MiB holding one member of `mib` MiB of zeros (one gzip stream)."""
    info = tarfile.TarInfo(name)
    info.size = mib * MiB
    header, zeros, end = info.tobuf(tarfile.GNU_FORMAT), bytes(MiB), bytes(10240)
    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    head = comp.compress(header) + comp.flush(zlib.Z_FULL_FLUSH)
    segment = comp.compress(zeros) + comp.flush(zlib.Z_FULL_FLUSH)  # the same bytes for every MiB
    tail = comp.compress(end) + comp.flush()
    crc = zlib.crc32(header)
    for _ in range(mib):
        crc = zlib.crc32(zeros, crc)
    crc = zlib.crc32(end, crc)
    size = len(header) + mib * MiB + len(end)
    return head + segment * mib + tail[:-8] + struct.pack("<II", crc, size & 0xFFFFFFFF)


def written_bytes() -> int:
    """Bytes this process has passed to write() so far (`wchar` of /proc/self/io)."""
    with open("/proc/self/io") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("wchar:"))


def _pdf(objects: list[bytes]) -> bytes:
    """A PDF from its objects (numbered from 1; the first is the catalog), with a correct xref table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    packed = zlib.compress(data, 9)
    return b"<< /Length %d /Filter /FlateDecode %s>>\nstream\n" % (len(packed), extra) + packed + b"\nendstream"


def shared_content_pdf(pages: int = 10, content_mib: int = 1) -> bytes:
    """A few KB of PDF whose `pages` pages all draw one content stream of `content_mib` MiB of text operators."""
    op = b"BT /F1 9 Tf 72 700 Td (Total 12.34 EUR) Tj ET\n"
    content = op * (content_mib * MiB // len(op))
    first_page, content_obj = 3, 3 + pages
    kids = b" ".join(b"%d 0 R" % n for n in range(first_page, first_page + pages))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages)]
    page = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
            b"/Resources << /Font << /F1 %d 0 R >> >> >>") % (content_obj, content_obj + 1)  # fmt: skip
    objects += [page] * pages
    objects += [_stream(content), b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    return _pdf(objects)


def text_pdf(text: str) -> bytes:
    """A one-page PDF showing `text` (one line per line of it)."""
    lines = b"".join(b"BT /F1 11 Tf 72 %d Td (%s) Tj ET\n" % (720 - 16 * i, line.encode("latin-1"))
                     for i, line in enumerate(text.splitlines()))  # fmt: skip
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
               _stream(lines), b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]  # fmt: skip
    return _pdf(objects)


@functools.cache
def zlib_of(head: bytes, fill: int, mib: int, tail: bytes) -> bytes:
    """A zlib stream of `head`, `mib` MiB of the byte `fill`, then `tail`: about 1 KB per MiB."""
    block = bytes([fill]) * MiB
    comp = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS)
    start = comp.compress(head) + comp.flush(zlib.Z_FULL_FLUSH)
    segment = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)  # the same bytes for every MiB
    end = comp.compress(tail) + comp.flush()
    adler = zlib.adler32(head)
    for _ in range(mib):
        adler = zlib.adler32(block, adler)
    return start + segment * mib + end[:-4] + struct.pack(">I", zlib.adler32(tail, adler))


def pdf_with_attachments(attachments: list[tuple[str, bytes]]) -> bytes:
    """A one-page PDF carrying `(name, zlib stream)` attachments in its embedded-files name tree."""
    count = len(attachments)
    first_spec = 6
    names = b" ".join(b"(%s) %d 0 R" % (name.encode(), first_spec + i) for i, (name, _) in enumerate(attachments))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles << /Names [%s] >> >> >>" % names,
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        _stream(b"BT /F1 11 Tf 72 720 Td (Invoice No.: 77) Tj ET\n"),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    objects += [b"<< /Type /Filespec /F (%s) /UF (%s) /EF << /F %d 0 R >> >>" % (n.encode(), n.encode(), first_spec + count + i)
                for i, (n, _) in enumerate(attachments)]  # fmt: skip
    objects += [b"<< /Type /EmbeddedFile /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream"
                for _, data in attachments]  # fmt: skip
    return _pdf(objects)
