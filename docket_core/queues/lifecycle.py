"""Document statuses (Rossum's lifecycle) and `change_status`, the one place a status changes.

Every change writes a `document_history` row (from, to, actor, time, note) in the caller's transaction,
with the same statement shape for one document or a hundred thousand (INSERT ... SELECT, then UPDATE),
and, for queues with `status-changed` subscriptions, their outbox rows in that same transaction: a
notification is committed exactly when its change is.

On PostgreSQL the moving rows are locked first (SELECT ... FOR UPDATE, in id order), so of two
transactions moving the same documents the second waits, then sees the new statuses and records
only the moves it really makes: no duplicate history rows, no notification for a move that did not happen.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from docket_core.catalog import utcnow
from docket_core.catalog.schema import UTC_TS
from docket_core.catalog.schema_queues import document_history, documents
from docket_core.errors import InputError, NotFoundError
from docket_core.notifications.subscriptions import StatusNotice, notify_status_changes
from docket_core.queues.models import STATUSES
from docket_core.queues.subscriptions import subscribers

__all__ = [
    "ALLOWED_FROM",
    "EDITABLE",
    "StatusChange",
    "StatusChanges",
    "change_status",
    "record_edit",
]


_ALL_BUT = lambda *excluded: frozenset(s for s in STATUSES if s not in excluded)  # noqa: E731

ALLOWED_FROM: Mapping[str, frozenset[str]] = {
    "importing": frozenset({"failed_import"}),
    "failed_import": frozenset({"importing"}),
    "to_review": frozenset({"importing", "reviewing", "postponed", "confirmed", "rejected", "failed_export"}),
    "reviewing": frozenset({"to_review", "postponed"}),
    "confirmed": frozenset({"to_review", "reviewing", "postponed", "failed_export"}),
    "rejected": frozenset({"to_review", "reviewing", "postponed", "confirmed", "failed_export"}),
    "postponed": frozenset({"to_review", "reviewing"}),
    "exporting": frozenset({"confirmed", "to_review", "failed_export"}),
    "exported": frozenset({"exporting"}),
    "failed_export": frozenset({"exporting"}),
    "deleted": _ALL_BUT("exporting", "deleted"),
}
"""For each status, the statuses a document may reach it from."""

EDITABLE = frozenset({"to_review", "reviewing", "postponed", "confirmed", "failed_export"})
"""Statuses whose content people may edit (a confirmed or failed export goes back to to_review)."""

_BATCH = 500  # ids per statement: well under SQLite's limit of bound parameters


@dataclass(frozen=True)
class StatusChange:
    """One document's move from one status to another."""

    document_id: int
    queue_id: str
    from_status: str
    to_status: str
    actor: str
    at: datetime
    note: str | None = None
    notified: int = 0  # notifications queued for subscribers of its queue


@dataclass
class StatusChanges:
    """What `change_status` did: how many moved, how many notifications it queued and, unless asked
    not to collect them, which changes."""

    count: int = 0
    changes: list[StatusChange] = field(default_factory=list)
    notified: int = 0

    def __iadd__(self, other: StatusChanges) -> StatusChanges:
        self.count += other.count
        self.changes += other.changes
        self.notified += other.notified
        return self


def _batches(ids: Sequence[int]) -> Iterator[list[int]]:
    unique = sorted(set(ids))
    for start in range(0, len(unique), _BATCH):
        yield unique[start : start + _BATCH]


