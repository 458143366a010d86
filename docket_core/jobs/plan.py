"""Registering and starting jobs: one row per job, its files split into chunks once."""

from __future__ import annotations

import hashlib
import json
import uuid

import sqlalchemy as sa

from docket_core.catalog import utcnow
from docket_core.catalog.schema import batches, files, job_chunks, jobs
from docket_core.errors import ConflictError, InputError
from docket_core.jobs.models import FINISHED, JobPlan, JobRequest
from docket_core.resources import Resources
from docket_core.settings import DocketSettings
from docket_core.staging.queries import require_batch
from docket_core.workflows.registry import Workflow

__all__ = ["new_job_id", "output_batch_id", "register_job", "start_job"]


def new_job_id() -> str:
    return f"job-{utcnow():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


def output_batch_id(job_id: str) -> str:
    return f"{job_id[:60]}-out"


def _fingerprint(request: JobRequest, workflow: Workflow) -> str:
    definition = {"batch_id": request.batch_id, "workflow_id": workflow.workflow_id, "workflow": workflow.fingerprint()}
    return hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()


def register_job(request: JobRequest, workflow: Workflow, resources: Resources) -> str:
    """Create the job (state `pending`) with its output batch, or find the same job again.

    Raises:
        NotFoundError: no such batch.
        InputError: the workflow does not process what the batch holds, or a step of it cannot run
            (a model step's model is missing, has another checksum or an unsupported form).
        ConflictError: the job id was used with another batch or workflow definition.
    """
    workflow.check()  # a model that cannot run fails the job here, before any chunk (and outside a transaction)
    job_id = request.job_id or new_job_id()
    fingerprint = _fingerprint(request, workflow)
    now = utcnow()
    with resources.catalog().begin() as conn:
        batch = require_batch(conn, request.batch_id)
        if batch.media_kind not in workflow.media_kinds:
            raise InputError(
                f"workflow {workflow.workflow_id!r} processes {', '.join(sorted(workflow.media_kinds))}; "
                f"batch {request.batch_id!r} holds {batch.media_kind}"
            )
        existing = conn.execute(sa.select(jobs).where(jobs.c.job_id == job_id)).first()
        if existing is not None:
            if existing.fingerprint != fingerprint:
                raise ConflictError(
                    f"job id {job_id!r} was used for batch {existing.batch_id!r} with workflow "
                    f"{existing.workflow_id!r} as it was then defined; use a new job id"
                )
            return job_id
        out = output_batch_id(job_id)
        if conn.execute(sa.select(batches.c.batch_id).where(batches.c.batch_id == out)).first() is None:
            conn.execute(sa.insert(batches).values(batch_id=out, media_kind="outputs", created_at=now, source_job_id=job_id))
        conn.execute(
            sa.insert(jobs).values(
                job_id=job_id, batch_id=request.batch_id, workflow_id=workflow.workflow_id, fingerprint=fingerprint,
                state="pending", stage="processing", output_batch_id=out, max_failure_rate=request.max_failure_rate,
                notifications_url=request.notifications_url, created_at=now,
            )  # fmt: skip
        )
    return job_id


def _plan(conn: sa.Connection, job_id: str, *, finished: bool) -> JobPlan:
    rows = conn.execute(
        sa.select(job_chunks.c.chunk_id, job_chunks.c.status, job_chunks.c.file_count)
        .where(job_chunks.c.job_id == job_id)
        .order_by(job_chunks.c.seq)
    ).all()
    pending = [r for r in rows if r.status != "done"]
    return JobPlan(
        job_id=job_id,
        pending_chunks=[r.chunk_id for r in pending],
        total_chunks=len(rows),
        total_files=sum(r.file_count for r in rows),
        pending_files=sum(r.file_count for r in pending),
        finished=finished,
    )


def start_job(
    job_id: str, resources: Resources, settings: DocketSettings, *, flow_run_id: str | None = None, take_over_export: bool = False
) -> JobPlan:
    """Split the batch's ingested files into chunks (first start only) and mark the job running.

    A job that failed, was aborted or whose process died is started again the same way: only the
    chunks without a result are still pending, so nothing is processed twice. A job another run is
    exporting (running, stage `export`) is left to that run: this one gets nothing to do, so the
    output is not written twice. If that run died mid-export, `take_over_export` starts it again.
    """
    catalog = resources.catalog()
    with catalog.begin() as conn:
        job = conn.execute(sa.select(jobs).where(jobs.c.job_id == job_id)).one()
        if job.state == "succeeded":
            return _plan(conn, job_id, finished=True)
        if job.state == "running" and job.stage == "export" and not take_over_export:
            return _plan(conn, job_id, finished=False)
        planned = conn.execute(sa.select(sa.func.count()).where(job_chunks.c.job_id == job_id)).scalar_one()
        if not planned:
            names = conn.execute(
                sa.select(files.c.name)
                .where(files.c.batch_id == job.batch_id, files.c.status == "ingested")
                .order_by(files.c.name)
            ).scalars()
            rows, chunk, seq, total = [], [], 0, 0
            for name in names:
                chunk.append(name)
                if len(chunk) == settings.shard_size:
                    rows.append(_chunk_row(job_id, seq, chunk))
                    seq, total, chunk = seq + 1, total + len(chunk), []
            if chunk:
                rows.append(_chunk_row(job_id, seq, chunk))
                total += len(chunk)
            for start in range(0, len(rows), 500):
                conn.execute(sa.insert(job_chunks), rows[start : start + 500])
            conn.execute(sa.update(jobs).where(jobs.c.job_id == job_id).values(files_total=total))
        values: dict = {"state": "running", "stage": "processing", "abort_requested": False, "error": None, "finished_at": None}
        if job.started_at is None:
            values["started_at"] = utcnow()
        if flow_run_id:
            values["flow_run_id"] = flow_run_id
        conn.execute(sa.update(jobs).where(jobs.c.job_id == job_id).values(**values))
        return _plan(conn, job_id, finished=False)


def _chunk_row(job_id: str, seq: int, names: list[str]) -> dict:
    return {
        "chunk_id": f"{job_id}/{seq:05d}",
        "job_id": job_id,
        "seq": seq,
        "status": "pending",
        "names": list(names),
        "file_count": len(names),
    }


def is_finished(state: str) -> bool:
    return state in FINISHED
