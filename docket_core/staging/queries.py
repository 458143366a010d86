"""Read-only views of batches for the CLI and the API: listings, details, content pages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from docket_core.catalog import Catalog
from docket_core.catalog.schema import batches, files, ingests, shards
from docket_core.errors import NotFoundError
from docket_core.names import check_id

__all__ = ["batch_content", "batch_details", "ingest_details", "list_batches", "require_batch"]


def require_batch(conn: sa.Connection, batch_id: str) -> sa.Row:
    check_id(batch_id, "batch id")
    row = conn.execute(sa.select(batches).where(batches.c.batch_id == batch_id)).first()
    if row is None:
        raise NotFoundError(f"no batch {batch_id!r}; `docket staging list-batches` shows the batches there are")
    return row


def _counts(conn: sa.Connection, batch_ids: list[str] | None = None) -> dict[str, dict[str, int]]:
    query = sa.select(
        files.c.batch_id,
        sa.func.coalesce(sa.func.sum(sa.case((files.c.status == "ingested", 1), else_=0)), 0),
        sa.func.coalesce(sa.func.sum(sa.case((files.c.status == "failed", 1), else_=0)), 0),
        sa.func.coalesce(sa.func.sum(sa.case((files.c.status == "ingested", files.c.size), else_=0)), 0),
    ).group_by(files.c.batch_id)
    if batch_ids is not None:
        query = query.where(files.c.batch_id.in_(batch_ids))
    return {
        r[0]: {"files_count": int(r[1]), "failed_count": int(r[2]), "bytes": int(r[3])} for r in conn.execute(query)
    }


def list_batches(catalog: Catalog) -> list[dict[str, Any]]:
    with catalog.read() as conn:
        counts = _counts(conn)
        rows = conn.execute(sa.select(batches).order_by(batches.c.created_at, batches.c.batch_id)).all()
    empty = {"files_count": 0, "failed_count": 0, "bytes": 0}
    return [
        {
            "batch_id": r.batch_id,
            "media_kind": r.media_kind,
            "created_at": r.created_at.isoformat(),
            **counts.get(r.batch_id, empty),
            "source_job_id": r.source_job_id,
        }
        for r in rows
    ]


def batch_details(catalog: Catalog, batch_id: str) -> dict[str, Any]:
    with catalog.read() as conn:
        batch = require_batch(conn, batch_id)
        counts = _counts(conn, [batch_id]).get(batch_id, {"files_count": 0, "failed_count": 0, "bytes": 0})
        by_type = {
            (r.media_type or "unknown"): int(r.n)
            for r in conn.execute(
                sa.select(files.c.media_type, sa.func.count().label("n"))
                .where(files.c.batch_id == batch_id, files.c.status == "ingested")
                .group_by(files.c.media_type)
                .order_by(files.c.media_type)
            )
        }
        errors = {
            r.error_type: int(r.n)
            for r in conn.execute(
                sa.select(files.c.error_type, sa.func.count().label("n"))
                .where(files.c.batch_id == batch_id, files.c.status == "failed")
                .group_by(files.c.error_type)
                .order_by(files.c.error_type)
            )
        }
        ingest_rows = conn.execute(
            sa.select(ingests.c.ingest_id, ingests.c.status, ingests.c.source_kind, ingests.c.created_at)
            .where(ingests.c.batch_id == batch_id)
            .order_by(ingests.c.created_at)
        ).all()
    return {
        "batch_id": batch_id,
        "media_kind": batch.media_kind,
        "created_at": batch.created_at.isoformat(),
        **counts,
        "content_types": by_type,
        "errors_by_type": errors,
        "source_job_id": batch.source_job_id,
        "ingests": [
            {"ingest_id": r.ingest_id, "status": r.status, "source_kind": r.source_kind, "created_at": r.created_at.isoformat()}
            for r in ingest_rows
        ],
    }


def ingest_details(catalog: Catalog, batch_id: str, ingest_id: str | None = None) -> Iterator[dict[str, Any]]:
    """One record per shard, in order; streamed so a huge batch never sits in memory."""
    with catalog.read() as conn:
        require_batch(conn, batch_id)
        query = (
            sa.select(shards)
            .where(shards.c.batch_id == batch_id)
            .order_by(shards.c.ingest_id, shards.c.seq)
            .execution_options(yield_per=200)
        )
        if ingest_id is not None:
            query = query.where(shards.c.ingest_id == ingest_id)
        for r in conn.execute(query):
            yield {
                "shard_id": r.shard_id,
                "ingest_id": r.ingest_id,
                "status": r.status,
                "files": r.item_count,
                "ingested_files": r.ingested_count,
                "duplicates": r.duplicate_count,
                "failed_count": r.failed_count,
                "failed_files": r.failed_files or [],
            }


def batch_content(
    catalog: Catalog, batch_id: str, *, status: str | None = None, after: str | None = None, limit: int | None = None
) -> Iterator[dict[str, Any]]:
    """Files of a batch by name (keyset pages: pass the last name as `after`)."""
    with catalog.read() as conn:
        require_batch(conn, batch_id)
    page = 1000 if limit is None else min(limit, 1000)
    emitted = 0
    while limit is None or emitted < limit:
        with catalog.read() as conn:
            query = sa.select(files).where(files.c.batch_id == batch_id).order_by(files.c.name).limit(page)
            if status:
                query = query.where(files.c.status == status)
            if after is not None:
                query = query.where(files.c.name > after)
            rows = conn.execute(query).all()
        for r in rows:
            yield {
                "name": r.name,
                "status": r.status,
                "error_type": r.error_type,
                "reason": r.reason,
                "sha256": r.sha256,
                "size": r.size,
                "media_type": r.media_type,
                "store_key": r.store_key,
            }
            emitted += 1
            if limit is not None and emitted >= limit:
                return
        if len(rows) < page:
            return
        after = rows[-1].name


def ingest_progress(catalog: Catalog, ingest_id: str) -> tuple[int, int | None]:
    """Files of the ingest's recorded shards, and its files in all (None before it is planned): what a
    progress bar shows when the shards run in other processes."""
    with catalog.read() as conn:
        done, total = conn.execute(
            sa.select(
                sa.func.coalesce(sa.func.sum(sa.case((shards.c.status == "done", shards.c.item_count), else_=0)), 0),
                sa.func.coalesce(sa.func.sum(shards.c.item_count), 0),
            ).where(shards.c.ingest_id == ingest_id)
        ).one()
    return int(done), (int(total) if total else None)
