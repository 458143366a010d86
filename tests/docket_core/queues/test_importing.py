"""Documents into queues from uploads, batches, job outputs and e-mails; capture by the queue's workflow."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest
import sqlalchemy as sa

from docket_core.catalog.schema_queues import documents
from docket_core.errors import InputError
from docket_core.jobs.finish import finish_job
from docket_core.jobs.models import JobRequest
from docket_core.jobs.plan import register_job, start_job
from docket_core.jobs.process import process_chunk
from docket_core.queues.capture import capture_chunk
from docket_core.queues.documents import document_details
from docket_core.queues.email import email_files, parse_eml
from docket_core.queues.importing import ImportRequest, StagedFile, register_import
from docket_core.queues.models import QueueSpec
from docket_core.queues.registry import save_queue
from docket_core.resources import Resources
from docket_core.samples import write_sample_images
from docket_core.settings import DocketSettings
from docket_core.staging.models import IngestRequest
from docket_core.staging.plan import begin_ingest
from docket_core.staging.ingest import ingest_shard
from docket_core.staging.record import finish_ingest, record_shard
from docket_core.invoice_samples.sample_set import write_sample_invoices
from tests.docket_core.queues.conftest import INVOICE


def stage_batch(resources: Resources, settings: DocketSettings, batch_id: str, kind: str, folder: Path) -> None:
    plan = begin_ingest(IngestRequest(batch_id=batch_id, media_kind=kind, source_kind="folder", source=str(folder)), resources, settings)
    for shard in plan.pending_shards:
        record_shard(resources.catalog(), shard, ingest_shard(shard, resources, settings))
    finish_ingest(resources.catalog(), plan.ingest_id)


def statuses(resources: Resources, ids: list[int]) -> list[str]:
    with resources.catalog().read() as conn:
        return list(conn.execute(sa.select(documents.c.status).where(documents.c.document_id.in_(ids)).order_by(documents.c.document_id)).scalars())


class TestUploads:
    def test_importing_the_same_files_twice_creates_each_document_once(
        self, resources: Resources, settings: DocketSettings, queue: QueueSpec, staged_invoices: list[StagedFile]
    ) -> None:
        request = ImportRequest(queue_id=queue.queue_id, source="files", files=staged_invoices)
        first = register_import(request, resources, settings)
        again = register_import(request, resources, settings)
        assert (first.created, first.existing, again.created, again.existing) == (6, 0, 0, 6)
        assert first.document_ids == again.document_ids and statuses(resources, first.document_ids) == ["importing"] * 6

    def test_capture_fills_the_content_from_the_workflow_and_moves_to_review(
        self, resources: Resources, settings: DocketSettings, queue: QueueSpec, staged_invoices: list[StagedFile]
    ) -> None:
        plan = register_import(ImportRequest(queue_id=queue.queue_id, source="files", files=staged_invoices), resources, settings)
        summary = capture_chunk(plan.document_ids, queue.queue_id, resources, settings, actor="capture")
        assert summary.captured == plan.document_ids and summary.failed == []
        assert capture_chunk(plan.document_ids, queue.queue_id, resources, settings, actor="capture").captured == []  # done once
        details = document_details(resources.catalog(), plan.document_ids[0])
        assert details["status"] == "to_review" and details["values"]["invoice_number"] == "INV-2024-0001"
        assert details["sources"]["invoice_number"] == "workflow:extract" and len(details["values"]["line_items"]) >= 1
        bad_totals = document_details(resources.catalog(), plan.document_ids[2])
        (error,) = [m for m in bad_totals["messages"] if m["type"] == "error"]
        assert "but the gross total is" in error["content"] and error["source"] == "workflow:checks"
        assert error["id"] == next(n["id"] for n in bad_totals["content"][0]["children"] if n["schema_id"] == "gross_total")

    def test_a_file_whose_bytes_are_gone_fails_its_import_with_the_reason(
        self, resources: Resources, settings: DocketSettings, queue: QueueSpec
    ) -> None:
        ghost = StagedFile(name="ghost.pdf", sha256="0" * 64, media_type="application/pdf")
        plan = register_import(ImportRequest(queue_id=queue.queue_id, source="files", files=[ghost]), resources, settings)
        summary = capture_chunk(plan.document_ids, queue.queue_id, resources, settings, actor="capture")
        assert summary.failed == plan.document_ids
        details = document_details(resources.catalog(), plan.document_ids[0])
        assert details["status"] == "failed_import" and details["error"]

    def test_a_queue_without_a_workflow_says_how_to_give_it_one(
        self, resources: Resources, settings: DocketSettings, staged_invoices: list[StagedFile]
    ) -> None:
        with resources.catalog().begin() as conn:
            save_queue(conn, QueueSpec(queue_id="bare", fields=[{"id": "total", "type": "number"}]), source="test")
        with pytest.raises(InputError, match="queue 'bare' has no workflow to capture new files"):
            register_import(ImportRequest(queue_id="bare", source="files", files=staged_invoices), resources, settings)


class TestBatchesAndJobs:
    def test_a_batch_of_invoices_becomes_documents_named_after_its_files(
        self, tmp_path: Path, resources: Resources, settings: DocketSettings, queue: QueueSpec
    ) -> None:
        write_sample_invoices(tmp_path / "in", count=3)
        stage_batch(resources, settings, "march", "documents", tmp_path / "in")
        plan = register_import(ImportRequest(queue_id=queue.queue_id, source="batch", batch_id="march"), resources, settings)
        assert plan.created == 3
        assert document_details(resources.catalog(), plan.document_ids[0])["origin"] == {
            "kind": "batch", "batch_id": "march", "name": "invoice-01-facturx.pdf"
        }  # fmt: skip

    def test_a_batch_of_images_is_refused_for_an_invoice_queue(
        self, tmp_path: Path, resources: Resources, settings: DocketSettings, queue: QueueSpec
    ) -> None:
        write_sample_images(tmp_path / "pics", count=2)
        stage_batch(resources, settings, "pics", "images", tmp_path / "pics")
        with pytest.raises(InputError, match="captures with 'invoice-capture', which reads documents; batch 'pics' holds images"):
            register_import(ImportRequest(queue_id=queue.queue_id, source="batch", batch_id="pics"), resources, settings)

    def test_a_jobs_output_arrives_captured_in_to_review(
        self, tmp_path: Path, resources: Resources, settings: DocketSettings, queue: QueueSpec
    ) -> None:
        write_sample_invoices(tmp_path / "in", count=2)
        stage_batch(resources, settings, "apr", "documents", tmp_path / "in")
        request = JobRequest(batch_id="apr", workflow_id="invoice-capture", job_id="apr-job")
        register_job(request, INVOICE, resources)
        for chunk in start_job("apr-job", resources, settings).pending_chunks:
            process_chunk(chunk, INVOICE, resources, settings)
        finish_job("apr-job", INVOICE, resources)
        plan = register_import(ImportRequest(queue_id=queue.queue_id, source="job", job_id="apr-job"), resources, settings)
        assert statuses(resources, plan.document_ids) == ["to_review", "to_review"]
        details = document_details(resources.catalog(), plan.document_ids[0])
        assert details["values"]["invoice_number"] == "INV-2024-0001" and details["values"]["line_items"]
        assert [c.to_status for c in plan.changes] == ["to_review", "to_review"]


class TestEmail:
    def eml(self, *attachments: tuple[str, str, bytes]) -> bytes:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "ap@vendor.example", "invoices@docket.example", "March invoices"
        message["Message-ID"] = "<abc@vendor.example>"
        message.set_content("Please find attached.")
        for name, media, data in attachments:
            maintype, subtype = media.split("/")
            message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
        return message.as_bytes()

    def test_an_email_gives_headers_body_and_one_file_per_attachment(self) -> None:
        parsed = parse_eml(self.eml(("a.pdf", "application/pdf", b"%PDF-1.4"), ("logo.png", "image/png", b"\x89PNG")))
        assert parsed.headers["subject"] == "March invoices" and parsed.body_text.strip() == "Please find attached."
        assert [(f["id"], f["filename"], f["mime_type"]) for f in email_files(parsed)] == [
            ("1", "a.pdf", "application/pdf"), ("2", "logo.png", "image/png")
        ]  # fmt: skip
        assert parse_eml(self.eml(("a.pdf", "application/pdf", b"x"))).email_id == parsed.email_id  # by Message-ID

    def test_an_email_without_attachments_is_refused(self) -> None:
        with pytest.raises(InputError, match="has no attachments; a document needs a file"):
            parse_eml(self.eml())
