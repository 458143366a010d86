"""Batches as Roboflow's data-staging API shows them (camelCase, tz-aware times, required keys).

Read-only views over Docket's catalog for `docket_core.server.roboflow`: batch metadata, counts,
parts of a job's output batch (one per top folder of its files: `documents`, `datapoints`, and any
other the job wrote, such as `predictions`), file pages and shard pages. Page tokens are opaque to
the client: an offset for batches and shards, the last file name for files.
"""

from __future__ import annotations

import base64
from types import SimpleNamespace
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from docket_core.catalog import Catalog
from docket_core.catalog.schema import batches, files, ingests, shards
from docket_core.catalog.schema_roboflow import roboflow_batches
from docket_core.errors import InputError, NotFoundError
from docket_core.roboflow.records import batch_records
from docket_core.staging.queries import require_batch
from docket_core.store import blob_key

__all__ = ["NO_EXPIRY", "batch_count", "batch_metadata", "batch_parts", "file_page", "iso", "list_batches_page", "shard_page"]

NO_EXPIRY = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
"""What `expiryDate` says when staged data is kept until deleted (DOCKET_STAGED_DATA_TTL_DAYS unset)."""

_PART_DESCRIPTIONS = {
    "documents": "One row per file: status, errors, messages and one typed column per captured field (Parquet).",
    "datapoints": "Long form: one row per captured value, with its source step (Parquet).",
    "predictions": "One row per model prediction: file, frame, class, confidence, box (Parquet).",
}
Signer = Callable[[str, str, str], str]
"""(batch_id, file name, store key of its bytes) -> an absolute download URL."""


def iso(value: datetime | None) -> str | None:
    """ISO-8601 in UTC with `Z`: the client subtracts these from an aware `now`."""
    if value is None:
        return None
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def offset_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def read_offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        kind, _, value = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if kind == "o" and value.isdigit():
            return int(value)
    except (ValueError, UnicodeDecodeError):
        pass
    raise InputError(f"expected a nextPageToken this API handed out, got {token!r}")


def _name_token(name: str) -> str:
    return base64.urlsafe_b64encode(f"n:{name}".encode()).decode()


def _read_name(token: str | None) -> str | None:
    if not token:
        return None
    try:
        kind, _, value = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if kind == "n":
            return value
    except (ValueError, UnicodeDecodeError):
        pass
    raise InputError(f"expected a nextPageToken this API handed out, got {token!r}")


def _require(conn: sa.Connection, batch_id: str) -> Any:
    """The batch; or, for a batch the API took uploads for whose ingest has not begun, its record
    (the batch exists for the client from its first upload, as on the Roboflow service)."""
    try:
        return require_batch(conn, batch_id)
    except NotFoundError:
        record = batch_records(conn, [batch_id]).get(batch_id)
        if record is None:
            raise
        return SimpleNamespace(batch_id=batch_id, media_kind=record.media_kind, created_at=record.created_at, source_job_id=None)


def _batch_type(batch: sa.Row, record: sa.Row | None) -> str:
    if batch.source_job_id is not None:
        return "multipart-batch"
    return record.batch_type if record is not None else "sharded-batch"


def _metadata(batch: sa.Row, record: sa.Row | None, ttl_days: int | None) -> dict[str, Any]:
    content = "metadata" if batch.source_job_id is not None else batch.media_kind
    expiry = batch.created_at + timedelta(days=ttl_days) if ttl_days else NO_EXPIRY
    return {
        "displayName": record.display_name if record is not None else batch.batch_id,
        "batchId": batch.batch_id,
        "batchType": _batch_type(batch, record),
        "batchContentType": content,
        "createdDate": iso(batch.created_at),
        "expiryDate": iso(expiry),
    }


def batch_metadata(catalog: Catalog, batch_id: str, *, ttl_days: int | None) -> dict[str, Any]:
    with catalog.read() as conn:
        batch = _require(conn, batch_id)
        return _metadata(batch, batch_records(conn, [batch_id]).get(batch_id), ttl_days)


def list_batches_page(catalog: Catalog, *, page_size: int, token: str | None, ttl_days: int | None) -> dict[str, Any]:
    offset = read_offset(token)
    with catalog.read() as conn:
        rows = conn.execute(sa.select(batches).order_by(batches.c.created_at, batches.c.batch_id)
                            .offset(offset).limit(page_size + 1)).all()  # fmt: skip
        records = batch_records(conn, [r.batch_id for r in rows[:page_size]])
        more = len(rows) > page_size
        waiting = [] if more else conn.execute(  # uploaded to, their ingest not begun yet: listed last
            sa.select(roboflow_batches).where(roboflow_batches.c.batch_id.not_in(sa.select(batches.c.batch_id)))
            .order_by(roboflow_batches.c.created_at, roboflow_batches.c.batch_id)).all()  # fmt: skip
    listed = [_metadata(r, records.get(r.batch_id), ttl_days) for r in rows[:page_size]]
    listed += [_metadata(SimpleNamespace(batch_id=r.batch_id, media_kind=r.media_kind, created_at=r.created_at, source_job_id=None),
                         r, ttl_days) for r in waiting]  # fmt: skip
    return {"batches": listed, "nextPageToken": offset_token(offset + page_size) if more else None}


