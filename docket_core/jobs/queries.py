"""Read-only views of jobs: details (the JSON contract of `show-job-details`) and listings."""

from __future__ import annotations

from collections import Counter
from typing import Any

import sqlalchemy as sa

from docket_core.catalog import Catalog
from docket_core.catalog.schema import files, job_chunks, jobs
from docket_core.errors import NotFoundError

__all__ = ["job_details", "list_jobs"]


def _details(conn: sa.Connection, job: sa.Row, store_uri: Any = None) -> dict[str, Any]:
    chunks = conn.execute(
        sa.select(job_chunks.c.status, job_chunks.c.succeeded, job_chunks.c.failed, job_chunks.c.errors, job_chunks.c.file_count)
        .where(job_chunks.c.job_id == job.job_id)
    ).all()
    errors: Counter[str] = Counter()
    for c in chunks:
        errors.update(c.errors or {})
    succeeded = sum(c.succeeded for c in chunks)
    failed = sum(c.failed for c in chunks)
    details = {
        "job_id": job.job_id,
        "batch_id": job.batch_id,
        "workflow_id": job.workflow_id,
        "state": job.state,
        "stage": job.stage,
        "files_total": job.files_total,
        "files_succeeded": succeeded,
        "files_failed": failed,
        "progress": round((succeeded + failed) / job.files_total, 4) if job.files_total else (1.0 if job.state == "succeeded" else 0.0),
        "chunks_done": sum(1 for c in chunks if c.status == "done"),
        "chunks_total": len(chunks),
        "errors_by_type": dict(sorted(errors.items())),
        "output_batch_id": job.output_batch_id,
        "max_failure_rate": job.max_failure_rate,
        "error": job.error,
        "flow_run_id": job.flow_run_id,
        "created_at": job.created_at.isoformat(),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }
    if store_uri is not None:
        details["outputs"] = {
            "documents": store_uri(f"jobs/{job.job_id}/documents") + "/*.parquet",
            "datapoints": store_uri(f"jobs/{job.job_id}/datapoints") + "/*.parquet",
        }
        kinds = _model_outputs(conn, job.output_batch_id)
        if "predictions" in kinds:
            details["outputs"]["predictions"] = store_uri(f"jobs/{job.job_id}/predictions") + "/*.parquet"
        if "images" in kinds:
            details["outputs"]["images"] = store_uri(f"jobs/{job.job_id}/images")
    return details


def _model_outputs(conn: sa.Connection, output_batch: str | None) -> set[str]:
    """Which of the model steps' outputs (`predictions`, `images`) the job's output batch holds."""
    if output_batch is None:
        return set()
    found = set()
    for kind in ("predictions", "images"):
        hit = conn.execute(sa.select(files.c.name).where(files.c.batch_id == output_batch, files.c.name.like(f"{kind}/%")).limit(1)).first()
        if hit is not None:
            found.add(kind)
    return found


def job_details(catalog: Catalog, job_id: str, *, store_uri: Any = None) -> dict[str, Any]:
    with catalog.read() as conn:
        job = conn.execute(sa.select(jobs).where(jobs.c.job_id == job_id)).first()
        if job is None:
            raise NotFoundError(f"no job {job_id!r}; `docket jobs list` shows the jobs there are")
        return _details(conn, job, store_uri)


def list_jobs(catalog: Catalog, *, batch_id: str | None = None) -> list[dict[str, Any]]:
    with catalog.read() as conn:
        query = sa.select(jobs).order_by(jobs.c.created_at, jobs.c.job_id)
        if batch_id:
            query = query.where(jobs.c.batch_id == batch_id)
        return [_details(conn, job) for job in conn.execute(query).all()]


def job_progress(catalog: Catalog, job_id: str) -> tuple[int, int | None]:
    """Files of the job's finished chunks, and its files in all (None before it is planned): what a
    progress bar shows when the work runs in other processes (Dask workers, other Prefect workers)."""
    with catalog.read() as conn:
        total = conn.execute(sa.select(jobs.c.files_total).where(jobs.c.job_id == job_id)).scalar()
        done = conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(job_chunks.c.file_count), 0)).where(
                job_chunks.c.job_id == job_id, job_chunks.c.status == "done"
            )
        ).scalar_one()
    return int(done), (int(total) if total else None)
