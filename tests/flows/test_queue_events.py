"""The Prefect events flows emit when documents change status, one per change up to a limit."""

from __future__ import annotations

from typing import Any

import pytest

from docket_core.catalog import utcnow
from docket_core.queues.lifecycle import StatusChange


@pytest.fixture
def emitted(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    import tasks.queues

    events: list[dict[str, Any]] = []
    monkeypatch.setattr(tasks.queues, "emit_event", lambda **kwargs: events.append(kwargs))
    return events


def changes(n: int) -> list[StatusChange]:
    return [StatusChange(i, "invoices", "to_review", "confirmed", "cli:ann", utcnow(), None) for i in range(n)]


class TestAnnounce:
    def test_each_status_change_is_an_event_about_its_document(self, emitted: list[dict[str, Any]]) -> None:
        from tasks.queues import announce

        assert announce(changes(2), exported=[(7, "invoices", "exp-1")]) == 3
        first = emitted[0]
        assert first["event"] == "docket.document.status-changed"
        assert first["resource"] == {"prefect.resource.id": "docket.document.0", "docket.queue": "invoices"}
        assert (first["payload"]["from"], first["payload"]["to"], first["payload"]["actor"]) == ("to_review", "confirmed", "cli:ann")
        assert emitted[2]["event"] == "docket.document.exported" and emitted[2]["payload"]["export_id"] == "exp-1"

    def test_past_the_limit_one_summary_event_carries_the_counts(self, emitted: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
        from tasks.queues import announce

        monkeypatch.setenv("DOCKET_MAX_DOCUMENT_EVENTS", "3")
        assert announce(changes(5), exported=[(i, "invoices", "exp-1") for i in range(4)]) == 2
        assert [e["event"] for e in emitted] == ["docket.documents.status-changed", "docket.documents.exported"]
        assert emitted[0]["payload"]["changes"] == [{"queue_id": "invoices", "from": "to_review", "to": "confirmed", "count": 5}]
        assert emitted[1]["payload"]["count"] == 4

    def test_changes_that_queued_notifications_start_their_delivery_with_one_event(self, emitted: list[dict[str, Any]]) -> None:
        from tasks.queues import announce

        notified = [StatusChange(i, "invoices", "to_review", "confirmed", "cli:ann", utcnow(), None, notified=1) for i in range(2)]
        assert announce(notified) == 3
        assert emitted[0] == {"event": "docket.notifications.queued", "resource": {"prefect.resource.id": "docket.queue.invoices"},
                              "payload": {"notifications": 2}}  # fmt: skip
        emitted.clear()
        assert announce([], notified=5, queue_id="receipts") == 1 and emitted[0]["payload"] == {"notifications": 5}
        emitted.clear()
        assert announce(changes(2)) == 2 and "docket.notifications.queued" not in [e["event"] for e in emitted]
