"""Notification bodies, built from plain values (ARCHITECTURE.md section 6).

They keep the field structure of Roboflow's data-staging and batch-job notifications: an envelope with
`type`, `event_id` and `delivery_attempt`, and for staging `ingest_id`, `batch_id`, `shard_id` and a
`notification` object. `event_id` is filled in by `outbox.enqueue` and `delivery_attempt` by each
delivery, so a builder leaves them as placeholders (in the order a reader expects them).

A files-status or exported-document body that would exceed `max_bytes` is cut to fit and says so with
`content_truncated: true`; the full list stays in the catalog (`docket staging list-ingest-details`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

__all__ = [
    "BATCH_JOB",
    "DATA_STAGING",
    "QUEUE",
    "TYPE_DOCUMENT_EXPORTED",
    "TYPE_DOCUMENT_STATUS_CHANGED",
    "TYPE_FILES_STATUS",
    "TYPE_INGEST_STATUS",
    "TYPE_JOB_STATUS",
    "body_bytes",
    "document_exported",
    "document_status_changed",
    "files_status",
    "ingest_status",
    "job_status",
]

# Envelope types (the `type` field subscribers switch on).
DATA_STAGING = "docket-data-staging-notification-v1"
BATCH_JOB = "docket-batch-job-notification-v1"
QUEUE = "docket-queue-notification-v1"

# Outbox types (what `docket notifications list --type` filters on).
TYPE_INGEST_STATUS = "ingest-status"
TYPE_FILES_STATUS = "files-status"
TYPE_JOB_STATUS = "job-status"
TYPE_DOCUMENT_STATUS_CHANGED = "document-status-changed"
TYPE_DOCUMENT_EXPORTED = "document-exported"

# Room for the real event id and delivery attempt that replace the placeholders.
_ENVELOPE_SLACK = 96


def body_bytes(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact JSON, UTF-8."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _iso(value: datetime | str | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def ingest_status(
    *,
    ingest_id: str,
    batch_id: str,
    success: bool,
    error_type: str | None = None,
    reason: str | None = None,
    counts: Mapping[str, int] | None = None,
    workflow_id: str | None = None,
) -> dict[str, Any]:
    """The overall outcome of an ingest (`ingest-status`).

    Args:
        success: True once every shard is recorded (files may still have failed: see `counts`).
        error_type, reason: why the ingest as a whole failed (`error_details`), when it did.
        counts: `files`, `ingested`, `failed`, `duplicates`, `shards` (beyond Roboflow's fields).
        workflow_id: the workflow the ingest asked to run afterwards.
    """
    notification: dict[str, Any] = {
        "type": "ingest-status-notification-v1",
        "success": success,
        "error_details": None if success else {"type": error_type or "ingest-failed", "reason": reason or ""},
    }
    if counts is not None:
        notification.update({k: int(v) for k, v in counts.items()})
    if workflow_id:
        notification["workflow_id"] = workflow_id
    return {
        "type": DATA_STAGING,
        "event_id": None,
        "ingest_id": ingest_id,
        "batch_id": batch_id,
        "shard_id": None,
        "notification": notification,
        "delivery_attempt": 0,
    }


def _fit(items: Sequence[Any], budget: int) -> int:
    """How many of `items`, from the start, fit in `budget` bytes of a JSON list."""
    used = 0
    for n, item in enumerate(items):
        used += len(body_bytes(item)) + 1  # the item and its comma
        if used > budget:
            return n
    return len(items)


def files_status(
    *,
    ingest_id: str,
    batch_id: str,
    shard_id: str,
    ingested_files: Sequence[str],
    failed_files: Sequence[Mapping[str, Any]],
    max_bytes: int,
) -> dict[str, Any]:
    """The status of every file of one shard (`files-status`), sent in bulk.

    Failed files are kept before ingested ones when the body must be cut to `max_bytes`;
    `ingested_count` and `failed_count` always give the full numbers.
    """
    failed = [{"type": f["type"], "file_name": f["file_name"], "reason": f.get("reason") or ""} for f in failed_files]
    ingested = list(ingested_files)
    payload: dict[str, Any] = {
        "type": DATA_STAGING,
        "event_id": None,
        "ingest_id": ingest_id,
        "batch_id": batch_id,
        "shard_id": shard_id,
        "notification": {
            "type": "ingest-files-status-notification-v1",
            "success": True,
            "ingested_files": ingested,
            "failed_files": failed,
            "content_truncated": False,
            "ingested_count": len(ingested),
            "failed_count": len(failed),
        },
        "delivery_attempt": 0,
    }
    if len(body_bytes(payload)) + _ENVELOPE_SLACK <= max_bytes:
        return payload
    note = payload["notification"]
    note["ingested_files"], note["failed_files"], note["content_truncated"] = [], [], True
    budget = max_bytes - _ENVELOPE_SLACK - len(body_bytes(payload))
    keep_failed = _fit(failed, budget)
    note["failed_files"] = failed[:keep_failed]
    if keep_failed == len(failed):  # every failure fits: the rest of the room lists ingested names
        budget -= len(body_bytes(note["failed_files"])) - 2
        note["ingested_files"] = ingested[: _fit(ingested, budget)]
    return payload


def job_status(details: Mapping[str, Any]) -> dict[str, Any]:
    """A job's end (`job-status`): Roboflow's `job_id` and `job_state`, plus where the results are.

    Args:
        details: the job's `state`, `job_id`, `batch_id`, `workflow_id`, `output_batch_id`,
            `files_total`, `files_succeeded`, `files_failed`, and optionally `errors_by_type`,
            `error`, `finished_at`.
    """
    return {
        "type": BATCH_JOB,
        "event_id": None,
        "job_id": details["job_id"],
        "job_state": "success" if details["state"] == "succeeded" else "fail",
        "state": details["state"],
        "batch_id": details["batch_id"],
        "workflow_id": details["workflow_id"],
        "output_batch_id": details["output_batch_id"],
        "files_total": int(details["files_total"]),
        "files_succeeded": int(details["files_succeeded"]),
        "files_failed": int(details["files_failed"]),
        "errors_by_type": dict(details.get("errors_by_type") or {}),
        "error": details.get("error"),
        "finished_at": _iso(details.get("finished_at")),
        "delivery_attempt": 0,
    }


def _document_envelope(queue_id: str, document_id: int, notification: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": QUEUE,
        "event_id": None,
        "queue_id": queue_id,
        "document_id": int(document_id),
        "notification": notification,
        "delivery_attempt": 0,
    }


def document_status_changed(
    *,
    queue_id: str,
    document_id: int,
    status: str,
    previous_status: str | None,
    changed_at: datetime | str | None = None,
    file_name: str | None = None,
) -> dict[str, Any]:
    """A document moved from `previous_status` to `status` (for example `importing` -> `to_review`)."""
    return _document_envelope(
        queue_id,
        document_id,
        {
            "type": "document-status-changed-v1",
            "status": status,
            "previous_status": previous_status,
            "changed_at": _iso(changed_at),
            "file_name": file_name,
        },
    )


def document_exported(
    *,
    queue_id: str,
    document_id: int,
    content: Any,
    max_bytes: int,
    exported_at: datetime | str | None = None,
    export_id: str | None = None,
    file_name: str | None = None,
    messages: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """A document was exported, with its final captured data (`content`, any JSON value).

    When the body would exceed `max_bytes`, `content` is left out (`content_truncated: true`);
    the export's Parquet files hold it.
    """
    payload = _document_envelope(
        queue_id,
        document_id,
        {
            "type": "document-exported-v1",
            "status": "exported",
            "exported_at": _iso(exported_at),
            "export_id": export_id,
            "file_name": file_name,
            "content": content,
            "messages": [dict(m) for m in messages],
            "content_truncated": False,
        },
    )
    if len(body_bytes(payload)) + _ENVELOPE_SLACK > max_bytes:
        payload["notification"].update(content=None, messages=[], content_truncated=True)
    return payload
