"""Queue subscriptions: a status change or an export writes its subscribers' notifications in its own
transaction, and overlapping moves on PostgreSQL record each move once."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from pydantic import SecretStr

from docket_core.catalog.schema_notifications import notifications
from docket_core.catalog.schema_queues import document_history, documents
from docket_core.errors import InputError, NotFoundError
from docket_core.queues.capture import capture_chunk
from docket_core.queues.config_file import apply_config, load_config
from docket_core.queues.importing import ImportRequest, StagedFile, register_import
from docket_core.queues.lifecycle import change_status
from docket_core.queues.models import QueueSpec
from docket_core.queues.registry import queue_details, save_queue
from docket_core.queues.review import set_status
from docket_core.queues.subscriptions import QueueSubscription, list_subscriptions, subscribe, unsubscribe
from docket_core.resources import Resources
from docket_core.settings import DocketSettings
from tests.docket_core.queues.conftest import invoice_queue
from tests.docket_core.queues.test_export import export_once
from tests.docket_core.queues.test_lifecycle import make

ERP = "https://erp.example.com/hooks/docket?token=s3cret"
TASKS = "https://tasks.example.com/hook"


def outbox(resources: Resources) -> list[dict[str, Any]]:
    with resources.catalog().read() as conn:
        rows = conn.execute(sa.select(notifications).order_by(notifications.c.id)).all()
    return [{"type": r.type, "resource": r.resource_key, "payload": r.payload, "endpoint_key": r.endpoint_key} for r in rows]


def add(resources: Resources, queue_id: str, url: str, **fields: Any) -> None:
    with resources.catalog().begin() as conn:
        subscribe(conn, queue_id, QueueSubscription(url=url, **fields), source="test")


class TestSubscriptions:
    def test_subscribing_again_replaces_events_and_the_listing_hides_the_query_string(self, resources: Resources, queue: QueueSpec) -> None:
        add(resources, queue.queue_id, ERP)
        add(resources, queue.queue_id, ERP, events=("exported",))
        with resources.catalog().read() as conn:
            rows = list_subscriptions(conn, queue.queue_id)
        assert [(r["url"], r["events"], r["statuses"]) for r in rows] == [
            ("https://erp.example.com/hooks/docket?<redacted>", ["exported"], [])
        ]
        assert queue_details(resources.catalog(), queue.queue_id)["subscriptions"] == rows

    def test_bad_urls_events_and_statuses_are_refused_saying_what_is_allowed(self) -> None:
        with pytest.raises(ValueError, match="notification URL refused"):
            QueueSubscription(url="ftp://erp.example.com/x")
        with pytest.raises(ValueError, match="status-changed"):
            QueueSubscription(url=TASKS, events=("document-ready",))  # type: ignore[arg-type]
        with pytest.raises(ValueError, match=r"statuses must be among .*got \['ready'\]"):
            QueueSubscription(url=TASKS, statuses=("ready",))

    def test_unsubscribe_by_key_prefix_and_an_unknown_endpoint_lists_the_subscriptions(self, resources: Resources, queue: QueueSpec) -> None:
        add(resources, queue.queue_id, ERP)
        add(resources, queue.queue_id, TASKS)
        with resources.catalog().begin() as conn:
            key = next(r["endpoint_key"] for r in list_subscriptions(conn) if r["url"] == TASKS)
            assert unsubscribe(conn, queue.queue_id, key[:8])["url"] == TASKS
        with pytest.raises(NotFoundError, match=r"no subscription of queue 'invoices' matches 'https://nope.example.com/'; its subscriptions: \w{12} \(https://erp"):
            with resources.catalog().begin() as conn:
                unsubscribe(conn, queue.queue_id, "https://nope.example.com/")


class TestStatusChangedNotifications:
    def test_each_move_queues_one_notification_per_subscriber_in_the_same_transaction(self, resources: Resources, queue: QueueSpec) -> None:
        ids = make(resources, queue, 3)
        add(resources, queue.queue_id, TASKS, events=("status-changed",))
        with resources.catalog().begin() as conn:
            moved = change_status(conn, ids[:2], "to_review", actor="capture")
        assert moved.notified == 2 and [c.notified for c in moved.changes] == [1, 1]
        sent = outbox(resources)
        assert [(n["type"], n["resource"]) for n in sent] == [
            ("document-status-changed", f"document:{ids[0]}"), ("document-status-changed", f"document:{ids[1]}")
        ]  # fmt: skip
        body = sent[0]["payload"]
        assert body["queue_id"] == "invoices" and body["document_id"] == ids[0]
        assert body["notification"] | {"changed_at": None} == {
            "type": "document-status-changed-v1", "status": "to_review", "previous_status": "importing",
            "changed_at": None, "file_name": "f0.pdf",
        }  # fmt: skip
        assert body["notification"]["changed_at"].endswith("+00:00")

    def test_a_rolled_back_change_leaves_no_notification(self, resources: Resources, queue: QueueSpec) -> None:
        ids = make(resources, queue, 2)
        add(resources, queue.queue_id, TASKS)
        with pytest.raises(InputError):
            with resources.catalog().begin() as conn:
                change_status(conn, ids[:1], "to_review", actor="x")
                change_status(conn, ids, "exported", actor="x")  # refused: the whole transaction rolls back
        assert outbox(resources) == []

    def test_statuses_narrow_what_is_sent_and_other_queues_and_events_send_nothing(self, resources: Resources, queue: QueueSpec) -> None:
        ids = make(resources, queue, 2)
        other = invoice_queue("other")
        with resources.catalog().begin() as conn:
            save_queue(conn, other, source="test")
        theirs = make(resources, other, 1)
        add(resources, queue.queue_id, TASKS, events=("status-changed",), statuses=("confirmed",))
        add(resources, queue.queue_id, ERP, events=("exported",))
        with resources.catalog().begin() as conn:
            assert change_status(conn, ids, "to_review", actor="x").notified == 0
            assert change_status(conn, theirs, "to_review", actor="x").notified == 0
            assert change_status(conn, ids[:1], "confirmed", actor="x").notified == 1
        assert [(n["resource"], n["payload"]["notification"]["status"]) for n in outbox(resources)] == [(f"document:{ids[0]}", "confirmed")]

    def test_a_bulk_move_notifies_every_moved_document(self, resources: Resources, queue: QueueSpec) -> None:
        ids = make(resources, queue, 4)
        add(resources, queue.queue_id, TASKS, statuses=("failed_import",))
        with resources.catalog().begin() as conn:
            change_status(conn, ids[:1], "to_review", actor="x")
            moved = change_status(conn, documents.c.queue_id == queue.queue_id, "failed_import", actor="bulk", strict=False, collect=False)
        assert (moved.count, moved.notified, moved.changes) == (3, 3, [])
        assert sorted(n["resource"] for n in outbox(resources)) == sorted(f"document:{i}" for i in ids[1:])


class TestExportedNotifications:
    @pytest.fixture
    def confirmed(self, resources: Resources, settings: DocketSettings, queue: QueueSpec, staged_invoices: list[StagedFile]) -> list[int]:
        plan = register_import(ImportRequest(queue_id=queue.queue_id, source="files", files=staged_invoices), resources, settings)
        capture_chunk(plan.document_ids, queue.queue_id, resources, settings, actor="capture")
        set_status(resources.catalog(), plan.document_ids[:3], "confirmed", actor="x")
        return plan.document_ids[:3]

    def test_each_exported_document_is_sent_with_its_final_values_when_the_export_commits(
        self, resources: Resources, queue: QueueSpec, confirmed: list[int]
    ) -> None:
        add(resources, queue.queue_id, ERP, events=("exported",))
        result = export_once(resources, queue)
        assert result is not None and result["notified"] == 3
        sent = outbox(resources)
        assert [n["resource"] for n in sent] == [f"document:{d}" for d in confirmed]
        note = sent[0]["payload"]["notification"]
        assert note["type"] == "document-exported-v1" and note["export_id"] == result["export_id"]
        assert note["content"]["invoice_number"] == "INV-2024-0001" and note["content"]["line_items"][0]["item_description"]
        assert note["content_truncated"] is False and note["file_name"].endswith(".pdf")

    def test_status_subscribers_hear_both_moves_of_an_export(self, resources: Resources, queue: QueueSpec, confirmed: list[int]) -> None:
        add(resources, queue.queue_id, TASKS, events=("status-changed",))
        result = export_once(resources, queue)
        assert result is not None and result["notified"] == 6
        moves = [(n["resource"], n["payload"]["notification"]["status"]) for n in outbox(resources)]
        assert moves == [(f"document:{d}", "exporting") for d in confirmed] + [(f"document:{d}", "exported") for d in confirmed]


@pytest.mark.postgres
class TestOverlappingMoves:
    """PostgreSQL only: SQLite's write transactions never overlap (BEGIN IMMEDIATE)."""

    def test_two_transactions_moving_the_same_documents_record_each_move_once(self, postgres_url: str, tmp_path: Path) -> None:
        resources = Resources(store_url=str(tmp_path / "store"), catalog_url=SecretStr(postgres_url))
        queue = invoice_queue()
        with resources.catalog().begin() as conn:
            save_queue(conn, queue, source="test")
        make(resources, queue, 20)
        add(resources, queue.queue_id, TASKS)
        catalog = resources.catalog()
        first_moved = threading.Event()
        results: dict[str, int] = {}

        def second() -> None:
            first_moved.wait(10)
            with catalog.begin() as conn:  # waits for the first transaction's row locks
                results["second"] = change_status(conn, documents.c.queue_id == queue.queue_id, "to_review", actor="b",
                                                  strict=False, collect=False).count  # fmt: skip

        thread = threading.Thread(target=second)
        thread.start()
        with catalog.begin() as conn:
            results["first"] = change_status(conn, documents.c.queue_id == queue.queue_id, "to_review", actor="a", strict=False, collect=False).count
            first_moved.set()
            thread.join(0.5)  # the second is now blocked on our locks
            assert thread.is_alive()
        thread.join(10)
        assert results == {"first": 20, "second": 0}
        with catalog.read() as conn:
            moves = conn.execute(sa.select(sa.func.count()).where(document_history.c.to_status == "to_review")).scalar_one()
        assert moves == 20 and len(outbox(resources)) == 20


