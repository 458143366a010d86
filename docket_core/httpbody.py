"""Reading an HTTP answer's body within a size cap that counts decoded bytes as they are decoded.

httpx decodes `Content-Encoding` a whole network chunk at a time: a 2 KB answer sent as
`Content-Encoding: gzip, gzip` expands to gigabytes in one call, before any caller can count them.
So every place Docket reads an answer (downloads, references files, notification subscribers' and
extension webhooks' answers) reads the body raw (`Response.aiter_raw()` / `iter_raw()`) and
decodes it here, with `zlib.decompressobj` asked for at most `_STEP` bytes per call: the decoded
size is counted step by step and decoding stops the moment it passes the cap, so memory stays at
a few steps whatever the answer claims.

Accepted encodings: `identity`, `gzip` (and `x-gzip`) and `deflate` (zlib-wrapped or raw). `br` and
`zstd` are refused: no binding for them is a dependency of Docket, and its clients never ask for them
(downloads send `Accept-Encoding: identity`, webhook and notification clients `ACCEPT_ENCODING`), so
such an answer is the server's own choice. At most one encoding other than identity: nobody stacks
them but an attacker, so `gzip, gzip` is refused, as is any encoding not listed, with
`UnsupportedEncoding`, before a byte is decoded. Bytes received count against the cap as well as
bytes decoded (with a little room for framing), so a stream that decodes to nothing cannot run on.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing

import httpx

from docket_core.errors import DocketError

__all__ = [
    "ACCEPT_ENCODING",
    "BodyError",
    "BodyTooLarge",
    "BoundedDecoder",
    "UnsupportedEncoding",
    "aiter_body",
    "aread_body",
    "iter_body",
    "supported_encodings",
]

ACCEPT_ENCODING = "gzip, deflate"
"""The `Accept-Encoding` a client reading with this module sends (httpx's default grows with what is installed)."""

_STEP = 64 * 1024  # most bytes one decompress call may produce
_IDENTITY = frozenset({"", "identity"})


class BodyError(DocketError):
    """Raised when an answer's body cannot be read within Docket's limits."""


class BodyTooLarge(BodyError, ValueError):
    """Raised when an answer's body, decoded or as received, is longer than its cap."""


class UnsupportedEncoding(BodyError, ValueError):
    """Raised when an answer's `Content-Encoding` is unknown, stacked, or cannot be decoded."""


class _Zlib:
    """One gzip or deflate layer, producing at most `_STEP` bytes per step; gzip may have several members."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.wbits: int | None = 16 + zlib.MAX_WBITS if kind == "gzip" else None  # deflate: from the first bytes
        self.obj: zlib._Decompress | None = None
        self.head = b""

    def _new(self) -> zlib._Decompress:
        assert self.wbits is not None
        return zlib.decompressobj(self.wbits)

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self.obj is None:
            if self.wbits is None:
                # "deflate" means zlib-wrapped (RFC 9110), but some servers send a raw stream.
                self.head += data
                if len(self.head) < 2:
                    return
                b0, b1 = self.head[0], self.head[1]
                wrapped = b0 & 0x0F == 8 and (b0 << 8 | b1) % 31 == 0
                self.wbits = zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS
                data, self.head = self.head, b""
            self.obj = self._new()
        while data:
            while True:  # one step at a time; a full step may leave output pending in zlib
                try:
                    out = self.obj.decompress(data, _STEP)
                except zlib.error as exc:
                    raise UnsupportedEncoding(f"expected a valid {self.kind} body, got one that does not decode ({exc})") from exc
                if out:
                    yield out
                data = self.obj.unconsumed_tail
                if self.obj.eof or (not data and len(out) < _STEP):
                    break
            if self.obj.eof:
                rest = self.obj.unused_data
                if self.kind != "gzip" or not rest.startswith(b"\x1f\x8b"):
                    return  # bytes after the end of the stream are ignored, as httpx and browsers do
                self.obj = self._new()  # a multi-member gzip body: the next member
                data = rest

    def end(self) -> Iterator[bytes]:
        if self.obj is None:
            if self.head:
                raise UnsupportedEncoding(f"expected a {self.kind} body, got {len(self.head)} byte(s)")
            return
        while True:
            out = self.obj.flush(_STEP)
            if not out:
                break
            yield out
        if not self.obj.eof:
            raise UnsupportedEncoding(f"expected a complete {self.kind} body, got one cut short")


def supported_encodings() -> tuple[str, ...]:
    """The content encodings Docket decodes besides identity (for messages)."""
    return ("gzip", "deflate")


class BoundedDecoder:
    """Decodes one body given its `Content-Encoding`, refusing it once it passes `limit` bytes.

    Feed it the raw bytes with `feed` and call `end` after the last; both yield decoded pieces of
    at most 64 KiB. `what` names the body in messages (a redacted URL, an extension's name).
    """

    def __init__(self, content_encoding: str | None, limit: int, what: str) -> None:
        self.limit, self.what = limit, what
        # What arrives counts too, so a stream that decodes to nothing cannot run on; with room for
        # the framing a compressed body adds (headers, trailers, stored blocks) to what it decodes to.
        self.raw_limit = limit + limit // 64 + 1024
        self.received = 0
        self.decoded = 0
        codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
        codings = [c for c in codings if c not in _IDENTITY]
        if len(codings) > 1:
            raise UnsupportedEncoding(
                f"expected at most one content encoding from {what}, got {content_encoding!r}; "
                "stacked encodings are refused"
            )
        self.stage: _Zlib | None = None
        if codings:
            coding = "gzip" if codings[0] == "x-gzip" else codings[0]
            if coding in ("gzip", "deflate"):
                self.stage = _Zlib(coding)
            else:
                accepted = ", ".join(("identity", *supported_encodings()))
                raise UnsupportedEncoding(
                    f"expected a content encoding Docket decodes ({accepted}) from {what}, got {content_encoding!r}"
                )

    def _count(self, piece: bytes) -> bytes:
        self.decoded += len(piece)
        if self.decoded > self.limit:
            raise BodyTooLarge(f"expected at most {self.limit} bytes from {self.what}, got more")
        return piece

    def feed(self, raw: bytes) -> Iterator[bytes]:
        """The decoded pieces of the next raw bytes; raises `BodyTooLarge` as soon as the cap is passed."""
        self.received += len(raw)
        if self.received > self.raw_limit:
            raise BodyTooLarge(f"expected at most {self.limit} bytes from {self.what}, got more")
        if self.stage is None:
            if raw:
                yield self._count(raw)
            return
        for piece in self.stage.feed(raw):
            yield self._count(piece)

    def end(self) -> Iterator[bytes]:
        """What the decoder still holds once the body is complete; refuses a cut-short stream."""
        if self.stage is not None:
            for piece in self.stage.end():
                yield self._count(piece)


def _decoder(response: httpx.Response, limit: int, what: str) -> BoundedDecoder:
    if response.is_stream_consumed:
        # Read already (a response built in memory, as httpx.MockTransport's are): httpx decoded it,
        # there is nothing raw left to read; only the cap still applies.
        return BoundedDecoder(None, limit, what)
    return BoundedDecoder(response.headers.get("content-encoding"), limit, what)


async def aiter_body(response: httpx.Response, limit: int, what: str) -> AsyncIterator[bytes]:
    """The decoded body of a streamed async `response`, in pieces, refused past `limit` bytes.

    Raises:
        BodyTooLarge: more than `limit` bytes were received or decoded.
        UnsupportedEncoding: the encoding is unknown or stacked, or the body does not decode.
        httpx.HTTPError: the connection failed or timed out while reading.
    """
    decoder = _decoder(response, limit, what)
    if response.is_stream_consumed:
        for piece in decoder.feed(response.content):
            yield piece
        return
    async for raw in response.aiter_raw(_STEP):
        for piece in decoder.feed(raw):
            yield piece
    for piece in decoder.end():
        yield piece


def iter_body(response: httpx.Response, limit: int, what: str) -> Iterator[bytes]:
    """Like `aiter_body`, for a streamed synchronous `response`."""
    decoder = _decoder(response, limit, what)
    if response.is_stream_consumed:
        yield from decoder.feed(response.content)
        return
    for raw in response.iter_raw(_STEP):
        yield from decoder.feed(raw)
    yield from decoder.end()


async def aread_body(response: httpx.Response, limit: int, what: str, *, truncate: bool = False) -> bytes:
    """The whole decoded body of a streamed async `response`, at most `limit` bytes.

    With `truncate`, a longer body is cut at `limit` bytes and reading stops there, instead of being
    refused: for keeping the start of an answer that is only shown, never used. Raises as
    `aiter_body` does (`BodyTooLarge` only without `truncate`).
    """
    parts: list[bytes] = []
    kept = 0
    # Truncating, one more step is allowed through, so the piece that crosses `limit` is kept in part.
    async with aclosing(aiter_body(response, limit + _STEP if truncate else limit, what)) as pieces:
        async for piece in pieces:
            parts.append(piece)
            kept += len(piece)
            if truncate and kept >= limit:
                break
    return b"".join(parts)[:limit]
