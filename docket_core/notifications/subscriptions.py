"""Who asked to be told what, and the outbox rows their changes write.

Each `notify_*` function runs inside the transaction of the change it reports (recording a shard,
closing an ingest, ending a job) and enqueues nothing when nobody subscribed. Subscriptions:

- an ingest's `notifications_url` with `notification_category`: `ingest-status` (the default) sends
  one notification when the ingest ends; `files-status` also sends one per shard listing its files;
- a job's `notifications_url`: one notification when the job ends (succeeded, failed or aborted);
- a queue subscription (`docket_core.queues.subscriptions`): `change_status` calls
  `notify_status_changes` and `commit_export` calls `notify_documents_exported`, about `document:<id>`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from docket_core.catalog.schema import ingests, job_chunks, jobs
from docket_core.errors import FileErrorType, NotFoundError
from docket_core.jobs.models import JobRequest
from docket_core.notifications import payloads
from docket_core.notifications.outbox import Outgoing, enqueue, enqueue_many
from docket_core.settings import get_settings

__all__ = [
    "requested_job",
    "document_resource",
    "failure_type",
    "ingest_resource",
    "job_for_ingest",
    "job_resource",
    "notify_document_status_changed",
    "notify_documents_exported",
    "notify_ingest_completed",
    "notify_ingest_failed",
    "notify_job_finished",
    "notify_shard_recorded",
    "notify_status_changes",
    "StatusNotice",
]


def ingest_resource(ingest_id: str) -> str:
    return f"ingest:{ingest_id}"


def job_resource(job_id: str) -> str:
    return f"job:{job_id}"


def _subscription(conn: sa.Connection, ingest_id: str) -> tuple[str | None, str]:
    row = conn.execute(
        sa.select(ingests.c.notifications_url, ingests.c.notification_category).where(ingests.c.ingest_id == ingest_id)
    ).first()
    if row is None or not row.notifications_url:
        return None, ""
    return row.notifications_url, row.notification_category or payloads.TYPE_INGEST_STATUS


def notify_shard_recorded(
    conn: sa.Connection,
    *,
    ingest_id: str,
    batch_id: str,
    shard_id: str,
    names: Iterable[tuple[str, str]],
    failed_files: Sequence[Mapping[str, Any]],
) -> str | None:
    """Enqueue a shard's `files-status` notification when its ingest subscribed to them.

    Args:
        names: `(name, status)` of every file outcome of the shard.
        failed_files: the shard's `{type, file_name, reason}` list, as recorded.
    """
    url, category = _subscription(conn, ingest_id)
    if url is None or category != payloads.TYPE_FILES_STATUS:
        return None
    failed_names = {f["file_name"] for f in failed_files}
    ingested = [name for name, status in names if status == "ingested" and name not in failed_names]
    payload = payloads.files_status(
        ingest_id=ingest_id, batch_id=batch_id, shard_id=shard_id, ingested_files=ingested,
        failed_files=failed_files, max_bytes=get_settings().notify_max_message_bytes,
    )  # fmt: skip
    return enqueue(conn, endpoint=url, type=payloads.TYPE_FILES_STATUS, resource_key=ingest_resource(ingest_id), payload=payload)


def notify_ingest_completed(
    conn: sa.Connection, ingest: sa.Row, *, counts: Mapping[str, int]
) -> str | None:
    """Enqueue the `ingest-status` notification of an ingest that just completed, if subscribed.

    Call it before the ingest row is marked `completed`: on PostgreSQL it locks the row, so of two
    runs closing the same ingest at once only the first notifies.
    """
    if not ingest.notifications_url:
        return None
    if conn.dialect.name == "postgresql":
        status = conn.execute(
            sa.select(ingests.c.status).where(ingests.c.ingest_id == ingest.ingest_id).with_for_update()
        ).scalar_one()
        if status == "completed":
            return None
    payload = payloads.ingest_status(
        ingest_id=ingest.ingest_id, batch_id=ingest.batch_id, success=True, counts=counts,
        workflow_id=ingest.workflow_id,
    )  # fmt: skip
    return enqueue(
        conn, endpoint=ingest.notifications_url, type=payloads.TYPE_INGEST_STATUS,
        resource_key=ingest_resource(ingest.ingest_id), payload=payload,
    )  # fmt: skip


def notify_ingest_failed(
    conn: sa.Connection,
    *,
    ingest_id: str,
    batch_id: str,
    notifications_url: str | None,
    error_type: str,
    reason: str,
) -> str | None:
    """Enqueue an `ingest-status` notification with `success: false` for an ingest that could not run."""
    if not notifications_url:
        return None
    payload = payloads.ingest_status(ingest_id=ingest_id, batch_id=batch_id, success=False, error_type=error_type, reason=reason)
    return enqueue(
        conn, endpoint=notifications_url, type=payloads.TYPE_INGEST_STATUS,
        resource_key=ingest_resource(ingest_id), payload=payload,
    )  # fmt: skip


def failure_type(exc: BaseException) -> str:
    """The typed reason of a failed ingest: the `error_type` of the error or its cause, else a generic one."""
    seen: BaseException | None = exc
    while seen is not None:
        error_type = getattr(seen, "error_type", None)
        if isinstance(error_type, str):
            return str(error_type)
        seen = seen.__cause__
    return "invalid-request" if isinstance(exc, ValueError) else FileErrorType.PROCESSING_ERROR.value


def notify_job_finished(conn: sa.Connection, job_id: str) -> str | None:
    """Enqueue the `job-status` notification of a job that just reached its final state, if subscribed."""
    job = conn.execute(sa.select(jobs).where(jobs.c.job_id == job_id)).one()
    if not job.notifications_url:
        return None
    errors: dict[str, int] = {}
    succeeded = failed = 0
    for chunk in conn.execute(
        sa.select(job_chunks.c.succeeded, job_chunks.c.failed, job_chunks.c.errors).where(job_chunks.c.job_id == job_id)
    ):
        succeeded, failed = succeeded + chunk.succeeded, failed + chunk.failed
        for error_type, n in (chunk.errors or {}).items():
            errors[error_type] = errors.get(error_type, 0) + n
    details = {
        "job_id": job.job_id, "state": job.state, "batch_id": job.batch_id, "workflow_id": job.workflow_id,
        "output_batch_id": job.output_batch_id, "files_total": job.files_total, "files_succeeded": succeeded,
        "files_failed": failed, "errors_by_type": dict(sorted(errors.items())), "error": job.error,
        "finished_at": job.finished_at,
    }  # fmt: skip
    return enqueue(
        conn, endpoint=job.notifications_url, type=payloads.TYPE_JOB_STATUS, resource_key=job_resource(job_id),
        payload=payloads.job_status(details),
    )  # fmt: skip


def document_resource(document_id: int) -> str:
    return f"document:{int(document_id)}"


@dataclass(frozen=True)
class StatusNotice:
    """One document's status change, for the endpoints subscribed to its queue."""

    endpoint: str
    queue_id: str
    document_id: int
    status: str
    previous_status: str | None
    changed_at: Any = None
    file_name: str | None = None


