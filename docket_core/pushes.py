"""Pushed ingest requests, kept in the catalog so their URLs never reach Prefect.

A push's references URL and notification URL are often signed (a query string that is a credential).
The receiver records the whole request in `received_pushes.request` and announces it with
`source: "push:<webhook-id>"` and no notification URL; `ingest_batch` resolves that reference from
the catalog before it starts. So the `docket.ingest.requested` event, the run's parameters and the UI
show the push's id, batch and workflow, never its URLs.
"""

from __future__ import annotations

import sqlalchemy as sa

from docket_core.catalog import Catalog
from docket_core.catalog.schema_notifications import received_pushes
from docket_core.errors import NotFoundError
from docket_core.staging.models import IngestRequest

__all__ = ["PUSH_SOURCE", "announced", "is_pushed", "resolve_push"]

PUSH_SOURCE = "push:"


def announced(request: IngestRequest, webhook_id: str) -> IngestRequest:
    """What the event carries for a recorded push: the request without its URLs."""
    return request.model_copy(update={"source": f"{PUSH_SOURCE}{webhook_id}", "notifications_url": None})


def is_pushed(request: IngestRequest) -> bool:
    # Any kind of source: the Roboflow-style API announces uploaded shards and videos the same way.
    return request.source.startswith(PUSH_SOURCE)


def resolve_push(catalog: Catalog, request: IngestRequest) -> IngestRequest:
    """The request a push recorded, for an `announced` one; any other request as it is.

    Raises:
        NotFoundError: no push with that webhook-id was recorded in this catalog (a worker pointed at
            another catalog than the receiver's, say).
    """
    if not is_pushed(request):
        return request
    webhook_id = request.source[len(PUSH_SOURCE) :]
    with catalog.read() as conn:
        stored = conn.execute(sa.select(received_pushes.c.request).where(received_pushes.c.webhook_id == webhook_id)).first()
    if stored is None or stored.request is None:
        raise NotFoundError(
            f"no push {webhook_id!r} is recorded in the catalog; the worker must use the receiver's DOCKET_CATALOG_URL"
        )
    return IngestRequest.model_validate(stored.request)
