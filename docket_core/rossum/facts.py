"""What Rossum's objects say about documents and queues, read from the catalog in a few queries per chunk.

`document_facts` gives, per document row, the mapping `docket_core.rossum.objects` renders: when it last
became confirmed, rejected, deleted, exported, failed export or started review and by whom (from its
history), the status before the current one, whether automation confirmed it, the user who modified it
last (actors `user:<username>` are people using the Rossum-compatible API), the e-mail it came with.
`queue_context` gives what every request about one queue shares.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from docket_core.catalog.schema_auth import users
from docket_core.catalog.schema_queues import document_history, documents, queues
from docket_core.rossum.ids import ensure_queue_number

__all__ = ["USER_ACTOR", "actor_for", "document_facts", "queue_context"]

USER_ACTOR = "user:"
_TIMED = ("confirmed", "rejected", "deleted", "exported", "failed_export", "reviewing")
_EINVOICE_SOURCES = frozenset({"embedded-xml", "xml-file"})


def actor_for(username: str) -> str:
    """The actor that document histories record for a person using the Rossum-compatible API."""
    return f"{USER_ACTOR}{username}"


def _user_ids(conn: sa.Connection, actors: Iterable[str | None]) -> dict[str, int]:
    names = sorted({a[len(USER_ACTOR):] for a in actors if a and a.startswith(USER_ACTOR)})
    if not names:
        return {}
    rows = conn.execute(sa.select(users.c.username, users.c.id).where(users.c.username.in_(names)))
    return {actor_for(name): user_id for name, user_id in rows}


def document_facts(conn: sa.Connection, rows: Sequence[sa.Row], queue_numbers: Mapping[str, int]) -> dict[int, dict[str, Any]]:
    """The facts of each document row (rows of `load_documents`), by document id."""
    ids = [r.document_id for r in rows]
    history: dict[int, list[sa.Row]] = {}
    for start in range(0, len(ids), 500):
        for h in conn.execute(
            sa.select(document_history.c.document_id, document_history.c.from_status, document_history.c.to_status,
                      document_history.c.actor, document_history.c.at)  # fmt: skip
            .where(document_history.c.document_id.in_(ids[start : start + 500]), document_history.c.action == "status")
            .order_by(document_history.c.history_id)
        ):
            history.setdefault(h.document_id, []).append(h)
    actors = [r.modified_by for r in rows] + [h.actor for hs in history.values() for h in hs]
    user_ids = _user_ids(conn, actors)
    facts: dict[int, dict[str, Any]] = {}
    for row in rows:
        moves = history.get(row.document_id, [])
        times = {h.to_status: (h.at, user_ids.get(h.actor)) for h in moves if h.to_status in _TIMED}
        into_now = [h for h in moves if h.to_status == row.status]
        confirmations = [h for h in moves if h.to_status == "confirmed"]
        origin = dict(row.origin or {})
        metadata = dict(row.doc_metadata or {})
        values = dict(row.field_values or {})
        facts[row.document_id] = {
            "document_id": row.document_id, "queue_id": row.queue_id, "queue_number": queue_numbers.get(row.queue_id, 0),
            "status": row.status, "previous_status": into_now[-1].from_status if into_now else None,
            "file_name": row.file_name, "media_type": row.media_type, "sha256": row.sha256,
            "created_at": row.created_at, "modified_at": row.modified_at, "modified_by_user": user_ids.get(row.modified_by or ""),
            "metadata": {k: v for k, v in metadata.items() if k not in ("email", "values")},  # the client's own
            "origin": origin, "times": times,
            "automated": bool(confirmations) and confirmations[-1].actor == "automation",
            "email_id": origin.get("email_id") if origin.get("kind") == "email" else None,
            "email": metadata.get("email"),
            "einvoice": values.get("source") in _EINVOICE_SOURCES,
            "automation_blockers": list(row.automation_blockers or []),
        }  # fmt: skip
    return facts


def queue_context(conn: sa.Connection, queue_id: str) -> dict[str, Any]:
    """What every request about this queue shares: its number, times, document counts by status, and
    the users who modified its documents (for `modifiers`), as plain dicts."""
    number = ensure_queue_number(conn, queue_id)
    row = conn.execute(sa.select(queues.c.created_at, queues.c.updated_at).where(queues.c.queue_id == queue_id)).first()
    counts = dict(
        conn.execute(
            sa.select(documents.c.status, sa.func.count()).where(documents.c.queue_id == queue_id).group_by(documents.c.status)
        ).all()
    )
    modifiers = conn.execute(
        sa.select(users).where(
            users.c.username.in_(
                sa.select(sa.func.substr(documents.c.modified_by, len(USER_ACTOR) + 1))
                .where(documents.c.queue_id == queue_id, documents.c.modified_by.like(f"{USER_ACTOR}%"))
                .distinct()
            )
        )
    ).all()
    return {
        "queue_number": number,
        "queue_created_at": row.created_at if row else None,
        "queue_updated_at": row.updated_at if row else None,
        "counts": {k: int(v) for k, v in counts.items()},
        "users": {
            u.id: {"id": u.id, "username": u.username, "email": u.email, "first_name": u.first_name, "last_name": u.last_name,
                   "is_active": bool(u.is_active), "created_at": u.created_at, "last_login_at": u.last_login_at}  # fmt: skip
            for u in modifiers
        },
    }
