from __future__ import annotations

import io
import json
import re
import tracemalloc
from pathlib import Path

import pytest

from docket_core.errors import FileErrorType, InputError
from docket_core.references import (
    MAX_LINE_BYTES,
    BadLine,
    Reference,
    ReferenceShard,
    iter_references,
    plan_reference_shards,
    read_reference_shard,
    redact_url,
)

MILLION = 1_000_000


def _line(i: int) -> bytes:
    return json.dumps({"name": f"docs/file-{i}.pdf", "url": f"https://files.example/{i}?sig=s{i}"}).encode() + b"\n"


def _read(data: bytes) -> list[Reference | BadLine]:
    return list(iter_references(io.BytesIO(data)))


def _by_shards(data: bytes, shard_size: int) -> list[Reference | BadLine]:
    fh = io.BytesIO(data)
    return [item for shard in list(plan_reference_shards(fh, shard_size)) for item in read_reference_shard(fh, shard)]


@pytest.fixture(scope="module")
def million_line_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("refs") / "million.jsonl"
    with open(path, "wb") as fh:
        for block in range(0, MILLION, 10_000):
            fh.write(b"".join(_line(i) for i in range(block, block + 10_000)))
    return path


class TestIterReferences:
    def test_good_lines_become_references_with_normalized_names_and_line_numbers(self) -> None:
        data = b'{"name": "a/./b.pdf", "url": "https://h.example/1", "size": 3}\n\n{"name": "c.pdf", "url": "http://h.example/2"}\n'
        assert _read(data) == [
            Reference(line=1, name="a/b.pdf", url="https://h.example/1"),
            Reference(line=3, name="c.pdf", url="http://h.example/2"),
        ]

    def test_a_utf8_bom_on_the_first_line_is_ignored(self) -> None:
        data = b'\xef\xbb\xbf{"name": "a.pdf", "url": "https://h.example/a"}\n'
        assert _read(data) == [Reference(line=1, name="a.pdf", url="https://h.example/a")]

    def test_crlf_line_endings_and_a_missing_final_newline_are_read(self) -> None:
        data = b'{"name": "a.pdf", "url": "https://h.example/a"}\r\n\r\n{"name": "b.pdf", "url": "https://h.example/b"}'
        assert _read(data) == [
            Reference(line=1, name="a.pdf", url="https://h.example/a"),
            Reference(line=3, name="b.pdf", url="https://h.example/b"),
        ]

    @pytest.mark.parametrize(
        ("line", "reason"),
        [
            (b'{"name": "a.pdf" "url": "x"}', r'^line 1: expected a JSON object with string "name" and "url", got invalid JSON \(Expecting \',\' delimiter'),
            (b'["a.pdf", "https://h.example/a"]', r"got a JSON array$"),
            (b'"https://h.example/a"', r"got a JSON string$"),
            (b"null", r"got a JSON null$"),
            (b'{"url": "https://h.example/a"}', r'got no "name"$'),
            (b'{"name": "a.pdf"}', r'got no "url"$'),
            (b'{"name": 7, "url": "https://h.example/a"}', r'got "name" as a JSON number$'),
            (b'{"name": "a.pdf", "url": ["https://h.example/a"]}', r'got "url" as a JSON array$'),
            (b'{"name": "  ", "url": "https://h.example/a"}', r'got an empty "name"$'),
            (b'{"name": "a.pdf", "url": ""}', r'got an empty "url"$'),
            (b'{"name": "a.pdf", "url": true}', r'got "url" as a JSON boolean$'),
            (b'{"name": "a.pdf", "url": "no-scheme/path?sig=secret"}', r"expected \"url\" to be an absolute URL .*got 'no-scheme/path\?<redacted>'$"),
            (b'{"name": "../etc/passwd", "url": "https://h.example/a"}', r"^line 1: invalid \"name\": file name must not contain '\.\.'"),
            (b'{"name": "/abs.pdf", "url": "https://h.example/a"}', r'invalid "name": file name must be a relative path'),
            (b'{"name": "a\\u0000b", "url": "https://h.example/a"}', r'invalid "name": file name must not contain control characters'),
            (b'{"name": "caf\xe9.pdf", "url": "https://h.example/a"}', r"got bytes that are not UTF-8 \(invalid continuation byte at byte 13\)$"),
            (b"[" * 100_000, r"got JSON nested too deeply$"),
        ],
    )
    def test_a_bad_line_says_what_was_expected_and_what_was_got(self, line: bytes, reason: str) -> None:
        [bad] = _read(line + b"\n")
        assert isinstance(bad, BadLine)
        assert bad.line == 1
        named = 'invalid "name"' in bad.reason  # a name Docket refuses is typed as such
        assert bad.error_type is (FileErrorType.INVALID_FILE_NAME if named else FileErrorType.MALFORMED_REFERENCE)
        assert re.search(reason, bad.reason), bad.reason

    def test_bad_lines_keep_their_line_numbers_and_the_rest_goes_on(self) -> None:
        data = b"\n".join(
            [
                b'{"name": "a.pdf", "url": "https://h.example/a"}',
                b"not json",
                b"",
                b'{"name": "b.pdf"}',
                b'{"name": "c.pdf", "url": "https://h.example/c"}',
            ]
        )
        items = _read(data)
        assert [(type(i).__name__, i.line) for i in items] == [
            ("Reference", 1),
            ("BadLine", 2),
            ("BadLine", 4),
            ("Reference", 5),
        ]
        assert items[1].reason.startswith("line 2: ")  # type: ignore[union-attr]

    def test_a_reason_never_shows_a_signed_query_string(self) -> None:
        lines = [
            b'{"name": "../x", "url": "https://h.example/a?X-Amz-Signature=topsecret"}',
            b'{"name": "a.pdf", "url": "/relative?X-Amz-Signature=topsecret"}',
            b'{"name": "a.pdf", "url": "https://h.example/a?X-Amz-Signature=topsecret" ',
        ]
        for item in _read(b"\n".join(lines)):
            assert isinstance(item, BadLine)
            assert "topsecret" not in item.reason

    def test_an_overlong_line_is_one_bad_line_and_does_not_stop_the_file(self) -> None:
        data = b'{"name": "a.pdf", "url": "https://h.example/' + b"a" * (MAX_LINE_BYTES + 10) + b'"}\n'
        data += b'{"name": "b.pdf", "url": "https://h.example/b"}\n'
        items = _read(data)
        assert isinstance(items[0], BadLine)
        assert f"expected a line of at most {MAX_LINE_BYTES} bytes" in items[0].reason
        assert items[1] == Reference(line=2, name="b.pdf", url="https://h.example/b")
        assert _by_shards(data, 1) == items


