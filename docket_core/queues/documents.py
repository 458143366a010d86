"""Documents in the catalog: registering new ones idempotently, reading them, writing their content.

A document is registered `importing` under an `import_key` unique in its queue (the same batch file
imported twice is one document). Its content is written with its revision checked and bumped, so an
extension run that read revision 3 never overwrites an edit that made revision 4.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from docket_core.catalog import Catalog, utcnow
from docket_core.catalog.schema_queues import document_data, document_history, documents
from docket_core.errors import NotFoundError
from docket_core.queues.lifecycle import StatusChanges, change_status

__all__ = [
    "AUTOMATION_SOURCE",
    "NewDocument",
    "ContentWrite",
    "Registered",
    "document_details",
    "fail_import",
    "list_documents",
    "load_documents",
    "mark_initialized",
    "merge_messages",
    "register_documents",
    "write_content",
    "write_contents",
]


AUTOMATION_SOURCE = "automation"
"""Source of the messages automatic confirmation leaves (`docket_core.queues.automation`)."""


@dataclass(frozen=True)
class NewDocument:
    """A document to create: where it came from and, for job outputs, what was captured already."""

    import_key: str
    file_name: str
    origin: dict[str, Any]
    media_type: str | None = None
    sha256: str | None = None
    size: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class Registered:
    """The ids of the documents created now, and of those an earlier import created (by import key)."""

    created: list[int] = field(default_factory=list)
    existing: list[int] = field(default_factory=list)
    ids_by_key: dict[str, int] = field(default_factory=dict)


def register_documents(conn: sa.Connection, queue_id: str, items: Sequence[NewDocument], *, actor: str) -> Registered:
    """Create `importing` documents for the items whose import key is new in the queue."""
    result = Registered()
    keys = [item.import_key for item in items]
    for start in range(0, len(keys), 500):
        batch = keys[start : start + 500]
        for doc_id, key in conn.execute(
            sa.select(documents.c.document_id, documents.c.import_key).where(
                documents.c.queue_id == queue_id, documents.c.import_key.in_(batch)
            )
        ):
            result.ids_by_key[key] = doc_id
            result.existing.append(doc_id)
    new = [item for item in dict((i.import_key, i) for i in items).values() if item.import_key not in result.ids_by_key]
    if not new:
        return result
    now = utcnow()
    rows = [
        {
            "queue_id": queue_id, "status": "importing", "file_name": item.file_name, "media_type": item.media_type,
            "sha256": item.sha256, "size": item.size, "origin": item.origin, "import_key": item.import_key,
            "revision": 0, "created_at": now, "modified_at": now, "status_changed_at": now,
        }  # fmt: skip
        for item in new
    ]
    inserted = conn.execute(
        sa.insert(documents).returning(documents.c.document_id, documents.c.import_key, sort_by_parameter_order=True),
        rows,
    ).all()
    conn.execute(
        sa.insert(document_data),
        [
            {"document_id": doc_id, "content": [], "field_values": {}, "sources": {}, "messages": [],
             "automation_blockers": [], "doc_metadata": item.metadata}  # fmt: skip
            for (doc_id, _), item in zip(inserted, new)
        ],
    )
    conn.execute(
        sa.insert(document_history),
        [
            {"document_id": doc_id, "action": "status", "from_status": None, "to_status": "importing", "actor": actor,
             "note": "created", "at": now}  # fmt: skip
            for doc_id, _ in inserted
        ],
    )
    for doc_id, key in inserted:
        result.ids_by_key[key] = doc_id
        result.created.append(doc_id)
    return result


_WITH_DATA = sa.select(documents, *(c for c in document_data.c if c.name != "document_id")).join(
    document_data, document_data.c.document_id == documents.c.document_id
)


def load_documents(conn: sa.Connection, ids: Iterable[int]) -> list[sa.Row]:
    """The documents with these ids and their data, by id; unknown ids are left out."""
    wanted = sorted(set(ids))
    found: list[sa.Row] = []
    for start in range(0, len(wanted), 500):
        found += conn.execute(
            _WITH_DATA.where(documents.c.document_id.in_(wanted[start : start + 500])).order_by(documents.c.document_id)
        ).all()
    return found


def merge_messages(
    current: Iterable[Mapping[str, Any]], new: Iterable[Mapping[str, Any]], *, replacing: Iterable[str], stale_ids: Iterable[int] = ()
) -> list[dict[str, Any]]:
    """The messages after a run: those of the sources that ran now are replaced by their new ones.

    Messages of the workflow that captured the document about a datapoint changed since (`stale_ids`)
    are dropped too: they judged a value that is no longer there; so are those an extension now repeats,
    and, after any change, automation's verdict on the values before it.
    """
    ran = set(replacing)
    stale = set(stale_ids)
    new = [dict(m) for m in new]
    said = {(m.get("type"), m.get("content")) for m in new}
    kept = []
    for m in current:
        from_workflow = str(m.get("source", "")).startswith("workflow")
        if m.get("source") == AUTOMATION_SOURCE and stale:
            continue
        if m.get("source") in ran or from_workflow and (m.get("id") in stale or (m.get("type"), m.get("content")) in said):
            continue
        kept.append(dict(m))
    return kept + new


def write_content(
    conn: sa.Connection,
    document_id: int,
    *,
    revision: int | None,
    content: list[dict[str, Any]],
    field_values: Mapping[str, Any],
    sources: Mapping[str, str],
    messages: list[dict[str, Any]],
    automation_blockers: list[dict[str, Any]],
    actor: str,
    extra: Mapping[str, Any] | None = None,
) -> bool:
    """Write a document's content, if it is still at `revision` (None: whatever it is); True if written.

    `extra` sets other columns in the same statement (`initialized_at`).
    """
    where = documents.c.document_id == document_id
    if revision is not None:
        where = sa.and_(where, documents.c.revision == revision)
    written = conn.execute(
        sa.update(documents)
        .where(where)
        .values(revision=documents.c.revision + 1, modified_at=utcnow(), modified_by=actor, **(extra or {}))
    ).rowcount
    if written:
        conn.execute(
            sa.update(document_data)
            .where(document_data.c.document_id == document_id)
            .values(content=content, field_values=dict(field_values), sources=dict(sources), messages=messages,
                    automation_blockers=automation_blockers)  # fmt: skip
        )
    return bool(written)


@dataclass(frozen=True)
class ContentWrite:
    """One document's new content, to be written if the document is still at `revision`."""

    document_id: int
    revision: int
    content: list[dict[str, Any]]
    field_values: Mapping[str, Any]
    sources: Mapping[str, str]
    messages: list[dict[str, Any]]
    automation_blockers: list[dict[str, Any]]


