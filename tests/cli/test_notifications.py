"""`--notifications-url` on staging and jobs, and `docket notifications ...`, as a user types them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from standardwebhooks import Webhook
from typer.testing import CliRunner

from docket_core.cli import app
from tests.docket_core.notifications.webhook_server import webhook_server
from tests.helpers import image_folder, write

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def notify_env(docket_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DOCKET_ALLOWED_URL_HOSTS", "127.0.0.1")
    monkeypatch.setenv("DOCKET_NOTIFY_RETRY_SCHEDULE", "0,0.1")
    monkeypatch.setenv("DOCKET_NOTIFY_JITTER", "0")
    return docket_env


class TestSecret:
    def test_the_signing_secret_is_generated_once_into_the_home_and_the_receiver_s_differs(self, docket_env: Path) -> None:
        code, first, _ = run("notifications", "secret")
        _, again, _ = run("notifications", "secret")
        _, receiver, _ = run("notifications", "secret", "--receiver")
        assert code == 0 and first.startswith("whsec_") and first == again and receiver != first
        assert (docket_env / "secrets/webhook-secret").stat().st_mode & 0o777 == 0o600

    def test_a_configured_secret_wins(self, docket_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("DOCKET_WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        assert run("notifications", "secret")[1].strip() == "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.mark.usefixtures("prefect_harness")
class TestSubscriptions:
    def test_an_ingest_with_files_status_notifies_each_shard_then_the_end_signed(
        self, tmp_path: Path, notify_env: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("DOCKET_SHARD_SIZE", "2")
        image_folder(tmp_path / "in", 3)
        write(tmp_path / "in/zz.jpg", b"broken")
        with webhook_server() as hooks:
            code, out, err = run("staging", "create-batch-of-images", "-i", str(tmp_path / "in"), "-b", "notified",
                                 "--notifications-url", hooks.url("/hook"), "--notification-category", "files-status", "--json")  # fmt: skip
            assert code == 0, err
            got = hooks.wait_for(3)
        secret = run("notifications", "secret")[1].strip()
        bodies = [Webhook(secret).verify(g.body, g.headers) for g in got]
        kinds = [b["notification"]["type"] for b in bodies]
        assert kinds == ["ingest-files-status-notification-v1", "ingest-files-status-notification-v1", "ingest-status-notification-v1"]
        # Shards record concurrently: files-status notifications come in the order shards finished.
        assert [f["file_name"] for b in bodies[:2] for f in b["notification"]["failed_files"]] == ["zz.jpg"]
        assert sorted(n for b in bodies[:2] for n in b["notification"]["ingested_files"]) == [f"img{i:04d}.jpg" for i in range(3)]
        assert bodies[2]["ingest_id"] == json.loads(out)["ingest_id"]

        code, out, _ = run("notifications", "list", "--json")
        listed = json.loads(out)
        assert code == 0 and [n["status"] for n in listed] == ["delivered"] * 3 and all(n["attempts"] == 1 for n in listed)
        assert listed[0]["endpoint"].startswith("http://127.0.0.1:")

    def test_a_job_notifies_its_end_and_a_replay_sends_it_again_with_the_next_attempt(
        self, tmp_path: Path, notify_env: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # The retry is due 2 s after the 500: later than the pass right after the job, even on a
        # loaded machine (at 0.1 s that pass could reach it too), and within the 5 s linger below.
        monkeypatch.setenv("DOCKET_NOTIFY_RETRY_SCHEDULE", "0,2")
        image_folder(tmp_path / "in", 2)
        assert run("staging", "create-batch-of-images", "-i", str(tmp_path / "in"), "-b", "jobbed", "--json")[0] == 0
        with webhook_server({"/job": [500, 200]}) as hooks:
            code, out, err = run("jobs", "process-images-with-workflow", "-w", "image-metadata", "-b", "jobbed", "-j", "nj1",
                                 "--notifications-url", hooks.url("/job"), "--json")  # fmt: skip
            assert code == 0, err
            # One pass right after the job: the 500 waits for its retry (`docket notifications deliver`).
            [first] = hooks.received
            code, out, _ = run("notifications", "deliver", "--linger", "5", "--json")
            assert code == 0 and json.loads(out)["delivered"] == 1
            event_id = first.headers["webhook-id"]
            code, out, _ = run("notifications", "replay", "--event-id", event_id, "--json")
            assert code == 0 and json.loads(out)["replayed"] == [event_id]
            got = hooks.received
        assert [g.json["delivery_attempt"] for g in got] == [1, 2, 3] and {g.headers["webhook-id"] for g in got} == {event_id}
        assert got[0].json["job_id"] == "nj1" and got[0].json["job_state"] == "success"

        code, out, _ = run("notifications", "show", "--event-id", event_id, "--json")
        details = json.loads(out)
        assert [(a["attempt"], a["status_code"], a["outcome"]) for a in details["attempt_log"]] == [
            (1, 500, "retry"), (2, 200, "delivered"), (3, 200, "delivered")]  # fmt: skip
        code, out, _ = run("notifications", "show", "--event-id", event_id)
        assert code == 0 and "500" in out and "delivered" in out

    def test_a_notification_url_that_is_not_http_is_refused_before_anything_runs(self, tmp_path: Path, notify_env: Path) -> None:
        image_folder(tmp_path / "in", 1)
        code, _, err = run("staging", "create-batch-of-images", "-i", str(tmp_path / "in"), "-b", "nope",
                           "--notifications-url", "ftp://example.com/hook")  # fmt: skip
        assert code == 2 and "notification URL refused" in err and "http or https" in err


class TestOutboxCommands:
    def test_unknown_event_ids_and_bad_statuses_say_what_to_do(self, docket_env: Path) -> None:
        code, _, err = run("notifications", "show", "--event-id", "nope")
        assert code == 2 and "docket notifications list" in err
        code, _, err = run("notifications", "list", "--status", "lost")
        assert code == 2 and "pending, delivered, failed" in err
        code, _, err = run("notifications", "replay")
        assert code == 2 and "--event-id" in err

    def test_endpoints_and_enable(self, docket_env: Path) -> None:
        from docket_core.notifications import outbox
        from docket_core.resources import Resources

        with Resources.from_settings().catalog().begin() as conn:
            outbox.enqueue(conn, endpoint="https://hooks.example.com/x?token=t0k", type="job-status", resource_key="job:a",
                           payload={"event_id": None})  # fmt: skip
        code, out, _ = run("notifications", "endpoints", "--json")
        [endpoint] = json.loads(out)
        assert code == 0 and endpoint["url"] == "https://hooks.example.com/x?<redacted>" and "t0k" not in out
        code, out, _ = run("notifications", "enable", "--endpoint", endpoint["endpoint_key"][:10], "--json")
        assert code == 0 and json.loads(out)["notifications"]["pending"] == 1
        code, _, err = run("notifications", "enable", "--endpoint", "abc")
        assert code == 2 and "at least 6 characters" in err
