"""Extension runs over queue documents: a chunk read from the catalog, and its outcome written back.

`save_chunk` replaces, per document, the messages and automation blockers of the extensions that ran
(others stay), keeps each datapoint's source, and writes only if nobody changed the document since the
chunk was read (its revision); a document changed meanwhile keeps the newer content and is reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from docket_core.catalog import utcnow
from docket_core.extensions.runner import Chunk, DocState, EmailState, doc_state
from docket_core.queues.documents import ContentWrite, load_documents, merge_messages, write_contents
from docket_core.queues.fields import content_values, keyed_sources, multivalue_children, normalize_content
from docket_core.queues.models import QueueSpec
from docket_core.rossum.facts import document_facts, queue_context

__all__ = ["DocOutcome", "blocking_reasons", "email_chunk", "load_chunk", "save_chunk"]


@dataclass
class DocOutcome:
    """One document after a run: whether it was saved, and what blocks it now."""

    document_id: int
    saved: bool
    run_errors: list[str] = field(default_factory=list)
    blocking: list[str] = field(default_factory=list)
    failed_extensions: list[str] = field(default_factory=list)
    conflicts: int = 0


def blocking_reasons(messages: Iterable[Mapping[str, Any]], blockers: Iterable[Mapping[str, Any]]) -> list[str]:
    """What keeps a document from automatic confirmation: its error messages and automation blockers."""
    reasons = [f"{m.get('source') or 'error'}: {m.get('content')}" for m in messages if m.get("type") == "error"]
    reasons += [f"{b.get('source') or 'blocker'}: {b.get('content')}" for b in blockers]
    return reasons


def _info(row: sa.Row, previous_status: str | None) -> dict[str, Any]:
    return {
        "document_id": row.document_id, "queue_id": row.queue_id, "status": row.status, "previous_status": previous_status,
        "file_name": row.file_name, "media_type": row.media_type, "sha256": row.sha256,
        "created_at": row.created_at.isoformat(), "modified_at": row.modified_at.isoformat(),
        "ready_at": row.ready_at.isoformat() if row.ready_at else None,
        "exported_at": row.exported_at.isoformat() if row.exported_at else None, "metadata": row.doc_metadata,
    }  # fmt: skip


def load_chunk(
    conn: sa.Connection, queue: QueueSpec, event: str, document_ids: Sequence[int], updated: Mapping[int, Sequence[int]] | None = None
) -> Chunk:
    """The chunk for these documents of `queue` (others are left out), with each edit's changed ids."""
    updated = updated or {}
    context = queue_context(conn, queue.queue_id)
    rows = [row for row in load_documents(conn, document_ids) if row.queue_id == queue.queue_id]
    facts = document_facts(conn, rows, {queue.queue_id: context["queue_number"]})
    subjects: list[DocState | EmailState] = [
        doc_state(row.document_id, row.revision, {**_info(row, facts[row.document_id]["previous_status"]), **facts[row.document_id]},
                  row.content, updated.get(row.document_id, ()))  # fmt: skip
        for row in rows
    ]
    return Chunk(
        queue_id=queue.queue_id,
        event=event,
        schema=queue.fields_json(full=True),
        multivalue_children=multivalue_children(queue),
        subjects=subjects,
        queue=queue,
        context=context,
    )


def email_chunk(
    queue: QueueSpec, email_id: str, files: list[dict[str, Any]], headers: dict[str, str], body: dict[str, str | None],
    *, queue_number: int | None = None,
) -> Chunk:  # fmt: skip
    """The chunk of one e-mail for the `email.received` plan."""
    return Chunk(
        queue_id=queue.queue_id,
        event="email.received",
        schema=queue.fields_json(full=True),
        multivalue_children=multivalue_children(queue),
        subjects=[EmailState(email_id=email_id, files=files, headers=headers, body=body)],
        queue=queue,
        context={"queue_number": queue_number} if queue_number is not None else {},
    )


def _landed_before(conn: sa.Connection, missed: list[DocState]) -> set[int]:
    """Of the documents this save did not write, those that hold exactly its content one revision on:
    the same save ran before (a task Dask or Prefect ran twice), so for them it did land."""
    if not missed:
        return set()
    now = {r.document_id: r for r in load_documents(conn, [d.document_id for d in missed])}
    return {
        d.document_id for d in missed
        if (row := now.get(d.document_id)) is not None and row.revision == d.revision + 1 and row.content == d.content
    }  # fmt: skip


def save_chunk(conn: sa.Connection, queue: QueueSpec, chunk: Chunk, *, actor: str) -> list[DocOutcome]:
    """Write what the run did to each document of the chunk; return each document's outcome."""
    docs = [s for s in chunk.subjects if isinstance(s, DocState)]
    rows = {r.document_id: r for r in load_documents(conn, [d.document_id for d in docs])}
    writes: list[ContentWrite] = []
    for doc in docs:
        row = rows.get(doc.document_id)
        if row is None:
            continue
        ran = set(doc.ran)
        normalize_content(queue, doc.content)  # values extensions set get their normalized_value too
        writes.append(
            ContentWrite(
                document_id=doc.document_id, revision=doc.revision, content=doc.content,
                field_values=content_values(queue, doc.content), sources={**row.sources, **keyed_sources(doc.content, doc.sources)},
                messages=merge_messages(row.messages, doc.messages, replacing=ran, stale_ids=doc.updated),
                automation_blockers=[dict(b) for b in row.automation_blockers if b.get("source") not in ran] + doc.automation_blockers,
            )  # fmt: skip
        )
    extra = {"initialized_at": utcnow()} if chunk.event == "annotation_content.initialize" else None
    written = write_contents(conn, writes, actor=actor, extra=extra)
    by_id = {d.document_id: d for d in docs}
    written |= _landed_before(conn, [by_id[w.document_id] for w in writes if w.document_id not in written])
    outcomes = []
    for w in writes:
        doc, row, saved = by_id[w.document_id], rows[w.document_id], w.document_id in written
        outcomes.append(
            DocOutcome(
                document_id=w.document_id,
                saved=saved,
                run_errors=[f"{m.get('source')}: {m.get('content')}" for m in doc.messages if m.get("type") == "error"],
                blocking=blocking_reasons(w.messages, w.automation_blockers) if saved else blocking_reasons(row.messages, row.automation_blockers),
                failed_extensions=sorted(set(doc.failed)),
                conflicts=doc.conflicts,
            )
        )
    return outcomes
