"""Requests to extensions in Rossum's hook format (see tests/fixtures/rossum/), built from Docket's state.

A Docket document is Rossum's annotation and document at once: both carry the document id. URLs point
under `base_url` (`DOCKET_PUBLIC_BASE_URL`) so extensions that read ids from URLs keep working; Docket
has no Rossum API behind them. Beyond Rossum's keys, `docket` gives the queue id and its schema of
fields, which Rossum extensions would fetch from the API. Secrets are never sent (`secrets` is empty).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from docket_core.catalog import utcnow

__all__ = ["annotation_request", "email_request", "rossum_time"]


def rossum_time(value: datetime | str | None) -> str | None:
    """`2020-01-01T00:00:00.000000Z`, Rossum's timestamp form; ISO strings are converted too."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _envelope(*, extension: str, settings: Mapping[str, Any], event: str, base_url: str) -> dict[str, Any]:
    kind, action = event.split(".", 1)
    return {
        "request_id": str(uuid.uuid4()),
        "timestamp": rossum_time(utcnow()),
        "base_url": base_url,
        "hook": f"{base_url}/api/v1/hooks/{extension}",
        "settings": dict(settings),
        "secrets": {},
        "action": action,
        "event": kind,
    }


def annotation_request(
    *,
    extension: str,
    settings: Mapping[str, Any],
    event: str,
    base_url: str,
    document: Mapping[str, Any],
    content: list[dict[str, Any]],
    updated_datapoints: Iterable[int],
    queue_schema: list[dict[str, Any]],
) -> dict[str, Any]:
    """An `annotation_content` request for one document.

    Args:
        extension: the extension's name (its `hook` URL ends with it).
        settings: the extension's settings, sent as they are.
        event: e.g. `annotation_content.initialize`.
        base_url: where the URLs point.
        document: `document_id`, `queue_id`, `status`, `previous_status`, `file_name`, `media_type`,
            `sha256`, `created_at`, `modified_at`, `ready_at`, `exported_at`, `metadata`.
        content: the content tree as merged so far.
        updated_datapoints: ids changed before this extension (the edit, then its predecessors).
        queue_schema: the queue's fields (JSON), under `docket.schema`.
    """
    doc_id, queue_id = document["document_id"], document["queue_id"]
    document_url = f"{base_url}/api/v1/documents/{doc_id}"
    annotation_url = f"{base_url}/api/v1/annotations/{doc_id}"
    confirmed = document.get("status") in ("confirmed", "exporting", "exported")
    request = _envelope(extension=extension, settings=settings, event=event, base_url=base_url)
    request["annotation"] = {
        "document": document_url,
        "id": doc_id,
        "queue": f"{base_url}/api/v1/queues/{queue_id}",
        "schema": f"{base_url}/api/v1/schemas/{queue_id}",
        "pages": [],
        "creator": None,
        "modifier": None,
        "assigned_at": None,
        "created_at": rossum_time(document.get("created_at")),
        "confirmed_at": rossum_time(document.get("ready_at")) if confirmed else None,
        "deleted_at": None,
        "exported_at": rossum_time(document.get("exported_at")),
        "export_failed_at": None,
        "modified_at": rossum_time(document.get("modified_at")),
        "purged_at": None,
        "rejected_at": None,
        "confirmed_by": None,
        "deleted_by": None,
        "exported_by": None,
        "purged_by": None,
        "rejected_by": None,
        "status": document.get("status"),
        "previous_status": document.get("previous_status"),
        "rir_poll_id": None,
        "messages": None,
        "url": annotation_url,
        "content": content,
        "organization": None,
        "time_spent": 0,
        "metadata": dict(document.get("metadata") or {}),
    }
    request["document"] = {
        "id": doc_id,
        "url": document_url,
        "s3_name": document.get("sha256"),
        "mime_type": document.get("media_type"),
        "arrived_at": rossum_time(document.get("created_at")),
        "original_file_name": document.get("file_name"),
        "content": f"{document_url}/content",
        "metadata": {},
    }
    request["updated_datapoints"] = sorted(updated_datapoints)
    request["docket"] = {"queue_id": queue_id, "document_id": doc_id, "schema": queue_schema}
    return request


def email_request(
    *,
    extension: str,
    settings: Mapping[str, Any],
    base_url: str,
    queue_id: str,
    email_id: str,
    files: list[dict[str, Any]],
    headers: Mapping[str, str],
    body: Mapping[str, str | None],
) -> dict[str, Any]:
    """An `email.received` request: the e-mail's files (as kept so far), headers and body."""
    request = _envelope(extension=extension, settings=settings, event="email.received", base_url=base_url)
    request["email"] = f"{base_url}/api/v1/emails/{email_id}"
    request["queue"] = f"{base_url}/api/v1/queues/{queue_id}"
    request["files"] = files
    request["headers"] = dict(headers)
    request["body"] = dict(body)
    request["docket"] = {"queue_id": queue_id, "email_id": email_id}
    return request
