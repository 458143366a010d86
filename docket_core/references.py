"""References files: JSONL with one `{"name": ..., "url": ...}` object per line, read as a stream.

A references file may hold millions of lines, so it is never loaded whole. `plan_reference_shards`
makes one pass and cuts it into byte ranges of at most `shard_size` non-blank lines; each range is
later parsed on its own by `read_reference_shard` (one task per shard). A line that does not parse
becomes a `BadLine` with its line number and the reason, and the rest of the file goes on.

Signed URLs carry secrets in their query string, so nothing here ever shows one: reasons use
`redact_url`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urlsplit

from docket_core.errors import FileErrorType, InputError
from docket_core.names import normalize_name
from docket_core.redact import REDACTED, path_secret

__all__ = [
    "MAX_LINE_BYTES",
    "BadLine",
    "Reference",
    "ReferenceShard",
    "iter_references",
    "plan_reference_shards",
    "read_reference_shard",
    "redact_url",
]

# A name is at most 1 KiB and signed URLs run to a few KiB; anything far longer is not a reference,
# and reading it whole would break the bounded-memory promise.
MAX_LINE_BYTES = 1024 * 1024
_BOM = b"\xef\xbb\xbf"
_EXPECTED = 'expected a JSON object with string "name" and "url"'
_MAX_REDACTED_CHARS = 300


@dataclass(frozen=True)
class Reference:
    """One file to download: its 1-based line number, normalized name and URL."""

    line: int
    name: str
    url: str


@dataclass(frozen=True)
class BadLine:
    """A line that is not a valid reference; `reason` says what was expected and what was got."""

    line: int
    reason: str
    error_type: FileErrorType = FileErrorType.MALFORMED_REFERENCE  # INVALID_FILE_NAME for a name Docket refuses


@dataclass(frozen=True)
class ReferenceShard:
    """Bytes `[start, end)` of a references file: `count` non-blank lines, the first at `first_line`."""

    start: int
    end: int
    first_line: int
    count: int


def redact_url(url: str) -> str:
    """`url` safe to show: `scheme://host[:port]/path`, no credentials, query as `?<redacted>`, and
    the path's credential of a known webhook host (`hooks.slack.com/services/<redacted>`, see
    `docket_core.redact.WEBHOOK_PATH_SECRETS`).

    The fragment is dropped. Never raises, whatever `url` is.
    """
    text = url if isinstance(url, str) else repr(url)
    base, query_mark, _ = text.split("#", 1)[0].partition("?")
    try:
        parts = urlsplit(base)
        host = parts.netloc.rpartition("@")[2]
        scheme = f"{parts.scheme}:" if parts.scheme else ""
        path = parts.path
        secret = path_secret(base)
        if secret:
            path = path[: len(path) - len(secret)] + REDACTED
        shown = f"{scheme}//{host}{path}" if parts.netloc else base.rpartition("@")[2]
    except ValueError:  # e.g. an unbalanced "[" in the host
        shown = base.rpartition("@")[2]
    if len(shown) > _MAX_REDACTED_CHARS:
        shown = shown[:_MAX_REDACTED_CHARS] + "..."
    return shown + ("?<redacted>" if query_mark else "")


def plan_reference_shards(fh: BinaryIO, shard_size: int) -> Iterator[ReferenceShard]:
    """Cut the file into shards of up to `shard_size` non-blank lines, in one pass from its start.

    Bad lines count as items too, so that reading the shard reports them. Blank lines between
    shards belong to none; trailing blank lines are not in any shard.
    """
    if shard_size < 1:
        raise InputError(f"shard size must be at least 1, got {shard_size}")
    fh.seek(0)
    pos = 0
    line_no = 0
    start = end = first_line = count = 0
    for length, head, too_long in _physical_lines(fh):
        line_no += 1
        content = head[len(_BOM) :] if pos == 0 and head.startswith(_BOM) else head
        pos += length
        if too_long or content.strip():
            if count == 0:
                start, first_line = pos - length, line_no
            count += 1
            end = pos
            if count == shard_size:
                yield ReferenceShard(start=start, end=end, first_line=first_line, count=count)
                count = 0
    if count:
        yield ReferenceShard(start=start, end=end, first_line=first_line, count=count)


def read_reference_shard(fh: BinaryIO, shard: ReferenceShard) -> Iterator[Reference | BadLine]:
    """Parse only the bytes of `shard`; line numbers continue from `shard.first_line`."""
    fh.seek(shard.start)
    yield from _parse(_physical_lines(fh, limit=shard.end - shard.start), shard.first_line, at_file_start=shard.start == 0)


def iter_references(fh: BinaryIO) -> Iterator[Reference | BadLine]:
    """Parse every line from the current position of `fh` (the start of the file), in order."""
    yield from _parse(_physical_lines(fh), 1, at_file_start=True)


def _physical_lines(fh: BinaryIO, limit: int | None = None) -> Iterator[tuple[int, bytes, bool]]:
    """Yield `(length in bytes, head, too_long)` per line; `head` is the whole line unless too long.

    Reads at most `limit` bytes when given. A line over `MAX_LINE_BYTES` is skipped in pieces, so
    memory stays bounded whatever the file holds.
    """
    remaining = limit
    while remaining is None or remaining > 0:
        cap = MAX_LINE_BYTES + 1 if remaining is None else min(MAX_LINE_BYTES + 1, remaining)
        head = fh.readline(cap)
        if not head:
            return
        length = len(head)
        too_long = len(head) > MAX_LINE_BYTES and not head.endswith(b"\n")
        if too_long:
            head = b""
            while remaining is None or length < remaining:
                step = MAX_LINE_BYTES if remaining is None else min(MAX_LINE_BYTES, remaining - length)
                piece = fh.readline(step)
                length += len(piece)
                if not piece or piece.endswith(b"\n"):
                    break
        if remaining is not None:
            remaining -= length
        yield length, head, too_long


def _parse(lines: Iterator[tuple[int, bytes, bool]], first_line: int, *, at_file_start: bool) -> Iterator[Reference | BadLine]:
    line_no = first_line - 1
    for length, head, too_long in lines:
        line_no += 1
        if too_long:
            yield BadLine(line_no, f"line {line_no}: expected a line of at most {MAX_LINE_BYTES} bytes, got {length} bytes")
            continue
        if at_file_start and line_no == first_line and head.startswith(_BOM):
            head = head[len(_BOM) :]
        if head.strip():
            yield _parse_line(line_no, head)


def _parse_line(line_no: int, raw: bytes) -> Reference | BadLine:
    def bad(got: str) -> BadLine:
        return BadLine(line_no, f"line {line_no}: {_EXPECTED}, got {got}")

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return bad(f"bytes that are not UTF-8 ({exc.reason} at byte {exc.start})")
    try:
        value = json.loads(text)
    except RecursionError:
        return bad("JSON nested too deeply")
    except ValueError as exc:  # JSONDecodeError, or an integer too long to convert
        return bad(f"invalid JSON ({exc})")
    if not isinstance(value, dict):
        return bad(f"a JSON {_json_kind(value)}")
    for key in ("name", "url"):
        if key not in value:
            return bad(f'no "{key}"')
        if not isinstance(value[key], str):
            return bad(f'"{key}" as a JSON {_json_kind(value[key])}')
        if not value[key].strip():
            return bad(f'an empty "{key}"')
    url = value["url"].strip()
    try:
        parts = urlsplit(url)
        absolute = bool(parts.scheme and parts.netloc)
    except ValueError:
        absolute = False
    if not absolute:
        return BadLine(
            line_no, f'line {line_no}: expected "url" to be an absolute URL like https://host/path, got {redact_url(url)!r}'
        )
    try:
        name = normalize_name(value["name"])
    except InputError as exc:
        return BadLine(line_no, f'line {line_no}: invalid "name": {exc}', FileErrorType.INVALID_FILE_NAME)
    return Reference(line=line_no, name=name, url=url)


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
