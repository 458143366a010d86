"""When to try a notification again, and which answers are worth another try.

Retried: timeouts, connection errors, HTTP 408, 429 and 5xx. Not retried: every other 4xx, and 3xx
(a redirect is never followed: the subscriber must fix the URL). A retry waits the next step of the
schedule, give or take the jitter, or longer when the endpoint sent `Retry-After`.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from enum import StrEnum

__all__ = ["Verdict", "classify_status", "next_delay", "parse_retry_after"]


class Verdict(StrEnum):
    """What an attempt's answer means for the notification."""

    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"


def classify_status(status_code: int) -> Verdict:
    """2xx delivered; 408, 429 and 5xx retried; anything else (3xx, other 4xx) failed for good."""
    if 200 <= status_code < 300:
        return Verdict.DELIVERED
    if status_code in (408, 429) or 500 <= status_code < 600:
        return Verdict.RETRY
    return Verdict.FAILED


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a `Retry-After` header (delta seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max((when - (now or datetime.now(timezone.utc))).total_seconds(), 0.0)


def next_delay(
    attempts_made: int,
    schedule: Sequence[float],
    *,
    jitter: float,
    retry_after: float | None = None,
    max_retry_after: float = 86400.0,
    rng: random.Random | None = None,
) -> float | None:
    """Seconds to wait before the next attempt, or None when the schedule is used up.

    Args:
        attempts_made: attempts so far (1 after the first).
        schedule: seconds before each attempt; `schedule[0]` is before the first (usually 0).
        jitter: the wait is scaled by a random factor in `[1 - jitter, 1 + jitter]`, so endpoints
            that failed together are not retried in one burst.
        retry_after: the endpoint's `Retry-After`, in seconds; honoured up to `max_retry_after`.
    """
    if attempts_made >= len(schedule):
        return None
    delay = schedule[attempts_made]
    if delay > 0 and jitter > 0:
        delay *= (rng or random).uniform(1 - jitter, 1 + jitter)
    if retry_after is not None:
        delay = max(delay, min(retry_after, max_retry_after))
    return delay
