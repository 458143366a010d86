"""A name Docket refuses fails that file alone, at ingest, as `invalid-file-name`: the rest of its
shard is recorded (before, one such name made `record_shard` raise on every retry)."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from docket_core.resources import Resources
from docket_core.settings import DocketSettings
from docket_core.staging.models import IngestRequest
from docket_core.staging.queries import batch_content, ingest_details
from tests.docket_core.staging.test_ingest import ingest, resources, settings  # noqa: F401 - fixtures
from tests.helpers import file_server, jpeg_bytes

# Valid UTF-8 but refused: a bidi override (the name reads "...exe.jpg" backwards), a C1 control, a
# zero-width space (format), and one component of 300 bytes.
BIDI, C1, ZERO_WIDTH = "rtl\u202egpj.exe", "c1\u0085.jpg", "zw\u200b.jpg"
LONG = "d/" + "x" * 296 + ".jpg"


def failed_files(resources: Resources, batch_id: str = "b1") -> dict[str, dict]:
    return {f["file_name"]: f for s in ingest_details(resources.catalog(), batch_id) for f in s["failed_files"]}


def names(resources: Resources, batch_id: str = "b1") -> list[str]:
    return [f["name"] for f in batch_content(resources.catalog(), batch_id)]


class TestFolderNames:
    def test_undecodable_bidi_c1_and_zero_width_names_fail_alone_and_their_shard_is_recorded(
        self, tmp_path: Path, resources: Resources, settings: DocketSettings
    ) -> None:
        root = tmp_path / "in"
        root.mkdir()
        # shard_size is 3: every shard holds good files beside refused ones.
        for name in ["a.jpg", "b.jpg", "c.jpg"]:
            (root / name).write_bytes(jpeg_bytes(len(name)))
        for raw in [b"bad\x80.jpg", BIDI.encode(), C1.encode(), ZERO_WIDTH.encode()]:
            with open(os.path.join(os.fsencode(root), raw), "wb") as fh:  # the bytes the file system holds
                fh.write(jpeg_bytes(9))
        summary = ingest(IngestRequest(batch_id="b1", media_kind="images", source_kind="folder", source=str(root)), resources, settings)
        assert (summary.status, summary.ingested, summary.failed) == ("completed", 3, 4)
        assert names(resources) == ["a.jpg", "b.jpg", "c.jpg"]
        failed = failed_files(resources)
        assert set(failed) == {"bad\\udc80.jpg", "rtl\\u202egpj.exe", "c1\\x85.jpg", "zw\\u200b.jpg"}  # shown escaped
        assert {f["type"] for f in failed.values()} == {"invalid-file-name"}
        assert "must be valid UTF-8" in failed["bad\\udc80.jpg"]["reason"]
        assert "U+202E" in failed["rtl\\u202egpj.exe"]["reason"] and "U+0085" in failed["c1\\x85.jpg"]["reason"]


class TestReferenceNames:
    def test_a_lone_surrogate_bidi_c1_or_overlong_name_fails_its_line_and_the_rest_is_downloaded(
        self, tmp_path: Path, resources: Resources, settings: DocketSettings
    ) -> None:
        with file_server({"/ok.jpg": jpeg_bytes(1), "/ok2.jpg": jpeg_bytes(2)}) as base:
            lines = [
                {"name": "ok.jpg", "url": f"{base}/ok.jpg"},
                '{"name": "bad\\udc80.jpg", "url": "%s/ok.jpg"}' % base,  # JSON's own escape of a lone surrogate
                {"name": BIDI, "url": f"{base}/ok.jpg"},
                {"name": C1, "url": f"{base}/ok.jpg"},
                {"name": LONG, "url": f"{base}/ok.jpg"},
                {"name": "ok2.jpg", "url": f"{base}/ok2.jpg"},
            ]
            refs = tmp_path / "refs.jsonl"
            refs.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
            request = IngestRequest(batch_id="b1", media_kind="images", source_kind="references", source=str(refs),
                                    allow_private_network=True)  # fmt: skip
            summary = ingest(request, resources, settings)
        assert (summary.status, summary.ingested, summary.failed) == ("completed", 2, 4)
        assert names(resources) == ["ok.jpg", "ok2.jpg"]
        failed = failed_files(resources)
        assert {n: f["type"] for n, f in failed.items()} == {f"line {i}": "invalid-file-name" for i in (2, 3, 4, 5)}
        assert "must be valid UTF-8" in failed["line 2"]["reason"]
        assert "U+202E" in failed["line 3"]["reason"] and "U+0085" in failed["line 4"]["reason"]
        assert "at most 255 bytes in UTF-8, got one of 300 bytes" in failed["line 5"]["reason"]


class TestArchiveNames:
    def test_members_with_refused_names_fail_alone_and_the_bundle_is_recorded(
        self, tmp_path: Path, resources: Resources, settings: DocketSettings
    ) -> None:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
            for name in ["ok.jpg", "bad\udc80.jpg", BIDI, C1, LONG, "ok2.jpg"]:  # \udc80: the byte 0x80 in the header
                data = jpeg_bytes(len(name))
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        bundle = tmp_path / "bundle.tar"
        bundle.write_bytes(buffer.getvalue())
        assert b"bad\x80.jpg" in bundle.read_bytes()
        request = IngestRequest(batch_id="b1", media_kind="images", source_kind="archive", source=str(bundle))
        summary = ingest(request, resources, settings)
        assert (summary.status, summary.ingested, summary.failed) == ("completed", 2, 4)
        assert names(resources) == ["ok.jpg", "ok2.jpg"]
        failed = failed_files(resources)
        assert {f["type"] for f in failed.values()} == {"invalid-file-name"}
        assert {"bad\\udc80.jpg", "rtl\\u202egpj.exe", "c1\\x85.jpg"} <= set(failed)
        assert any("got one of 300 bytes" in f["reason"] for f in failed.values())


class TestNamesCheck:
    @pytest.mark.parametrize("name", ["a\udc80.jpg", "a\u202e.jpg", "a\u2066b.jpg", "a\u0085.jpg", "a\u009b.jpg",
                                      "\ufeffa.jpg", "x" * 256, "d/" + "é" * 128])  # fmt: skip
    def test_invalid_utf8_control_format_and_overlong_components_are_refused(self, name: str) -> None:
        from docket_core.errors import InputError
        from docket_core.names import normalize_name

        with pytest.raises(InputError):
            normalize_name(name)

    def test_ordinary_unicode_names_and_255_byte_components_pass(self) -> None:
        from docket_core.names import normalize_name

        assert normalize_name("факт/ré sumé 日本.pdf") == "факт/ré sumé 日本.pdf"
        assert normalize_name("x" * 255) == "x" * 255
