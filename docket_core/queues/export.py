"""Exporting a queue exactly once: claim, write one Parquet part, commit.

1. `claim_export`, one transaction: a new export row, and every ready document moved to `exporting`
   with the export's id. Ready means confirmed (and to_review when the queue exports those), within the
   filters. Nothing ready: no export.
2. The `export` extensions run on the claimed documents; an error message moves one to `failed_export`.
3. `write_export`: the still-`exporting` documents into one part at a key fixed by the export id,
   `exports/queue=<id>/date=<YYYY-MM-DD>/part-<export id>.parquet`, which appears whole or not at all.
4. `commit_export`, one transaction: those documents become `exported` and the export `done`, and
   each endpoint subscribed to the queue's `exported` documents gets one notification per document
   with its final values, queued in that same transaction.

A crash anywhere leaves either nothing (before 1 commits) or a `claimed` export that the next run
finishes first (`unfinished_exports`): writing the same key again replaces the part with the same rows,
and the commit moves only documents still `exporting`, so none is lost or exported twice.
"""

from __future__ import annotations

import datetime
import io
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as paj
import pyarrow.parquet as pq
import sqlalchemy as sa
from pydantic import BaseModel, Field, field_validator

from docket_core.catalog import Catalog, utcnow
from docket_core.catalog.schema_queues import document_data, documents, exports, queues
from docket_core.errors import DocketError
from docket_core.notifications.subscriptions import notify_documents_exported
from docket_core.queues.lifecycle import StatusChanges, change_status
from docket_core.queues.models import FieldSpec, QueueSpec
from docket_core.queues.registry import get_queue
from docket_core.queues.subscriptions import subscribers
from docket_core.store import Store

__all__ = [
    "EXPORT_BASE",
    "ExportClaim",
    "ExportFilters",
    "claim_export",
    "commit_export",
    "export_schema",
    "exporting_ids",
    "fail_export",
    "part_key",
    "ready_statuses",
    "unfinished_exports",
    "write_export",
]

MESSAGE = pa.struct([("type", pa.string()), ("content", pa.string()), ("id", pa.int64()), ("source", pa.string())])

EXPORT_BASE = pa.schema(
    [
        pa.field("queue_id", pa.string(), nullable=False),
        pa.field("export_id", pa.string(), nullable=False),
        pa.field("document_id", pa.int64(), nullable=False),
        pa.field("file_name", pa.string(), nullable=False),
        pa.field("media_type", pa.string()),
        pa.field("sha256", pa.string()),
        pa.field("status", pa.string(), nullable=False),  # the status it was exported from
        pa.field("ready_at", pa.timestamp("us", tz="UTC")),
        pa.field("exported_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("messages", pa.list_(MESSAGE)),
        pa.field("sources", pa.string()),  # JSON: field id (or a table cell's datapoint id) -> step or extension
        pa.field("origin", pa.string()),  # JSON: where the document came from
    ]
)
"""The columns every export has; then one column per field of the queue (`export_schema`)."""

_SCALAR = {"string": pa.string(), "enum": pa.string(), "number": pa.float64(), "date": pa.date32()}
EXPORTABLE = ("confirmed", "to_review", "failed_export")


def _arrow(field: FieldSpec) -> pa.DataType:
    if field.type == "multivalue":
        return pa.list_(pa.struct([(c.id, _SCALAR[c.type]) for c in field.columns]))
    return _SCALAR[field.type]


def export_schema(queue: QueueSpec) -> pa.Schema:
    """`EXPORT_BASE` and a typed column per field: number float64, date date32, a table a list of rows."""
    schema = EXPORT_BASE
    for field in queue.fields:
        schema = schema.append(pa.field(field.id, _arrow(field)))
    return schema


def ready_statuses(queue: QueueSpec) -> list[str]:
    return ["confirmed", "to_review"] if queue.export_to_review else ["confirmed"]


def part_key(queue_id: str, partition_date: str, export_id: str) -> str:
    return f"exports/queue={queue_id}/date={partition_date}/part-{export_id}.parquet"


class ExportFilters(BaseModel):
    """Which ready documents an export takes (all of them by default)."""

    statuses: list[str] = Field(default_factory=list, description="Only these statuses (default: the queue's ready ones).")
    since: datetime.datetime | None = Field(default=None, description="Only documents ready at or after this time.")
    until: datetime.datetime | None = Field(default=None, description="Only documents ready before this time.")
    document_ids: list[int] = Field(default_factory=list, description="Only these documents (default: every ready one).")

    @field_validator("statuses")
    @classmethod
    def _exportable(cls, value: list[str]) -> list[str]:
        bad = [s for s in value if s not in EXPORTABLE]
        if bad:
            raise ValueError(f"export statuses must be among {list(EXPORTABLE)}, got {bad}")
        return value

    @field_validator("since", "until")
    @classmethod
    def _aware(cls, value: datetime.datetime | None) -> datetime.datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=datetime.timezone.utc)
        return value


