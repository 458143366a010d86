"""The `process_batch` flow under a real Prefect test server, and its outputs read by three engines."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pytest

from docket_core.jobs.models import JobRequest
from docket_core.resources import Resources
from docket_core.samples import write_sample_images
from docket_core.staging.models import IngestRequest
from tests.helpers import artifact_keys, write

pytestmark = pytest.mark.usefixtures("prefect_harness")


def stage_samples(folder: Path, batch_id: str) -> None:
    from flows.ingest_batch import ingest_batch

    ingest_batch(request=IngestRequest(batch_id=batch_id, media_kind="images", source_kind="folder", source=str(folder)))


class TestProcessBatchFlow:
    def test_a_job_runs_as_a_flow_and_its_parquet_reads_the_same_in_duckdb_polars_and_pandas(
        self, tmp_path: Path, docket_env: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:

        from flows.process_batch import process_batch

        monkeypatch.setenv("DOCKET_SHARD_SIZE", "5")
        write_sample_images(tmp_path / "in", count=12)
        write(tmp_path / "in/not-really.jpg", b"\xff\xd8\xff\xe0 broken")
        stage_samples(tmp_path / "in", "pics")
        details = process_batch(job=JobRequest(batch_id="pics", workflow_id="image-metadata", job_id="flow-job"))
        assert (details["state"], details["files_succeeded"], details["files_failed"]) == ("succeeded", 12, 0)
        assert details["flow_run_id"] and details["output_batch_id"] == "flow-job-out"

        docs = details["outputs"]["documents"]
        points = details["outputs"]["datapoints"]
        by_pandas = pd.read_parquet(docs.rsplit("/", 1)[0]).sort_values("file_name").reset_index(drop=True)
        by_polars = pl.read_parquet(docs).sort("file_name")
        # fetchall, not .df(): duckdb's pandas bridge trips a pandas 3 deprecation warning
        by_duckdb = duckdb.sql(f"SELECT file_name, width FROM read_parquet('{docs}') ORDER BY file_name").fetchall()
        assert len(by_pandas) == len(by_polars) == len(by_duckdb) == 12
        assert list(by_pandas["width"]) == by_polars["width"].to_list() == [w for _, w in by_duckdb]
        [(gps,)] = duckdb.sql(f"SELECT count(*) FROM read_parquet('{docs}') WHERE gps_latitude BETWEEN 50.08 AND 50.09").fetchall()
        assert gps > 0
        [(groups,)] = duckdb.sql(
            f"SELECT count(DISTINCT value) FROM read_parquet('{points}') WHERE schema_id = 'near_duplicate_group'"
        ).fetchall()
        assert groups >= 1  # the samples include brightened/resized copies

        assert artifact_keys("job-progress-flow-job", "job-summary-flow-job") == {"job-progress-flow-job", "job-summary-flow-job"}

    def test_running_the_same_job_again_returns_it_without_reprocessing(self, tmp_path: Path, docket_env: Path) -> None:
        from flows.process_batch import process_batch

        write_sample_images(tmp_path / "in", count=3)
        stage_samples(tmp_path / "in", "again")
        request = JobRequest(batch_id="again", workflow_id="image-metadata", job_id="again-job")
        first = process_batch(job=request)
        part = Path(Resources.from_settings().store().path("jobs/again-job/documents/part-00000.parquet"))
        before = part.stat().st_mtime_ns
        second = process_batch(job=request)
        assert second["state"] == first["state"] == "succeeded"
        assert part.stat().st_mtime_ns == before

    def test_a_rerun_without_the_url_still_starts_delivery_of_the_notification_the_job_keeps(
        self, tmp_path: Path, docket_env: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import flows.process_batch
        from docket_core.jobs.plan import register_job
        from docket_core.notifications.queries import list_notifications
        from docket_core.workflows.registry import get_workflow, load_workflows
        from flows.process_batch import process_batch

        write_sample_images(tmp_path / "in", count=3)
        stage_samples(tmp_path / "in", "pics")
        resources = Resources.from_settings()
        register_job(JobRequest(batch_id="pics", workflow_id="image-metadata", job_id="kept-url", notifications_url="https://hooks.example.com/j"),
                     get_workflow("image-metadata", load_workflows()), resources)  # fmt: skip
        events: list[str] = []
        real = flows.process_batch.emit_event
        monkeypatch.setattr(flows.process_batch, "emit_event", lambda **kw: (events.append(kw["event"]), real(**kw))[1])
        details = process_batch(job=JobRequest(batch_id="pics", workflow_id="image-metadata", job_id="kept-url"))
        assert details["state"] == "succeeded"
        assert [n["type"] for n in list_notifications(resources.catalog())] == ["job-status"]
        assert events == ["docket.job.completed", "docket.notifications.queued"]
