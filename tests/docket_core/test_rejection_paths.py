"""No rejection reason carries a local path: reasons go out in listings, notifications and outputs,
and FFmpeg (among others) quotes the path of the file it could not read."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from docket_core.errors import FileErrorType
from docket_core.jobs.process import run_file
from docket_core.media.inspect import inspect_file
from docket_core.media.types import FileRejected
from docket_core.redact import strip_local_paths
from docket_core.resources import Resources
from docket_core.settings import DocketSettings
from docket_core.staging.models import IngestRequest
from docket_core.staging.queries import ingest_details
from docket_core.workflows.registry import get_workflow, load_workflows
from tests.docket_core.staging.test_ingest import ingest
from tests.docket_core.test_media import write_video
from tests.helpers import jpeg_bytes, png_bytes

SETTINGS = DocketSettings()
PRIVATE = "home of alice-7f3e"  # a folder name that must never show, with a space as paths may have


def reason_of(path: Path, kind: str) -> str:
    with pytest.raises(FileRejected) as caught:
        inspect_file(path, batch_kind=kind, settings=SETTINGS)  # type: ignore[arg-type]
    return caught.value.reason


class TestRejections:
    def test_a_truncated_video_s_reason_names_no_local_path(self, tmp_path: Path) -> None:
        folder = tmp_path / PRIVATE
        folder.mkdir()
        clip = write_video(folder / "clip.mp4", container="mp4", codec="mpeg4")
        cut = folder / "cut.mp4"
        cut.write_bytes(clip.read_bytes()[:200])
        reason = reason_of(cut, "videos")
        assert reason.startswith("video does not open: ") and "<local file>" in reason
        assert PRIVATE not in reason and str(tmp_path) not in reason

    def test_images_pdfs_and_xml_reasons_name_no_local_path(self, tmp_path: Path) -> None:
        folder = tmp_path / PRIVATE
        folder.mkdir()
        broken = {
            "cut.png": (png_bytes(1)[:60], "images"), "cut.jpg": (jpeg_bytes(1)[:300], "images"),
            "bad.pdf": (b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer << /Root 1 0 R >>\n%%EOF\n", "documents"),
            "bad.xml": (b'<?xml version="1.0"?><Invoice><a></Invoice>', "documents"),
        }  # fmt: skip
        for name, (data, kind) in broken.items():
            (folder / name).write_bytes(data)
            reason = reason_of(folder / name, kind)
            assert PRIVATE not in reason and str(tmp_path) not in reason, (name, reason)

    def test_an_ingest_records_reasons_without_the_paths_it_read_from(self, tmp_path: Path, catalog_url: str) -> None:
        folder = tmp_path / PRIVATE
        folder.mkdir()
        clip = write_video(folder / "ok.mp4", container="mp4", codec="mpeg4")
        (folder / "cut.mp4").write_bytes(clip.read_bytes()[:200])
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            data = clip.read_bytes()[:200]
            info = tarfile.TarInfo("in-bundle/cut.mp4")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        (folder / "bundle.tar").write_bytes(buffer.getvalue())
        resources = Resources(store_url=str(tmp_path / "store"), catalog_url=catalog_url)
        for kind, source in (("folder", folder), ("archive", folder / "bundle.tar")):
            request = IngestRequest(batch_id=f"v-{kind}", media_kind="videos", source_kind=kind, source=str(source))  # type: ignore[arg-type]
            ingest(request, resources, SETTINGS)
        reasons = [f["reason"] for b in ("v-folder", "v-archive") for s in ingest_details(resources.catalog(), b) for f in s["failed_files"]]
        assert len([r for r in reasons if r.startswith("video does not open")]) == 2, reasons
        assert not [r for r in reasons if PRIVATE in r or "/tmp" in r or str(tmp_path) in r], reasons


class TestJobErrors:
    def test_a_step_error_quoting_the_file_s_local_copy_is_recorded_without_it(self, tmp_path: Path) -> None:
        folder = tmp_path / PRIVATE
        folder.mkdir()
        (folder / "blob").write_bytes(b"not a video at all")
        result = run_file(get_workflow("video-frames", load_workflows()), folder / "blob", "clip.mp4", "video/mp4", None)
        assert (result.status, result.error_type) == ("failed", FileErrorType.INVALID_FILE_CONTENT)
        assert "clip.mp4" in result.error_reason and PRIVATE not in result.error_reason, result.error_reason


class TestStripLocalPaths:
    @pytest.mark.parametrize(("text", "shown"), [
        ("Invalid data found when processing input: '/tmp/docket-dl-x1/3'", "Invalid data found when processing input: '<local file>'"),
        ("cannot open /home/alice/store/blobs/ab/cd: No such file", "cannot open <local file>: No such file"),
        ('file "C:\\Users\\bob\\x.pdf" is broken', 'file "<local file>" is broken'),
    ])  # fmt: skip
    def test_local_paths_go(self, text: str, shown: str) -> None:
        assert strip_local_paths(text) == shown

    @pytest.mark.parametrize("text", ["expected image/jpeg at 1/8 scale", "got https://files.example.com/a/b.jpg?<redacted>",
                                      "file name 'a/b/c.jpg' is taken"])  # fmt: skip
    def test_media_types_urls_and_batch_names_stay(self, text: str) -> None:
        assert strip_local_paths(text) == text
