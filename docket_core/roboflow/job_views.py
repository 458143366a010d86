"""Jobs as Roboflow's batch-processing API shows them: metadata, stages, tasks and logs.

A Docket job has two stages, `processing` (one task per chunk of files) and `export` (the output
batch of Parquet parts), the same two the Roboflow service reports. Status types follow the client's
reading: `info` while running, anything else is terminal, `success`/`error` in the name say how it
ended. Every stage has at least one task (the client divides by `tasksNumber`). Logs are the job's
recorded events in the catalog (created, started, each chunk, failures by type, the end).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from docket_core.catalog import Catalog
from docket_core.catalog.schema import job_chunks, jobs
from docket_core.errors import InputError, NotFoundError
from docket_core.jobs.models import FINISHED
from docket_core.roboflow.records import job_records
from docket_core.roboflow.views import iso, offset_token, read_offset

__all__ = ["PLANNED_STAGES", "job_logs", "job_metadata", "job_stages", "jobs_page", "stage_tasks"]

PLANNED_STAGES = ["processing", "export"]
SEVERITIES = ("info", "warning", "error")


def _require(conn: sa.Connection, job_id: str) -> sa.Row:
    job = conn.execute(sa.select(jobs).where(jobs.c.job_id == job_id)).first()
    if job is None:
        raise NotFoundError(f"no job {job_id!r}; `inference rf-cloud batch-processing list-jobs` shows the jobs there are")
    return job


def _chunks(conn: sa.Connection, job_id: str) -> list[sa.Row]:
    return conn.execute(sa.select(job_chunks).where(job_chunks.c.job_id == job_id).order_by(job_chunks.c.seq)).all()


def _last_update(job: sa.Row, record: sa.Row | None, chunks: list[sa.Row]) -> Any:
    times = [t for t in (job.created_at, job.started_at, job.finished_at, record.updated_at if record else None,
                         *(c.finished_at for c in chunks)) if t is not None]  # fmt: skip
    return max(times)


def _metadata(job: sa.Row, record: sa.Row | None, chunks: list[sa.Row]) -> dict[str, Any]:
    succeeded, failed = sum(c.succeeded for c in chunks), sum(c.failed for c in chunks)
    definition = dict(record.definition) if record is not None and record.definition else {
        "type": "docket-job", "jobInput": {"type": "staging-batch-input-v1", "batchId": job.batch_id},
        "processingSpecification": {"type": "workflows-processing-specification-v1", "workflowId": job.workflow_id}}  # fmt: skip
    return {
        "jobId": job.job_id,
        "name": record.name if record is not None else job.job_id,
        "jobDefinition": definition,
        "currentStage": "export" if job.stage in ("export", "done") else "processing",
        "plannedStages": PLANNED_STAGES,
        "error": job.state in ("failed", "aborted"),
        "isTerminal": job.state in FINISHED,
        "lastNotification": {"type": "job-status", "state": job.state, "stage": job.stage, "error": job.error,
                             "filesTotal": job.files_total, "filesSucceeded": succeeded, "filesFailed": failed,
                             "outputBatch": job.output_batch_id},  # fmt: skip
        "createdAt": iso(job.created_at),
        "lastUpdate": iso(_last_update(job, record, chunks)),
        "restartParametersOverride": list(record.overrides or []) if record is not None else [],
        "workflowId": job.workflow_id,
        "batchId": job.batch_id,
        "state": job.state,
    }


def job_metadata(catalog: Catalog, job_id: str) -> dict[str, Any]:
    with catalog.read() as conn:
        job = _require(conn, job_id)
        return _metadata(job, job_records(conn, [job_id]).get(job_id), _chunks(conn, job_id))


def jobs_page(catalog: Catalog, *, page_size: int, token: str | None) -> dict[str, Any]:
    """Newest first, as the service lists them."""
    offset = read_offset(token)
    with catalog.read() as conn:
        rows = conn.execute(sa.select(jobs).order_by(jobs.c.created_at.desc(), jobs.c.job_id).offset(offset).limit(page_size + 1)).all()
        page = rows[:page_size]
        records = job_records(conn, [r.job_id for r in page])
        out = [_metadata(r, records.get(r.job_id), _chunks(conn, r.job_id)) for r in page]
    return {"jobs": out, "nextPageToken": offset_token(offset + page_size) if len(rows) > page_size else None}


def _processing_status(job: sa.Row) -> str:
    if job.stage in ("export", "done"):
        return "success"
    if job.state in ("failed", "aborted"):
        return "error" if job.state == "failed" else "aborted-error"
    return "info"


def _export_status(job: sa.Row) -> str:
    if job.state == "succeeded":
        return "success"
    if job.state in ("failed", "aborted"):
        return "error"
    return "info"


def job_stages(catalog: Catalog, job_id: str) -> dict[str, Any]:
    with catalog.read() as conn:
        job = _require(conn, job_id)
        chunks = _chunks(conn, job_id)
    start = job.started_at or job.created_at
    chunk_times = [c.finished_at for c in chunks if c.finished_at is not None]
    processing_last = max([start, *chunk_times])
    stages = [{
        "processingStageId": "processing", "processingStageName": "Processing",
        "tasksNumber": max(1, len(chunks)), "outputBatches": [],
        "startTimestamp": iso(start), "statusType": _processing_status(job), "lastEventTimestamp": iso(processing_last),
        "notification": {"type": "stage-status", "chunksDone": sum(1 for c in chunks if c.status == "done"),
                         "chunksTotal": len(chunks), "filesTotal": job.files_total, "state": job.state},
    }]  # fmt: skip
    if job.stage in ("export", "done"):
        stages.append({
            "processingStageId": "export", "processingStageName": "Export", "tasksNumber": 1,
            "outputBatches": [job.output_batch_id] if job.state == "succeeded" else [],
            "startTimestamp": iso(processing_last), "statusType": _export_status(job),
            "lastEventTimestamp": iso(job.finished_at or processing_last),
            "notification": {"type": "stage-status", "state": job.state, "outputBatch": job.output_batch_id},
        })  # fmt: skip
    return {"stages": stages}


def _chunk_task(c: sa.Row, job: sa.Row) -> dict[str, Any]:
    if c.status == "done":
        status, progress = "success", 1.0
    elif c.status in ("skipped", "lost"):
        status, progress = "aborted-error" if c.status == "skipped" else "error", None
    else:
        status, progress = "info", (0.0 if c.lease_owner else None)
    return {"taskId": c.chunk_id, "statusType": status, "progress": progress,
            "eventTimestamp": iso(c.finished_at or job.started_at or job.created_at),
            "notification": {"type": "task-status", "status": c.status, "files": c.file_count, "succeeded": c.succeeded,
                             "failed": c.failed, "errorsByType": c.errors or {}}}  # fmt: skip


def stage_tasks(catalog: Catalog, job_id: str, stage_id: str, *, page_size: int, token: str | None) -> dict[str, Any]:
    offset = read_offset(token)
    with catalog.read() as conn:
        job = _require(conn, job_id)
        chunks = _chunks(conn, job_id)
    if stage_id == "processing":
        tasks = [_chunk_task(c, job) for c in chunks]
    elif stage_id == "export":
        tasks = [] if job.stage not in ("export", "done") else [{
            "taskId": f"{job_id}/export", "statusType": _export_status(job),
            "progress": 1.0 if job.state == "succeeded" else None,
            "eventTimestamp": iso(job.finished_at or job.started_at or job.created_at),
            "notification": {"type": "task-status", "state": job.state, "outputBatch": job.output_batch_id}}]  # fmt: skip
    else:
        raise NotFoundError(f"job {job_id!r} has no stage {stage_id!r}; its stages are {', '.join(PLANNED_STAGES)}")
    page = tasks[offset : offset + page_size]
    return {"tasks": page, "nextPageToken": offset_token(offset + page_size) if len(tasks) > offset + page_size else None}


def _log(at: Any, severity: str, log_type: str, payload: dict[str, Any], stage: str | None = None, task: str | None = None) -> dict[str, Any]:
    return {"createdAt": iso(at), "processingStageId": stage, "taskId": task, "severity": severity,
            "reportingModule": "docket", "logType": log_type, "payload": payload}  # fmt: skip


def job_logs(catalog: Catalog, job_id: str, *, severity: str | None, page_size: int, token: str | None) -> dict[str, Any]:
    if severity is not None and severity not in SEVERITIES:
        raise InputError(f"severity must be one of {', '.join(SEVERITIES)}, got {severity!r}")
    offset = read_offset(token)
    with catalog.read() as conn:
        job = _require(conn, job_id)
        chunks = _chunks(conn, job_id)
        record = job_records(conn, [job_id]).get(job_id)
    logs = [_log(job.created_at, "info", "job-created", {"batchId": job.batch_id, "workflowId": job.workflow_id})]
    if record is not None:
        for n, override in enumerate(record.overrides or []):
            logs.append(_log(record.updated_at, "info", "job-restart-requested", {"override": override, "restart": n + 1}))
    if job.started_at is not None:
        logs.append(_log(job.started_at, "info", "job-started", {"filesTotal": job.files_total, "chunks": len(chunks),
                                                                 "flowRunId": job.flow_run_id}))  # fmt: skip
    for c in chunks:
        if c.finished_at is None:
            continue
        level = "warning" if c.failed else "info"
        logs.append(_log(c.finished_at, level, "task-finished", {"status": c.status, "succeeded": c.succeeded, "failed": c.failed},
                         "processing", c.chunk_id))  # fmt: skip
        for error_type, n in sorted((c.errors or {}).items()):
            logs.append(_log(c.finished_at, "error", "files-failed", {"errorType": error_type, "files": n}, "processing", c.chunk_id))
    if job.finished_at is not None:
        level = "info" if job.state == "succeeded" else "error"
        logs.append(_log(job.finished_at, level, "job-finished", {"state": job.state, "error": job.error,
                                                                  "outputBatch": job.output_batch_id}, "export"))  # fmt: skip
    if severity is not None:
        logs = [entry for entry in logs if entry["severity"] == severity]
    page = logs[offset : offset + page_size]
    return {"logs": page, "nextPageToken": offset_token(offset + page_size) if len(logs) > offset + page_size else None}
