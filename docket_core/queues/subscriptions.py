"""Queue subscriptions: which endpoints are told when a queue's documents change status or are exported.

A subscription names a URL, the events it wants (`status-changed`, `exported`) and, for status
changes, optionally only the statuses it cares about (`to_review` for "ready for review", say).
`change_status` and `commit_export` read them in the transaction of the change and write the outbox
rows there, so a notification is committed exactly when its change is; `deliver_notifications` sends
them, signed, with retries.

    docket queues subscribe invoices --url https://erp.example.com/hooks/docket --event exported
    docket queues subscribe invoices --url https://tasks.example.com/hook --event status-changed --status to_review
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, field_validator

from docket_core.catalog import utcnow
from docket_core.catalog.schema_queues import queue_subscriptions
from docket_core.errors import InputError, NotFoundError
from docket_core.notifications.outbox import check_endpoint_url, endpoint_key
from docket_core.queues.models import STATUSES
from docket_core.references import redact_url

__all__ = [
    "SUBSCRIPTION_EVENTS",
    "QueueSubscription",
    "Subscribers",
    "list_subscriptions",
    "subscribe",
    "subscribers",
    "unsubscribe",
]

SubscriptionEvent = Literal["status-changed", "exported"]
SUBSCRIPTION_EVENTS: tuple[SubscriptionEvent, ...] = ("status-changed", "exported")


class QueueSubscription(BaseModel):
    """One endpoint's subscription to a queue (the `subscriptions:` entries of a queues file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(description="Where notifications are POSTed (http or https; signed with the endpoint's secret).")
    events: tuple[SubscriptionEvent, ...] = Field(
        default=SUBSCRIPTION_EVENTS, min_length=1, description="status-changed, exported, or both (the default)."
    )
    statuses: tuple[str, ...] = Field(
        default=(), description="status-changed only for moves to these statuses; empty: every move."
    )

    @field_validator("url")
    @classmethod
    def _checked_url(cls, value: str) -> str:
        try:
            return check_endpoint_url(value)
        except InputError as exc:
            raise ValueError(str(exc)) from exc

    @field_validator("events")
    @classmethod
    def _unique_events(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(value))

    @field_validator("statuses")
    @classmethod
    def _known_statuses(cls, value: tuple[str, ...]) -> tuple[str, ...]:

        unknown = [s for s in value if s not in STATUSES]
        if unknown:
            raise ValueError(f"statuses must be among {list(STATUSES)}, got {unknown}")
        return tuple(dict.fromkeys(value))


def subscribe(conn: sa.Connection, queue_id: str, subscription: QueueSubscription, *, source: str) -> bool:
    """Add the subscription, or replace the events and statuses of the same URL on the queue; True when new."""
    now = utcnow()
    key = endpoint_key(subscription.url)
    row = {
        "url": subscription.url, "events": list(subscription.events), "statuses": list(subscription.statuses),
        "source": source, "updated_at": now,
    }  # fmt: skip
    where = sa.and_(queue_subscriptions.c.queue_id == queue_id, queue_subscriptions.c.endpoint_key == key)
    if conn.execute(sa.select(queue_subscriptions.c.endpoint_key).where(where)).first() is not None:
        conn.execute(sa.update(queue_subscriptions).where(where).values(row))
        return False
    conn.execute(sa.insert(queue_subscriptions).values(queue_id=queue_id, endpoint_key=key, created_at=now, **row))
    return True


def unsubscribe(conn: sa.Connection, queue_id: str, endpoint: str) -> dict[str, Any]:
    """Remove the queue's subscription of `endpoint` (its URL, or the start of its key, at least 6 characters).

    Notifications already queued still go out. Raises NotFoundError naming the subscriptions there are.
    """
    rows = conn.execute(sa.select(queue_subscriptions).where(queue_subscriptions.c.queue_id == queue_id)).all()
    matches = [
        r for r in rows
        if r.url == endpoint or (len(endpoint) >= 6 and r.endpoint_key.startswith(endpoint.lower()))
    ]  # fmt: skip
    if len(matches) != 1:
        known = ", ".join(f"{r.endpoint_key[:12]} ({redact_url(r.url)})" for r in rows) or "none"
        what = "more than one subscription" if matches else "no subscription"
        raise NotFoundError(f"{what} of queue {queue_id!r} matches {redact_url(endpoint)!r}; its subscriptions: {known}")
    gone = matches[0]
    conn.execute(
        sa.delete(queue_subscriptions).where(
            queue_subscriptions.c.queue_id == queue_id, queue_subscriptions.c.endpoint_key == gone.endpoint_key
        )
    )
    return _shown(gone)


def _shown(row: sa.Row) -> dict[str, Any]:
    return {
        "queue_id": row.queue_id, "endpoint_key": row.endpoint_key, "url": redact_url(row.url),
        "events": list(row.events), "statuses": list(row.statuses), "source": row.source,
        "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat(),
    }  # fmt: skip


def list_subscriptions(conn: sa.Connection, queue_id: str | None = None) -> list[dict[str, Any]]:
    """The subscriptions of one queue (or of every queue), URLs shown without query strings or credentials."""
    query = sa.select(queue_subscriptions).order_by(queue_subscriptions.c.queue_id, queue_subscriptions.c.created_at)
    if queue_id is not None:
        query = query.where(queue_subscriptions.c.queue_id == queue_id)
    return [_shown(r) for r in conn.execute(query)]


class Subscribers:
    """The endpoints subscribed to one event, by queue: what `change_status` and exports ask."""

    def __init__(self, by_queue: dict[str, list[tuple[str, frozenset[str]]]]) -> None:
        self._by_queue = by_queue

    def __bool__(self) -> bool:
        return bool(self._by_queue)

    def urls(self, queue_id: str, status: str | None = None) -> list[str]:
        """The URLs to tell about a document of `queue_id` (moving to `status`, for status changes)."""
        return [
            url for url, statuses in self._by_queue.get(queue_id, ())
            if status is None or not statuses or status in statuses
        ]  # fmt: skip

    def wants(self, status: str | None = None) -> bool:
        """Whether any queue's subscription wants this (moves to `status`, for status changes)."""
        return any(self.urls(q, status) for q in self._by_queue)


def subscribers(conn: sa.Connection, event: SubscriptionEvent, queue_ids: Iterable[str] | None = None) -> Subscribers:
    """Who subscribed to `event`, on the given queues (or on any): one small query on the caller's transaction."""
    query = sa.select(queue_subscriptions.c.queue_id, queue_subscriptions.c.url, queue_subscriptions.c.events,
                      queue_subscriptions.c.statuses).order_by(queue_subscriptions.c.endpoint_key)  # fmt: skip
    if queue_ids is not None:
        query = query.where(queue_subscriptions.c.queue_id.in_(sorted(set(queue_ids))))
    by_queue: dict[str, list[tuple[str, frozenset[str]]]] = {}
    for row in conn.execute(query):
        if event in row.events:
            by_queue.setdefault(row.queue_id, []).append((row.url, frozenset(row.statuses)))
    return Subscribers(by_queue)
