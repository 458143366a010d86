"""Ingests and jobs write their notifications in the transaction of the change, exactly once."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from docket_core.catalog.schema_notifications import notifications
from docket_core.jobs.finish import finish_job, request_abort
from docket_core.jobs.models import JobRequest
from docket_core.jobs.plan import register_job, start_job
from docket_core.jobs.process import process_chunk
from docket_core.notifications.subscriptions import job_for_ingest
from docket_core.resources import Resources
from docket_core.settings import DocketSettings
from docket_core.staging.ingest import ingest_shard
from docket_core.staging.models import IngestRequest
from docket_core.staging.plan import begin_ingest
from docket_core.staging.record import finish_ingest, record_shard
from docket_core.workflows.registry import get_workflow, load_workflows
from tests.helpers import image_folder, write

HOOK = "https://hooks.example.com/docket?token=abc"


@pytest.fixture
def resources(catalog_url: str, tmp_path: Path) -> Resources:
    return Resources(store_url=str(tmp_path / "store"), catalog_url=catalog_url)


@pytest.fixture
def settings() -> DocketSettings:
    return DocketSettings(shard_size=3)


def outbox(resources: Resources) -> list[sa.Row]:
    with resources.catalog().read() as conn:
        return conn.execute(sa.select(notifications).order_by(notifications.c.id)).all()


def stage(folder: Path, resources: Resources, settings: DocketSettings, **kw: object) -> str:
    request = IngestRequest(batch_id="b1", media_kind="images", source_kind="folder", source=str(folder), **kw)  # type: ignore[arg-type]
    plan = begin_ingest(request, resources, settings)
    for shard_id in plan.pending_shards:
        outcomes = ingest_shard(shard_id, resources, settings)
        record_shard(resources.catalog(), shard_id, outcomes)
        record_shard(resources.catalog(), shard_id, outcomes)  # a retried task: recorded once
    finish_ingest(resources.catalog(), plan.ingest_id)
    finish_ingest(resources.catalog(), plan.ingest_id)  # summarised twice: notified once
    return plan.ingest_id


class TestIngestNotifications:
    def test_nobody_subscribed_means_an_empty_outbox(self, tmp_path: Path, resources: Resources, settings: DocketSettings) -> None:
        stage(image_folder(tmp_path / "in", 4), resources, settings)
        assert outbox(resources) == []

    def test_ingest_status_is_one_notification_when_the_ingest_completes(self, tmp_path: Path, resources: Resources, settings: DocketSettings) -> None:
        image_folder(tmp_path / "in", 4)
        write(tmp_path / "in/bad.jpg", b"not a jpeg")
        ingest_id = stage(tmp_path / "in", resources, settings, notifications_url=HOOK, workflow_id="image-metadata")
        [row] = outbox(resources)
        assert (row.type, row.resource_key, row.status) == ("ingest-status", f"ingest:{ingest_id}", "pending")
        assert row.payload["event_id"] == row.event_id and row.payload["ingest_id"] == ingest_id
        note = row.payload["notification"]
        assert (note["success"], note["files"], note["ingested"], note["failed"], note["workflow_id"]) == (True, 5, 4, 1, "image-metadata")

    def test_files_status_sends_each_shard_s_files_then_the_ingest_status(self, tmp_path: Path, resources: Resources, settings: DocketSettings) -> None:
        image_folder(tmp_path / "in", 4)
        write(tmp_path / "in/zz-bad.jpg", b"not a jpeg")
        ingest_id = stage(tmp_path / "in", resources, settings, notifications_url=HOOK, notification_category="files-status")
        rows = outbox(resources)
        assert [r.type for r in rows] == ["files-status", "files-status", "ingest-status"]
        assert {r.resource_key for r in rows} == {f"ingest:{ingest_id}"}  # one resource: delivered in this order
        first, second = (r.payload["notification"] for r in rows[:2])
        assert first["ingested_files"] == ["img0000.jpg", "img0001.jpg", "img0002.jpg"] and first["failed_files"] == []
        assert second["ingested_files"] == ["img0003.jpg"]
        assert [f["file_name"] for f in second["failed_files"]] == ["zz-bad.jpg"]
        assert [r.payload["shard_id"] for r in rows] == [f"{ingest_id}/00000", f"{ingest_id}/00001", None]

    def test_a_failed_shard_transaction_leaves_no_notification(
        self, tmp_path: Path, resources: Resources, settings: DocketSettings, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from docket_core.staging import record

        image_folder(tmp_path / "in", 2)
        request = IngestRequest(batch_id="b1", media_kind="images", source_kind="folder", source=str(tmp_path / "in"),
                                notifications_url=HOOK, notification_category="files-status")  # fmt: skip
        plan = begin_ingest(request, resources, settings)
        [shard_id] = plan.pending_shards
        outcomes = ingest_shard(shard_id, resources, settings)

        def boom(*args: object, **kwargs: object) -> None:
            raise RuntimeError("crash after the outbox row, before the commit")

        real = record.notify_shard_recorded
        monkeypatch.setattr(record, "notify_shard_recorded", lambda conn, **kw: (real(conn, **kw), boom()))
        with pytest.raises(RuntimeError, match="before the commit"):
            record_shard(resources.catalog(), shard_id, outcomes)
        assert outbox(resources) == []


class TestJobNotifications:
    def _job(self, tmp_path: Path, resources: Resources, settings: DocketSettings, **kw: object) -> str:
        stage(image_folder(tmp_path / "in", 3), resources, settings)
        workflow = get_workflow("image-metadata", load_workflows())
        job_id = register_job(JobRequest(batch_id="b1", workflow_id="image-metadata", job_id="j1", **kw), workflow, resources)  # type: ignore[arg-type]
        plan = start_job(job_id, resources, settings)
        for chunk_id in plan.pending_chunks:
            process_chunk(chunk_id, workflow, resources, settings)
        finish_job(job_id, workflow, resources)
        return job_id

    def test_a_finished_job_queues_its_state_output_batch_and_counts(self, tmp_path: Path, resources: Resources, settings: DocketSettings) -> None:
        self._job(tmp_path, resources, settings, notifications_url=HOOK)
        [row] = outbox(resources)
        p = row.payload
        assert (row.type, row.resource_key) == ("job-status", "job:j1")
        assert (p["job_id"], p["job_state"], p["output_batch_id"], p["files_total"], p["files_succeeded"]) == ("j1", "success", "j1-out", 3, 3)

    def test_an_aborted_pending_job_notifies_too(self, tmp_path: Path, resources: Resources, settings: DocketSettings) -> None:
        stage(image_folder(tmp_path / "in", 2), resources, settings)
        register_job(JobRequest(batch_id="b1", workflow_id="image-metadata", job_id="j2", notifications_url=HOOK),
                     get_workflow("image-metadata", load_workflows()), resources)  # fmt: skip
        request_abort(resources.catalog(), "j2")
        [row] = outbox(resources)
        assert (row.payload["state"], row.payload["job_state"]) == ("aborted", "fail")

    def test_a_job_asked_for_by_an_ingest_gets_a_stable_id_and_its_url(self, tmp_path: Path, resources: Resources, settings: DocketSettings) -> None:
        ingest_id = stage(image_folder(tmp_path / "in", 1), resources, settings, notifications_url=HOOK, ingest_id="Push.ABC 1")
        with resources.catalog().read() as conn:
            job = job_for_ingest(conn, JobRequest(batch_id="b1", workflow_id="image-metadata"), ingest_id)
            again = job_for_ingest(conn, JobRequest(batch_id="b1", workflow_id="image-metadata"), ingest_id)
        assert job.job_id == again.job_id and job.job_id.startswith("push-abc-") and job.job_id.endswith("-job")
        assert job.notifications_url == HOOK


class TestDocumentNotifications:
    def test_status_changes_and_exports_are_queued_per_document_in_order(self, resources: Resources) -> None:
        from docket_core.notifications.subscriptions import notify_document_status_changed, notify_documents_exported

        with resources.catalog().begin() as conn:
            notify_document_status_changed(conn, endpoint=HOOK, queue_id="q1", document_id=7, status="to_review",
                                           previous_status="importing", file_name="inv-7.pdf")  # fmt: skip
            ids = notify_documents_exported(conn, endpoint=HOOK, queue_id="q1", export_id="e1", documents=[
                {"document_id": 7, "content": {"total": "12.50"}, "file_name": "inv-7.pdf"},
                {"document_id": 8, "content": {"total": "1.00"}},
            ])  # fmt: skip
        rows = outbox(resources)
        assert len(ids) == 2 and [r.type for r in rows] == ["document-status-changed", "document-exported", "document-exported"]
        assert [r.resource_key for r in rows] == ["document:7", "document:7", "document:8"]
        assert rows[1].payload["notification"]["content"] == {"total": "12.50"} and rows[1].payload["event_id"] == ids[0]

    def test_finishing_says_whether_a_notification_was_queued(self, tmp_path: Path, resources: Resources, settings: DocketSettings) -> None:
        stage(image_folder(tmp_path / "in", 2), resources, settings)
        workflow = get_workflow("image-metadata", load_workflows())
        for job_id, url in (("with-url", HOOK), ("without", None)):
            register_job(JobRequest(batch_id="b1", workflow_id="image-metadata", job_id=job_id, notifications_url=url), workflow, resources)
            for chunk_id in start_job(job_id, resources, settings).pending_chunks:
                process_chunk(chunk_id, workflow, resources, settings)
            assert finish_job(job_id, workflow, resources)["notified"] is (url is not None)
