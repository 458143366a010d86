"""Queues in the catalog: create or update, read, list with counts, and describe with their extensions
and subscriptions."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from docket_core.catalog import Catalog, utcnow
from docket_core.catalog.schema_queues import documents, exports, queues
from docket_core.errors import NotFoundError
from docket_core.extensions.config import EVENTS
from docket_core.extensions.registry import load_extensions, queue_plan
from docket_core.queues.models import QueueSpec
from docket_core.queues.subscriptions import list_subscriptions
from docket_core.rossum.ids import ensure_queue_number

__all__ = ["get_queue", "list_queues", "queue_details", "save_queue"]


def save_queue(conn: sa.Connection, spec: QueueSpec, *, source: str) -> bool:
    """Create the queue or replace its definition; True when it was new."""
    now = utcnow()
    row = {
        "name": spec.name, "workflow_id": spec.workflow_id, "schema": spec.fields_json(),
        "auto_confirm": spec.auto_confirm, "export_to_review": spec.export_to_review, "source": source, "updated_at": now,
        "default_score_threshold": spec.default_score_threshold,
    }  # fmt: skip
    exists = conn.execute(sa.select(queues.c.queue_id).where(queues.c.queue_id == spec.queue_id)).first()
    if exists:
        conn.execute(sa.update(queues).where(queues.c.queue_id == spec.queue_id).values(row))
        return False
    conn.execute(sa.insert(queues).values(queue_id=spec.queue_id, created_at=now, **row))
    ensure_queue_number(conn, spec.queue_id)  # its id in Rossum-shaped URLs, from the start
    return True


def _spec(row: sa.Row) -> QueueSpec:
    return QueueSpec(
        queue_id=row.queue_id, name=row.name, workflow_id=row.workflow_id, fields=row.schema,
        auto_confirm=row.auto_confirm, export_to_review=row.export_to_review, default_score_threshold=row.default_score_threshold,
    )  # fmt: skip


def get_queue(conn: sa.Connection, queue_id: str) -> QueueSpec:
    row = conn.execute(sa.select(queues).where(queues.c.queue_id == queue_id)).first()
    if row is None:
        raise NotFoundError(f"no queue {queue_id!r}; `docket queues list` shows the queues there are")
    return _spec(row)


def _counts(conn: sa.Connection, queue_id: str | None = None) -> dict[str, dict[str, int]]:
    query = sa.select(documents.c.queue_id, documents.c.status, sa.func.count()).group_by(documents.c.queue_id, documents.c.status)
    if queue_id is not None:
        query = query.where(documents.c.queue_id == queue_id)
    counts: dict[str, dict[str, int]] = {}
    for q, status, n in conn.execute(query):
        counts.setdefault(q, {})[status] = n
    return counts


def list_queues(catalog: Catalog) -> list[dict[str, Any]]:
    """Every queue with its workflow, settings and document counts by status."""
    with catalog.read() as conn:
        counts = _counts(conn)
        rows = conn.execute(sa.select(queues).order_by(queues.c.queue_id)).all()
        return [
            {
                "queue_id": r.queue_id, "name": r.name, "workflow_id": r.workflow_id, "auto_confirm": r.auto_confirm,
                "export_to_review": r.export_to_review, "default_score_threshold": r.default_score_threshold,
                "fields": len(r.schema), "documents": counts.get(r.queue_id, {}),
                "source": r.source,
            }  # fmt: skip
            for r in rows
        ]


def queue_details(catalog: Catalog, queue_id: str) -> dict[str, Any]:
    """A queue's definition, counts by status, its extensions with the order per event, and last exports."""
    with catalog.read() as conn:
        spec = get_queue(conn, queue_id)
        row = conn.execute(sa.select(queues).where(queues.c.queue_id == queue_id)).one()
        on_queue = [e for e in load_extensions(conn).values() if queue_id in e.queues]
        plans = {event: queue_plan(conn, queue_id, event) for event in EVENTS}
        recent = conn.execute(
            sa.select(exports).where(exports.c.queue_id == queue_id).order_by(exports.c.created_at.desc()).limit(5)
        ).all()
        counts = _counts(conn, queue_id).get(queue_id, {})
        subscriptions = list_subscriptions(conn, queue_id)
    return {
        **spec.to_json(),
        "source": row.source,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
        "documents": counts,
        "extensions": [
            {"name": e.name, "type": e.type, "active": e.active, "events": list(e.events), "run_after": list(e.run_after(queue_id))}
            for e in on_queue
        ],
        "order": {event: plan.to_json() for event, plan in plans.items() if not plan.empty},
        "subscriptions": subscriptions,
        "exports": [
            {"export_id": x.export_id, "status": x.status, "documents": x.document_count, "failed": x.failed_count,
             "key": x.documents_key, "created_at": x.created_at.isoformat()}  # fmt: skip
            for x in recent
        ],
    }
