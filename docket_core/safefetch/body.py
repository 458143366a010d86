"""The streamed body: capped as it is decoded, kept in memory when small, else written atomically."""

from __future__ import annotations

import io
import os
import tempfile
from contextlib import aclosing
from pathlib import Path
from typing import BinaryIO

import httpx

from docket_core import httpbody
from docket_core.safefetch.errors import DownloadFailed, DownloadTimedOut, FileTooLarge, describe

__all__ = ["Sink", "stream_body"]


class Sink:
    """Where a body goes: memory when announced at most `spool_bytes` long, else `dest` (atomically)."""

    def __init__(self, dest: Path, spool_bytes: int) -> None:
        self.dest = dest
        self.spool_bytes = spool_bytes
        self.memory: io.BytesIO | None = None
        self.tmp: Path | None = None
        self.file: BinaryIO | None = None

    def open(self, announced: int | None) -> BinaryIO:
        if self.spool_bytes > 0 and announced is not None and announced <= self.spool_bytes:
            self.memory = io.BytesIO()
            return self.memory
        self.dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=self.dest.parent, prefix=f".{self.dest.name}.", suffix=".part")
        self.tmp = Path(tmp_name)
        self.file = os.fdopen(fd, "wb")
        return self.file

    def commit(self) -> bytes | None:
        """Finish: the spooled bytes, or None once `dest` holds the body."""
        if self.memory is not None:
            return self.memory.getvalue()
        assert self.file is not None and self.tmp is not None, "commit() before open()"
        self.file.close()
        os.replace(self.tmp, self.dest)
        return None

    def discard(self) -> None:
        if self.file is not None:
            self.file.close()
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)


async def stream_body(response: httpx.Response, sink: Sink, max_bytes: int, shown: str, url: str) -> int:
    """Write the body of `response` to `sink`, refused beyond `max_bytes`; return its size."""
    announced = response.headers.get("content-length")
    length = int(announced) if announced is not None and announced.isdigit() else None
    if length is not None and length > max_bytes:
        raise FileTooLarge(f"expected at most {max_bytes} bytes from {shown!r}, got Content-Length {announced}")
    out = sink.open(length)
    written = 0
    try:
        # Raw bytes, decoded here: the cap counts decoded bytes as they are made (docket_core.httpbody).
        async with aclosing(httpbody.aiter_body(response, max_bytes, repr(shown))) as pieces:
            async for chunk in pieces:
                written += len(chunk)
                out.write(chunk)
    except httpbody.BodyTooLarge as exc:
        raise FileTooLarge(str(exc)) from exc
    except httpbody.UnsupportedEncoding as exc:
        raise DownloadFailed(str(exc)) from exc
    except httpx.TimeoutException as exc:
        raise DownloadTimedOut(f"expected the body of {shown!r} in time, got {type(exc).__name__}") from exc
    except httpx.HTTPError as exc:
        raise DownloadFailed(f"cannot download {shown!r}: {describe(exc, url)}") from exc
    return written