@dataclass(frozen=True)
class ExportClaim:
    """An export in progress: its id, where its part goes, how many documents it claimed."""

    export_id: str
    queue_id: str
    key: str
    partition_date: str
    created_at: datetime.datetime
    claimed: int
    resumed: bool = False
    notified: int = 0  # status-changed notifications the claim queued


def _claim_of(row: sa.Row, *, resumed: bool) -> ExportClaim:
    return ExportClaim(row.export_id, row.queue_id, row.documents_key, row.partition_date, row.created_at, row.document_count, resumed)


def unfinished_exports(catalog: Catalog, queue_id: str) -> list[ExportClaim]:
    """Exports of the queue that claimed documents and did not commit (a crash): finish these first."""
    with catalog.read() as conn:
        rows = conn.execute(
            sa.select(exports).where(exports.c.queue_id == queue_id, exports.c.status == "claimed").order_by(exports.c.created_at)
        ).all()
    return [_claim_of(r, resumed=True) for r in rows]


def claim_export(catalog: Catalog, queue_id: str, filters: ExportFilters, *, actor: str, flow_run_id: str | None = None) -> ExportClaim | None:
    """Claim every ready document of the queue for a new export, in one transaction; None if none is ready."""
    now = utcnow()
    export_id = f"{queue_id}-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    partition = now.date().isoformat()
    with catalog.begin() as conn:
        _lock_queue(conn, queue_id)
        queue = get_queue(conn, queue_id)
        statuses = filters.statuses or ready_statuses(queue)
        where = sa.and_(documents.c.queue_id == queue_id, documents.c.status.in_(statuses))
        if filters.since is not None:
            where = sa.and_(where, documents.c.ready_at >= filters.since)
        if filters.until is not None:
            where = sa.and_(where, documents.c.ready_at < filters.until)
        if filters.document_ids:
            where = sa.and_(where, documents.c.document_id.in_(sorted(set(filters.document_ids))))
        conn.execute(
            sa.insert(exports).values(
                export_id=export_id, queue_id=queue_id, status="claimed", partition_date=partition,
                documents_key=part_key(queue_id, partition, export_id), document_count=0, failed_count=0,
                filters=filters.model_dump(mode="json"), actor=actor, flow_run_id=flow_run_id, created_at=now,
            )  # fmt: skip
        )
        moved = change_status(
            conn, where, "exporting", actor=actor, note=f"export {export_id}", strict=False, collect=False, values={"export_id": export_id}
        )
        if moved.count == 0:
            conn.execute(sa.delete(exports).where(exports.c.export_id == export_id))
            return None
        conn.execute(sa.update(exports).where(exports.c.export_id == export_id).values(document_count=moved.count))
    return ExportClaim(export_id, queue_id, part_key(queue_id, partition, export_id), partition, now, moved.count, notified=moved.notified)


def exporting_ids(catalog: Catalog, export_id: str) -> list[int]:
    """The documents the export still holds (`exporting`), in id order."""
    with catalog.read() as conn:
        return list(
            conn.execute(
                sa.select(documents.c.document_id)
                .where(documents.c.export_id == export_id, documents.c.status == "exporting")
                .order_by(documents.c.document_id)
            ).scalars()
        )


def fail_export(catalog: Catalog, reasons: dict[int, str], *, actor: str) -> StatusChanges:
    """Move documents whose `export` extensions reported errors to `failed_export`, each with its reason."""
    total = StatusChanges()
    with catalog.begin() as conn:
        for doc_id, reason in sorted(reasons.items()):
            total += change_status(conn, [doc_id], "failed_export", actor=actor, note=reason[:500], strict=False)
    return total


