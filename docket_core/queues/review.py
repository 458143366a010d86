"""What people do to documents: edit fields, confirm, reject, postpone.

An edit is a list of Rossum operations applied like an extension's (`apply_operations`), recorded in the
document's history, and its changed datapoint ids are what the `updated` extensions then receive. A
confirmed document that is edited goes back to `to_review`. Confirmation itself runs the `confirm`
extensions first (in the flows); then `confirm_documents` confirms only documents without an error
message, from whatever source (an extension of any event, the capturing workflow), as Rossum refuses to
confirm an annotation while an error message stands. Every path (the CLI, the flows, the review page)
confirms through it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from docket_core.catalog import Catalog
from docket_core.errors import ConflictError, InputError, NotFoundError
from docket_core.extensions.content import apply_operations, index_content
from docket_core.queues.documents import load_documents, merge_messages, write_content
from docket_core.queues.fields import content_values, edit_operations, keyed_sources, multivalue_children, normalize_content
from docket_core.queues.lifecycle import ALLOWED_FROM, EDITABLE, StatusChange, change_status, record_edit
from docket_core.queues.registry import get_queue

__all__ = [
    "ConfirmOutcome", "ConfirmationBlocked", "EditResult", "apply_edits", "confirm_documents", "confirmation_blockers",
    "require_status", "set_status",
]  # fmt: skip


@dataclass
class EditResult:
    """An applied edit: the document, its queue, the datapoints it changed, and any status change."""

    document_id: int
    queue_id: str
    updated_datapoints: list[int]
    changed_fields: list[str]
    changes: list[StatusChange] = field(default_factory=list)


def apply_edits(
    catalog: Catalog,
    document_id: int,
    *,
    changes: Mapping[str, Any] | None = None,
    operations: Sequence[Mapping[str, Any]] = (),
    actor: str,
    revision: int | None = None,
) -> EditResult:
    """Change a document's fields (`{"gross_total": "119.00", "#42": "2"}`) and/or apply operations.

    `revision`, when given, is the document revision the edit was made on: if the document changed
    since (another reviewer, an extension), the edit is refused rather than overwrite what it has not seen.

    Raises:
        NotFoundError: no such document.
        ConflictError: `revision` is not the document's current revision.
        InputError: the document is not editable in its status, a field or id is unknown, a value does
            not fit its field, or an operation cannot apply (each says which and why).
    """
    with catalog.begin() as conn:
        rows = load_documents(conn, [document_id])
        if not rows:
            raise NotFoundError(f"no document {document_id}; `docket documents list --queue Q` shows the documents there are")
        row = rows[0]
        if revision is not None and revision != row.revision:
            raise ConflictError(f"document {document_id} changed since this edit was made (revision {revision}, now "
                                f"{row.revision}, by {row.modified_by or 'someone'}): reload it, then make the edit again")
        if row.status not in EDITABLE:
            raise InputError(f"document {document_id} is {row.status}; only documents in {', '.join(sorted(EDITABLE))} can be edited")
        queue = get_queue(conn, row.queue_id)
        ops = edit_operations(queue, row.content, changes or {}) + [dict(op) for op in operations]
        if not ops:
            raise InputError("nothing to change: give --set FIELD=VALUE or --operations FILE")
        content, changed = apply_operations(row.content, ops, multivalue_children=multivalue_children(queue))
        normalize_content(queue, content)
        index = index_content(content)
        schema_ids = sorted({index[i]["schema_id"] for i in changed if i in index})
        person = {str(i): f"person:{actor}" for i in changed if i in index and index[i]["category"] == "datapoint"}
        write_content(
            conn, document_id, revision=row.revision, content=content, field_values=content_values(queue, content),
            sources={**row.sources, **keyed_sources(content, person)},
            messages=merge_messages(row.messages, [], replacing=(), stale_ids=changed),
            automation_blockers=list(row.automation_blockers), actor=actor,
        )  # fmt: skip
        record_edit(conn, document_id, actor=actor, note=f"changed {', '.join(schema_ids)}")
        moved: list[StatusChange] = []
        if row.status in ("confirmed", "failed_export"):
            moved = change_status(conn, [document_id], "to_review", actor=actor, note="edited").changes
    return EditResult(document_id, row.queue_id, sorted(changed), schema_ids, moved)


def require_status(catalog: Catalog, document_ids: Sequence[int], to: str) -> dict[int, str]:
    """The queue of each document, if every one of them may move to `to`; else the error says which."""
    with catalog.read() as conn:
        rows = {r.document_id: r for r in load_documents(conn, document_ids)}
    for doc_id in document_ids:
        row = rows.get(doc_id)
        if row is None:
            raise NotFoundError(f"no document {doc_id}; `docket documents list --queue Q` shows the documents there are")
        if row.status not in ALLOWED_FROM[to]:
            raise InputError(f"document {doc_id} is {row.status}; it can become {to} only from {', '.join(sorted(ALLOWED_FROM[to]))}")
    return {doc_id: rows[doc_id].queue_id for doc_id in document_ids}


def set_status(catalog: Catalog, document_ids: Sequence[int], to: str, *, actor: str, note: str | None = None) -> list[StatusChange]:
    """Move documents to a status people choose (rejected, postponed, to_review, deleted) all or none."""
    with catalog.begin() as conn:
        return change_status(conn, list(document_ids), to, actor=actor, note=note).changes



class ConfirmationBlocked(InputError):
    """Raised when error messages keep documents from being confirmed; `blocked` maps each document id
    to its blocking messages, which the error's text shows."""

    def __init__(self, blocked: Mapping[int, list[str]]) -> None:
        self.blocked = {doc: list(why) for doc, why in blocked.items()}
        shown = "; ".join(f"document {doc}: {' | '.join(why)}" for doc, why in sorted(self.blocked.items()))
        super().__init__(f"cannot confirm while error messages stand (fix the fields or the extension's reason first): {shown}")


@dataclass
class ConfirmOutcome:
    """What a confirmation did: the documents it confirmed, and those error messages kept back (with them)."""

    changes: list[StatusChange] = field(default_factory=list)
    refused: dict[int, list[str]] = field(default_factory=dict)


def confirmation_blockers(conn: sa.Connection, document_ids: Sequence[int]) -> dict[int, list[str]]:
    """The error messages of each of these documents that has any (`source: content`), by id."""
    blocked: dict[int, list[str]] = {}
    for row in load_documents(conn, document_ids):
        errors = [f"{m.get('source') or 'error'}: {m.get('content')}" for m in row.messages if m.get("type") == "error"]
        if errors:
            blocked[row.document_id] = errors
    return blocked


def confirm_documents(
    catalog: Catalog, document_ids: Sequence[int], *, actor: str, note: str | None = None, strict: bool = False
) -> ConfirmOutcome:  # fmt: skip
    """Confirm the documents that no error message blocks, in one transaction; the others stay.

    Args:
        strict: raise `ConfirmationBlocked` (confirming none) when any is blocked, and `InputError` for
            one whose status cannot become confirmed; else confirm what can be and report the rest.
    """
    with catalog.begin() as conn:
        blocked = confirmation_blockers(conn, document_ids)
        if strict and blocked:
            raise ConfirmationBlocked(blocked)
        ready = [doc for doc in document_ids if doc not in blocked]
        changes = change_status(conn, ready, "confirmed", actor=actor, note=note, strict=strict).changes if ready else []
    return ConfirmOutcome(changes, blocked)
