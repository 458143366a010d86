"""The `ingest_batch` flow: plan shards -> stage and record each shard (one task) -> summarise -> announce."""

from __future__ import annotations

import time

from prefect import flow, get_run_logger, unmapped
from prefect.artifacts import create_markdown_artifact, create_progress_artifact, update_progress_artifact
from prefect.events import emit_event
from prefect.futures import as_completed
from prefect.runtime import flow_run

from docket_core import progress
from docket_core.errors import DocketError, InputError, NotFoundError
from docket_core.notifications.subscriptions import failure_type
from docket_core.pushes import recorded_request, resolve_push
from docket_core.settings import get_settings
from docket_core.staging.models import IngestRequest, IngestSummary
from tasks.ingest import plan_shards, stage_shard, summarise_ingest
from tasks.notifications import report_ingest_failure
from tasks.resources import build_task_runner, resolve_resources

__all__ = ["ingest_batch"]

_PROGRESS_EVERY = 1.0  # seconds between progress artifact updates


def _artifact_key(prefix: str, ingest_id: str) -> str:
    cleaned = "".join(c if c.isalnum() else "-" for c in ingest_id.lower()).strip("-")
    return f"{prefix}-{cleaned}"[:100]


def _summary_markdown(summary: IngestSummary) -> str:
    return "\n".join(
        [
            f"# Ingest `{summary.ingest_id}` into batch `{summary.batch_id}`",
            "",
            "| status | files | ingested | failed | duplicates | shards |",
            "|---|---|---|---|---|---|",
            f"| {summary.status} | {summary.files} | {summary.ingested} | {summary.failed} | "
            f"{summary.duplicates} | {summary.shards} |",
            "",
            f"Details: `docket staging show-batch-details --batch-id {summary.batch_id}`; failed files: "
            f"`docket staging list-ingest-details --batch-id {summary.batch_id}`.",
        ]
    )


@flow(name="ingest_batch", task_runner=build_task_runner(), log_prints=False)
def ingest_batch(
    request: IngestRequest | None = None,
    store_block: str | None = None,
    catalog_block: str | None = None,
    push_id: str | None = None,
) -> IngestSummary | None:
    """Stage files into a batch from a folder, a tar bundle or a references file.

    Every file ends `ingested` or `failed` with a typed reason. Safe to run again with the same
    `ingest_id`: finished shards are skipped, nothing is added twice.

    Args:
        request: what to ingest and where to (give this or `push_id`).
        store_block: name of a `DocketStore` block; default from `DOCKET_*` settings.
        catalog_block: name of a `DocketCatalog` block; default from `DOCKET_*` settings.
        push_id: a request recorded in the catalog (a verified push, set by the
            `docket.ingest.requested` trigger, or one the CLI kept there because it carries URLs).
            A push the catalog does not know starts nothing.
    """
    logger = get_run_logger()
    settings = get_settings()
    resources = resolve_resources(store_block, catalog_block)
    if (request is None) == (push_id is None):
        raise InputError("expected exactly one of request or push_id, got " + ("both" if push_id is not None else "neither"))
    try:
        # A push's request comes from the catalog, never from Prefect (nor from whoever posted the event).
        if push_id is not None:
            request = recorded_request(resources.catalog(), push_id)
        else:
            request = resolve_push(resources.catalog(), request)  # type: ignore[arg-type]
    except NotFoundError as exc:
        logger.error("Nothing ingested: %s (an event that did not come from the receiver starts no ingest)", exc)
        return None

    try:
        plan = plan_shards(request, resources, settings)
    except DocketError as exc:
        if request.notifications_url:
            report_ingest_failure(request, failure_type(exc), str(exc), resources)
            emit_event(event="docket.notifications.queued", resource={"prefect.resource.id": f"docket.ingest.{request.ingest_id}"})
        raise
    logger.info(
        "Ingest %s into batch %s: %d files in %d shards, %d to do",
        plan.ingest_id, plan.batch_id, plan.total_files, plan.total_shards, len(plan.pending_shards),
    )  # fmt: skip

    progress.set_total(plan.ingest_id, plan.pending_files)
    if plan.pending_shards:
        progress_id = create_progress_artifact(
            progress=100 * (plan.total_shards - len(plan.pending_shards)) / max(plan.total_shards, 1),
            key=_artifact_key("ingest-progress", plan.ingest_id),
            description=f"Shards of ingest {plan.ingest_id} recorded",
        )
        # Pydantic models are iterable: `unmapped` keeps map from iterating over them.
        recorded = stage_shard.map(
            plan.pending_shards, resources=unmapped(resources), settings=unmapped(settings),
            allow_private_network=request.allow_private_network,
        )  # fmt: skip
        done = plan.total_shards - len(plan.pending_shards)
        updated = time.monotonic()
        for future in as_completed(recorded):
            future.result()
            done += 1
            # Each update is an API call, and shards tend to finish together: at most one a second,
            # and always the last.
            if done == plan.total_shards or time.monotonic() - updated >= _PROGRESS_EVERY:
                update_progress_artifact(progress_id, progress=100 * done / plan.total_shards)
                updated = time.monotonic()

    summary = summarise_ingest(plan.ingest_id, resources, str(flow_run.id) if flow_run.id else None)
    if plan.already_completed:
        summary.already_completed = True
    create_markdown_artifact(
        key=_artifact_key("ingest-summary", plan.ingest_id),
        markdown=_summary_markdown(summary),
        description=f"Ingest {plan.ingest_id}",
    )
    if summary.status == "completed" and not plan.already_completed:
        emit_event(
            event="docket.batch.ingested",
            # The label lets a deployment trigger start the job only when the ingest named a workflow.
            resource={"prefect.resource.id": f"docket.batch.{summary.batch_id}",
                      "docket.workflow-requested": "true" if request.workflow_id else "false"},  # fmt: skip
            related=[{"prefect.resource.id": f"docket.ingest.{summary.ingest_id}", "prefect.resource.role": "ingest"}],
            payload={**summary.model_dump(mode="json"), "workflow_id": request.workflow_id},
        )
        if request.notifications_url:  # starts `deliver_notifications` where deployments are served
            emit_event(event="docket.notifications.queued", resource={"prefect.resource.id": f"docket.ingest.{summary.ingest_id}"})
    logger.info(
        "Ingest %s %s: %d ingested, %d failed, %d duplicates",
        summary.ingest_id, summary.status, summary.ingested, summary.failed, summary.duplicates,
    )  # fmt: skip
    return summary