def write_contents(
    conn: sa.Connection, writes: Sequence[ContentWrite], *, actor: str, extra: Mapping[str, Any] | None = None
) -> set[int]:
    """`write_content` for many documents in two statements; the ids written (those still at their revision)."""
    if not writes:
        return set()
    now = utcnow()
    conn.execute(
        sa.update(documents)
        .where(documents.c.document_id == sa.bindparam("b_id"), documents.c.revision == sa.bindparam("b_revision"))
        .values(revision=documents.c.revision + 1, modified_at=now, modified_by=actor, **(extra or {})),
        [{"b_id": w.document_id, "b_revision": w.revision} for w in writes],
    )
    # Which matched: now one revision on, stamped with this write's time (a driver's summed rowcount
    # cannot say which).
    expected = {w.document_id: w.revision + 1 for w in writes}
    written: set[int] = set()
    ids = sorted(expected)
    for start in range(0, len(ids), 500):
        for doc_id, revision, modified_at in conn.execute(
            sa.select(documents.c.document_id, documents.c.revision, documents.c.modified_at).where(
                documents.c.document_id.in_(ids[start : start + 500])
            )
        ):
            if revision == expected[doc_id] and modified_at == now:
                written.add(doc_id)
    rows = [
        {"b_id": w.document_id, "content": w.content, "field_values": dict(w.field_values), "sources": dict(w.sources),
         "messages": w.messages, "automation_blockers": w.automation_blockers}  # fmt: skip
        for w in writes
        if w.document_id in written
    ]
    if rows:
        conn.execute(sa.update(document_data).where(document_data.c.document_id == sa.bindparam("b_id")), rows)
    return written


def _summary(row: sa.Row) -> dict[str, Any]:
    errors = sum(1 for m in row.messages if m.get("type") == "error")
    return {
        "document_id": row.document_id, "queue_id": row.queue_id, "status": row.status, "file_name": row.file_name,
        "media_type": row.media_type, "errors": errors, "automation_blockers": len(row.automation_blockers),
        "created_at": row.created_at.isoformat(), "status_changed_at": row.status_changed_at.isoformat(),
        "export_id": row.export_id,
    }  # fmt: skip


def list_documents(catalog: Catalog, queue_id: str, *, status: Sequence[str] = (), limit: int = 1000) -> list[dict[str, Any]]:
    """A queue's documents (newest last), optionally only those in some statuses."""
    with catalog.read() as conn:
        query = _WITH_DATA.where(documents.c.queue_id == queue_id)
        if status:
            query = query.where(documents.c.status.in_(list(status)))
        return [_summary(r) for r in conn.execute(query.order_by(documents.c.document_id).limit(limit))]


def document_details(catalog: Catalog, document_id: int) -> dict[str, Any]:
    """Everything about one document: status, values, content, messages, history."""
    with catalog.read() as conn:
        rows = load_documents(conn, [document_id])
        if not rows:
            raise NotFoundError(f"no document {document_id}; `docket documents list --queue Q` shows the documents there are")
        row = rows[0]
        history = conn.execute(
            sa.select(document_history).where(document_history.c.document_id == document_id).order_by(document_history.c.history_id)
        ).all()
    return {
        **_summary(row),
        "sha256": row.sha256, "size": row.size, "origin": row.origin, "values": row.field_values, "content": row.content,
        "sources": row.sources, "messages": row.messages, "automation_blockers": row.automation_blockers,
        "metadata": row.doc_metadata, "error": row.error, "revision": row.revision, "ready_at": _iso(row.ready_at),
        "exported_at": _iso(row.exported_at), "modified_by": row.modified_by,
        "history": [
            {"action": h.action, "from": h.from_status, "to": h.to_status, "actor": h.actor, "note": h.note, "at": h.at.isoformat()}
            for h in history
        ],
    }  # fmt: skip


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def fail_import(conn: sa.Connection, document_id: int, reason: str, *, actor: str) -> StatusChanges:
    """Mark a document that could not be captured `failed_import`, keeping the reason."""
    return change_status(conn, [document_id], "failed_import", actor=actor, note=reason[:500], strict=False, values={"error": reason[:2000]})


def mark_initialized(conn: sa.Connection, document_ids: Sequence[int]) -> None:
    """Note that these documents' `initialize` step is done (when no extension listens to it)."""
    ids = sorted(set(document_ids))
    for start in range(0, len(ids), 500):
        conn.execute(
            sa.update(documents)
            .where(documents.c.document_id.in_(ids[start : start + 500]), documents.c.initialized_at.is_(None))
            .values(initialized_at=utcnow())
        )
