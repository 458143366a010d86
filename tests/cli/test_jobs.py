"""`docket jobs ...` and `docket workflows ...` as a user types them."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from docket_core.cli import app
from docket_core.samples import write_sample_images

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.usefixtures("prefect_harness")
class TestJobs:
    def test_process_then_show_details_prints_the_json_contract(self, tmp_path: Path, docket_env: Path) -> None:
        write_sample_images(tmp_path / "in", count=4)
        assert run("staging", "create-batch-of-images", "-i", str(tmp_path / "in"), "-b", "cli-pics", "--json")[0] == 0
        code, out, _ = run("jobs", "process-images-with-workflow", "--workflow-id", "image-metadata", "--batch-id", "cli-pics",
                           "--job-id", "cli-job", "--json")  # fmt: skip
        assert code == 0
        ended = json.loads(out)
        code, out, _ = run("jobs", "show-job-details", "--job-id", "cli-job", "--json")
        details = json.loads(out)
        contract = {"job_id", "batch_id", "workflow_id", "state", "files_succeeded", "files_failed", "output_batch_id", "flow_run_id"}
        assert contract <= set(details) and contract <= set(ended)
        assert (details["state"], details["files_succeeded"], details["files_failed"]) == ("succeeded", 4, 0)
        code, out, _ = run("jobs", "list", "--json")
        assert [j["job_id"] for j in json.loads(out)] == ["cli-job"]
        code, out, _ = run("staging", "list-batch-content", "--batch-id", "cli-job-out", "--json")
        names = [json.loads(line)["name"] for line in out.splitlines()]
        assert "documents/part-00000.parquet" in names
        code, out, _ = run("staging", "export-batch", "--batch-id", "cli-job-out", "--target-dir", str(tmp_path / "out"), "--json")
        assert code == 0 and (tmp_path / "out/documents/part-00000.parquet").stat().st_size > 0

    def test_no_wait_returns_at_once_and_the_background_job_finishes(self, tmp_path: Path, docket_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        from prefect.settings import PREFECT_API_URL

        monkeypatch.setenv("PREFECT_API_URL", PREFECT_API_URL.value())  # the background process joins the test server
        write_sample_images(tmp_path / "in", count=3)
        assert run("staging", "create-batch-of-images", "-i", str(tmp_path / "in"), "-b", "bg-pics", "--json")[0] == 0
        code, out, _ = run("jobs", "process-images-with-workflow", "-w", "image-metadata", "-b", "bg-pics", "-j", "bg-job", "--no-wait", "--json")
        assert code == 0 and json.loads(out)["state"] in ("pending", "running")
        deadline = time.monotonic() + 180
        state = "pending"
        while time.monotonic() < deadline and state in ("pending", "running"):
            time.sleep(0.5)
            state = json.loads(run("jobs", "show-job-details", "-j", "bg-job", "--json")[1])["state"]
        assert state == "succeeded"
        # The job's row says so before its process has closed its Prefect run and left: that follows.
        from docket_core.cli import jobs

        assert [p.wait(timeout=120) for p in jobs._background] == [0] * len(jobs._background)
        jobs._background.clear()

    def test_a_wrong_workflow_for_the_batch_exits_2_and_says_why(self, tmp_path: Path, docket_env: Path) -> None:
        write_sample_images(tmp_path / "in", count=1)
        run("staging", "create-batch-of-images", "-i", str(tmp_path / "in"), "-b", "wrong", "--json")
        code, _, err = run("jobs", "process-images-with-workflow", "-w", "invoice-capture", "-b", "wrong")
        assert code == 2 and "processes documents; batch 'wrong' holds images" in err


class TestAbort:
    def test_aborting_an_unknown_job_says_how_to_list_jobs(self, docket_env: Path) -> None:
        code, _, err = run("jobs", "abort-job", "--job-id", "ghost")
        assert code == 2 and "no job 'ghost'" in err and "docket jobs list" in err


class TestWorkflows:
    def test_workflows_list_json_names_the_built_ins_with_their_levels(self, docket_env: Path) -> None:
        code, out, _ = run("workflows", "list", "--json")
        found = {w["workflow_id"]: w for w in json.loads(out)}
        assert code == 0 and {"image-metadata", "invoice-capture", "video-frames"} <= set(found)
        assert found["invoice-capture"]["levels"] == [["extract"], ["checks"]]
