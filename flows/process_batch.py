"""The `process_batch` flow (a job): start -> processing (one task per chunk) -> export -> announce."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, unmapped
from prefect.artifacts import create_markdown_artifact, create_progress_artifact, update_progress_artifact
from prefect.events import emit_event
from prefect.futures import as_completed
from prefect.runtime import flow_run

from docket_core import progress
from docket_core.jobs.leases import outstanding
from docket_core.jobs.models import JobRequest
from docket_core.jobs.queries import job_details
from docket_core.settings import get_settings
from flows.process_chunks import drain_job, start_helpers
from tasks.jobs import check_failure_budget, claim_finish, finish_job, process_chunk, start_job
from tasks.notifications import job_for_ingest
from tasks.resources import build_task_runner, resolve_resources

__all__ = ["process_batch"]


def _key(prefix: str, job_id: str) -> str:
    return f"{prefix}-{job_id.replace('_', '-')}"[:100]


def _summary(d: dict[str, Any]) -> str:
    errors = "\n".join(f"| {t} | {n} |" for t, n in d["errors_by_type"].items()) or "| none | 0 |"
    outputs = d.get("outputs", {})
    return "\n".join(
        [
            f"# Job `{d['job_id']}`: {d['state']}",
            f"Workflow `{d['workflow_id']}` over batch `{d['batch_id']}`.",
            "",
            "| files | succeeded | failed |",
            "|---|---|---|",
            f"| {d['files_total']} | {d['files_succeeded']} | {d['files_failed']} |",
            "",
            "| error type | files |",
            "|---|---|",
            errors,
            "",
            f"Output batch: `{d['output_batch_id']}` "
            f"(`docket staging export-batch --batch-id {d['output_batch_id']} --target-dir out/`).",
            f"Documents: `{outputs.get('documents', '')}`; datapoints: `{outputs.get('datapoints', '')}`.",
            f"{('Error: ' + d['error']) if d.get('error') else ''}",
        ]
    )


@flow(name="process_batch", task_runner=build_task_runner(), log_prints=False)
def process_batch(
    job: JobRequest, store_block: str | None = None, catalog_block: str | None = None, ingest_id: str | None = None,
    fanout: int | None = None,
    take_over_export: bool = False,
) -> dict[str, Any]:
    """Run a workflow over every ingested file of a batch; results land as Parquet in an output batch.

    Per-file errors are recorded, not fatal; the job fails once more than `max_failure_rate` of the
    files failed. Running it again with the same `job_id` resumes: only chunks without results run.

    Args:
        job: the batch, the workflow and the job's options.
        store_block: name of a `DocketStore` block; default from `DOCKET_*` settings.
        catalog_block: name of a `DocketCatalog` block; default from `DOCKET_*` settings.
        ingest_id: the ingest that asked for this job (set by the `docket.batch.ingested` trigger): the
            job id is derived from it and its notification URL is used.
        fanout: start this many runs of the `process-chunks` deployment to share the chunks with
            (other Prefect workers); default DOCKET_JOB_FANOUT; 0 processes every chunk in this run.
        take_over_export: export the job even though another run started exporting it (that run died:
            the job stays `running` at stage `export`). Without it this run leaves the export to that run.
    """
    logger = get_run_logger()
    settings = get_settings()
    resources = resolve_resources(store_block, catalog_block)
    if ingest_id:
        job = job_for_ingest(job, ingest_id, resources)

    plan = start_job(job, resources, settings, str(flow_run.id) if flow_run.id else None, take_over_export)
    logger.info("Job %s: %d files in %d chunks, %d chunks to do", plan.job_id, plan.total_files, plan.total_chunks, len(plan.pending_chunks))
    progress.set_total(plan.job_id, plan.pending_files)

    if not plan.finished and plan.pending_chunks:
        artifact = create_progress_artifact(
            progress=100 * (plan.total_chunks - len(plan.pending_chunks)) / max(plan.total_chunks, 1),
            key=_key("job-progress", plan.job_id),
            description=f"Chunks of job {plan.job_id} processed",
        )
        helpers = settings.job_fanout if fanout is None else fanout
        if helpers:  # chunks leased one at a time by this run and by `helpers` runs on other workers
            start_helpers(plan.job_id, job.workflow_id, helpers, settings, store_block, catalog_block)

            def report(_: object) -> None:
                left = outstanding(resources.catalog(), plan.job_id).chunks
                update_progress_artifact(artifact, progress=100 * (plan.total_chunks - left) / plan.total_chunks)

            drain_job(plan.job_id, job.workflow_id, resources, settings, on_chunk=report)
        else:
            futures = process_chunk.map(
                plan.pending_chunks, workflow_id=job.workflow_id, resources=unmapped(resources), settings=unmapped(settings)
            )
            done = plan.total_chunks - len(plan.pending_chunks)
            for future in as_completed(futures):
                future.result()
                done += 1
                update_progress_artifact(artifact, progress=100 * done / plan.total_chunks)
                if job.max_failure_rate is not None and check_failure_budget(plan.job_id, resources):
                    logger.warning("Job %s exceeded its failure budget; chunks not started are skipped", plan.job_id)

    # Of two runs of one job reaching this point, one exports it (the other leaves it to that one).
    finishing = not plan.finished and claim_finish(plan.job_id, resources)
    notified = False
    if finishing:
        notified = finish_job(plan.job_id, job.workflow_id, resources, settings)["notified"]
    elif not plan.finished:
        logger.info("Job %s is being exported by another run of it", plan.job_id)
    details = job_details(resources.catalog(), plan.job_id, store_uri=resources.store().uri)
    create_markdown_artifact(key=_key("job-summary", plan.job_id), markdown=_summary(details), description=f"Job {plan.job_id}")
    if finishing:
        emit_event(
            event="docket.job.completed",
            resource={"prefect.resource.id": f"docket.job.{plan.job_id}"},
            related=[{"prefect.resource.id": f"docket.batch.{details['batch_id']}", "prefect.resource.role": "batch"}],
            payload=details,
        )
        if notified:  # also after a restart that did not repeat the URL; starts `deliver_notifications` where served
            emit_event(event="docket.notifications.queued", resource={"prefect.resource.id": f"docket.job.{plan.job_id}"})
    logger.info("Job %s %s: %d succeeded, %d failed", plan.job_id, details["state"], details["files_succeeded"], details["files_failed"])
    return details
