"""Where each value came from, in queue documents' content the way Rossum carries it, and kept normalized."""

from __future__ import annotations

from pathlib import Path

from docket_core.extensions.content import apply_operations, find_by_schema_id
from docket_core.extensions.runner import DocState
from docket_core.queues.documents import document_details
from docket_core.queues.importing import ImportRequest, register_import
from docket_core.queues.registry import save_queue
from docket_core.queues.review import apply_edits
from docket_core.queues.runs import load_chunk, save_chunk
from docket_core.resources import Resources
from docket_core.settings import DocketSettings
from tests.docket_core.queues.scored_workflow import MODULE, capture, scored_queue, write_scored


def datapoint(resources: Resources, doc_id: int, schema_id: str) -> dict:
    return find_by_schema_id(document_details(resources.catalog(), doc_id)["content"], schema_id)[0]


class TestCapturedContent:
    def test_each_datapoint_carries_value_normalized_value_page_position_text_and_confidence(
        self, tmp_path: Path, resources: Resources, scored_settings: DocketSettings
    ) -> None:
        path = write_scored(tmp_path / "a.xml", {"invoice_number": ("INV-7", 0.97), "issue_date": ("2024-03-31", 0.88),
                                                  "gross_total": ("1234.5", 0.93)})  # fmt: skip
        (doc,) = capture(resources, scored_settings, scored_queue(), [path])
        total = datapoint(resources, doc, "gross_total")["content"]
        assert (total["value"], total["normalized_value"]) == ("1234.50", "1234.5")
        assert (total["page"], total["position"], total["rir_position"]) == (1, [0.1, 0.2, 0.4, 0.23], [0.1, 0.2, 0.4, 0.23])
        assert (total["rir_text"], total["rir_confidence"], total["rir_page"]) == ("read: 1234.5", 0.93, 1)
        issued = datapoint(resources, doc, "issue_date")["content"]
        assert (issued["normalized_value"], issued["rir_confidence"]) == ("2024-03-31", 0.88)
        note = datapoint(resources, doc, "note")["content"]  # not captured: no value, no provenance
        assert (note["value"], note["normalized_value"], note["page"], note["position"], note["rir_confidence"]) == ("", None, None, None, None)


class TestFromAJob:
    def test_a_jobs_output_brings_where_each_value_was_read_into_the_queue(
        self, tmp_path: Path, resources: Resources, scored_settings: DocketSettings
    ) -> None:
        from docket_core.jobs.finish import finish_job
        from docket_core.jobs.models import JobRequest
        from docket_core.jobs.plan import register_job, start_job
        from docket_core.jobs.process import process_chunk
        from docket_core.workflows.registry import get_workflow, load_workflows
        from tests.docket_core.queues.test_importing import stage_batch

        write_scored(tmp_path / "in" / "a.xml", {"invoice_number": ("INV-9", 0.91), "gross_total": ("42", 0.66)})
        stage_batch(resources, scored_settings, "scans", "documents", tmp_path / "in")
        workflow = get_workflow("scored-capture", load_workflows(modules=[MODULE]))
        register_job(JobRequest(batch_id="scans", workflow_id="scored-capture", job_id="scans-job"), workflow, resources)
        for chunk in start_job("scans-job", resources, scored_settings).pending_chunks:
            process_chunk(chunk, workflow, resources, scored_settings)
        finish_job("scans-job", workflow, resources)
        queue = scored_queue()
        with resources.catalog().begin() as conn:
            save_queue(conn, queue, source="test")
        (doc,) = register_import(ImportRequest(queue_id="scored", source="job", job_id="scans-job"), resources, scored_settings).document_ids
        total = datapoint(resources, doc, "gross_total")["content"]
        assert (total["value"], total["normalized_value"], total["page"], total["rir_confidence"]) == ("42.00", "42", 1, 0.66)
        assert total["position"] == [0.1, 0.15, 0.4, 0.18] and total["rir_text"] == "read: 42"
        assert datapoint(resources, doc, "invoice_number")["content"]["rir_confidence"] == 0.91


class TestLaterValues:
    def test_a_persons_edit_is_normalized_and_keeps_what_capture_read(self, tmp_path: Path, resources: Resources, scored_settings: DocketSettings) -> None:
        path = write_scored(tmp_path / "a.xml", {"issue_date": ("2024-03-31", 0.88), "gross_total": ("10", 0.5)})
        (doc,) = capture(resources, scored_settings, scored_queue(), [path])
        apply_edits(resources.catalog(), doc, changes={"gross_total": "1.234,56", "issue_date": "01.04.2024"}, actor="ann")
        total = datapoint(resources, doc, "gross_total")["content"]
        assert (total["value"], total["normalized_value"], total["rir_text"], total["rir_confidence"]) == ("1.234,56", "1234.56", "read: 10", 0.5)
        assert datapoint(resources, doc, "issue_date")["content"]["normalized_value"] == "2024-04-01"

    def test_a_value_an_extension_sets_is_normalized_when_the_run_is_saved(self, tmp_path: Path, resources: Resources, scored_settings: DocketSettings) -> None:
        queue = scored_queue()
        (doc,) = capture(resources, scored_settings, queue, [write_scored(tmp_path / "a.xml", {"gross_total": ("10", 0.9)})])
        with resources.catalog().read() as conn:
            chunk = load_chunk(conn, queue, "annotation_content.updated", [doc])
        state = chunk.subjects[0]
        assert isinstance(state, DocState)
        target = find_by_schema_id(state.content, "gross_total")[0]["id"]
        # What an extension answers: a new value, with a normalized value that no longer matches it.
        state.content, _ = apply_operations(state.content, [{"op": "replace", "id": target,
                                                             "value": {"content": {"value": "2 500,00", "normalized_value": "10"}}}])  # fmt: skip
        state.ran, state.sources = ["fixer"], {str(target): "fixer"}
        with resources.catalog().begin() as conn:
            (outcome,) = save_chunk(conn, queue, chunk, actor="extensions")
        assert outcome.saved
        details = document_details(resources.catalog(), doc)
        assert find_by_schema_id(details["content"], "gross_total")[0]["content"]["normalized_value"] == "2500"
        assert details["values"]["gross_total"] == 2500.0 and details["sources"]["gross_total"] == "fixer"