_COLUMNS = ("document_id", "file_name", "media_type", "sha256", "ready_at", "origin", "sources", "line")


def _rows(conn: sa.Connection, export_id: str, batch_rows: int) -> Iterator[list[tuple[Any, ...]]]:
    """The export's documents in batches of plain tuples (`_COLUMNS`), straight from the driver.

    The database writes each row's JSON line itself, messages and values as stored, so Python never
    decodes them (see `_json_columns`); PostgreSQL streams through a server-side cursor.
    """
    line = (
        sa.literal('{"messages":', sa.Text) + sa.cast(document_data.c.messages, sa.Text) + sa.literal(',"values":', sa.Text)
        + sa.cast(document_data.c.field_values, sa.Text) + sa.literal("}", sa.Text)
    )  # fmt: skip
    query = (
        sa.select(
            documents.c.document_id, documents.c.file_name, documents.c.media_type, documents.c.sha256, documents.c.ready_at,
            sa.cast(documents.c.origin, sa.Text), sa.cast(document_data.c.sources, sa.Text), line,
        )  # fmt: skip
        .join(document_data, document_data.c.document_id == documents.c.document_id)
        .where(documents.c.export_id == export_id, documents.c.status == "exporting")
        .order_by(documents.c.document_id)
    )
    compiled = query.compile(dialect=conn.dialect)
    params = compiled.construct_params()
    args = tuple(params[name] for name in compiled.positiontup or ()) if compiled.positional else params
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    cursor = dbapi.cursor(name=f"docket-export-{uuid.uuid4().hex[:8]}") if conn.dialect.name == "postgresql" else dbapi.cursor()
    try:
        cursor.execute(str(compiled), args)
        while rows := cursor.fetchmany(batch_rows):
            yield rows
    finally:
        cursor.close()


