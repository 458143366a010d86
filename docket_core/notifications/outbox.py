"""The outbox: a notification is written in the transaction of the change it reports, sent later.

`enqueue` takes the caller's open connection, so the notification commits (or rolls back) together
with the batch, job or document change; nothing is sent from inside a transaction. The
`deliver_notifications` flow then sends what is due (`docket_core.notifications.delivery`).

Ordering: notifications to one endpoint about one `resource_key` (an ingest, a job, a document) are
sent in the order they were enqueued; different resources and endpoints go concurrently.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from docket_core.catalog import utcnow
from docket_core.catalog.schema_notifications import notification_endpoints, notifications
from docket_core.errors import InputError
from docket_core.safefetch.address import URLPolicy, check_url
from docket_core.safefetch.errors import UnsafeURL

__all__ = ["Outgoing", "check_endpoint_url", "endpoint_key", "enqueue", "enqueue_many", "new_event_id"]

_ROWS_PER_INSERT = 500


def endpoint_key(url: str) -> str:
    """The key an endpoint is known by in the catalog and the CLI (its URL may hold secrets)."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def new_event_id() -> str:
    """A new `event_id` (also the Standard Webhooks `webhook-id`, stable across retries)."""
    return str(uuid.uuid4())


@dataclass(frozen=True)
class Outgoing:
    """One notification to enqueue: where it goes, what kind, about what, and its body."""

    endpoint: str
    type: str
    resource_key: str
    payload: Mapping[str, Any]
    event_id: str = field(default_factory=new_event_id)


def check_endpoint_url(url: str) -> str:
    """Refuse, early and with the reason, a notification URL delivery would refuse.

    Entry points (CLI options, the push receiver) call it; `enqueue` does not, so a bad URL never
    fails the change it reports: its notification fails at delivery, recorded with the reason.

    Raises:
        InputError: not an `http(s)://host/...` URL without credentials.
    """
    try:
        check_url(url, URLPolicy())
    except UnsafeURL as exc:
        raise InputError(f"notification URL refused: {exc}") from exc
    return url


def _insert_ignore(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(postgresql.insert(table).on_conflict_do_nothing(), rows)
    elif conn.dialect.name == "sqlite":
        conn.execute(sqlite.insert(table).on_conflict_do_nothing(), rows)
    else:  # pragma: no cover - Docket's catalogs are SQLite or PostgreSQL
        raise NotImplementedError(f"expected a sqlite or postgresql catalog, got {conn.dialect.name}")


def enqueue_many(conn: sa.Connection, items: Iterable[Outgoing], *, now: datetime | None = None) -> list[str]:
    """Write notifications into the outbox on `conn` (the caller's transaction); return their event ids."""
    now = now or utcnow()
    rows: list[dict[str, Any]] = []
    endpoints: dict[str, dict[str, Any]] = {}
    for item in items:
        key = endpoint_key(item.endpoint)
        if key not in endpoints:
            endpoints[key] = {"endpoint_key": key, "url": item.endpoint, "created_at": now}
        payload = dict(item.payload)
        if "event_id" in payload:
            payload["event_id"] = item.event_id
        rows.append(
            {
                "event_id": item.event_id,
                "type": item.type,
                "resource_key": item.resource_key,
                "endpoint_key": key,
                "payload": payload,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
    if endpoints:
        _insert_ignore(conn, notification_endpoints, list(endpoints.values()))
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        conn.execute(sa.insert(notifications), rows[start : start + _ROWS_PER_INSERT])
    return [r["event_id"] for r in rows]


def enqueue(
    conn: sa.Connection,
    *,
    endpoint: str,
    type: str,  # noqa: A002 - the notification's `type`, as in the catalog and the CLI
    resource_key: str,
    payload: Mapping[str, Any],
    event_id: str | None = None,
) -> str:
    """Write one notification into the outbox on `conn`; return its `event_id`.

    Args:
        conn: the open transaction that also writes the change being reported.
        endpoint: the subscriber's URL (its secret comes from a `WebhookEndpoint` block with that URL,
            else the default signing secret).
        type: a `payloads.TYPE_*` value.
        resource_key: what the notification is about, e.g. `ingest:<id>`, `job:<id>`, `document:<id>`;
            notifications about one resource reach one endpoint in order.
        payload: a body from `docket_core.notifications.payloads`.
        event_id: a given id (a new UUID by default).
    """
    item = Outgoing(endpoint, type, resource_key, payload, event_id or new_event_id())
    return enqueue_many(conn, [item])[0]
