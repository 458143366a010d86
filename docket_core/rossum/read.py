"""Reading Docket's state as Rossum's objects: annotations (with or without content), queues, schemas.

Thin over the queue domain: documents come from `load_documents`, queues from `get_queue`, facts from
`document_facts`; this module only selects (filters, a page) and renders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from docket_core.catalog import Catalog
from docket_core.catalog.schema_queues import documents, queues
from docket_core.errors import NotFoundError
from docket_core.queues.documents import load_documents
from docket_core.queues.models import QueueSpec
from docket_core.queues.registry import get_queue
from docket_core.rossum.content import wire_content
from docket_core.rossum.facts import document_facts
from docket_core.rossum.ids import queue_for_number, queue_numbers
from docket_core.rossum.objects import Urls, annotation_object, document_object, queue_object, schema_object

__all__ = ["AnnotationQuery", "Annotations", "annotation_one", "annotations", "document_one", "queue_one", "queues_all", "schema_one"]


@dataclass(frozen=True)
class AnnotationQuery:
    """Which annotations: of these queues (numbers), in these statuses, with these ids; one page of them."""

    queue_numbers: Sequence[int] = ()
    statuses: Sequence[str] = ()
    ids: Sequence[int] = ()
    page: int = 1
    page_size: int = 20
    exclude_deleted: bool = False


@dataclass
class Annotations:
    """One page of annotations (rendered), the total across pages, and their rows and queues."""

    results: list[dict[str, Any]]
    total: int
    rows: list[sa.Row]
    queues: dict[str, QueueSpec]
    documents: dict[int, dict[str, Any]]


def _where(catalog: Catalog, query: AnnotationQuery) -> sa.ColumnElement[bool]:
    where: sa.ColumnElement[bool] = sa.true()
    if query.queue_numbers:
        where = sa.and_(where, documents.c.queue_id.in_([queue_for_number(catalog, n) for n in query.queue_numbers]))
    if query.statuses:
        where = sa.and_(where, documents.c.status.in_(list(query.statuses)))
    elif query.exclude_deleted:
        where = sa.and_(where, documents.c.status != "deleted")
    if query.ids:
        where = sa.and_(where, documents.c.document_id.in_(list(query.ids)))
    return where


def annotations(catalog: Catalog, urls: Urls, query: AnnotationQuery, *, content: bool = False) -> Annotations:
    """The page of annotations the query selects, in id order (`content`: each with its content tree)."""
    where = _where(catalog, query)
    numbers = queue_numbers(catalog)
    with catalog.read() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(documents).where(where)).scalar() or 0
        ids = list(
            conn.execute(
                sa.select(documents.c.document_id).where(where).order_by(documents.c.document_id)
                .limit(query.page_size).offset((query.page - 1) * query.page_size)
            ).scalars()
        )  # fmt: skip
        rows = load_documents(conn, ids)
        specs = {q: get_queue(conn, q) for q in sorted({r.queue_id for r in rows})}
        facts = document_facts(conn, rows, numbers)
    results = []
    for row in rows:
        tree = wire_content(urls, row.document_id, specs[row.queue_id], row.content) if content else None
        results.append(annotation_object(urls, facts[row.document_id], content=tree, messages=list(row.messages),
                                         automation_blocker=bool(row.automation_blockers)))  # fmt: skip
    shown_documents = {row.document_id: document_object(urls, facts[row.document_id]) for row in rows}
    return Annotations(results, int(total), rows, specs, shown_documents)


def annotation_one(catalog: Catalog, urls: Urls, document_id: int, *, content: bool = False) -> dict[str, Any]:
    """One annotation; NotFoundError when there is no such document."""
    found = annotations(catalog, urls, AnnotationQuery(ids=[document_id], page_size=1), content=content)
    if not found.results:
        raise NotFoundError(f"no annotation {document_id}")
    return found.results[0]


def document_one(catalog: Catalog, urls: Urls, document_id: int) -> tuple[dict[str, Any], sa.Row]:
    """Rossum's document object of one document, and its row (for its file)."""
    numbers = queue_numbers(catalog)
    with catalog.read() as conn:
        rows = load_documents(conn, [document_id])
        if not rows:
            raise NotFoundError(f"no document {document_id}")
        facts = document_facts(conn, rows, numbers)
    return document_object(urls, facts[document_id]), rows[0]


def _queue_rows(catalog: Catalog) -> list[sa.Row]:
    with catalog.read() as conn:
        return list(conn.execute(sa.select(queues).order_by(queues.c.queue_id)))


def _counts(catalog: Catalog) -> dict[str, dict[str, int]]:
    with catalog.read() as conn:
        found: dict[str, dict[str, int]] = {}
        for queue_id, status, n in conn.execute(
            sa.select(documents.c.queue_id, documents.c.status, sa.func.count()).group_by(documents.c.queue_id, documents.c.status)
        ):
            found.setdefault(queue_id, {})[status] = int(n)
        return found


def queues_all(catalog: Catalog, urls: Urls) -> list[dict[str, Any]]:
    """Every queue as Rossum's queue object, in number order."""
    numbers, counts = queue_numbers(catalog), _counts(catalog)
    shown = []
    for row in _queue_rows(catalog):
        with catalog.read() as conn:
            spec = get_queue(conn, row.queue_id)
        shown.append(queue_object(urls, spec, numbers[row.queue_id], counts=counts.get(row.queue_id), created_at=row.created_at,
                                  updated_at=row.updated_at))  # fmt: skip
    return sorted(shown, key=lambda q: q["id"])


def queue_one(catalog: Catalog, urls: Urls, number: int) -> dict[str, Any]:
    queue_id = queue_for_number(catalog, number)
    return next(q for q in queues_all(catalog, urls) if q["metadata"]["docket_queue_id"] == queue_id)


def schema_one(catalog: Catalog, urls: Urls, number: int) -> dict[str, Any]:
    queue_id = queue_for_number(catalog, number)
    with catalog.read() as conn:
        spec = get_queue(conn, queue_id)
        updated = conn.execute(sa.select(queues.c.updated_at).where(queues.c.queue_id == queue_id)).scalar()
    return schema_object(urls, spec, number, updated_at=updated)
