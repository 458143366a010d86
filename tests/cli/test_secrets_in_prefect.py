"""Secrets given on the command line stay out of Prefect: the flow run's parameters, read back from
Prefect's API, hold a reference to the catalog's record, never a signed URL or a token; the ingest
still downloads and the notifications still go out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from docket_core.cli import app
from tests.docket_core.notifications.webhook_server import webhook_server
from tests.helpers import file_server, jpeg_bytes

runner = CliRunner()
REFS_SIG, HOOK_TOKEN, JOB_TOKEN = "S3CR3T-REFS-SIG", "T0K3N-INGEST-HOOK", "T0K3N-JOB-HOOK"


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def flow_run_parameters(flow_run_id: str) -> dict[str, Any]:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id).parameters


@pytest.fixture
def notify_env(docket_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DOCKET_ALLOWED_URL_HOSTS", "127.0.0.1")
    monkeypatch.setenv("DOCKET_NOTIFY_JITTER", "0")
    return docket_env


@pytest.mark.usefixtures("prefect_harness")
class TestSecretsStayOutOfPrefect:
    def test_a_signed_references_url_and_a_tokened_hook_are_not_in_the_ingest_or_job_run_parameters(self, notify_env: Path) -> None:
        files = {"/a.jpg": jpeg_bytes(1), "/b.jpg": jpeg_bytes(2)}
        with file_server(files) as base:
            files["/refs.jsonl"] = "".join(json.dumps({"name": n, "url": f"{base}/{n}?sig=per-file"}) + "\n" for n in ("a.jpg", "b.jpg")).encode()
            with webhook_server() as hooks:
                code, out, err = run(
                    "staging", "create-batch-of-images", "-b", "secret", "--data-source", "references-file",
                    "--references", f"{base}/refs.jsonl?sig={REFS_SIG}", "--allow-private-network",
                    "--notifications-url", hooks.url(f"/ingest?token={HOOK_TOKEN}"), "--json",
                )  # fmt: skip
                assert code == 0, err
                summary = json.loads(out)
                [ingest_note] = hooks.wait_for(1, path="/ingest")

                code, out, err = run("jobs", "process-images-with-workflow", "-w", "image-metadata", "-b", "secret", "-j", "secret-job",
                                     "--notifications-url", hooks.url(f"/job?token={JOB_TOKEN}"), "--json")  # fmt: skip
                assert code == 0, err
                job = json.loads(out)
                [job_note] = hooks.wait_for(1, path="/job")

        # The ingest downloaded through the signed URL, and both subscribers were told.
        assert (summary["ingested"], summary["failed"]) == (2, 0)
        assert ingest_note.json["notification"]["success"] is True and job_note.json["job_state"] == "success"

        ingest_params = {k: v for k, v in flow_run_parameters(summary["flow_run_id"]).items() if v is not None}
        job_params = flow_run_parameters(job["flow_run_id"])
        assert set(ingest_params) == {"push_id"} and ingest_params["push_id"].startswith("cli-")
        assert job_params["job"]["notifications_url"] is None and job_params["job"]["job_id"] == "secret-job"
        shown = json.dumps([ingest_params, job_params])
        for secret in (REFS_SIG, HOOK_TOKEN, JOB_TOKEN, "127.0.0.1"):
            assert secret not in shown

    def test_a_folder_ingest_without_urls_still_shows_its_request(self, tmp_path: Path, notify_env: Path) -> None:
        (tmp_path / "in").mkdir()
        (tmp_path / "in/a.jpg").write_bytes(jpeg_bytes(1))
        code, out, err = run("staging", "create-batch-of-images", "-i", str(tmp_path / "in"), "-b", "plain", "--json")
        assert code == 0, err
        params = flow_run_parameters(json.loads(out)["flow_run_id"])
        assert params["request"]["source"] == str(tmp_path / "in")