def change_status(
    conn: sa.Connection,
    selection: Sequence[int] | sa.ColumnElement[bool],
    to: str,
    *,
    actor: str,
    note: str | None = None,
    strict: bool = True,
    collect: bool = True,
    values: Mapping[str, Any] | None = None,
) -> StatusChanges:
    """Move the selected documents to status `to`, recording each move in `document_history`.

    Args:
        conn: the caller's transaction: the change commits with whatever else it does.
        selection: document ids, or a WHERE clause on `documents` for bulk moves (exports).
        to: the new status.
        actor: who did it (`cli:alice`, `automation`, `extension:vendor-match`, `export:<id>`).
        note: why (a rejection reason, the export id, the error that failed an import).
        strict: raise when a selected document cannot move (unknown id, or its status does not allow
            it); otherwise such documents are left as they are.
        collect: return each change (for events); bulk moves pass False and get only the count.
        values: other columns to set in the same statement (export_id, error...).

    Raises:
        InputError: (strict) a document whose status cannot become `to`, saying which statuses can.
        NotFoundError: (strict) an id that is no document.
    """
    if to not in ALLOWED_FROM:
        raise InputError(f"status must be one of {list(STATUSES)}, got {to!r}")
    allowed = ALLOWED_FROM[to]
    if isinstance(selection, sa.ColumnElement):
        return _change(conn, selection, to, allowed, actor, note, strict, collect, values, ids=None)
    total = StatusChanges()
    for batch in _batches(selection):
        total += _change(conn, documents.c.document_id.in_(batch), to, allowed, actor, note, strict, collect, values, ids=batch)
    return total


def _change(
    conn: sa.Connection,
    where: sa.ColumnElement[bool],
    to: str,
    allowed: frozenset[str],
    actor: str,
    note: str | None,
    strict: bool,
    collect: bool,
    values: Mapping[str, Any] | None,
    ids: list[int] | None,
) -> StatusChanges:
    now = utcnow()
    postgres = conn.dialect.name == "postgresql"
    notify = subscribers(conn, "status-changed")
    notify_any = notify.wants(to)
    found: list[sa.Row] = []
    if collect or strict or postgres or notify_any:
        # strict: every selected document, to name one that cannot move; else only those that can
        selected = where if strict else sa.and_(where, documents.c.status.in_(sorted(allowed)))
        query = sa.select(documents.c.document_id, documents.c.queue_id, documents.c.status, documents.c.file_name)
        query = query.where(selected).order_by(documents.c.document_id)
        if postgres:  # lock what may move, in a fixed order: overlapping moves wait instead of both recording
            query = query.with_for_update()
        found = list(conn.execute(query))
    if strict:
        if ids is not None:
            missing = sorted(set(ids) - {r.document_id for r in found})
            if missing:
                raise NotFoundError(f"no document {missing[0]}; `docket documents list --queue Q` shows the documents there are")
        stuck = [r for r in found if r.status not in allowed]
        if stuck:
            first = stuck[0]
            raise InputError(
                f"document {first.document_id} is {first.status}; it can become {to} only from "
                f"{', '.join(sorted(allowed))}"
            )
    movable = sa.and_(where, documents.c.status.in_(sorted(allowed)))
    conn.execute(
        sa.insert(document_history).from_select(
            ["document_id", "action", "from_status", "to_status", "actor", "note", "at"],
            sa.select(
                documents.c.document_id,
                sa.literal("status", sa.String),
                documents.c.status,
                sa.literal(to, sa.String),
                sa.literal(actor, sa.String),
                sa.literal(note, sa.Text),
                sa.literal(now, UTC_TS),
            ).where(movable),
        )
    )
    update: dict[str, Any] = {"status": to, "status_changed_at": now}
    if to in ("confirmed", "to_review"):
        update["ready_at"] = now
    if to == "exported":
        update["exported_at"] = now
    update.update(values or {})
    count = conn.execute(sa.update(documents).where(movable).values(update)).rowcount
    moved = [r for r in found if r.status in allowed]
    notices = [
        StatusNotice(url, r.queue_id, r.document_id, to, r.status, now, r.file_name)
        for r in moved
        for url in (notify.urls(r.queue_id, to) if notify_any else ())
    ]
    notify_status_changes(conn, notices)
    per_document: dict[int, int] = {}
    for notice in notices:
        per_document[notice.document_id] = per_document.get(notice.document_id, 0) + 1
    changes = [
        StatusChange(r.document_id, r.queue_id, r.status, to, actor, now, note, per_document.get(r.document_id, 0))
        for r in moved
    ]
    return StatusChanges(count=count, changes=changes if collect else [], notified=len(notices))


def record_edit(conn: sa.Connection, document_id: int, *, actor: str, note: str) -> None:
    """Record an edit of a document's content (which fields, by whom) in its history."""
    conn.execute(
        sa.insert(document_history).values(
            document_id=document_id, action="edit", from_status=None, to_status=None, actor=actor, note=note, at=utcnow()
        )
    )
