"""Edits, status actions, and saving an extension run without overwriting a newer edit."""

from __future__ import annotations

import pytest

from docket_core.errors import InputError
from docket_core.extensions.runner import DocState
from docket_core.queues.capture import capture_chunk
from docket_core.queues.documents import document_details
from docket_core.queues.importing import ImportRequest, StagedFile, register_import
from docket_core.queues.models import QueueSpec
from docket_core.queues.review import apply_edits, set_status
from docket_core.queues.runs import load_chunk, save_chunk
from docket_core.resources import Resources
from docket_core.settings import DocketSettings


@pytest.fixture
def doc_ids(resources: Resources, settings: DocketSettings, queue: QueueSpec, staged_invoices: list[StagedFile]) -> list[int]:
    plan = register_import(ImportRequest(queue_id=queue.queue_id, source="files", files=staged_invoices[:3]), resources, settings)
    capture_chunk(plan.document_ids, queue.queue_id, resources, settings, actor="capture")
    return plan.document_ids


class TestEdits:
    def test_an_edit_changes_the_value_records_who_and_clears_the_workflows_stale_finding(self, resources: Resources, doc_ids: list[int]) -> None:
        bad = doc_ids[2]  # gross total 10.00 too high
        before = document_details(resources.catalog(), bad)
        net, tax = before["values"]["net_total"], before["values"]["tax_total"]
        result = apply_edits(resources.catalog(), bad, changes={"gross_total": f"{net + tax:.2f}"}, actor="cli:ann")
        after = document_details(resources.catalog(), bad)
        assert after["values"]["gross_total"] == round(net + tax, 2) and result.changed_fields == ["gross_total"]
        assert after["sources"]["gross_total"] == "person:cli:ann" and after["revision"] == before["revision"] + 1
        assert not [m for m in after["messages"] if m["type"] == "error"]
        assert after["history"][-1] == {**after["history"][-1], "action": "edit", "actor": "cli:ann", "note": "changed gross_total"}

    def test_editing_a_confirmed_document_sends_it_back_to_review(self, resources: Resources, doc_ids: list[int]) -> None:
        set_status(resources.catalog(), doc_ids[:1], "confirmed", actor="x")
        result = apply_edits(resources.catalog(), doc_ids[0], changes={"buyer_name": "Someone"}, actor="x")
        assert [(c.from_status, c.to_status) for c in result.changes] == [("confirmed", "to_review")]

    def test_a_document_being_exported_cannot_be_edited(self, resources: Resources, doc_ids: list[int]) -> None:
        set_status(resources.catalog(), doc_ids[:1], "rejected", actor="x")
        with pytest.raises(InputError, match=rf"document {doc_ids[0]} is rejected; only documents in confirmed, failed_export, "):
            apply_edits(resources.catalog(), doc_ids[0], changes={"buyer_name": "x"}, actor="x")

    def test_an_operation_that_cannot_apply_is_refused_saying_why(self, resources: Resources, doc_ids: list[int]) -> None:
        with pytest.raises(InputError, match="targets id 99999, which is not in the annotation content"):
            apply_edits(resources.catalog(), doc_ids[0], operations=[{"op": "remove", "id": 99999}], actor="x")


class TestSavingARun:
    def test_a_run_replaces_only_its_own_messages_and_records_sources(self, resources: Resources, queue: QueueSpec, doc_ids: list[int]) -> None:
        catalog = resources.catalog()
        with catalog.read() as conn:
            chunk = load_chunk(conn, queue, "annotation_content.updated", doc_ids[:1])
        state = chunk.subjects[0]
        assert isinstance(state, DocState)
        state.messages = [{"type": "warning", "content": "check the buyer", "source": "buyer-check"}]
        state.ran = ["buyer-check"]
        state.sources = {str(state.content[0]["children"][0]["id"]): "buyer-check"}
        with catalog.begin() as conn:
            (outcome,) = save_chunk(conn, queue, chunk, actor="extensions")
        details = document_details(catalog, doc_ids[0])
        assert outcome.saved and details["sources"]["invoice_number"] == "buyer-check"
        assert {m["source"] for m in details["messages"]} >= {"buyer-check", "workflow:extract"}

    def test_a_run_never_overwrites_an_edit_made_while_it_ran(self, resources: Resources, queue: QueueSpec, doc_ids: list[int]) -> None:
        catalog = resources.catalog()
        with catalog.read() as conn:
            chunk = load_chunk(conn, queue, "annotation_content.updated", doc_ids[:1])
        apply_edits(catalog, doc_ids[0], changes={"buyer_name": "Edited Meanwhile"}, actor="person")
        with catalog.begin() as conn:
            (outcome,) = save_chunk(conn, queue, chunk, actor="extensions")
        assert not outcome.saved
        assert document_details(catalog, doc_ids[0])["values"]["buyer_name"] == "Edited Meanwhile"


class TestStatusActions:
    def test_reject_and_postpone_record_the_note_and_refuse_impossible_moves(self, resources: Resources, doc_ids: list[int]) -> None:
        (change,) = set_status(resources.catalog(), doc_ids[:1], "rejected", actor="cli:bo", note="duplicate")
        assert (change.from_status, change.to_status, change.note) == ("to_review", "rejected", "duplicate")
        with pytest.raises(InputError, match="is rejected; it can become postponed only from reviewing, to_review"):
            set_status(resources.catalog(), doc_ids[:1], "postponed", actor="x")