def _timestamps(values: list[Any]) -> pa.Array:
    """`ready_at` as UTC timestamps: SQLite's driver gives UTC text, PostgreSQL's aware datetimes."""
    if any(isinstance(v, str) for v in values):
        return pa.array(values, pa.string()).cast(pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC"))
    return pa.array(values, pa.timestamp("us", tz="UTC"))


def _read_type(field: FieldSpec) -> pa.DataType:
    """How a field is read from its JSON value: dates as text, cast to date32 afterwards."""
    if field.type == "multivalue":
        return pa.list_(pa.struct([(c.id, pa.string() if c.type == "date" else _SCALAR[c.type]) for c in field.columns]))
    return pa.string() if field.type == "date" else _SCALAR[field.type]


def _json_columns(queue: QueueSpec, rows: Sequence[tuple[Any, ...]]) -> pa.Table:
    """Messages and field values of a batch, parsed straight into Arrow by pyarrow's JSON reader.

    Each row's stored JSON goes in as it is (one line per document), so no Python object is built
    per value: this is what keeps the export near a plain pyarrow write of the same rows.
    """
    schema = pa.schema([
        ("messages", pa.list_(MESSAGE)),
        ("values", pa.struct([(f.id, _read_type(f)) for f in queue.fields])),
    ])  # fmt: skip
    data = "\n".join([r[7] for r in rows]).encode()
    options = paj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    return paj.read_json(io.BytesIO(data), read_options=paj.ReadOptions(block_size=8 << 20), parse_options=options)


def write_export(store: Store, queue: QueueSpec, claim: ExportClaim, catalog: Catalog, *, batch_rows: int = 20_000) -> int:
    """Write the claimed documents still `exporting` into the export's part; the number written.

    The part appears whole or not at all; with nothing left to write (every document failed its export
    extensions) no part is written.
    """
    schema = export_schema(queue)
    written = 0
    with catalog.read() as conn:
        batches = _rows(conn, claim.export_id, batch_rows)
        first = next(batches, None)
        if first is None:
            return 0
        with store.writer(claim.key) as fh, pq.ParquetWriter(fh, schema, compression="zstd") as writer:
            for rows in _chain(first, batches):
                n = len(rows)
                parsed = _json_columns(queue, rows)
                values = parsed.column("values")
                document_id, file_name, media_type, sha256, ready_at, origin, sources, _ = zip(*rows)
                columns = [
                    pa.array([queue.queue_id] * n, pa.string()), pa.array([claim.export_id] * n, pa.string()),
                    pa.array(document_id, pa.int64()), pa.array(file_name, pa.string()), pa.array(media_type, pa.string()),
                    pa.array(sha256, pa.string()), pa.array(["exported"] * n, pa.string()), _timestamps(list(ready_at)),
                    pa.array([claim.created_at] * n, pa.timestamp("us", tz="UTC")), parsed.column("messages"),
                    pa.array(sources, pa.string()), pa.array(origin, pa.string()),
                ]  # fmt: skip
                for field in queue.fields:
                    columns.append(pc.struct_field(values, field.id).cast(_arrow(field)))
                writer.write_table(pa.Table.from_arrays(columns, schema=schema))
                written += n
    return written


def _chain(first: list[tuple[Any, ...]], rest: Iterator[list[tuple[Any, ...]]]) -> Iterator[list[tuple[Any, ...]]]:
    yield first
    yield from rest


def commit_export(catalog: Catalog, claim: ExportClaim, *, actor: str, written: int) -> dict[str, Any]:
    """Mark the export's documents `exported` and the export `done`, in one transaction."""
    with catalog.begin() as conn:
        _lock_queue(conn, claim.queue_id)
        row = conn.execute(sa.select(exports).where(exports.c.export_id == claim.export_id)).one()
        if row.status == "done":  # another run finished it: the same answer, nothing moved twice
            return _done(claim, row.document_count, row.failed_count)
        moved = change_status(
            conn, sa.and_(documents.c.export_id == claim.export_id, documents.c.status == "exporting"), "exported",
            actor=actor, note=f"export {claim.export_id}", strict=False, collect=False, values={"exported_at": claim.created_at},
        )  # fmt: skip
        if moved.count != written:
            raise DocketError(
                f"export {claim.export_id} wrote {written} documents but {moved.count} are still exporting; "
                "run the export again to rewrite its part"
            )
        failed = conn.execute(
            sa.select(sa.func.count()).where(documents.c.export_id == claim.export_id, documents.c.status == "failed_export")
        ).scalar_one()
        conn.execute(
            sa.update(exports)
            .where(exports.c.export_id == claim.export_id)
            .values(status="done", document_count=moved.count, failed_count=failed, finished_at=utcnow())
        )
        notified = moved.notified + _notify_exported(conn, claim)
    return _done(claim, moved.count, failed, notified)


def _notify_exported(conn: sa.Connection, claim: ExportClaim, *, batch: int = 1000) -> int:
    """Queue a `document-exported` notification, with the document's final values and messages, for
    every endpoint subscribed to the queue's exports; how many were queued."""
    urls = subscribers(conn, "exported", [claim.queue_id]).urls(claim.queue_id)
    if not urls:
        return 0
    query = (
        sa.select(documents.c.document_id, documents.c.file_name, documents.c.exported_at, document_data.c.field_values,
                  document_data.c.messages)  # fmt: skip
        .join(document_data, document_data.c.document_id == documents.c.document_id)
        .where(documents.c.export_id == claim.export_id, documents.c.status == "exported")
        .order_by(documents.c.document_id)
    )
    rows = conn.execute(query).all()
    queued = 0
    for start in range(0, len(rows), batch):
        exported = [
            {"document_id": r.document_id, "file_name": r.file_name, "exported_at": r.exported_at,
             "content": r.field_values, "messages": r.messages}  # fmt: skip
            for r in rows[start : start + batch]
        ]
        for url in urls:
            queued += len(notify_documents_exported(conn, endpoint=url, queue_id=claim.queue_id, documents=exported, export_id=claim.export_id))
    return queued


def _done(claim: ExportClaim, exported: int, failed: int, notified: int = 0) -> dict[str, Any]:
    return {
        "export_id": claim.export_id, "queue_id": claim.queue_id, "exported": exported, "failed": failed,
        "key": claim.key if exported else None, "partition_date": claim.partition_date, "resumed": claim.resumed,
        "notified": claim.notified + notified,
    }  # fmt: skip


def _lock_queue(conn: sa.Connection, queue_id: str) -> None:
    """Serialize a queue's exports on PostgreSQL (SQLite's write transactions are serial already)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(queues.c.queue_id).where(queues.c.queue_id == queue_id).with_for_update())
