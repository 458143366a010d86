"""Notification bodies keep Roboflow's field structure and stay under the size limit."""

from __future__ import annotations

from datetime import datetime, timezone

from docket_core.notifications import payloads
from docket_core.notifications.payloads import body_bytes


class TestIngestStatus:
    def test_a_completed_ingest_says_success_with_its_counts(self) -> None:
        p = payloads.ingest_status(ingest_id="i1", batch_id="b1", success=True, workflow_id="image-metadata",
                                   counts={"files": 3, "ingested": 2, "failed": 1, "duplicates": 0, "shards": 1})  # fmt: skip
        assert list(p) == ["type", "event_id", "ingest_id", "batch_id", "shard_id", "notification", "delivery_attempt"]
        assert p["type"] == "docket-data-staging-notification-v1" and p["shard_id"] is None
        assert p["notification"] == {
            "type": "ingest-status-notification-v1", "success": True, "error_details": None, "files": 3, "ingested": 2,
            "failed": 1, "duplicates": 0, "shards": 1, "workflow_id": "image-metadata",
        }  # fmt: skip

    def test_a_failed_ingest_carries_error_details(self) -> None:
        p = payloads.ingest_status(ingest_id="i1", batch_id="b1", success=False, error_type="unsafe-url-detected", reason="no")
        assert p["notification"]["success"] is False
        assert p["notification"]["error_details"] == {"type": "unsafe-url-detected", "reason": "no"}


class TestFilesStatus:
    def _files(self, n_ok: int, n_bad: int, max_bytes: int) -> dict:
        return payloads.files_status(
            ingest_id="i1", batch_id="b1", shard_id="i1/00000", ingested_files=[f"ok-{i:05d}.jpg" for i in range(n_ok)],
            failed_files=[{"type": "invalid-file-content", "file_name": f"bad-{i:05d}.jpg", "reason": "x" * 100} for i in range(n_bad)],
            max_bytes=max_bytes,
        )  # fmt: skip

    def test_a_shard_lists_every_file_when_it_fits(self) -> None:
        note = self._files(3, 1, 10_000)["notification"]
        assert note["type"] == "ingest-files-status-notification-v1"
        assert note["ingested_files"] == ["ok-00000.jpg", "ok-00001.jpg", "ok-00002.jpg"]
        assert note["failed_files"] == [{"type": "invalid-file-content", "file_name": "bad-00000.jpg", "reason": "x" * 100}]
        assert (note["content_truncated"], note["ingested_count"], note["failed_count"]) == (False, 3, 1)

    def test_a_shard_too_big_for_one_message_is_cut_to_fit_failures_first(self) -> None:
        p = self._files(500, 40, 4096)
        note = p["notification"]
        with_real_ids = {**p, "event_id": "8f42708b-aeb7-4b73-9d83-cf18518b6d81", "delivery_attempt": 12}
        assert len(body_bytes(with_real_ids)) <= 4096
        assert note["content_truncated"] is True
        assert (note["ingested_count"], note["failed_count"]) == (500, 40)
        assert 0 < len(note["failed_files"]) < 40 and note["ingested_files"] == []

    def test_when_failures_fit_the_rest_of_the_room_goes_to_ingested_names(self) -> None:
        note = self._files(500, 2, 4096)["notification"]
        assert note["content_truncated"] and len(note["failed_files"]) == 2 and 0 < len(note["ingested_files"]) < 500


class TestJobStatus:
    def test_a_job_says_success_or_fail_and_where_its_results_are(self) -> None:
        when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
        p = payloads.job_status({"job_id": "j1", "state": "failed", "batch_id": "b", "workflow_id": "w", "output_batch_id": "j1-out",
                                 "files_total": 3, "files_succeeded": 1, "files_failed": 2, "errors_by_type": {"x": 2},
                                 "error": "too many", "finished_at": when})  # fmt: skip
        assert (p["type"], p["job_state"], p["state"], p["output_batch_id"]) == ("docket-batch-job-notification-v1", "fail", "failed", "j1-out")
        assert (p["files_succeeded"], p["files_failed"], p["finished_at"]) == (1, 2, "2026-01-02T03:04:05+00:00")
        assert payloads.job_status({**p, "state": "succeeded"})["job_state"] == "success"


class TestDocuments:
    def test_a_status_change_names_both_statuses(self) -> None:
        p = payloads.document_status_changed(queue_id="q1", document_id=7, status="to_review", previous_status="importing")
        assert (p["type"], p["queue_id"], p["document_id"]) == ("docket-queue-notification-v1", "q1", 7)
        assert p["notification"]["type"] == "document-status-changed-v1"
        assert (p["notification"]["status"], p["notification"]["previous_status"]) == ("to_review", "importing")

    def test_an_export_carries_the_captured_data(self) -> None:
        content = {"invoice_id": "INV-1", "total": "12.50", "lines": [{"item": "a"}]}
        p = payloads.document_exported(queue_id="q1", document_id=7, content=content, max_bytes=10_000, export_id="e1")
        note = p["notification"]
        assert (note["type"], note["status"], note["content"], note["content_truncated"]) == ("document-exported-v1", "exported", content, False)

    def test_an_export_too_big_leaves_the_content_out_and_says_so(self) -> None:
        p = payloads.document_exported(queue_id="q1", document_id=7, content={"blob": "x" * 5000}, max_bytes=2048)
        assert p["notification"]["content"] is None and p["notification"]["content_truncated"] is True
        assert len(body_bytes(p)) <= 2048