def _part_filter(batch: sa.Row, part_name: str | None) -> Any:
    if part_name is None:
        return sa.true()
    if batch.source_job_id is None:
        raise InputError(f"batch {batch.batch_id!r} has no parts (it is not a job's output); list it without partName")
    return files.c.name.startswith(f"{part_name}/", autoescape=True)


def batch_count(catalog: Catalog, batch_id: str, *, part_name: str | None) -> dict[str, int]:
    with catalog.read() as conn:
        batch = _require(conn, batch_id)
        count = conn.execute(sa.select(sa.func.count()).where(
            files.c.batch_id == batch_id, files.c.status == "ingested", _part_filter(batch, part_name))).scalar_one()  # fmt: skip
    return {"count": int(count)}


def batch_parts(catalog: Catalog, batch_id: str) -> dict[str, Any]:
    """The parts of a job's output batch: one per top folder of its files."""
    with catalog.read() as conn:
        batch = _require(conn, batch_id)
        names = conn.execute(sa.select(files.c.name).where(files.c.batch_id == batch_id).order_by(files.c.name)).scalars().all()
    if batch.source_job_id is None:
        raise InputError(f"batch {batch_id!r} is not a multipart batch (only a job's output batch has parts)")
    parts = sorted({name.split("/", 1)[0] for name in names if "/" in name})
    return {"batchParts": [{"partName": p, "partType": "job-output", "contentType": "parquet",
                            "partDescription": _PART_DESCRIPTIONS.get(p, f"The job's {p} (Parquet)."),
                            "nestedContentType": None} for p in parts]}  # fmt: skip


def file_page(catalog: Catalog, batch_id: str, *, part_name: str | None, page_size: int, token: str | None, sign: Signer) -> dict[str, Any]:
    """A page of a batch's staged files (or of one part of an output batch), each with a download URL."""
    after = _read_name(token)
    with catalog.read() as conn:
        batch = _require(conn, batch_id)
        query = (sa.select(files.c.name, files.c.media_type, files.c.shard_id, files.c.store_key, files.c.sha256)
                 .where(files.c.batch_id == batch_id, files.c.status == "ingested", _part_filter(batch, part_name))
                 .order_by(files.c.name).limit(page_size + 1))  # fmt: skip
        if after is not None:
            query = query.where(files.c.name > after)
        rows = conn.execute(query).all()
    items = []
    for r in rows[:page_size]:
        part, _, base = r.name.partition("/") if batch.source_job_id is not None else (None, "", r.name)
        items.append({"downloadURL": sign(batch_id, r.name, r.store_key or blob_key(r.sha256)), "fileName": base or r.name, "partName": part,
                      "shardId": r.shard_id, "contentType": r.media_type or "application/octet-stream",
                      "nestedContentType": None})  # fmt: skip
    more = len(rows) > page_size
    return {"filesMetadata": items, "nextPageToken": _name_token(rows[page_size - 1].name) if more else None}


def _shard_status(row: sa.Row) -> tuple[str, str]:
    if row.status != "done":
        return "pending", "info"
    if row.failed_count:
        return "ingested-with-errors", "error"
    return "ingested", "success"


def shard_page(catalog: Catalog, batch_id: str, *, page_size: int, token: str | None) -> dict[str, Any]:
    """A page of the batch's shards (Docket's shards of every ingest), each with its counts and failures."""
    offset = read_offset(token)
    with catalog.read() as conn:
        _require(conn, batch_id)
        rows = conn.execute(
            sa.select(shards, ingests.c.created_at.label("ingest_created_at"))
            .join(ingests, ingests.c.ingest_id == shards.c.ingest_id)
            .where(shards.c.batch_id == batch_id)
            .order_by(ingests.c.created_at, shards.c.ingest_id, shards.c.seq)
            .offset(offset).limit(page_size + 1)
        ).all()  # fmt: skip
    out = []
    for r in rows[:page_size]:
        name, kind = _shard_status(r)
        out.append({"shardId": r.shard_id, "statusName": name, "statusType": kind,
                    "eventTimestamp": iso(r.finished_at or r.ingest_created_at), "shardObjectsCount": r.item_count,
                    "statusMetadata": {"ingestId": r.ingest_id, "ingestedFiles": r.ingested_count,
                                       "duplicates": r.duplicate_count, "failedCount": r.failed_count,
                                       "failedFiles": r.failed_files or []}})  # fmt: skip
    return {"shards": out, "nextPageToken": offset_token(offset + page_size) if len(rows) > page_size else None}
