"""Delivery against a real receiver on loopback: signatures, retries, faults, order, disabling, leases."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from standardwebhooks import Webhook

from docket_core.catalog import Catalog, utcnow
from docket_core.catalog.schema_notifications import notifications
from docket_core.notifications import ledger
from docket_core.notifications.delivery import deliver_batch
from docket_core.notifications.keys import EndpointCredentials, Keyring
from docket_core.notifications.queries import enable_endpoint, list_endpoints, show_notification
from docket_core.safefetch.address import URLPolicy
from docket_core.settings.notify import NotifySettings
from tests.docket_core.notifications.conftest import LOOPBACK, SECRET, put, settle
from tests.docket_core.notifications.webhook_server import webhook_server


def attempts_of(catalog: Catalog, event_id: str) -> list[tuple[int, int | None, str]]:
    return [(a["attempt"], a["status_code"], a["outcome"]) for a in show_notification(catalog, event_id)["attempt_log"]]


class TestDelivered:
    def test_a_notification_arrives_once_signed_with_attempt_one(self, catalog: Catalog, keyring: Keyring, settings: NotifySettings) -> None:
        with webhook_server() as hooks:
            [event_id] = put(catalog, hooks.url("/hook"))
            report = settle(catalog, keyring, settings)
            [got] = hooks.received
        assert (report.delivered, report.attempts) == (1, 1)
        body = Webhook(SECRET).verify(got.body, got.headers)
        assert (body["event_id"], body["delivery_attempt"], body["job_state"]) == (event_id, 1, "success")
        assert got.headers["webhook-id"] == event_id and got.headers["content-type"] == "application/json"
        assert "authorization" not in got.headers
        assert attempts_of(catalog, event_id) == [(1, 200, "delivered")]
        assert show_notification(catalog, event_id)["status"] == "delivered"

    def test_an_endpoint_with_a_token_gets_a_bearer_header_and_its_own_secret(self, catalog: Catalog, settings: NotifySettings) -> None:
        from docket_core.signing import generate_secret

        own = generate_secret()
        with webhook_server() as hooks:
            url = hooks.url("/tokened?x=1")
            keyring = Keyring.from_settings(settings, {url: EndpointCredentials.from_secret(own, token="tok-123")})
            put(catalog, url)
            settle(catalog, keyring, settings)
            [got] = hooks.received
        assert got.headers["authorization"] == "Bearer tok-123"
        Webhook(own).verify(got.body, got.headers)

    def test_a_slow_answer_within_the_timeout_is_one_delivery(self, catalog: Catalog, keyring: Keyring, settings: NotifySettings) -> None:
        with webhook_server({"/slow": [("slow", 0.3)]}) as hooks:
            [event_id] = put(catalog, hooks.url("/slow"))
            settle(catalog, keyring, settings)
            assert len(hooks.received) == 1
        assert attempts_of(catalog, event_id) == [(1, 200, "delivered")]


class TestRetries:
    @pytest.mark.parametrize(
        ("script", "first"),
        [([500, 200], (1, 500, "retry")), (["timeout", 200], (1, None, "retry")), (["reset", 200], (1, None, "retry")),
         ([408, 200], (1, 408, "retry")), ([503, 502, 200], (1, 503, "retry"))],
        ids=["500", "timeout", "reset", "408", "503-502"],
    )  # fmt: skip
    def test_a_passing_fault_is_retried_with_the_same_event_id_and_counted_attempts(
        self, catalog: Catalog, keyring: Keyring, settings: NotifySettings, script: list, first: tuple
    ) -> None:
        with webhook_server({"/f": script}, hang=3.0) as hooks:
            [event_id] = put(catalog, hooks.url("/f"))
            settle(catalog, keyring, settings)
            got = hooks.received
        assert len(got) == len(script)
        assert {g.headers["webhook-id"] for g in got} == {event_id}
        assert [g.json["delivery_attempt"] for g in got] == list(range(1, len(script) + 1))
        for g in got:
            Webhook(SECRET).verify(g.body, g.headers)
        log = attempts_of(catalog, event_id)
        assert log[0] == first and log[-1] == (len(script), 200, "delivered")
        assert show_notification(catalog, event_id)["status"] == "delivered"

    def test_the_errors_say_what_happened(self, catalog: Catalog, keyring: Keyring, settings: NotifySettings) -> None:
        with webhook_server({"/t": ["timeout", "reset", 200]}, hang=3.0) as hooks:
            [event_id] = put(catalog, hooks.url("/t"))
            settle(catalog, keyring, settings)
        errors = [a["error"] for a in show_notification(catalog, event_id)["attempt_log"]]
        assert "no answer within 2 s" in errors[0]
        assert errors[1].startswith("connection failed:")
        assert errors[2] is None

    def test_retry_after_on_429_is_honoured(self, catalog: Catalog, keyring: Keyring, settings: NotifySettings) -> None:
        with webhook_server({"/busy": [(429, {"Retry-After": "2"}), 200]}) as hooks:
            [event_id] = put(catalog, hooks.url("/busy"))
            before = utcnow()
            deliver_batch(catalog, keyring, settings, LOOPBACK)
            with catalog.read() as conn:
                due = conn.execute(sa.select(notifications.c.next_attempt_at).where(notifications.c.event_id == event_id)).scalar_one()
            assert due - before >= timedelta(seconds=1.9)
            assert deliver_batch(catalog, keyring, settings, LOOPBACK).claimed == 0  # not before it is due
            settle(catalog, keyring, settings)
            assert [g.json["delivery_attempt"] for g in hooks.received] == [1, 2]
            assert hooks.received[1].at - hooks.received[0].at >= 1.9

    def test_a_schedule_used_up_fails_the_notification_with_the_last_error(self, catalog: Catalog, keyring: Keyring, settings: NotifySettings) -> None:
        with webhook_server({"/down": [500]}) as hooks:
            [event_id] = put(catalog, hooks.url("/down"))
            report = settle(catalog, keyring, settings)
            assert len(hooks.received) == 4  # the schedule has 4 steps
        details = show_notification(catalog, event_id)
        assert (details["status"], report.failed, report.attempts) == ("failed", 1, 4)
        assert details["last_error"].startswith("gave up after 4 attempts") and "HTTP 500" in details["last_error"]
        assert [a[2] for a in attempts_of(catalog, event_id)] == ["retry", "retry", "retry", "failed"]


class TestNotRetried:
    def test_a_redirect_is_a_failure_and_is_never_followed(self, catalog: Catalog, keyring: Keyring, settings: NotifySettings) -> None:
        with webhook_server({"/moved": [(302, {"Location": "/elsewhere?sig=secret"})]}) as hooks:
            [event_id] = put(catalog, hooks.url("/moved"))
            settle(catalog, keyring, settings)
            assert [g.path for g in hooks.received] == ["/moved"]
        details = show_notification(catalog, event_id)
        assert details["status"] == "failed" and attempts_of(catalog, event_id) == [(1, 302, "failed")]
        assert "redirects are never followed" in details["last_error"] and "secret" not in details["last_error"]

    @pytest.mark.parametrize("code", [400, 401, 404, 410, 422])
    def test_a_client_error_fails_at_once(self, catalog: Catalog, keyring: Keyring, settings: NotifySettings, code: int) -> None:
        with webhook_server({"/no": [code]}) as hooks:
            [event_id] = put(catalog, hooks.url("/no"))
            settle(catalog, keyring, settings)
            assert len(hooks.received) == 1
        assert attempts_of(catalog, event_id) == [(1, code, "failed")]

    def test_a_private_address_is_refused_unless_its_host_is_allowed(self, catalog: Catalog, keyring: Keyring, settings: NotifySettings) -> None:
        with webhook_server() as hooks:
            [event_id] = put(catalog, hooks.url("/private"))
            settle(catalog, keyring, settings, URLPolicy())
            assert hooks.received == []
        details = show_notification(catalog, event_id)
        assert details["status"] == "failed"
        assert "refused to send" in details["last_error"] and "DOCKET_ALLOWED_URL_HOSTS" in details["last_error"]


class TestOrderAndConcurrency:
    def test_notifications_about_one_resource_arrive_in_order_even_through_retries(
        self, catalog: Catalog, keyring: Keyring, settings: NotifySettings
    ) -> None:
        with webhook_server({"/o": [500, 200]}) as hooks:  # every notification fails once first
            ids = put(catalog, hooks.url("/o"), resource="ingest:i1", count=5)
            other = put(catalog, hooks.url("/o"), resource="ingest:i2", count=2)
            report = settle(catalog, keyring, settings)
            order = [g.headers["webhook-id"] for g in hooks.received]
        assert (report.delivered, report.attempts) == (7, 14)
        mine = [i for i in order if i in ids]
        assert mine == [i for i in ids for _ in (1, 2)], "a later notification overtook an earlier one of its resource"
        assert [i for i in dict.fromkeys(order) if i in other] == other

    def test_endpoints_are_served_concurrently(self, catalog: Catalog, keyring: Keyring, settings: NotifySettings) -> None:
        with webhook_server({"/slow": [("slow", 0.4)]}) as a, webhook_server({"/slow": [("slow", 0.4)]}) as b:
            for n in range(4):
                put(catalog, a.url("/slow"), resource=f"job:a{n}")
                put(catalog, b.url("/slow"), resource=f"job:b{n}")
            started = time.monotonic()
            report = settle(catalog, keyring, settings)
            elapsed = time.monotonic() - started
        assert report.delivered == 8
        assert elapsed < 2.4, f"8 answers of 0.4 s took {elapsed:.2f} s: not concurrent (one at a time takes 3.2 s)"


class TestDisabling:
    def test_an_endpoint_failing_past_the_limit_is_disabled_with_a_clear_record_and_can_be_enabled(
        self, catalog: Catalog, keyring: Keyring, settings: NotifySettings
    ) -> None:
        strict = settings.model_copy(update={"notify_disable_after_failures": 3, "notify_disable_after_seconds": 0,
                                             "notify_retry_schedule": [0, 0.05, 0.05, 0.05, 0.05, 0.05]})  # fmt: skip
        with webhook_server({"/down": [500, 500, 500, 200]}) as hooks:
            [event_id] = put(catalog, hooks.url("/down"))
            report = settle(catalog, keyring, strict)
            assert len(hooks.received) == 3
            [endpoint] = list_endpoints(catalog)
            assert endpoint["disabled"] and report.disabled_endpoints == [endpoint["endpoint_key"]]
            assert "disabled after 3 failed attempts in a row" in endpoint["disabled_reason"]
            assert "HTTP 500" in endpoint["disabled_reason"] and "docket notifications enable" in endpoint["disabled_reason"]
            assert show_notification(catalog, event_id)["status"] == "pending"  # held, not lost

            enable_endpoint(catalog, hooks.url("/down"))
            settle(catalog, keyring, strict)
            assert len(hooks.received) == 4
        assert show_notification(catalog, event_id)["status"] == "delivered"
        assert list_endpoints(catalog)[0]["consecutive_failures"] == 0


class TestLeases:
    def test_a_run_that_died_holding_notifications_loses_none_of_them(self, catalog: Catalog, keyring: Keyring, settings: NotifySettings) -> None:
        with webhook_server() as hooks:
            ids = put(catalog, hooks.url("/l"), resource="job:x", count=3)
            claimed, _ = ledger.claim(catalog, owner="dead-run", limit=10, lease_seconds=0.3)
            assert [c.event_id for c in claimed] == ids
            assert deliver_batch(catalog, keyring, settings, LOOPBACK).claimed == 0  # still leased
            time.sleep(0.4)
            report = settle(catalog, keyring, settings)
            got = hooks.received
        assert (report.interrupted, report.delivered) == (3, 3)
        assert [g.headers["webhook-id"] for g in got] == ids
        assert [g.json["delivery_attempt"] for g in got] == [2, 2, 2]
        assert attempts_of(catalog, ids[0]) == [(1, None, "interrupted"), (2, 200, "delivered")]

    def test_a_late_answer_from_a_run_that_lost_its_lease_does_not_undo_the_new_state(self, catalog: Catalog, settings: NotifySettings) -> None:
        [event_id] = put(catalog, "http://127.0.0.1:9/late")
        [claimed], _ = ledger.claim(catalog, owner="slow-run", limit=1, lease_seconds=60)
        with catalog.begin() as conn:
            conn.execute(sa.update(notifications).values(lease_owner="other-run"))
        ledger.record(catalog, "slow-run", [ledger.Attempt(claimed, ledger.Verdict.FAILED, utcnow(), 5, 400, "HTTP 400")], settings)
        details = show_notification(catalog, event_id)
        assert details["status"] == "pending" and attempts_of(catalog, event_id) == [(1, 400, "failed")]
