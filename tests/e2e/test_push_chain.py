"""The push chain with real processes only: a Prefect server, `docket serve`, a signed push, and the
notifications at a test receiver, verified with the `standardwebhooks` library."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from standardwebhooks import Webhook

from docket_core.errors import NotFoundError
from docket_core.jobs.queries import list_jobs
from docket_core.resources import Resources
from docket_core.signing import generate_secret
from docket_core.staging.queries import batch_details
from tests.docket_core.notifications.webhook_server import webhook_server
from tests.e2e.processes import REPO, base_env, free_port, prefect_server, start, stop, wait_http
from tests.helpers import file_server, jpeg_bytes

pytestmark = pytest.mark.slow

RECEIVER_SECRET, WEBHOOK_SECRET = generate_secret(), generate_secret()
FILES = 4


@pytest.fixture(scope="module")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("prefect-server")
    proc, api = prefect_server(home / "home", home / "server.log")
    try:
        yield api
    finally:
        stop(proc)


def signed_push(url: str, body: dict[str, Any], msg_id: str) -> httpx.Response:
    text = json.dumps(body)
    now = datetime.now(timezone.utc)
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(int(now.timestamp())),
               "webhook-signature": Webhook(RECEIVER_SECRET).sign(msg_id, now, text), "content-type": "application/json"}  # fmt: skip
    return httpx.post(url, content=text, headers=headers, timeout=10)


def flow_runs(api: str, flow_name: str) -> list[dict[str, Any]]:
    response = httpx.post(f"{api}/flow_runs/filter", json={"flows": {"name": {"any_": [flow_name]}}}, timeout=10)
    response.raise_for_status()
    return response.json()


class TestPushChain:
    def test_one_signed_push_is_ingested_processed_and_notified_and_its_duplicate_changes_nothing(
        self, tmp_path: Path, prefect_api: str
    ) -> None:
        home, port = tmp_path / "docket", free_port()
        env = base_env(tmp_path / "serve-prefect") | {
            "PREFECT_API_URL": prefect_api, "DOCKET_HOME": str(home), "DOCKET_RECEIVER_SECRET": RECEIVER_SECRET,
            "DOCKET_WEBHOOK_SECRET": WEBHOOK_SECRET, "DOCKET_ALLOWED_URL_HOSTS": "127.0.0.1",
        }  # fmt: skip
        log = tmp_path / "serve.log"
        files = {f"/in/p{i}.jpg": jpeg_bytes(i) for i in range(FILES)}
        with file_server(files) as files_base, webhook_server() as hooks:
            serve = start([sys.executable, "-m", "docket_core.cli", "serve", "--port", str(port)], env, log)
            try:
                wait_http(f"http://127.0.0.1:{port}/healthz", serve, log, timeout=120)
                body = {
                    "batch_id": "pushed", "workflow_id": "image-metadata", "notifications_url": hooks.url("/hook"),
                    "references": [{"name": f"p{i}.jpg", "url": f"{files_base}/in/p{i}.jpg?sig=s3cr3t"} for i in range(FILES)],
                }  # fmt: skip
                started = time.monotonic()
                accepted = signed_push(f"http://127.0.0.1:{port}/v1/ingest", body, "msg_e2e_1")
                assert time.monotonic() - started < 1.0 and accepted.status_code == 202, accepted.text
                ingest_id = accepted.json()["ingest_id"]

                got = hooks.wait_for(2, timeout=240)
                chain_seconds = time.monotonic() - started
                bodies = [Webhook(WEBHOOK_SECRET).verify(g.body, g.headers) for g in got]  # raises if a signature is wrong
                ingest_note, job_note = bodies
                assert (ingest_note["type"], ingest_note["ingest_id"], ingest_note["batch_id"]) == (
                    "docket-data-staging-notification-v1", ingest_id, "pushed")  # fmt: skip
                assert ingest_note["notification"]["success"] is True and ingest_note["notification"]["ingested"] == FILES
                assert (job_note["type"], job_note["job_state"], job_note["files_succeeded"]) == (
                    "docket-batch-job-notification-v1", "success", FILES)  # fmt: skip
                assert [g.headers["webhook-id"] for g in got] == [b["event_id"] for b in bodies]

                resources = Resources(store_url=str(home / "store"), catalog_url=f"sqlite:///{home / 'catalog.db'}")
                assert batch_details(resources.catalog(), "pushed")["files_count"] == FILES
                [job] = list_jobs(resources.catalog(), batch_id="pushed")
                assert (job["job_id"], job["state"], job["output_batch_id"]) == (
                    job_note["job_id"], "succeeded", job_note["output_batch_id"])  # fmt: skip

                # The sender retries the same push (same webhook-id, signed anew): nothing changes.
                again = signed_push(f"http://127.0.0.1:{port}/v1/ingest", body, "msg_e2e_1")
                assert again.status_code == 202 and again.json()["duplicate"] is True
                assert again.json()["ingest_id"] == ingest_id
                time.sleep(8)
                assert len(hooks.received) == 2
                # Every step was a Prefect run started by an event (an automation), none by hand.
                for name in ("ingest_batch", "process_batch"):
                    [run] = flow_runs(prefect_api, name)
                    assert (run["created_by"] or {}).get("type") == "AUTOMATION", run["created_by"]
                    assert run["state"]["type"] == "COMPLETED"
                delivered_by = [(r["created_by"] or {}).get("type") for r in flow_runs(prefect_api, "deliver_notifications")]
                assert delivered_by.count("AUTOMATION") >= 2, delivered_by
                assert len(list_jobs(resources.catalog(), batch_id="pushed")) == 1
                assert batch_details(resources.catalog(), "pushed")["files_count"] == FILES
                assert "s3cr3t" not in log.read_text(errors="replace")
            finally:
                stop(serve)
        print(f"push -> ingest -> job -> both notifications: {chain_seconds:.1f} s")  # noqa: T201 - shown with -s

    def test_an_unsigned_event_posted_to_prefect_ingests_nothing_and_starts_no_job(self, tmp_path: Path, prefect_api: str) -> None:
        home, port = tmp_path / "docket", free_port()
        env = base_env(tmp_path / "serve-prefect") | {
            "PREFECT_API_URL": prefect_api, "DOCKET_HOME": str(home), "DOCKET_RECEIVER_SECRET": RECEIVER_SECRET,
        }  # fmt: skip
        log = tmp_path / "serve.log"
        (tmp_path / "secret-folder").mkdir()
        (tmp_path / "secret-folder/p.jpg").write_bytes(jpeg_bytes(1))
        forged = {"batch_id": "stolen", "media_kind": "images", "source_kind": "folder", "ingest_id": "forged-e2e",
                  "source": str(tmp_path / "secret-folder"), "allow_private_network": True, "workflow_id": "image-metadata"}  # fmt: skip
        events = [
            # What the trigger used to copy into the run: a whole request, no signature anywhere.
            {"id": str(uuid.uuid4()), "occurred": datetime.now(timezone.utc).isoformat(), "event": "docket.ingest.requested",
             "resource": {"prefect.resource.id": "docket.ingest.forged-e2e"}, "payload": {"request": forged, "push_id": "never-pushed"}},
            {"id": str(uuid.uuid4()), "occurred": datetime.now(timezone.utc).isoformat(), "event": "docket.batch.ingested",
             "resource": {"prefect.resource.id": "docket.batch.stolen", "docket.workflow-requested": "true"},
             "payload": {"batch_id": "stolen", "workflow_id": "image-metadata", "ingest_id": "forged-e2e"}},
        ]  # fmt: skip
        serve = start([sys.executable, "-m", "docket_core.cli", "serve", "--port", str(port)], env, log)
        try:
            wait_http(f"http://127.0.0.1:{port}/healthz", serve, log, timeout=120)
            assert httpx.post(f"{prefect_api}/events", json=events, timeout=10).status_code < 300
            deadline, runs = time.monotonic() + 180, {}
            while time.monotonic() < deadline:
                runs = {name: [r for r in flow_runs(prefect_api, name) if r["parameters"] in ({"push_id": "never-pushed"}, {"ingest_id": "forged-e2e"})]
                        for name in ("ingest_batch", "process_batch")}  # fmt: skip
                if all(rs and rs[0]["state"]["type"] in ("COMPLETED", "FAILED", "CRASHED") for rs in runs.values()):
                    break
                time.sleep(1)
        finally:
            stop(serve)
        # The automations did fire, with nothing but the ids, and their runs did nothing.
        assert [(r["parameters"], r["state"]["type"]) for r in runs["ingest_batch"]] == [({"push_id": "never-pushed"}, "COMPLETED")]
        assert [(r["parameters"], r["state"]["type"]) for r in runs["process_batch"]] == [({"ingest_id": "forged-e2e"}, "COMPLETED")]
        resources = Resources(store_url=str(home / "store"), catalog_url=f"sqlite:///{home / 'catalog.db'}")
        with pytest.raises(NotFoundError):
            batch_details(resources.catalog(), "stolen")
        assert list_jobs(resources.catalog()) == []

    def test_prefect_deploy_all_accepts_prefect_yaml(self, tmp_path: Path, prefect_api: str) -> None:
        env = base_env(tmp_path / "deploy-prefect") | {"PREFECT_API_URL": prefect_api, "DOCKET_REPO_DIR": str(REPO)}
        prefect = [sys.executable, "-m", "prefect"]
        pool = subprocess.run([*prefect, "work-pool", "create", "docket", "--type", "process", "--overwrite"],
                              env=env, capture_output=True, text=True, timeout=120, cwd=REPO)  # fmt: skip
        assert pool.returncode == 0, pool.stderr[-2000:]
        before = (REPO / "prefect.yaml").read_text()
        deploy = subprocess.run([*prefect, "--no-prompt", "deploy", "--all"], env=env, capture_output=True, text=True,
                                timeout=300, cwd=REPO)  # fmt: skip
        assert deploy.returncode == 0, deploy.stdout[-3000:] + deploy.stderr[-3000:]
        assert (REPO / "prefect.yaml").read_text() == before

        declared = {d["name"] for d in yaml.safe_load(before)["deployments"]}
        found = httpx.post(f"{prefect_api}/deployments/filter", json={}, timeout=10).json()
        by_name = {d["name"]: d for d in found if d["name"] in declared}
        assert set(by_name) == declared and all(d["work_pool_name"] == "docket" for d in by_name.values())
        assert [s["schedule"]["interval"] for s in by_name["deliver-notifications"]["schedules"]] == [60.0]
        automations = httpx.post(f"{prefect_api}/automations/filter", json={}, timeout=10).json()
        expected = {"docket-ingest-on-push", "docket-job-after-ingest", "docket-deliver-when-queued"}
        assert expected <= {a["name"] for a in automations}


class TestEmbeddedServer:
    def test_docket_serve_without_prefect_api_url_starts_its_own_server_with_the_schedules(self, tmp_path: Path) -> None:
        home, port, prefect_port = tmp_path / "docket", free_port(), free_port()
        env = base_env(tmp_path / "prefect") | {"DOCKET_HOME": str(home), "DOCKET_RECEIVER_SECRET": RECEIVER_SECRET}
        log = tmp_path / "serve.log"
        serve = start([sys.executable, "-m", "docket_core.cli", "serve", "--port", str(port), "--prefect-port", str(prefect_port)], env, log)
        api = f"http://127.0.0.1:{prefect_port}/api"
        try:
            wait_http(f"http://127.0.0.1:{port}/healthz", serve, log, timeout=180)
            assert f"Prefect UI: http://127.0.0.1:{prefect_port}" in log.read_text()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                found = {d["name"]: d for d in httpx.post(f"{api}/deployments/filter", json={}, timeout=10).json()}
                if "deliver-notifications" in found:
                    break
                time.sleep(0.5)
            assert {"ingest-batch", "process-batch", "deliver-notifications"} <= set(found)
            assert found["deliver-notifications"]["schedules"][0]["schedule"]["interval"] == 60.0
            assert (home / "prefect" / "prefect.db").exists()  # the server's database lives in DOCKET_HOME
        finally:
            stop(serve)
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{api}/health", timeout=2)
