"""The outbox's bookkeeping: claim what is due (with a lease), record what each attempt got.

At-least-once: a claimed notification carries a lease. A delivery run that dies (killed, crashed)
leaves its leases behind; once they expire, the next claim records an `interrupted` attempt for each
(the request may or may not have gone out) and sends it again with the same `event_id` and the next
`delivery_attempt`. Receivers dedupe by `webhook-id`.

Order: a notification is claimable only when no earlier one to the same endpoint about the same
resource is still waiting (not yet due, or held by another run). Claims are serialized (SQLite's
write lock; a PostgreSQL advisory lock), so two runs never split one resource's sequence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from docket_core.catalog import Catalog, utcnow
from docket_core.catalog.schema_notifications import notification_attempts, notification_endpoints, notifications
from docket_core.notifications.schedule import Verdict, next_delay
from docket_core.settings.notify import NotifySettings

__all__ = ["Attempt", "Claimed", "RecordReport", "claim", "next_due_in", "record"]

_CLAIM_LOCK = 7260419006  # pg_advisory_xact_lock key of outbox claims
_CHUNK = 500
_INTERRUPTED = (
    "the delivery run holding this notification ended before recording an answer (killed or past its lease); "
    "it may or may not have been received, and is sent again"
)


@dataclass(frozen=True)
class Claimed:
    """A notification this run may send now; `attempt` is the number this attempt carries."""

    id: int
    event_id: str
    type: str
    resource_key: str
    endpoint_key: str
    url: str
    payload: dict[str, Any]
    attempt: int


@dataclass(frozen=True)
class Attempt:
    """What one send got. `verdict` None means it was not sent (released for a later run)."""

    claimed: Claimed
    verdict: Verdict | None
    started_at: datetime | None = None
    duration_ms: int | None = None
    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None


@dataclass
class RecordReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    released: int = 0
    attempts: int = 0
    disabled_endpoints: list[str] = field(default_factory=list)


def _recover_expired(conn: sa.Connection, now: datetime) -> int:
    stale = conn.execute(
        sa.select(notifications.c.id, notifications.c.event_id, notifications.c.attempts).where(
            notifications.c.status == "pending",
            notifications.c.lease_owner.is_not(None),
            notifications.c.lease_expires_at <= now,
        )
    ).all()
    if not stale:
        return 0
    conn.execute(
        sa.insert(notification_attempts),
        [{"event_id": r.event_id, "attempt": r.attempts + 1, "started_at": now, "outcome": "interrupted",
          "error": _INTERRUPTED} for r in stale],
    )  # fmt: skip
    conn.execute(
        sa.update(notifications)
        .where(notifications.c.id == sa.bindparam("b_id"))
        .values(attempts=sa.bindparam("attempts"), lease_owner=None, lease_expires_at=None, last_error=_INTERRUPTED),
        [{"b_id": r.id, "attempts": r.attempts + 1} for r in stale],
    )
    return len(stale)


def _claimable(now: datetime) -> sa.ColumnElement[bool]:
    earlier = notifications.alias("earlier")
    blocked = sa.exists().where(
        earlier.c.endpoint_key == notifications.c.endpoint_key,
        earlier.c.resource_key == notifications.c.resource_key,
        earlier.c.id < notifications.c.id,
        earlier.c.status == "pending",
        sa.or_(earlier.c.next_attempt_at > now, earlier.c.lease_expires_at > now),
    )
    return sa.and_(
        notifications.c.status == "pending",
        notifications.c.next_attempt_at <= now,
        notifications.c.lease_owner.is_(None),
        notification_endpoints.c.disabled_at.is_(None),
        ~blocked,
    )


def claim(catalog: Catalog, *, owner: str, limit: int, lease_seconds: float) -> tuple[list[Claimed], int]:
    """Lease up to `limit` due notifications to `owner`; return them (in order) and how many expired leases were recovered."""
    now = utcnow()
    with catalog.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_CLAIM_LOCK})")
        recovered = _recover_expired(conn, now)
        rows = conn.execute(
            sa.select(
                notifications.c.id, notifications.c.event_id, notifications.c.type, notifications.c.resource_key,
                notifications.c.endpoint_key, notifications.c.payload, notifications.c.attempts, notification_endpoints.c.url,
            )  # fmt: skip
            .join(notification_endpoints, notification_endpoints.c.endpoint_key == notifications.c.endpoint_key)
            .where(_claimable(now))
            .order_by(notifications.c.id)
            .limit(limit)
        ).all()
        expires = now + timedelta(seconds=lease_seconds)
        ids = [r.id for r in rows]
        for start in range(0, len(ids), _CHUNK):
            conn.execute(
                sa.update(notifications)
                .where(notifications.c.id.in_(ids[start : start + _CHUNK]))
                .values(lease_owner=owner, lease_expires_at=expires)
            )
    claimed = [
        Claimed(r.id, r.event_id, r.type, r.resource_key, r.endpoint_key, r.url, dict(r.payload), r.attempts + 1)
        for r in rows
    ]
    return claimed, recovered


def next_due_in(catalog: Catalog) -> float | None:
    """Seconds until some notification may be claimed (0 when one may now), None when none is waiting."""
    now = utcnow()
    earlier = notifications.alias("earlier")
    head = ~sa.exists().where(
        earlier.c.endpoint_key == notifications.c.endpoint_key,
        earlier.c.resource_key == notifications.c.resource_key,
        earlier.c.id < notifications.c.id,
        earlier.c.status == "pending",
    )
    ready_at = sa.case(
        (notifications.c.lease_expires_at > notifications.c.next_attempt_at, notifications.c.lease_expires_at),
        else_=notifications.c.next_attempt_at,
    )
    with catalog.read() as conn:
        soonest = conn.execute(
            sa.select(sa.func.min(ready_at))
            .select_from(notifications.join(notification_endpoints))
            .where(notifications.c.status == "pending", notification_endpoints.c.disabled_at.is_(None), head)
        ).scalar()
    if soonest is None:
        return None
    if isinstance(soonest, str):  # SQLite returns MIN() of a CASE as text
        soonest = datetime.fromisoformat(soonest)
    if soonest.tzinfo is None:
        soonest = soonest.replace(tzinfo=now.tzinfo)
    return max((soonest - now).total_seconds(), 0.0)


def _health(conn: sa.Connection, results: Sequence[Attempt], settings: NotifySettings, now: datetime) -> list[str]:
    by_endpoint: dict[str, list[Attempt]] = defaultdict(list)
    for r in results:
        if r.verdict is not None:
            by_endpoint[r.claimed.endpoint_key].append(r)
    disabled: list[str] = []
    for key, attempts in sorted(by_endpoint.items()):
        row = conn.execute(sa.select(notification_endpoints).where(notification_endpoints.c.endpoint_key == key)).one()
        failures, since = row.consecutive_failures, row.failing_since
        values: dict[str, Any] = {}
        for a in sorted(attempts, key=lambda a: (a.started_at or now, a.claimed.id)):
            when = a.started_at or now
            if a.verdict is Verdict.DELIVERED:
                failures, since = 0, None
                values.update(last_success_at=when)
            else:
                failures += 1
                since = since or when
                values.update(last_failure_at=when, last_error=a.error)
        values.update(consecutive_failures=failures, failing_since=since)
        if (
            row.disabled_at is None
            and since is not None
            and failures >= settings.notify_disable_after_failures
            and (now - since).total_seconds() >= settings.notify_disable_after_seconds
        ):
            values.update(
                disabled_at=now,
                disabled_reason=(
                    f"disabled after {failures} failed attempts in a row since {since:%Y-%m-%d %H:%M:%S} UTC "
                    f"(last: {values.get('last_error') or row.last_error}); its notifications wait until "
                    f"`docket notifications enable --endpoint {key[:12]}`"
                ),
            )
            disabled.append(key)
        conn.execute(sa.update(notification_endpoints).where(notification_endpoints.c.endpoint_key == key).values(**values))
    return disabled


def record(catalog: Catalog, owner: str, results: Sequence[Attempt], settings: NotifySettings) -> RecordReport:
    """Write every attempt and the state it leaves its notification in, in one transaction.

    A notification whose lease another run took over (this run was too slow) keeps that run's state;
    its attempt is still recorded.
    """
    now = utcnow()
    report = RecordReport()
    attempt_rows: list[dict[str, Any]] = []
    finals: list[dict[str, Any]] = []
    retries: list[dict[str, Any]] = []
    releases: list[dict[str, Any]] = []
    for r in results:
        c = r.claimed
        if r.verdict is None:
            releases.append({"b_id": c.id, "b_owner": owner})
            report.released += 1
            continue
        report.attempts += 1
        outcome = r.verdict.value
        row = {"b_id": c.id, "b_owner": owner, "attempts": c.attempt, "last_status_code": r.status_code}
        if r.verdict is Verdict.RETRY:
            delay = next_delay(
                c.attempt, settings.notify_retry_schedule, jitter=settings.notify_jitter,
                retry_after=r.retry_after, max_retry_after=settings.notify_max_retry_after,
            )  # fmt: skip
            if delay is not None:
                retries.append({**row, "last_error": r.error, "next_attempt_at": now + timedelta(seconds=delay)})
                report.retrying += 1
            else:
                outcome = "failed"
                error = f"gave up after {c.attempt} attempts (DOCKET_NOTIFY_RETRY_SCHEDULE); last: {r.error}"
                finals.append({**row, "status": "failed", "last_error": error, "finished_at": now})
                report.failed += 1
        elif r.verdict is Verdict.DELIVERED:
            finals.append({**row, "status": "delivered", "last_error": None, "finished_at": now})
            report.delivered += 1
        else:
            finals.append({**row, "status": "failed", "last_error": r.error, "finished_at": now})
            report.failed += 1
        attempt_rows.append(
            {"event_id": c.event_id, "attempt": c.attempt, "started_at": r.started_at or now, "duration_ms": r.duration_ms,
             "status_code": r.status_code, "outcome": outcome, "error": r.error}
        )  # fmt: skip
    mine = sa.and_(notifications.c.id == sa.bindparam("b_id"), notifications.c.lease_owner == sa.bindparam("b_owner"))
    with catalog.begin() as conn:
        for start in range(0, len(attempt_rows), _CHUNK):
            conn.execute(sa.insert(notification_attempts), attempt_rows[start : start + _CHUNK])
        cleared = {"lease_owner": None, "lease_expires_at": None}
        if finals:
            conn.execute(
                sa.update(notifications).where(mine).values(
                    status=sa.bindparam("status"), attempts=sa.bindparam("attempts"),
                    last_status_code=sa.bindparam("last_status_code"), last_error=sa.bindparam("last_error"),
                    finished_at=sa.bindparam("finished_at"), **cleared,
                ),
                finals,
            )  # fmt: skip
        if retries:
            conn.execute(
                sa.update(notifications).where(mine).values(
                    attempts=sa.bindparam("attempts"), last_status_code=sa.bindparam("last_status_code"),
                    last_error=sa.bindparam("last_error"), next_attempt_at=sa.bindparam("next_attempt_at"), **cleared,
                ),
                retries,
            )  # fmt: skip
        if releases:
            conn.execute(sa.update(notifications).where(mine).values(**cleared), releases)
        report.disabled_endpoints = _health(conn, results, settings, now)
    return report