class TestQueuesFile:
    def test_a_queue_entry_owns_the_subscriptions_it_lists(self, resources: Resources, settings: DocketSettings, tmp_path: Path) -> None:
        path = tmp_path / "queues.yaml"

        def apply(subscriptions: list[dict[str, Any]]) -> Any:
            path.write_text(yaml.safe_dump({"queues": [{"id": "invoices", "workflow": "invoice-capture", "subscriptions": subscriptions}]}))
            return apply_config(resources.catalog(), load_config(path, settings))

        applied = apply([{"url": ERP, "events": ["exported"]}, {"url": TASKS, "statuses": ["to_review"]}])
        assert applied.subscriptions == ["invoices: https://erp.example.com/hooks/docket?<redacted>", "invoices: https://tasks.example.com/hook"]
        add(resources, "invoices", "https://by-hand.example.com/")
        applied = apply([{"url": TASKS, "statuses": ["to_review"]}])
        assert applied.unsubscribed == ["invoices: https://erp.example.com/hooks/docket?<redacted>"]
        with resources.catalog().read() as conn:
            urls = sorted(r["url"] for r in list_subscriptions(conn, "invoices"))
        assert urls == ["https://by-hand.example.com/", TASKS]

    def test_a_bad_subscription_names_its_entry(self, settings: DocketSettings, tmp_path: Path) -> None:
        path = tmp_path / "queues.yaml"
        path.write_text(yaml.safe_dump({"queues": [{"id": "invoices", "workflow": "invoice-capture", "subscriptions": [{"url": TASKS, "events": ["sent"]}]}]}))
        with pytest.raises(InputError, match=r"queues\[1\]\.subscriptions\[1\]: events\.0: "):
            load_config(path, settings)
