"""One reviewer at a time: locks that lapse, stale saves refused, and the queue's search and next document."""

from __future__ import annotations

from datetime import timedelta

import pytest

from docket_core.errors import ConflictError
from docket_core.queues.capture import capture_chunk
from docket_core.queues.documents import document_details
from docket_core.queues.importing import ImportRequest, StagedFile, register_import
from docket_core.queues.locks import LockHeld, acquire_lock, current_lock, refresh_lock, release_lock
from docket_core.queues.models import QueueSpec
from docket_core.queues.review import apply_edits
from docket_core.queues.search import next_for_review, search_documents
from docket_core.resources import Resources
from docket_core.settings import DocketSettings

MINUTE = timedelta(minutes=1)


@pytest.fixture
def doc_ids(resources: Resources, settings: DocketSettings, queue: QueueSpec, staged_invoices: list[StagedFile]) -> list[int]:
    plan = register_import(ImportRequest(queue_id=queue.queue_id, source="files", files=staged_invoices[:3]), resources, settings)
    capture_chunk(plan.document_ids, queue.queue_id, resources, settings, actor="capture")
    return plan.document_ids


class TestLocks:
    def test_opening_a_document_holds_it_and_a_second_reviewer_is_told_who(self, resources: Resources, doc_ids: list[int]) -> None:
        catalog = resources.catalog()
        lock, changes = acquire_lock(catalog, doc_ids[0], "ana", ttl=MINUTE)
        assert lock.holder == "ana" and [c.to_status for c in changes] == ["reviewing"]
        with pytest.raises(LockHeld, match=f"document {doc_ids[0]} is being reviewed by ana"):
            acquire_lock(catalog, doc_ids[0], "bob", ttl=MINUTE)
        acquire_lock(catalog, doc_ids[0], "ana", ttl=MINUTE)  # the holder reopening it keeps it
        assert current_lock(catalog, doc_ids[0]).holder == "ana"

    def test_a_lock_that_is_not_refreshed_lapses_and_another_reviewer_takes_it(self, resources: Resources, doc_ids: list[int]) -> None:
        catalog = resources.catalog()
        acquire_lock(catalog, doc_ids[0], "ana", ttl=timedelta(microseconds=1))
        assert current_lock(catalog, doc_ids[0]) is None
        lock, _ = acquire_lock(catalog, doc_ids[0], "bob", ttl=MINUTE)
        assert lock.holder == "bob"
        with pytest.raises(LockHeld, match="by bob"):
            refresh_lock(catalog, doc_ids[0], "ana", ttl=MINUTE)  # ana's page learns it lost the document

    def test_leaving_puts_a_document_still_in_review_back_in_the_queue(self, resources: Resources, doc_ids: list[int]) -> None:
        catalog = resources.catalog()
        acquire_lock(catalog, doc_ids[0], "ana", ttl=MINUTE)
        assert release_lock(catalog, doc_ids[0], "bob") == []  # not bob's to release
        [back] = release_lock(catalog, doc_ids[0], "ana")
        assert (back.from_status, back.to_status) == ("reviewing", "to_review")
        assert current_lock(catalog, doc_ids[0]) is None


class TestStaleSaves:
    def test_a_save_made_on_an_older_revision_is_refused_and_overwrites_nothing(self, resources: Resources, doc_ids: list[int]) -> None:
        catalog = resources.catalog()
        seen = document_details(catalog, doc_ids[0])["revision"]
        apply_edits(catalog, doc_ids[0], changes={"invoice_number": "FIRST"}, actor="ana", revision=seen)
        with pytest.raises(ConflictError, match=rf"changed since this edit was made \(revision {seen}, now {seen + 1}, by ana\)"):
            apply_edits(catalog, doc_ids[0], changes={"invoice_number": "SECOND"}, actor="bob", revision=seen)
        assert document_details(catalog, doc_ids[0])["values"]["invoice_number"] == "FIRST"


class TestSearch:
    def test_documents_are_found_by_file_name_or_field_value_a_page_at_a_time(self, resources: Resources, doc_ids: list[int]) -> None:
        catalog = resources.catalog()
        details = document_details(catalog, doc_ids[1])
        by_name = search_documents(catalog, "invoices", text=details["file_name"][:-4])
        assert [r["document_id"] for r in by_name.rows] == [doc_ids[1]]
        number = details["values"]["invoice_number"]
        assert doc_ids[1] in [r["document_id"] for r in search_documents(catalog, "invoices", text=number).rows]
        paged = search_documents(catalog, "invoices", offset=1, limit=1)
        assert paged.total == 3 and [r["document_id"] for r in paged.rows] == [doc_ids[1]]
        assert search_documents(catalog, "invoices", text="100%_").total == 0  # wildcards are text here

    def test_the_next_document_skips_those_another_reviewer_holds(self, resources: Resources, doc_ids: list[int]) -> None:
        catalog = resources.catalog()
        acquire_lock(catalog, doc_ids[1], "bob", ttl=MINUTE)
        assert next_for_review(catalog, "invoices", holder="ana", after=doc_ids[0]) == doc_ids[2]
        assert next_for_review(catalog, "invoices", holder="ana", after=doc_ids[2]) == doc_ids[0]  # wraps around
