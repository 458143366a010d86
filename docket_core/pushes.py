"""Ingest requests accepted from outside, kept in the catalog so neither their URLs nor their
contents travel through Prefect.

A push's references URL and notification URL are often signed (a query string that is a credential),
and a push may only ask for what the receiver checked (public URLs, no folders). The receiver records
the whole request in `received_pushes.request` and announces only the push's id: the
`docket.ingest.requested` event carries `push_id`, and the trigger hands `ingest_batch` that id and
nothing else; the flow rebuilds the request from the catalog (`recorded_request`). So an event that
did not come from the receiver (Prefect's events API is not signed) names no recorded push and
starts nothing, and the event, the run's parameters and the UI show the push's id, never its URLs.

The CLI keeps requests that carry URLs the same way (`hold_request`, ids `cli-...`).
"""

from __future__ import annotations

import hashlib
import uuid

import sqlalchemy as sa

from docket_core.catalog import Catalog, utcnow
from docket_core.catalog.schema_notifications import received_pushes
from docket_core.errors import NotFoundError
from docket_core.staging.models import IngestRequest

__all__ = ["PUSH_SOURCE", "announced", "carries_urls", "hold_request", "is_pushed", "push_id_of", "recorded_request",
           "resolve_push"]  # fmt: skip

PUSH_SOURCE = "push:"


def announced(request: IngestRequest, webhook_id: str) -> IngestRequest:
    """What may be shown of a recorded push: the request without its URLs, `source` naming the push."""
    return request.model_copy(update={"source": f"{PUSH_SOURCE}{webhook_id}", "notifications_url": None})


def is_pushed(request: IngestRequest) -> bool:
    return request.source_kind == "references" and request.source.startswith(PUSH_SOURCE)


def push_id_of(request: IngestRequest) -> str | None:
    """The id of the recorded push an `announced` request names; None for any other request."""
    return request.source[len(PUSH_SOURCE) :] if is_pushed(request) else None


def carries_urls(request: IngestRequest) -> bool:
    """True when the request holds a URL (a references URL, a notification URL): often signed, so kept
    out of Prefect's parameters."""
    return bool(request.notifications_url) or request.source.lower().startswith(("http://", "https://"))


def recorded_request(catalog: Catalog, push_id: str) -> IngestRequest:
    """The request recorded for `push_id` (by the receiver, or by the CLI's `hold_request`).

    Raises:
        NotFoundError: no such push is recorded in this catalog (an event that did not come from the
            receiver, or a worker pointed at another catalog than the receiver's).
    """
    with catalog.read() as conn:
        stored = conn.execute(sa.select(received_pushes.c.request).where(received_pushes.c.webhook_id == push_id)).first()
    if stored is None or stored.request is None:
        raise NotFoundError(
            f"no push {push_id!r} is recorded in the catalog; the worker must use the receiver's DOCKET_CATALOG_URL"
        )
    return IngestRequest.model_validate(stored.request)


def resolve_push(catalog: Catalog, request: IngestRequest) -> IngestRequest:
    """The request a push recorded, for an `announced` one; any other request as it is.

    Raises:
        NotFoundError: no push with that id was recorded in this catalog.
    """
    push_id = push_id_of(request)
    return request if push_id is None else recorded_request(catalog, push_id)


def hold_request(catalog: Catalog, request: IngestRequest) -> str:
    """Record a request given on this machine (the CLI) like a push, and return its id for `push_id`."""
    push_id = f"cli-{uuid.uuid4().hex}"
    body = request.model_dump(mode="json")
    with catalog.begin() as conn:
        conn.execute(
            sa.insert(received_pushes).values(
                webhook_id=push_id, body_sha256=hashlib.sha256(request.model_dump_json().encode()).hexdigest(),
                kind="cli-ingest", batch_id=request.batch_id, ingest_id=request.ingest_id, received_at=utcnow(), request=body,
            )  # fmt: skip
        )
    return push_id
