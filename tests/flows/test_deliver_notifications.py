"""The `deliver_notifications` flow under a real Prefect test server, and killed mid-way in a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from docket_core.catalog import Catalog
from docket_core.notifications import outbox, payloads
from docket_core.notifications.queries import list_notifications, outbox_counts, show_notification
from docket_core.resources import Resources
from docket_core.signing import generate_secret
from tests.docket_core.notifications.webhook_server import webhook_server
from tests.helpers import artifact_keys

pytestmark = pytest.mark.usefixtures("prefect_harness")

SECRET = generate_secret()


def enqueue(catalog: Catalog, url: str, count: int, *, resource: str | None = None) -> list[str]:
    with catalog.begin() as conn:
        return [
            outbox.enqueue(conn, endpoint=url, type=payloads.TYPE_JOB_STATUS, resource_key=resource or f"job:j{i}",
                           payload=payloads.job_status({"job_id": f"j{i}", "state": "succeeded", "batch_id": "b", "workflow_id": "w",
                                                        "output_batch_id": "o", "files_total": 1, "files_succeeded": 1, "files_failed": 0}))
            for i in range(count)
        ]  # fmt: skip


@pytest.fixture
def fast(docket_env: Path, monkeypatch: pytest.MonkeyPatch) -> Catalog:
    monkeypatch.setenv("DOCKET_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("DOCKET_ALLOWED_URL_HOSTS", "127.0.0.1")
    monkeypatch.setenv("DOCKET_NOTIFY_RETRY_SCHEDULE", "0,0.1,0.1,0.1")
    monkeypatch.setenv("DOCKET_NOTIFY_JITTER", "0")
    monkeypatch.setenv("DOCKET_NOTIFY_TIMEOUT", "1")
    return Resources.from_settings().catalog()


class TestDeliverFlow:
    def test_a_run_sends_everything_due_retries_within_its_linger_and_leaves_a_summary(self, fast: Catalog) -> None:

        from flows.deliver_notifications import deliver_notifications

        with webhook_server({"/ok": [200], "/flaky": [500, 200], "/gone": [410]}) as hooks:
            ok = enqueue(fast, hooks.url("/ok"), 3)
            flaky = enqueue(fast, hooks.url("/flaky"), 2, resource="ingest:i1")
            [gone] = enqueue(fast, hooks.url("/gone"), 1)
            totals = deliver_notifications(linger_seconds=5)
            received = list(hooks.received)
        assert (totals["delivered"], totals["failed"], totals["attempts"], totals["retrying"]) == (5, 1, 8, 2)
        for r in received:
            Webhook(SECRET).verify(r.body, r.headers)
        assert {e: show_notification(fast, e)["status"] for e in ok + flaky} == dict.fromkeys(ok + flaky, "delivered")
        assert show_notification(fast, gone)["status"] == "failed"

        assert artifact_keys("notification-delivery") == {"notification-delivery"}

    def test_a_webhook_endpoint_block_with_the_url_signs_with_its_secret_and_sends_its_token(
        self, fast: Catalog, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from pydantic import SecretStr

        import tasks.notifications
        from blocks import WebhookEndpoint
        from flows.deliver_notifications import deliver_notifications

        own = generate_secret()
        with webhook_server() as hooks:
            url = hooks.url("/blocked?k=1")
            WebhookEndpoint(url=SecretStr(url), secret=SecretStr(own), token=SecretStr("tok-9"), timeout=2).save(
                "test-endpoint", overwrite=True
            )
            monkeypatch.setattr(tasks.notifications, "_blocks", None)  # forget blocks read by earlier tests
            enqueue(fast, url, 1)
            enqueue(fast, hooks.url("/plain"), 1)
            deliver_notifications(linger_seconds=1)
            by_path = {r.path: r for r in hooks.received}
        Webhook(own).verify(by_path["/blocked"].body, by_path["/blocked"].headers)
        assert by_path["/blocked"].headers["authorization"] == "Bearer tok-9"
        Webhook(SECRET).verify(by_path["/plain"].body, by_path["/plain"].headers)
        assert "authorization" not in by_path["/plain"].headers

    def test_nothing_due_is_a_quick_empty_run(self, fast: Catalog) -> None:
        from flows.deliver_notifications import deliver_notifications

        started = time.monotonic()
        assert deliver_notifications(linger_seconds=5)["attempts"] == 0
        assert time.monotonic() - started < 10


@pytest.mark.slow
class TestKilledDelivery:
    def test_a_delivery_run_killed_mid_way_loses_nothing_and_records_every_attempt(
        self, tmp_path: Path, fast: Catalog, docket_env: Path
    ) -> None:
        from prefect.settings import PREFECT_API_URL

        count = 40
        env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value()), "DOCKET_NOTIFY_ENDPOINT_CONCURRENCY": "2",
               "DOCKET_NOTIFY_LEASE_SECONDS": "4", "PYTHONPATH": str(Path(__file__).parents[2])}  # fmt: skip
        args = [sys.executable, "-m", "docket_core.cli", "notifications", "deliver", "--json"]
        with webhook_server({"/slow": [("slow", 0.25)]}) as hooks:
            ids = enqueue(fast, hooks.url("/slow"), count)
            proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
            try:
                hooks.wait_for(8, timeout=120)
            finally:
                os.killpg(proc.pid, signal.SIGKILL)
                _, err = proc.communicate()
            at_kill = len(hooks.received)
            assert at_kill < count, "the run finished before it was killed"
            assert outbox_counts(fast)["delivered"] < count

            rerun = subprocess.run(args, env=env, capture_output=True, timeout=300)
            assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]
            totals = json.loads(rerun.stdout)
            received = list(hooks.received)

        failed = [show_notification(fast, n["event_id"]) for n in list_notifications(fast, status="failed")]
        assert outbox_counts(fast) == {"pending": 0, "delivered": count, "failed": 0}, failed
        seen = Counter(r.headers["webhook-id"] for r in received)
        assert set(seen) == set(ids)  # every notification arrived
        assert totals["interrupted"] == count  # the killed run had leased them all; each attempt is on record
        for event_id in ids:
            log = show_notification(fast, event_id)["attempt_log"]
            assert [a["outcome"] for a in log] == ["interrupted", "delivered"], [(a["outcome"], a["error"], a["duration_ms"]) for a in log]
            attempts = [r.json["delivery_attempt"] for r in received if r.headers["webhook-id"] == event_id]
            assert attempts[-1] == 2 and len(attempts) == seen[event_id] <= 2
        assert all(n["attempts"] == 2 for n in list_notifications(fast, limit=count))


class TestIngestFailure:
    def test_an_ingest_that_cannot_start_notifies_success_false_with_the_reason(self, fast: Catalog) -> None:
        from docket_core.staging.models import IngestRequest
        from flows.deliver_notifications import deliver_notifications
        from flows.ingest_batch import ingest_batch
        from tests.helpers import file_server

        with file_server({}) as base, webhook_server() as hooks:
            request = IngestRequest(batch_id="failing", media_kind="images", source_kind="references",
                                    source=f"{base}/missing.jsonl?sig=secret", ingest_id="fail-1",
                                    notifications_url=hooks.url("/hook"))  # fmt: skip
            with pytest.raises(Exception, match="cannot download the references file"):
                ingest_batch(request=request)
            deliver_notifications(linger_seconds=1)
            [got] = hooks.received
        body = Webhook(SECRET).verify(got.body, got.headers)
        assert (body["ingest_id"], body["notification"]["success"]) == ("fail-1", False)
        assert body["notification"]["error_details"]["type"] == "download-failed"
        assert "404" in body["notification"]["error_details"]["reason"] and "secret" not in got.body.decode()
