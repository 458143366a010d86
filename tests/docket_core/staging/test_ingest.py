"""The staging domain end to end without Prefect: plan, ingest each shard, record, summarise."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from docket_core.errors import ConflictError, InputError
from docket_core.resources import Resources
from docket_core.settings import DocketSettings
from docket_core.staging.export import export_batch
from docket_core.staging.ingest import ingest_shard
from docket_core.staging.models import IngestRequest, IngestSummary
from docket_core.staging.plan import begin_ingest
from docket_core.staging.queries import batch_content, batch_details, ingest_details, list_batches
from docket_core.staging.record import finish_ingest, record_shard
from tests.helpers import file_server, image_folder, jpeg_bytes, png_bytes, write


@pytest.fixture
def resources(catalog_url: str, tmp_path: Path) -> Resources:
    return Resources(store_url=str(tmp_path / "store"), catalog_url=catalog_url)


@pytest.fixture
def settings() -> DocketSettings:
    return DocketSettings(shard_size=3, max_image_bytes=50_000)


def ingest(request: IngestRequest, resources: Resources, settings: DocketSettings, *, stop_after: int | None = None) -> IngestSummary:
    plan = begin_ingest(request, resources, settings)
    for n, shard_id in enumerate(plan.pending_shards):
        if stop_after is not None and n == stop_after:
            break
        outcomes = ingest_shard(shard_id, resources, settings, allow_private_network=request.allow_private_network)
        record_shard(resources.catalog(), shard_id, outcomes)
    return finish_ingest(resources.catalog(), plan.ingest_id)


def folder_request(folder: Path, **kw: object) -> IngestRequest:
    return IngestRequest(batch_id="b1", media_kind="images", source_kind="folder", source=str(folder), **kw)  # type: ignore[arg-type]


def content(resources: Resources, batch_id: str = "b1") -> dict[str, dict]:
    return {f["name"]: f for f in batch_content(resources.catalog(), batch_id)}


class TestFolders:
    def test_every_file_is_ingested_under_its_relative_name(self, tmp_path: Path, resources: Resources, settings: DocketSettings) -> None:
        write(tmp_path / "in/a/x.jpg", jpeg_bytes(1))
        write(tmp_path / "in/b/x.jpg", jpeg_bytes(2))
        write(tmp_path / "in/top.png", png_bytes(3))
        write(tmp_path / "in/.hidden/skip.jpg", jpeg_bytes(4))
        summary = ingest(folder_request(tmp_path / "in"), resources, settings)
        assert (summary.ingested, summary.failed, summary.duplicates, summary.status) == (3, 0, 0, "completed")
        files = content(resources)
        assert sorted(files) == ["a/x.jpg", "b/x.jpg", "top.png"]
        assert files["a/x.jpg"]["sha256"] != files["b/x.jpg"]["sha256"]
        assert files["top.png"]["media_type"] == "image/png"

    def test_bad_files_fail_with_typed_reasons_and_the_rest_goes_on(self, tmp_path: Path, resources: Resources, settings: DocketSettings) -> None:
        image_folder(tmp_path / "in", 4)
        write(tmp_path / "in/truncated.jpg", jpeg_bytes(9)[:200])
        write(tmp_path / "in/notes.txt", b"just text")
        write(tmp_path / "in/huge.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 60_000)
        summary = ingest(folder_request(tmp_path / "in"), resources, settings)
        assert (summary.ingested, summary.failed) == (4, 3)
        files = content(resources)
        assert files["truncated.jpg"]["error_type"] == "invalid-file-content"
        assert files["notes.txt"]["error_type"] == "unsupported-file-type"
        assert files["huge.png"]["error_type"] == "file-size-limit-exceeded"
        assert all(files[n]["status"] == "failed" for n in ("truncated.jpg", "notes.txt", "huge.png"))
        failed = [f for shard in ingest_details(resources.catalog(), "b1") for f in shard["failed_files"]]
        assert sorted(f["file_name"] for f in failed) == ["huge.png", "notes.txt", "truncated.jpg"]
        assert all(f["reason"] for f in failed)

    def test_the_same_ingest_again_adds_nothing_and_says_so(self, tmp_path: Path, resources: Resources, settings: DocketSettings) -> None:
        image_folder(tmp_path / "in", 5)
        first = ingest(folder_request(tmp_path / "in", ingest_id="i-1"), resources, settings)
        again = ingest(folder_request(tmp_path / "in", ingest_id="i-1"), resources, settings)
        assert again.already_completed and (again.ingested, again.shards) == (first.ingested, first.shards)
        assert batch_details(resources.catalog(), "b1")["files_count"] == 5

    def test_the_same_content_in_a_new_ingest_counts_as_duplicates(self, tmp_path: Path, resources: Resources, settings: DocketSettings) -> None:
        image_folder(tmp_path / "in", 5)
        ingest(folder_request(tmp_path / "in"), resources, settings)
        second = ingest(folder_request(tmp_path / "in"), resources, settings)
        assert (second.ingested, second.duplicates, second.failed) == (0, 5, 0)
        assert batch_details(resources.catalog(), "b1")["files_count"] == 5

    def test_a_name_already_taken_by_other_content_is_refused_and_the_original_kept(
        self, tmp_path: Path, resources: Resources, settings: DocketSettings
    ) -> None:
        write(tmp_path / "one/x.jpg", jpeg_bytes(1))
        write(tmp_path / "two/x.jpg", jpeg_bytes(2))
        ingest(folder_request(tmp_path / "one"), resources, settings)
        original = content(resources)["x.jpg"]["sha256"]
        second = ingest(folder_request(tmp_path / "two"), resources, settings)
        assert second.failed == 1
        [shard] = list(ingest_details(resources.catalog(), "b1", second.ingest_id))
        assert shard["failed_files"][0]["type"] == "duplicate-file-name"
        assert content(resources)["x.jpg"]["sha256"] == original

    def test_reusing_an_ingest_id_for_another_source_is_refused(self, tmp_path: Path, resources: Resources, settings: DocketSettings) -> None:
        image_folder(tmp_path / "one", 1)
        image_folder(tmp_path / "two", 1)
        ingest(folder_request(tmp_path / "one", ingest_id="same"), resources, settings)
        with pytest.raises(ConflictError, match="ingest id 'same' was used for another request"):
            ingest(folder_request(tmp_path / "two", ingest_id="same"), resources, settings)

    def test_an_interrupted_ingest_resumes_with_every_file_exactly_once(
        self, tmp_path: Path, resources: Resources, settings: DocketSettings
    ) -> None:
        image_folder(tmp_path / "in", 10)  # 4 shards of 3
        partial = ingest(folder_request(tmp_path / "in", ingest_id="crashy"), resources, settings, stop_after=2)
        assert partial.status == "running" and partial.ingested == 6
        # A shard staged but not recorded (the crash came between the two) is redone from scratch.
        plan = begin_ingest(folder_request(tmp_path / "in", ingest_id="crashy"), resources, settings)
        ingest_shard(plan.pending_shards[0], resources, settings)
        done = ingest(folder_request(tmp_path / "in", ingest_id="crashy"), resources, settings)
        assert (done.status, done.ingested, done.duplicates, done.failed) == ("completed", 10, 0, 0)
        assert len(content(resources)) == 10

    def test_recording_a_shard_twice_changes_nothing(self, tmp_path: Path, resources: Resources, settings: DocketSettings) -> None:
        image_folder(tmp_path / "in", 3)
        plan = begin_ingest(folder_request(tmp_path / "in"), resources, settings)
        [shard_id] = plan.pending_shards
        outcomes = ingest_shard(shard_id, resources, settings)
        first = record_shard(resources.catalog(), shard_id, outcomes)
        second = record_shard(resources.catalog(), shard_id, outcomes)
        assert first == second and first.ingested == 3
        assert ingest_shard(shard_id, resources, settings) is None

    def test_a_missing_folder_is_a_clear_error(self, tmp_path: Path, resources: Resources, settings: DocketSettings) -> None:
        with pytest.raises(InputError, match=r"expected an existing folder of images, got '.*nope' \(not found\)"):
            ingest(folder_request(tmp_path / "nope"), resources, settings)

    def test_a_batch_keeps_one_kind_of_media(self, tmp_path: Path, resources: Resources, settings: DocketSettings) -> None:
        image_folder(tmp_path / "in", 1)
        ingest(folder_request(tmp_path / "in"), resources, settings)
        docs = IngestRequest(batch_id="b1", media_kind="documents", source_kind="folder", source=str(tmp_path / "in"))
        with pytest.raises(InputError, match="batch 'b1' holds images, got a request to add documents"):
            ingest(docs, resources, settings)

    def test_batch_ids_are_checked(self) -> None:
        with pytest.raises(ValueError, match="batch id must match"):
            IngestRequest(batch_id="Bad Id", media_kind="images", source_kind="folder", source=".")


class TestArchives:
    def _tar(self, path: Path, members: dict[str, bytes]) -> Path:
        with tarfile.open(path, "w") as tar:
            for name, data in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        return path

    def test_a_bundle_is_staged_and_unsafe_members_refused_one_by_one(
        self, tmp_path: Path, resources: Resources, settings: DocketSettings
    ) -> None:
        bundle = self._tar(tmp_path / "b.tar", {"ok/1.jpg": jpeg_bytes(1), "../escape.jpg": jpeg_bytes(2), "2.jpg": jpeg_bytes(3)})
        with tarfile.open(bundle, "a") as tar:
            link = tarfile.TarInfo("link.jpg")
            link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(link)
        request = IngestRequest(batch_id="b1", media_kind="images", source_kind="archive", source=str(bundle))
        summary = ingest(request, resources, settings)
        assert (summary.ingested, summary.failed) == (2, 2)
        assert sorted(content(resources)) == ["2.jpg", "ok/1.jpg"]
        failed = {f["file_name"]: f["type"] for s in ingest_details(resources.catalog(), "b1") for f in s["failed_files"]}
        assert failed == {"../escape.jpg": "unsafe-archive-member", "link.jpg": "unsafe-archive-member"}

    def test_a_bundle_over_the_limit_is_refused_whole(self, tmp_path: Path, resources: Resources) -> None:
        bundle = self._tar(tmp_path / "big.tar", {f"{i}.jpg": b"x" for i in range(6)})
        request = IngestRequest(batch_id="b1", media_kind="images", source_kind="archive", source=str(bundle))
        with pytest.raises(InputError, match="at most 5"):
            ingest(request, resources, DocketSettings(max_archive_members=5))
        assert list_batches(resources.catalog())[0]["files_count"] == 0


class TestReferences:
    def _refs(self, path: Path, lines: list[object]) -> Path:
        path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
        return path

    def test_references_are_downloaded_validated_and_failures_typed(
        self, tmp_path: Path, resources: Resources, settings: DocketSettings
    ) -> None:
        files = {f"/f{i}.jpg": jpeg_bytes(i) for i in range(4)}
        with file_server(files) as base:
            refs = self._refs(
                tmp_path / "refs.jsonl",
                [{"name": f"dir/f{i}.jpg", "url": f"{base}/f{i}.jpg?X-Amz-Signature=SECRET{i}"} for i in range(4)]
                + [{"name": "missing.jpg", "url": f"{base}/nope.jpg?sig=SECRET"}, "{not json", {"name": "meta.jpg", "url": "http://169.254.169.254/latest"}],
            )
            request = IngestRequest(batch_id="b1", media_kind="images", source_kind="references", source=str(refs), allow_private_network=True)
            summary = ingest(request, resources, settings)
        assert (summary.ingested, summary.failed) == (4, 3)
        failed = {f["file_name"]: f for s in ingest_details(resources.catalog(), "b1") for f in s["failed_files"]}
        assert failed["missing.jpg"]["type"] == "download-failed"
        assert failed["line 6"]["type"] == "malformed-reference"
        assert "SECRET" not in json.dumps(failed)

    def test_loopback_references_are_refused_without_the_explicit_flag(
        self, tmp_path: Path, resources: Resources, settings: DocketSettings
    ) -> None:
        with file_server({"/a.jpg": jpeg_bytes(1)}) as base:
            refs = self._refs(tmp_path / "refs.jsonl", [{"name": "a.jpg", "url": f"{base}/a.jpg?sig=TOPSECRET"}])
            request = IngestRequest(batch_id="b1", media_kind="images", source_kind="references", source=str(refs))
            summary = ingest(request, resources, settings)
        assert (summary.ingested, summary.failed) == (0, 1)
        row = content(resources)["a.jpg"]
        assert row["error_type"] == "unsafe-url-detected" and "TOPSECRET" not in row["reason"]

    def test_a_references_file_already_in_the_store_is_ingested_from_there(
        self, tmp_path: Path, resources: Resources, settings: DocketSettings
    ) -> None:
        with file_server({"/a.jpg": jpeg_bytes(1), "/b.jpg": jpeg_bytes(2)}) as base:
            lines = "".join(json.dumps({"name": n, "url": f"{base}/{n}"}) + "\n" for n in ("a.jpg", "b.jpg"))
            resources.store().put_bytes("pushes/abc.jsonl", lines.encode())  # where the receiver keeps inline pushes
            request = IngestRequest(batch_id="b1", media_kind="images", source_kind="references", source="store:pushes/abc.jsonl",
                                    allow_private_network=True)  # fmt: skip
            summary = ingest(request, resources, settings)
        assert (summary.ingested, summary.failed) == (2, 0) and sorted(content(resources)) == ["a.jpg", "b.jpg"]
        missing = IngestRequest(batch_id="b2", media_kind="images", source_kind="references", source="store:pushes/gone.jsonl")
        with pytest.raises(InputError, match="expected a references file in the store at 'pushes/gone.jsonl', got nothing there"):
            ingest(missing, resources, settings)


class TestExport:
    def test_a_batch_exports_under_its_names_and_resumes(self, tmp_path: Path, resources: Resources, settings: DocketSettings) -> None:
        write(tmp_path / "in/a/x.jpg", jpeg_bytes(1))
        write(tmp_path / "in/b/x.jpg", jpeg_bytes(2))
        ingest(folder_request(tmp_path / "in"), resources, settings)
        first = export_batch(resources, "b1", tmp_path / "out")
        assert (first.copied, first.skipped) == (2, 0)
        assert (tmp_path / "out/a/x.jpg").read_bytes() == jpeg_bytes(1)
        (tmp_path / "out/b/x.jpg").unlink()
        again = export_batch(resources, "b1", tmp_path / "out")
        assert (again.copied, again.skipped) == (1, 1)
        assert (tmp_path / "out/b/x.jpg").read_bytes() == jpeg_bytes(2)


class TestMemoryStore:
    def test_ingest_works_on_the_memory_filesystem(self, tmp_path: Path, catalog_url: str, settings: DocketSettings) -> None:
        resources = Resources(store_url="memory://docket-ingest-test", catalog_url=catalog_url)
        image_folder(tmp_path / "in", 2)
        summary = ingest(folder_request(tmp_path / "in"), resources, settings)
        assert summary.ingested == 2
        sha = content(resources)["img0000.jpg"]["sha256"]
        assert resources.store().read_bytes(f"objects/sha256/{sha[:2]}/{sha}") == jpeg_bytes(0)