class TestShards:
    def test_shards_hold_up_to_shard_size_non_blank_lines_and_cover_every_line(self) -> None:
        data = b"\n" + b"".join(_line(i) for i in range(7)) + b"\n\n"
        shards = list(plan_reference_shards(io.BytesIO(data), 3))
        assert [(s.first_line, s.count) for s in shards] == [(2, 3), (5, 3), (8, 1)]
        assert shards[0].start == 1
        assert shards[-1].end == len(data) - 2
        assert all(a.end == b.start for a, b in zip(shards, shards[1:]))

    def test_reading_every_shard_gives_what_iter_references_gives(self) -> None:
        lines = [_line(i) for i in range(20)]
        lines[3] = b"{broken\r\n"
        lines[7] = b"\r\n"
        lines[11] = b'{"name": "..", "url": "https://h.example/x"}\n'
        data = b"\xef\xbb\xbf" + b"".join(lines) + b'{"name": "last.pdf", "url": "https://h.example/last"}'
        expected = _read(data)
        assert len(expected) == 20
        for size in (1, 2, 3, 7, 19, 20, 100):
            assert _by_shards(data, size) == expected

    def test_a_shard_is_read_by_its_byte_range_even_without_a_count(self) -> None:
        data = b"".join(_line(i) for i in range(10))
        fh = io.BytesIO(data)
        second = list(plan_reference_shards(fh, 4))[1]
        items = list(read_reference_shard(fh, ReferenceShard(second.start, second.end, second.first_line, count=0)))
        assert [i.line for i in items] == [5, 6, 7, 8]

    def test_a_bom_only_first_line_is_blank(self) -> None:
        data = b"\xef\xbb\xbf\n" + _line(0)
        [shard] = plan_reference_shards(io.BytesIO(data), 10)
        assert (shard.first_line, shard.count) == (2, 1)
        assert _by_shards(data, 10) == _read(data)

    def test_an_empty_file_has_no_shards(self) -> None:
        assert list(plan_reference_shards(io.BytesIO(b"\n \r\n"), 10)) == []

    def test_a_shard_size_below_one_is_refused(self) -> None:
        with pytest.raises(InputError, match="shard size must be at least 1, got 0"):
            list(plan_reference_shards(io.BytesIO(b""), 0))

    def test_a_million_lines_are_planned_in_bounded_memory(self, million_line_file: Path) -> None:
        tracemalloc.start()
        try:
            with open(million_line_file, "rb") as fh:
                shards = list(plan_reference_shards(fh, 10_000))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 50 * 1024 * 1024
        assert len(shards) == 100
        assert sum(s.count for s in shards) == MILLION
        assert shards[-1].end == million_line_file.stat().st_size
        with open(million_line_file, "rb") as fh:
            last = list(read_reference_shard(fh, shards[-1]))
        assert last[-1] == Reference(line=MILLION, name=f"docs/file-{MILLION - 1}.pdf", url=f"https://files.example/{MILLION - 1}?sig=s{MILLION - 1}")
        assert [r.line for r in last] == list(range(MILLION - 9_999, MILLION + 1))


class TestRedactUrl:
    @pytest.mark.parametrize(
        ("url", "shown"),
        [
            ("https://bucket.s3.example/a/b.pdf?X-Amz-Signature=abc&X-Amz-Credential=k", "https://bucket.s3.example/a/b.pdf?<redacted>"),
            ("https://user:pass@h.example:8443/p#frag", "https://h.example:8443/p"),
            ("http://h.example/p?", "http://h.example/p?<redacted>"),
            ("http://h.example", "http://h.example"),
            ("http://[::1/?sig=x", "http://[::1/?<redacted>"),
            ("user:pass@host/p?sig=x", "host/p?<redacted>"),
            ("//h.example/p?sig=x", "//h.example/p?<redacted>"),
            ("", ""),
        ],
    )
    def test_only_scheme_host_port_and_path_are_shown(self, url: str, shown: str) -> None:
        assert redact_url(url) == shown

    def test_garbage_never_raises(self) -> None:
        for garbage in ["http://h:abc/", "::::", "http://\x00/?q", "%%%?", "a" * 10_000 + "?sig=x", None, 42]:
            shown = redact_url(garbage)  # type: ignore[arg-type]
            assert isinstance(shown, str)
            assert "sig=x" not in shown
            assert len(shown) < 400
