"""Review locks: one reviewer at a time per document, and a lock that lapses when not refreshed.

Opening a document for review takes its lock and moves it to `reviewing` (from `to_review` or
`postponed`); the page refreshes the lock while it is open; leaving releases it and, if the document
is still `reviewing`, puts it back to `to_review`. A second reviewer who opens it meanwhile is told who
holds it and until when. A lock past its expiry is taken over by the next reviewer who asks (the
first one's page, on its next refresh, learns it lost the lock). Saves carry the revision they were
made on (`docket_core.queues.review.apply_edits(revision=...)`), so even a lapsed lock cannot make a
save silently overwrite another's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from docket_core.catalog import Catalog, utcnow
from docket_core.catalog.schema_queues import documents
from docket_core.catalog.schema_review import review_locks
from docket_core.errors import ConflictError, NotFoundError
from docket_core.queues.lifecycle import StatusChange, change_status

__all__ = ["Lock", "LockHeld", "acquire_lock", "current_lock", "refresh_lock", "release_lock"]

_OPENS_FROM = ("to_review", "postponed")


@dataclass(frozen=True)
class Lock:
    document_id: int
    holder: str
    acquired_at: datetime
    expires_at: datetime


class LockHeld(ConflictError):
    """Raised when another reviewer holds the document's lock."""

    def __init__(self, lock: Lock) -> None:
        super().__init__(f"document {lock.document_id} is being reviewed by {lock.holder} "
                         f"(until {lock.expires_at:%H:%M:%S} UTC unless they keep it open)")  # fmt: skip
        self.lock = lock


def _lock(row: sa.Row | None) -> Lock | None:
    return None if row is None else Lock(row.document_id, row.holder, row.acquired_at, row.expires_at)


def current_lock(catalog: Catalog, document_id: int) -> Lock | None:
    """The live lock on a document, or None (an expired lock counts as none)."""
    with catalog.read() as conn:
        lock = _lock(conn.execute(sa.select(review_locks).where(review_locks.c.document_id == document_id)).first())
    return lock if lock is not None and lock.expires_at > utcnow() else None


def acquire_lock(catalog: Catalog, document_id: int, holder: str, *, ttl: timedelta) -> tuple[Lock, list[StatusChange]]:
    """Take (or keep) the document's lock for `holder`; a document waiting for review becomes `reviewing`.

    Raises:
        NotFoundError: no such document.
        LockHeld: someone else holds a live lock on it.
    """
    now = utcnow()
    with catalog.begin() as conn:
        if catalog.dialect == "postgresql":
            conn.execute(sa.select(documents.c.document_id).where(documents.c.document_id == document_id).with_for_update())
        status = conn.execute(sa.select(documents.c.status).where(documents.c.document_id == document_id)).scalar()
        if status is None:
            raise NotFoundError(f"no document {document_id}; the queue's list shows the documents there are")
        held = _lock(conn.execute(sa.select(review_locks).where(review_locks.c.document_id == document_id)).first())
        if held is not None and held.holder != holder and held.expires_at > now:
            raise LockHeld(held)
        values = dict(holder=holder, acquired_at=now if held is None or held.holder != holder else held.acquired_at,
                      expires_at=now + ttl)  # fmt: skip
        if held is None:
            conn.execute(sa.insert(review_locks).values(document_id=document_id, **values))
        else:
            conn.execute(sa.update(review_locks).where(review_locks.c.document_id == document_id).values(**values))
        changes: list[StatusChange] = []
        if status in _OPENS_FROM:
            changes = change_status(conn, [document_id], "reviewing", actor=holder, note="opened for review").changes
    return Lock(document_id, **values), changes  # type: ignore[arg-type]


def refresh_lock(catalog: Catalog, document_id: int, holder: str, *, ttl: timedelta) -> Lock:
    """Extend `holder`'s lock; raises LockHeld if someone else took it over meanwhile."""
    now = utcnow()
    with catalog.begin() as conn:
        held = _lock(conn.execute(sa.select(review_locks).where(review_locks.c.document_id == document_id)).first())
        if held is not None and held.holder != holder and held.expires_at > now:
            raise LockHeld(held)
        if held is None:
            conn.execute(sa.insert(review_locks).values(document_id=document_id, holder=holder, acquired_at=now, expires_at=now + ttl))
            return Lock(document_id, holder, now, now + ttl)
        conn.execute(sa.update(review_locks).where(review_locks.c.document_id == document_id)
                     .values(holder=holder, expires_at=now + ttl))  # fmt: skip
        return Lock(document_id, holder, held.acquired_at if held.holder == holder else now, now + ttl)


def release_lock(catalog: Catalog, document_id: int, holder: str) -> list[StatusChange]:
    """Let go of `holder`'s lock; a document still `reviewing` goes back to `to_review`."""
    with catalog.begin() as conn:
        done = conn.execute(sa.delete(review_locks).where(review_locks.c.document_id == document_id, review_locks.c.holder == holder))
        if done.rowcount == 0:
            return []
        status = conn.execute(sa.select(documents.c.status).where(documents.c.document_id == document_id)).scalar()
        if status != "reviewing":
            return []
        return change_status(conn, [document_id], "to_review", actor=holder, note="left the review").changes
