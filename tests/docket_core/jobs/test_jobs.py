"""Jobs without Prefect: register, start, process chunks, finish; outputs read back as Parquet."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from docket_core.errors import ConflictError, InputError, NotFoundError
from docket_core.jobs.finish import finish_job, request_abort
from docket_core.jobs.models import JobRequest
from docket_core.jobs.plan import register_job, start_job
from docket_core.jobs.process import process_chunk
from docket_core.jobs.queries import job_details, list_jobs
from docket_core.resources import Resources
from docket_core.settings import DocketSettings
from docket_core.staging.ingest import ingest_shard
from docket_core.staging.models import IngestRequest
from docket_core.staging.plan import begin_ingest
from docket_core.staging.queries import batch_content
from docket_core.staging.record import finish_ingest, record_shard
from docket_core.workflows.model import FileContext, StepOutput
from docket_core.workflows.registry import Workflow, get_workflow, load_workflows
from tests.helpers import image_folder, write


@pytest.fixture
def resources(catalog_url: str, tmp_path: Path) -> Resources:
    return Resources(store_url=str(tmp_path / "store"), catalog_url=catalog_url)


@pytest.fixture
def settings() -> DocketSettings:
    return DocketSettings(shard_size=4)


def stage(folder: Path, resources: Resources, settings: DocketSettings, batch_id: str = "imgs", kind: str = "images") -> None:
    plan = begin_ingest(IngestRequest(batch_id=batch_id, media_kind=kind, source_kind="folder", source=str(folder)), resources, settings)  # type: ignore[arg-type]
    for shard_id in plan.pending_shards:
        record_shard(resources.catalog(), shard_id, ingest_shard(shard_id, resources, settings))
    finish_ingest(resources.catalog(), plan.ingest_id)


def run(request: JobRequest, workflow: Workflow, resources: Resources, settings: DocketSettings, *, stop_after: int | None = None) -> dict:
    job_id = register_job(request, workflow, resources)
    plan = start_job(job_id, resources, settings)
    for n, chunk_id in enumerate(plan.pending_chunks):
        if stop_after is not None and n == stop_after:
            return job_details(resources.catalog(), job_id)
        process_chunk(chunk_id, workflow, resources, settings)
    finish_job(job_id, workflow, resources)
    return job_details(resources.catalog(), job_id, store_uri=resources.store().uri)


def read_documents(resources: Resources, job_id: str):  # noqa: ANN201
    return pq.read_table(resources.store().path(f"jobs/{job_id}/documents")).to_pandas()


def _boom(ctx: FileContext) -> StepOutput:
    if ctx.name.endswith("3.jpg"):
        raise RuntimeError("step bug on purpose")
    return StepOutput(datapoints={"seen": ctx.datapoints.get("width")})


class TestImageMetadataJob:
    def test_every_file_lands_once_with_typed_columns(self, tmp_path: Path, resources: Resources, settings: DocketSettings) -> None:
        stage(image_folder(tmp_path / "in", 10), resources, settings)
        workflow = get_workflow("image-metadata", load_workflows())
        details = run(JobRequest(batch_id="imgs", workflow_id="image-metadata", job_id="j1"), workflow, resources, settings)
        assert (details["state"], details["files_succeeded"], details["files_failed"]) == ("succeeded", 10, 0)
        docs = read_documents(resources, "j1")
        assert sorted(docs["file_name"]) == [f"img{i:04d}.jpg" for i in range(10)]
        assert set(docs["width"]) == {32} and docs["width"].dtype == "int64"
        assert {"batch_id", "job_id", "file_name", "status", "error_type"} <= set(docs.columns)
        out = {f["name"] for f in batch_content(resources.catalog(), details["output_batch_id"])}
        assert {"documents/part-00000.parquet", "datapoints/part-00000.parquet"} <= out

    def test_a_restart_after_a_crash_processes_only_what_has_no_result(self, tmp_path: Path, resources: Resources, settings: DocketSettings) -> None:
        stage(image_folder(tmp_path / "in", 10), resources, settings)
        workflow = get_workflow("image-metadata", load_workflows())
        request = JobRequest(batch_id="imgs", workflow_id="image-metadata", job_id="crash")
        partial = run(request, workflow, resources, settings, stop_after=1)
        assert partial["chunks_done"] == 1 and partial["state"] == "running"
        done = run(request, workflow, resources, settings)
        assert (done["state"], done["files_succeeded"]) == ("succeeded", 10)
        docs = read_documents(resources, "crash")
        assert len(docs) == 10 and docs["file_name"].is_unique


class TestFailures:
    def test_a_step_error_fails_only_that_file_and_is_grouped_by_type(self, tmp_path: Path, resources: Resources, settings: DocketSettings) -> None:
        stage(image_folder(tmp_path / "in", 6), resources, settings)
        workflow = Workflow.build("boom", [("boom", _boom, ())], media=["images"], fields={"seen": "int"})
        details = run(JobRequest(batch_id="imgs", workflow_id="boom", job_id="jb"), workflow, resources, settings)
        assert (details["state"], details["files_succeeded"], details["files_failed"]) == ("succeeded", 5, 1)
        assert details["errors_by_type"] == {"processing-error": 1}
        docs = read_documents(resources, "jb").set_index("file_name")
        assert "step bug on purpose" in docs.loc["img0003.jpg", "error_reason"]

    def test_more_failures_than_the_budget_fail_the_job(self, tmp_path: Path, resources: Resources, settings: DocketSettings) -> None:
        stage(image_folder(tmp_path / "in", 6), resources, settings)
        workflow = Workflow.build("boom", [("boom", _boom, ())], media=["images"])
        details = run(JobRequest(batch_id="imgs", workflow_id="boom", job_id="jr", max_failure_rate=0.1), workflow, resources, settings)
        assert details["state"] == "failed" and "more than the allowed 10%" in details["error"]

    def test_an_aborted_job_skips_what_has_not_started_and_restarts_later(self, tmp_path: Path, resources: Resources, settings: DocketSettings) -> None:
        stage(image_folder(tmp_path / "in", 8), resources, settings)
        workflow = get_workflow("image-metadata", load_workflows())
        job_id = register_job(JobRequest(batch_id="imgs", workflow_id="image-metadata", job_id="ja"), workflow, resources)
        plan = start_job(job_id, resources, settings)
        process_chunk(plan.pending_chunks[0], workflow, resources, settings)
        request_abort(resources.catalog(), job_id)
        assert process_chunk(plan.pending_chunks[1], workflow, resources, settings).status == "skipped"
        finish_job(job_id, workflow, resources)
        assert job_details(resources.catalog(), job_id)["state"] == "aborted"
        again = run(JobRequest(batch_id="imgs", workflow_id="image-metadata", job_id="ja"), workflow, resources, settings)
        assert (again["state"], again["files_succeeded"]) == ("succeeded", 8)


class TestIdentity:
    def test_the_same_job_id_with_another_definition_is_refused(self, tmp_path: Path, resources: Resources, settings: DocketSettings) -> None:
        stage(image_folder(tmp_path / "in", 2), resources, settings)
        image = get_workflow("image-metadata", load_workflows())
        register_job(JobRequest(batch_id="imgs", workflow_id="image-metadata", job_id="same"), image, resources)
        assert register_job(JobRequest(batch_id="imgs", workflow_id="image-metadata", job_id="same"), image, resources) == "same"
        other = Workflow.build("boom", [("boom", _boom, ())], media=["images"])
        with pytest.raises(ConflictError, match="job id 'same' was used"):
            register_job(JobRequest(batch_id="imgs", workflow_id="boom", job_id="same"), other, resources)

    def test_a_workflow_for_other_media_is_refused(self, tmp_path: Path, resources: Resources, settings: DocketSettings) -> None:
        stage(image_folder(tmp_path / "in", 1), resources, settings)
        invoices = get_workflow("invoice-capture", load_workflows())
        with pytest.raises(InputError, match="processes documents; batch 'imgs' holds images"):
            register_job(JobRequest(batch_id="imgs", workflow_id="invoice-capture"), invoices, resources)

    def test_an_unknown_batch_or_workflow_says_what_exists(self, resources: Resources) -> None:
        with pytest.raises(NotFoundError, match="no workflow 'nope'; known: image-metadata"):
            get_workflow("nope", load_workflows())
        image = get_workflow("image-metadata", load_workflows())
        with pytest.raises(NotFoundError, match="no batch 'ghost'"):
            register_job(JobRequest(batch_id="ghost", workflow_id="image-metadata"), image, resources)
        assert list_jobs(resources.catalog()) == []
