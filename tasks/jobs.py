"""Job stages as Prefect tasks: start, process a chunk (or the next free one), finish (export)."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from docket_core.jobs.finish import failure_budget_exceeded, finish_job as _finish_job, request_abort
from docket_core.jobs.leases import claim_finish as _claim_finish
from docket_core.jobs.models import ChunkSummary, JobPlan, JobRequest
from docket_core.jobs.plan import register_job, start_job as _start_job
from docket_core.jobs.process import process_chunk as _process_chunk, process_next_chunk as _process_next_chunk
from docket_core.resources import Resources
from docket_core.settings import DocketSettings
from docket_core.workflows.registry import Workflow, get_workflow, load_workflows
from tasks.retry import retry_unless_bad_input

__all__ = ["check_failure_budget", "claim_finish", "finish_job", "load_workflow", "process_chunk", "process_next_chunk", "start_job"]


def load_workflow(workflow_id: str, settings: DocketSettings) -> Workflow:
    """The workflow by id: built in, or from DOCKET_WORKFLOW_PATHS / DOCKET_WORKFLOW_MODULES."""
    return get_workflow(workflow_id, load_workflows(settings.workflow_paths, settings.workflow_modules))


@task(name="start-job", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2, retry_condition_fn=retry_unless_bad_input)
def start_job(
    request: JobRequest, resources: Resources, settings: DocketSettings, flow_run_id: str | None, take_over_export: bool = False
) -> JobPlan:
    """Register the job (or find it) and split its batch into chunks once."""
    workflow = load_workflow(request.workflow_id, settings)
    job_id = register_job(request, workflow, resources)
    return _start_job(job_id, resources, settings, flow_run_id=flow_run_id, take_over_export=take_over_export)


@task(name="process-chunk", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5,
      retry_condition_fn=retry_unless_bad_input, task_run_name="process-{chunk_id}")  # fmt: skip
def process_chunk(chunk_id: str, workflow_id: str, resources: Resources, settings: DocketSettings) -> ChunkSummary:
    """Every file of one chunk through the workflow, into one Parquet part."""
    return _process_chunk(chunk_id, load_workflow(workflow_id, settings), resources, settings)


@task(name="process-next-chunk", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5,
      retry_condition_fn=retry_unless_bad_input, task_run_name="process-next-chunk-{job_id}")  # fmt: skip
def process_next_chunk(job_id: str, workflow_id: str, resources: Resources, settings: DocketSettings) -> ChunkSummary | None:
    """Lease the job's next free chunk and process it, into one Parquet part; None when none is free."""
    return _process_next_chunk(job_id, load_workflow(workflow_id, settings), resources, settings)


@task(name="claim-finish", cache_policy=NO_CACHE)
def claim_finish(job_id: str, resources: Resources) -> bool:
    """Whether this run exports the job: of two runs of one job reaching the end, one does."""
    return _claim_finish(resources.catalog(), job_id)


@task(name="check-failure-budget", cache_policy=NO_CACHE)
def check_failure_budget(job_id: str, resources: Resources) -> str | None:
    """Stop the job (skip chunks not started) once too many files failed."""
    reason = failure_budget_exceeded(resources.catalog(), job_id)
    if reason:
        request_abort(resources.catalog(), job_id, reason)
    return reason


@task(name="export", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5, retry_condition_fn=retry_unless_bad_input)
def finish_job(job_id: str, workflow_id: str, resources: Resources, settings: DocketSettings) -> dict[str, Any]:
    """Batch steps, the output batch of Parquet parts, and the final state."""
    return _finish_job(job_id, load_workflow(workflow_id, settings), resources)
