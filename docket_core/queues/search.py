"""Finding documents in a queue for people: by status, by a word in the file name or a field value, a page at a time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from docket_core.catalog import Catalog, utcnow
from docket_core.catalog.schema_queues import document_data, documents
from docket_core.catalog.schema_review import review_locks

__all__ = ["DocumentPage", "next_for_review", "search_documents"]

WAITING = ("to_review", "postponed")


@dataclass(frozen=True)
class DocumentPage:
    rows: list[dict[str, Any]]
    total: int
    offset: int
    limit: int


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_documents(
    catalog: Catalog, queue_id: str, *, status: Sequence[str] = (), text: str = "", offset: int = 0, limit: int = 50
) -> DocumentPage:
    """The queue's documents in id order, filtered; `text` matches the file name or any field value."""
    where = [documents.c.queue_id == queue_id]
    if status:
        where.append(documents.c.status.in_(list(status)))
    if text.strip():
        pattern = _like(text.strip()[:200])
        where.append(sa.or_(documents.c.file_name.ilike(pattern, escape="\\"),
                            sa.cast(document_data.c.field_values, sa.Text).ilike(pattern, escape="\\")))  # fmt: skip
    base = sa.select(documents.c.document_id).select_from(documents.join(document_data, document_data.c.document_id == documents.c.document_id)).where(*where)
    now = utcnow()
    query = (
        sa.select(documents.c.document_id, documents.c.file_name, documents.c.status, documents.c.status_changed_at,
                  document_data.c.messages, review_locks.c.holder, review_locks.c.expires_at)  # fmt: skip
        .select_from(documents.join(document_data, document_data.c.document_id == documents.c.document_id)
                     .outerjoin(review_locks, review_locks.c.document_id == documents.c.document_id))  # fmt: skip
        .where(*where).order_by(documents.c.document_id).offset(max(offset, 0)).limit(min(max(limit, 1), 500))
    )
    with catalog.read() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(base.subquery())).scalar_one()
        rows = [
            {"document_id": r.document_id, "file_name": r.file_name, "status": r.status, "status_changed_at": r.status_changed_at,
             "errors": sum(1 for m in r.messages or [] if m.get("type") == "error"),
             "held_by": r.holder if r.holder is not None and r.expires_at > now else None}  # fmt: skip
            for r in conn.execute(query)
        ]
    return DocumentPage(rows, total, offset, limit)


def next_for_review(catalog: Catalog, queue_id: str, *, holder: str, after: int | None = None) -> int | None:
    """The next document waiting in the queue that nobody else holds (after `after`, else from the start)."""
    now = utcnow()
    free = sa.or_(review_locks.c.holder.is_(None), review_locks.c.expires_at <= now, review_locks.c.holder == holder)
    query = (
        sa.select(documents.c.document_id)
        .select_from(documents.outerjoin(review_locks, review_locks.c.document_id == documents.c.document_id))
        .where(documents.c.queue_id == queue_id, documents.c.status.in_(WAITING), free)
        .order_by(documents.c.document_id)
    )
    with catalog.read() as conn:
        if after is not None:
            found = conn.execute(query.where(documents.c.document_id > after).limit(1)).scalar()
            if found is not None:
                return int(found)
        found = conn.execute(query.where(documents.c.document_id != (after or -1)).limit(1)).scalar()
    return int(found) if found is not None else None
