"""Recording a shard: its files and its summary committed together, exactly once.

A shard is recorded in one transaction that also marks it done, so a crash either leaves the shard
to be redone or finds it done; recording the same shard twice (a retried or duplicated task) is a
no-op that returns the first result.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from docket_core.catalog import Catalog, utcnow
from docket_core.catalog.schema import files, ingests, shards
from docket_core.errors import FileErrorType
from docket_core.notifications.subscriptions import notify_ingest_completed, notify_shard_recorded
from docket_core.staging.models import FileOutcome, IngestSummary, ShardSummary

__all__ = ["finish_ingest", "record_shard"]

_CHUNK = 500


def _summary(row: sa.Row) -> ShardSummary:
    return ShardSummary(
        shard_id=row.shard_id,
        status=row.status,
        ingested=row.ingested_count,
        failed=row.failed_count,
        duplicates=row.duplicate_count,
    )


def _existing(conn: sa.Connection, batch_id: str, names: list[str]) -> dict[str, object]:
    found: dict[str, object] = {}
    for start in range(0, len(names), _CHUNK):
        chunk = names[start : start + _CHUNK]
        for row in conn.execute(
            sa.select(files.c.name, files.c.status, files.c.sha256).where(
                files.c.batch_id == batch_id, files.c.name.in_(chunk)
            )
        ):
            found[row.name] = row
    return found


def _record(conn: sa.Connection, shard_id: str, outcomes: Sequence[FileOutcome]) -> ShardSummary:
    query = sa.select(shards).where(shards.c.shard_id == shard_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    shard = conn.execute(query).one()
    if shard.status == "done":
        return _summary(shard)
    batch_id, ingest_id, now = shard.batch_id, shard.ingest_id, utcnow()
    current: dict[str, object] = _existing(conn, batch_id, sorted({o.name for o in outcomes if o.named}))
    inserts: list[dict] = []
    updates: list[dict] = []
    failed_files: list[dict] = []
    ingested = failed = duplicates = 0

    def fail(outcome: FileOutcome, error_type: str, reason: str) -> None:
        nonlocal failed
        failed += 1
        failed_files.append({"type": error_type, "file_name": outcome.name, "reason": reason})

    for o in outcomes:
        row = {
            "b_batch_id": batch_id, "b_name": o.name, "status": o.status, "error_type": o.error_type,
            "reason": o.reason, "sha256": o.sha256, "size": o.size, "media_type": o.media_type,
            "ingest_id": ingest_id, "shard_id": shard_id, "updated_at": now,
        }  # fmt: skip
        if not o.named:
            fail(o, o.error_type or FileErrorType.INVALID_FILE_NAME, o.reason or "")
            continue
        seen = current.get(o.name)
        if o.status == "ingested":
            if seen is None:
                inserts.append(row)
                ingested += 1
            elif seen.status == "ingested" and seen.sha256 == o.sha256:
                duplicates += 1
                continue
            elif seen.status == "ingested":
                fail(
                    o,
                    FileErrorType.DUPLICATE_FILE_NAME,
                    f"batch {batch_id!r} already has a file named {o.name!r} with other content "
                    f"(sha256 {seen.sha256[:12]}..., this one {o.sha256[:12]}...); rename it or use another batch",
                )
                continue
            else:  # a file that failed before and now ingests
                updates.append(row)
                ingested += 1
        else:
            fail(o, o.error_type or FileErrorType.INVALID_FILE_CONTENT, o.reason or "")
            if seen is None:
                inserts.append(row)
            elif seen.status == "failed":
                updates.append(row)
            else:
                continue  # an ingested file stays; the failure is reported with the shard
        current[o.name] = _Seen(o.status, o.sha256)  # later lines of the same shard see this one

    if inserts:
        conn.execute(
            sa.insert(files),
            [{**{k: v for k, v in r.items() if not k.startswith("b_")}, "batch_id": r["b_batch_id"],
              "name": r["b_name"], "created_at": now} for r in inserts],
        )  # fmt: skip
    if updates:
        conn.execute(
            sa.update(files)
            .where(files.c.batch_id == sa.bindparam("b_batch_id"), files.c.name == sa.bindparam("b_name"))
            .values({k: sa.bindparam(k) for k in updates[0] if not k.startswith("b_")}),
            updates,
        )
    conn.execute(
        sa.update(shards)
        .where(shards.c.shard_id == shard_id)
        .values(
            status="done",
            ingested_count=ingested,
            failed_count=failed,
            duplicate_count=duplicates,
            failed_files=failed_files,
            finished_at=now,
        )
    )
    notify_shard_recorded(conn, ingest_id=ingest_id, batch_id=batch_id, shard_id=shard_id,
                          names=[(o.name, o.status) for o in outcomes if o.named], failed_files=failed_files)  # fmt: skip
    return ShardSummary(shard_id=shard_id, status="done", ingested=ingested, failed=failed, duplicates=duplicates)


class _Seen:
    __slots__ = ("status", "sha256")

    def __init__(self, status: str, sha256: str | None) -> None:
        self.status, self.sha256 = status, sha256


def record_shard(catalog: Catalog, shard_id: str, outcomes: Sequence[FileOutcome] | None) -> ShardSummary:
    """Commit a shard's outcomes; `None` (the shard was done before) returns the recorded summary."""
    for attempt in range(3):
        try:
            with catalog.begin() as conn:
                if outcomes is None:
                    return _summary(conn.execute(sa.select(shards).where(shards.c.shard_id == shard_id)).one())
                return _record(conn, shard_id, outcomes)
        except sa.exc.IntegrityError:
            # Another shard of the same batch inserted one of these names first (PostgreSQL runs
            # shards concurrently); the retry sees that row and classifies the file against it.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def finish_ingest(catalog: Catalog, ingest_id: str, *, flow_run_id: str | None = None) -> IngestSummary:
    """Total the shards; the ingest is `completed` once every shard is done."""
    with catalog.begin() as conn:
        ingest = conn.execute(sa.select(ingests).where(ingests.c.ingest_id == ingest_id)).one()
        totals = conn.execute(
            sa.select(
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(shards.c.item_count), 0),
                sa.func.coalesce(sa.func.sum(shards.c.ingested_count), 0),
                sa.func.coalesce(sa.func.sum(shards.c.failed_count), 0),
                sa.func.coalesce(sa.func.sum(shards.c.duplicate_count), 0),
                sa.func.coalesce(sa.func.sum(sa.case((shards.c.status == "done", 1), else_=0)), 0),
            ).where(shards.c.ingest_id == ingest_id)
        ).one()
        count, items, ingested, failed, duplicates, done = (int(v) for v in totals)
        already = ingest.status == "completed"
        status = "completed" if done == count and ingest.planned_shards is not None else "running"
        if not already:
            values: dict = {"status": status}
            if status == "completed":
                values["finished_at"] = utcnow()
                counts = {"files": items, "ingested": ingested, "failed": failed, "duplicates": duplicates, "shards": count}
                notify_ingest_completed(conn, ingest, counts=counts)
            if flow_run_id:
                values["flow_run_id"] = flow_run_id
            conn.execute(sa.update(ingests).where(ingests.c.ingest_id == ingest_id).values(**values))
    return IngestSummary(
        batch_id=ingest.batch_id,
        ingest_id=ingest_id,
        status=status,
        ingested=ingested,
        failed=failed,
        duplicates=duplicates,
        shards=count,
        files=items,
        already_completed=already,
        flow_run_id=flow_run_id or ingest.flow_run_id,
    )
