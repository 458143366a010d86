"""Looking at the outbox and acting on it: list, show (with attempts), replay, endpoints, enable.

URLs are shown without their query string (it may hold tokens); endpoints are named by the first
characters of their key, or by their URL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from docket_core.catalog import Catalog, utcnow
from docket_core.catalog.schema_notifications import notification_attempts, notification_endpoints, notifications
from docket_core.errors import InputError, NotFoundError
from docket_core.notifications.outbox import endpoint_key
from docket_core.references import redact_url

__all__ = [
    "STATUSES",
    "enable_endpoint",
    "list_endpoints",
    "list_notifications",
    "outbox_counts",
    "replay",
    "resolve_endpoint",
    "show_notification",
]

STATUSES = ("pending", "delivered", "failed")


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _summary(row: sa.Row) -> dict[str, Any]:
    return {
        "event_id": row.event_id,
        "type": row.type,
        "resource": row.resource_key,
        "endpoint": redact_url(row.url),
        "endpoint_key": row.endpoint_key,
        "status": row.status,
        "attempts": row.attempts,
        "last_status_code": row.last_status_code,
        "last_error": row.last_error,
        "next_attempt_at": _iso(row.next_attempt_at) if row.status == "pending" else None,
        "created_at": _iso(row.created_at),
        "finished_at": _iso(row.finished_at),
        "endpoint_disabled": row.disabled_at is not None,
    }


def _base() -> sa.Select:
    return sa.select(
        notifications, notification_endpoints.c.url, notification_endpoints.c.disabled_at
    ).join(notification_endpoints, notification_endpoints.c.endpoint_key == notifications.c.endpoint_key)


def list_notifications(
    catalog: Catalog,
    *,
    status: str | None = None,
    type_: str | None = None,
    resource: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """The newest notifications first, optionally only one status, type or resource."""
    if status is not None and status not in STATUSES:
        raise InputError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    query = _base().order_by(notifications.c.id.desc()).limit(limit)
    if status:
        query = query.where(notifications.c.status == status)
    if type_:
        query = query.where(notifications.c.type == type_)
    if resource:
        query = query.where(notifications.c.resource_key == resource)
    with catalog.read() as conn:
        return [_summary(r) for r in conn.execute(query).all()]


def show_notification(catalog: Catalog, event_id: str) -> dict[str, Any]:
    """One notification with its body and every attempt (number, time, status code, outcome, error)."""
    with catalog.read() as conn:
        row = conn.execute(_base().where(notifications.c.event_id == event_id)).first()
        if row is None:
            raise NotFoundError(f"no notification with event id {event_id!r}; `docket notifications list` shows them")
        attempts = conn.execute(
            sa.select(notification_attempts)
            .where(notification_attempts.c.event_id == event_id)
            .order_by(notification_attempts.c.attempt, notification_attempts.c.id)
        ).all()
    details = _summary(row)
    details["payload"] = row.payload
    details["attempt_log"] = [
        {"attempt": a.attempt, "started_at": _iso(a.started_at), "duration_ms": a.duration_ms,
         "status_code": a.status_code, "outcome": a.outcome, "error": a.error}
        for a in attempts
    ]  # fmt: skip
    return details


def replay(catalog: Catalog, *, event_ids: Sequence[str] = (), status: str | None = None) -> list[str]:
    """Send notifications again now: the given ones, or every one with `status` (e.g. `failed`).

    The `event_id` stays; `delivery_attempt` goes on counting. Returns the event ids queued.
    """
    if not event_ids and not status:
        raise InputError("expected --event-id ID (repeatable) or --status failed|delivered, got neither")
    if status is not None and status not in STATUSES:
        raise InputError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    now = utcnow()
    with catalog.begin() as conn:
        query = sa.select(notifications.c.event_id)
        if event_ids:
            query = query.where(notifications.c.event_id.in_(list(event_ids)))
        if status:
            query = query.where(notifications.c.status == status)
        found = list(conn.execute(query.order_by(notifications.c.id)).scalars())
        missing = sorted(set(event_ids) - set(found))
        if missing:
            raise NotFoundError(f"no notification with event id {', '.join(map(repr, missing))}")
        for start in range(0, len(found), 500):
            conn.execute(
                sa.update(notifications)
                .where(notifications.c.event_id.in_(found[start : start + 500]))
                .values(status="pending", next_attempt_at=now, finished_at=None, lease_owner=None, lease_expires_at=None)
            )
    return found


def list_endpoints(catalog: Catalog) -> list[dict[str, Any]]:
    """Every endpoint with its health and how many notifications it has by status."""
    with catalog.read() as conn:
        counts: dict[str, dict[str, int]] = {}
        for key, status, n in conn.execute(
            sa.select(notifications.c.endpoint_key, notifications.c.status, sa.func.count()).group_by(
                notifications.c.endpoint_key, notifications.c.status
            )
        ):
            counts.setdefault(key, {})[status] = n
        rows = conn.execute(sa.select(notification_endpoints).order_by(notification_endpoints.c.created_at)).all()
    return [
        {
            "endpoint_key": r.endpoint_key,
            "url": redact_url(r.url),
            "disabled": r.disabled_at is not None,
            "disabled_at": _iso(r.disabled_at),
            "disabled_reason": r.disabled_reason,
            "consecutive_failures": r.consecutive_failures,
            "failing_since": _iso(r.failing_since),
            "last_success_at": _iso(r.last_success_at),
            "last_error": r.last_error,
            "notifications": {s: counts.get(r.endpoint_key, {}).get(s, 0) for s in STATUSES},
        }
        for r in rows
    ]


def resolve_endpoint(catalog: Catalog, ref: str) -> str:
    """The endpoint key for `ref`: a full URL, or the start (6+ characters) of a key."""
    with catalog.read() as conn:
        if ref.lower().startswith(("http://", "https://")):
            key = endpoint_key(ref)
            found = conn.execute(
                sa.select(notification_endpoints.c.endpoint_key).where(notification_endpoints.c.endpoint_key == key)
            ).scalars().all()
        elif len(ref) >= 6:
            found = conn.execute(
                sa.select(notification_endpoints.c.endpoint_key).where(
                    notification_endpoints.c.endpoint_key.startswith(ref.lower())
                )
            ).scalars().all()
        else:
            raise InputError(f"expected an endpoint URL or at least 6 characters of its key, got {ref!r}")
    if len(found) != 1:
        what = "no endpoint" if not found else f"{len(found)} endpoints"
        raise NotFoundError(f"{what} match {redact_url(ref)!r}; `docket notifications endpoints` lists them")
    return found[0]


def enable_endpoint(catalog: Catalog, ref: str) -> dict[str, Any]:
    """Enable a disabled endpoint again: its waiting notifications are sent on the next delivery run."""
    key = resolve_endpoint(catalog, ref)
    now = utcnow()
    with catalog.begin() as conn:
        conn.execute(
            sa.update(notification_endpoints)
            .where(notification_endpoints.c.endpoint_key == key)
            .values(disabled_at=None, disabled_reason=None, consecutive_failures=0, failing_since=None)
        )
        conn.execute(
            sa.update(notifications)
            .where(notifications.c.endpoint_key == key, notifications.c.status == "pending")
            .values(next_attempt_at=now)
        )
    return next(e for e in list_endpoints(catalog) if e["endpoint_key"] == key)


def outbox_counts(catalog: Catalog) -> dict[str, int]:
    """How many notifications there are by status."""
    with catalog.read() as conn:
        rows = conn.execute(
            sa.select(notifications.c.status, sa.func.count()).group_by(notifications.c.status)
        ).all()
    return {s: 0 for s in STATUSES} | {s: n for s, n in rows}


def last_notification_id(catalog: Catalog) -> int:
    """The outbox's newest row id (0 when empty): `queued_since` counts what came after it."""
    with catalog.read() as conn:
        return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(notifications.c.id), 0))).scalar_one())


def queued_since(catalog: Catalog, mark: int) -> int:
    """How many notifications were queued after `last_notification_id` returned `mark`."""
    with catalog.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).where(notifications.c.id > mark)).scalar_one())
