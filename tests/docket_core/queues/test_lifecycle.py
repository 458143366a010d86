"""Document statuses: every change recorded with its time and actor, refused moves say why."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from docket_core.catalog.schema_queues import document_history, documents
from docket_core.errors import InputError, NotFoundError
from docket_core.queues.documents import NewDocument, register_documents
from docket_core.queues.lifecycle import change_status
from docket_core.queues.models import QueueSpec
from docket_core.resources import Resources


def make(resources: Resources, queue: QueueSpec, n: int = 3) -> list[int]:
    with resources.catalog().begin() as conn:
        items = [NewDocument(f"k{i}", f"f{i}.pdf", {"kind": "test"}) for i in range(n)]
        return register_documents(conn, queue.queue_id, items, actor="tester").created


class TestChangeStatus:
    def test_each_change_is_recorded_with_from_to_actor_time_and_note(self, resources: Resources, queue: QueueSpec) -> None:
        ids = make(resources, queue)
        with resources.catalog().begin() as conn:
            moved = change_status(conn, ids[:2], "to_review", actor="capture", note="captured")
        assert [(c.document_id, c.from_status, c.to_status, c.actor) for c in moved.changes] == [
            (ids[0], "importing", "to_review", "capture"), (ids[1], "importing", "to_review", "capture")
        ]  # fmt: skip
        with resources.catalog().read() as conn:
            history = conn.execute(sa.select(document_history).where(document_history.c.document_id == ids[0])
                                   .order_by(document_history.c.history_id)).all()  # fmt: skip
            row = conn.execute(sa.select(documents).where(documents.c.document_id == ids[0])).one()
        assert [(h.from_status, h.to_status, h.actor, h.note) for h in history] == [
            (None, "importing", "tester", "created"), ("importing", "to_review", "capture", "captured")
        ]  # fmt: skip
        assert history[1].at == row.status_changed_at == row.ready_at and history[1].at.tzinfo is not None

    def test_a_move_the_lifecycle_does_not_allow_is_refused_naming_the_allowed_statuses(self, resources: Resources, queue: QueueSpec) -> None:
        ids = make(resources, queue, 1)
        with pytest.raises(InputError, match=rf"document {ids[0]} is importing; it can become exported only from exporting"):
            with resources.catalog().begin() as conn:
                change_status(conn, ids, "exported", actor="x")

    def test_an_unknown_document_is_not_found(self, resources: Resources, queue: QueueSpec) -> None:
        with pytest.raises(NotFoundError, match="no document 12345"):
            with resources.catalog().begin() as conn:
                change_status(conn, [12345], "rejected", actor="x")

    def test_a_bulk_move_by_condition_counts_and_records_every_document(self, resources: Resources, queue: QueueSpec) -> None:
        ids = make(resources, queue, 5)
        with resources.catalog().begin() as conn:
            change_status(conn, ids[:3], "to_review", actor="x")
            moved = change_status(conn, documents.c.queue_id == queue.queue_id, "failed_import", actor="bulk", strict=False, collect=False)
            assert moved.count == 2 and moved.changes == []  # only the two still importing may fail their import
            logged = conn.execute(sa.select(sa.func.count()).where(document_history.c.actor == "bulk")).scalar_one()
        assert logged == 2

    def test_a_non_strict_move_leaves_documents_that_cannot_move(self, resources: Resources, queue: QueueSpec) -> None:
        ids = make(resources, queue, 2)
        with resources.catalog().begin() as conn:
            change_status(conn, ids[:1], "to_review", actor="x")
            moved = change_status(conn, ids, "confirmed", actor="x", strict=False)
        assert [c.document_id for c in moved.changes] == ids[:1]
