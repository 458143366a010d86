"""Which answers are retried, and when."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from docket_core.notifications.schedule import Verdict, classify_status, next_delay, parse_retry_after
from docket_core.settings.notify import DEFAULT_RETRY_SCHEDULE, NotifySettings


class TestClassify:
    @pytest.mark.parametrize(("code", "verdict"), [
        (200, Verdict.DELIVERED), (204, Verdict.DELIVERED), (202, Verdict.DELIVERED),
        (408, Verdict.RETRY), (429, Verdict.RETRY), (500, Verdict.RETRY), (503, Verdict.RETRY), (599, Verdict.RETRY),
        (301, Verdict.FAILED), (302, Verdict.FAILED), (307, Verdict.FAILED), (400, Verdict.FAILED), (401, Verdict.FAILED),
        (404, Verdict.FAILED), (410, Verdict.FAILED), (100, Verdict.FAILED),
    ])  # fmt: skip
    def test_status_codes(self, code: int, verdict: Verdict) -> None:
        assert classify_status(code) is verdict


class TestRetryAfter:
    def test_seconds_and_http_dates_are_read(self) -> None:
        now = datetime(2026, 1, 1, tzinfo=timezone.utc)
        assert parse_retry_after("120") == 120.0
        assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now=now) == 90.0

    @pytest.mark.parametrize("value", [None, "", "soon", "-5"])
    def test_anything_else_is_ignored(self, value: str | None) -> None:
        assert parse_retry_after(value) is None


class TestNextDelay:
    def test_the_default_schedule_is_the_issue_s(self) -> None:
        assert DEFAULT_RETRY_SCHEDULE == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
        assert NotifySettings().notify_retry_schedule == list(DEFAULT_RETRY_SCHEDULE)

    def test_each_attempt_waits_the_next_step_and_the_schedule_ends(self) -> None:
        steps = [next_delay(n, DEFAULT_RETRY_SCHEDULE, jitter=0) for n in range(1, 9)]
        assert steps == [5, 300, 1800, 7200, 18000, 36000, 36000, None]

    def test_jitter_spreads_waits_within_its_share(self) -> None:
        rng = random.Random(7)
        waits = {next_delay(2, DEFAULT_RETRY_SCHEDULE, jitter=0.2, rng=rng) for _ in range(50)}
        assert len(waits) > 40 and all(240 <= w <= 360 for w in waits)

    def test_retry_after_lengthens_a_wait_up_to_a_cap(self) -> None:
        assert next_delay(1, DEFAULT_RETRY_SCHEDULE, jitter=0, retry_after=60) == 60
        assert next_delay(1, DEFAULT_RETRY_SCHEDULE, jitter=0, retry_after=1) == 5
        assert next_delay(1, DEFAULT_RETRY_SCHEDULE, jitter=0, retry_after=10**9, max_retry_after=3600) == 3600

    def test_the_schedule_setting_reads_comma_separated_seconds(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("DOCKET_NOTIFY_RETRY_SCHEDULE", "0, 1,2.5")
        assert NotifySettings().notify_retry_schedule == [0, 1, 2.5]
        monkeypatch.setenv("DOCKET_NOTIFY_RETRY_SCHEDULE", "0,-1")
        with pytest.raises(ValueError, match="non-negative"):
            NotifySettings()
