"""The API's own records: batch display names and types, job definitions and overrides, upload URLs.

Batches, ingests, files and jobs themselves are Docket's (`docket_core.staging`, `docket_core.jobs`);
these rows only hold what the Roboflow wire format shows and Docket does not keep.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from docket_core.catalog import Catalog, utcnow
from docket_core.catalog.schema import jobs
from docket_core.catalog.schema_roboflow import roboflow_batches, roboflow_jobs, roboflow_uploads
from docket_core.errors import ConflictError, InputError, NotFoundError

__all__ = [
    "add_override",
    "batch_records",
    "claim_upload",
    "finish_upload",
    "issue_upload",
    "job_records",
    "record_job",
    "remember_batch",
    "set_run",
]


def remember_batch(
    catalog: Catalog, batch_id: str, *, workspace: str, display_name: str | None, batch_type: str, media_kind: str
) -> None:
    """Keep a batch's display name and type the first time the API stages into it."""
    with catalog.begin() as conn:
        seen = conn.execute(sa.select(roboflow_batches.c.batch_id).where(roboflow_batches.c.batch_id == batch_id)).first()
        if seen is None:
            conn.execute(sa.insert(roboflow_batches).values(
                batch_id=batch_id, workspace=workspace, display_name=(display_name or batch_id)[:256],
                batch_type=batch_type, media_kind=media_kind, created_at=utcnow()))  # fmt: skip


def batch_records(conn: sa.Connection, batch_ids: list[str]) -> dict[str, sa.Row]:
    if not batch_ids:
        return {}
    rows = conn.execute(sa.select(roboflow_batches).where(roboflow_batches.c.batch_id.in_(batch_ids)))
    return {r.batch_id: r for r in rows}


def record_job(catalog: Catalog, job_id: str, *, workspace: str, name: str | None, definition: dict[str, Any]) -> None:
    """Keep the job body as sent (the same job id again with the same body is a no-op)."""
    now = utcnow()
    with catalog.begin() as conn:
        row = conn.execute(sa.select(roboflow_jobs).where(roboflow_jobs.c.job_id == job_id)).first()
        if row is None:
            conn.execute(sa.insert(roboflow_jobs).values(job_id=job_id, workspace=workspace, name=(name or job_id)[:256],
                                                         definition=definition, overrides=[], created_at=now, updated_at=now))  # fmt: skip
        elif row.definition != definition:
            raise ConflictError(f"job id {job_id!r} was used for another job definition; use a new job id")


def job_records(conn: sa.Connection, job_ids: list[str]) -> dict[str, sa.Row]:
    if not job_ids:
        return {}
    return {r.job_id: r for r in conn.execute(sa.select(roboflow_jobs).where(roboflow_jobs.c.job_id.in_(job_ids)))}


def set_run(catalog: Catalog, job_id: str, run_id: str | None) -> None:
    """Remember the flow run last started for the job (so an abort can cancel it before it begins)."""
    with catalog.begin() as conn:
        conn.execute(sa.update(roboflow_jobs).where(roboflow_jobs.c.job_id == job_id).values(run_id=run_id))


def add_override(catalog: Catalog, job_id: str, override: dict[str, Any], *, workspace: str, failure_rate: float | None) -> list[dict[str, Any]]:
    """Append a restart's parameter override to the job's list (kept in order) and apply the one knob
    Docket has, the failure budget, to the job; returns the list."""
    now = utcnow()
    with catalog.begin() as conn:
        if conn.execute(sa.select(jobs.c.job_id).where(jobs.c.job_id == job_id)).first() is None:
            raise NotFoundError(f"no job {job_id!r}")
        conn.execute(sa.update(jobs).where(jobs.c.job_id == job_id).values(max_failure_rate=failure_rate))
        row = conn.execute(sa.select(roboflow_jobs).where(roboflow_jobs.c.job_id == job_id)).first()
        if row is None:  # a job started with `docket jobs`: it gets its API record now
            conn.execute(sa.insert(roboflow_jobs).values(job_id=job_id, workspace=workspace, name=job_id, definition={},
                                                         overrides=[override], created_at=now, updated_at=now))  # fmt: skip
            return [override]
        overrides = [*(row.overrides or []), override]
        conn.execute(sa.update(roboflow_jobs).where(roboflow_jobs.c.job_id == job_id).values(overrides=overrides, updated_at=now))
    return overrides


def issue_upload(
    catalog: Catalog, *, batch_id: str, workspace: str, kind: str, file_name: str | None, max_bytes: int, ttl_seconds: int
) -> str:
    """A new single-use upload slot; its id goes into the signed upload URL."""
    upload_id = secrets.token_urlsafe(24)
    now = utcnow()
    with catalog.begin() as conn:
        conn.execute(sa.insert(roboflow_uploads).values(
            upload_id=upload_id, batch_id=batch_id, workspace=workspace, kind=kind, file_name=file_name,
            max_bytes=max_bytes, created_at=now, expires_at=now + timedelta(seconds=ttl_seconds)))  # fmt: skip
    return upload_id


def claim_upload(catalog: Catalog, upload_id: str) -> sa.Row:
    """Take an upload slot for one PUT (single use).

    Raises:
        NotFoundError: no such slot.
        ConflictError: the slot was used before.
        InputError: the slot has expired.
    """
    now = utcnow()
    with catalog.begin() as conn:
        row = conn.execute(sa.select(roboflow_uploads).where(roboflow_uploads.c.upload_id == upload_id)).first()
        if row is None:
            raise NotFoundError("no such upload; ask the API for an upload URL")
        if row.expires_at <= now:
            raise InputError("the upload URL has expired; ask the API for a new one")
        done = conn.execute(sa.update(roboflow_uploads)
                            .where(roboflow_uploads.c.upload_id == upload_id, roboflow_uploads.c.used_at.is_(None))
                            .values(used_at=now))  # fmt: skip
        if done.rowcount != 1:
            raise ConflictError("this upload URL was used already (each is good for one upload); ask the API for a new one")
    return row


def finish_upload(catalog: Catalog, upload_id: str, *, size: int, ingest_id: str | None) -> None:
    with catalog.begin() as conn:
        conn.execute(sa.update(roboflow_uploads).where(roboflow_uploads.c.upload_id == upload_id).values(size=size, ingest_id=ingest_id))