def notify_status_changes(conn: sa.Connection, notices: Iterable[StatusNotice]) -> list[str]:
    """Enqueue a `document-status-changed` notification per notice (call it in the transaction that
    changes the statuses: `change_status` does); their event ids."""
    items = [
        Outgoing(
            n.endpoint, payloads.TYPE_DOCUMENT_STATUS_CHANGED, document_resource(n.document_id),
            payloads.document_status_changed(
                queue_id=n.queue_id, document_id=n.document_id, status=n.status, previous_status=n.previous_status,
                changed_at=n.changed_at, file_name=n.file_name,
            ),
        )  # fmt: skip
        for n in notices
    ]
    return enqueue_many(conn, items) if items else []


def notify_document_status_changed(
    conn: sa.Connection,
    *,
    endpoint: str,
    queue_id: str,
    document_id: int,
    status: str,
    previous_status: str | None,
    changed_at: Any = None,
    file_name: str | None = None,
) -> str:
    """Enqueue one `document-status-changed` notification (`notify_status_changes` for many)."""
    notice = StatusNotice(endpoint, queue_id, document_id, status, previous_status, changed_at, file_name)
    return notify_status_changes(conn, [notice])[0]


def notify_documents_exported(
    conn: sa.Connection, *, endpoint: str, queue_id: str, documents: Iterable[Mapping[str, Any]], export_id: str | None = None
) -> list[str]:
    """Enqueue one `document-exported` notification per document, with its captured data (call it in
    the transaction that marks them exported).

    Args:
        documents: mappings with `document_id` and `content` (the captured data, any JSON value), and
            optionally `file_name`, `exported_at`, `messages`.
    """
    max_bytes = get_settings().notify_max_message_bytes
    items = [
        Outgoing(
            endpoint, payloads.TYPE_DOCUMENT_EXPORTED, document_resource(d["document_id"]),
            payloads.document_exported(
                queue_id=queue_id, document_id=d["document_id"], content=d["content"], max_bytes=max_bytes,
                exported_at=d.get("exported_at"), export_id=export_id, file_name=d.get("file_name"),
                messages=d.get("messages") or (),
            ),
        )  # fmt: skip
        for d in documents
    ]
    return enqueue_many(conn, items) if items else []


def job_for_ingest(conn: sa.Connection, job: JobRequest, ingest_id: str) -> JobRequest:
    """The job an ingest asked for (`workflow_id`): its id derived from the ingest, so a repeated
    trigger finds the same job, and the ingest's notification URL unless the job names one."""
    row = conn.execute(sa.select(ingests.c.notifications_url).where(ingests.c.ingest_id == ingest_id)).first()
    update: dict[str, Any] = {}
    if job.job_id is None:
        stem = re.sub(r"[^a-z0-9_-]+", "-", ingest_id.lower()).strip("-")[:40] or "ingest"
        update["job_id"] = f"{stem}-{hashlib.sha256(ingest_id.encode()).hexdigest()[:8]}-job"
    if job.notifications_url is None and row is not None and row.notifications_url:
        update["notifications_url"] = row.notifications_url
    return job.model_copy(update=update) if update else job


def requested_job(conn: sa.Connection, ingest_id: str) -> JobRequest:
    """The job a completed ingest asked for, rebuilt from the catalog's ingest record alone (the
    `docket.batch.ingested` trigger passes only the ingest's id, so a forged event starts no job).

    Raises:
        NotFoundError: no such ingest, it has not completed, or it named no workflow.
    """
    row = conn.execute(
        sa.select(ingests.c.batch_id, ingests.c.status, ingests.c.workflow_id).where(ingests.c.ingest_id == ingest_id)
    ).first()
    if row is None:
        raise NotFoundError(f"no ingest {ingest_id!r} is recorded in the catalog")
    if row.status != "completed" or not row.workflow_id:
        raise NotFoundError(
            f"ingest {ingest_id!r} is {row.status} and named "
            + (f"workflow {row.workflow_id!r}" if row.workflow_id else "no workflow")
            + "; a job starts after a completed ingest that named one"
        )
    return job_for_ingest(conn, JobRequest(batch_id=row.batch_id, workflow_id=row.workflow_id), ingest_id)
