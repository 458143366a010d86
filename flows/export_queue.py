"""The `export_queue` flow: every document that became ready since the last export, exactly once.

per queue (one, or every queue): finish any export a crash left `claimed` -> claim the ready documents (`exporting`, one transaction)
-> `export` extensions (subflow): an error message moves a document to `failed_export` -> write one
Parquet part under `exports/queue=<id>/date=<YYYY-MM-DD>/` (atomic, at a key fixed by the export id)
-> mark `exported`, record the export and queue subscribers' notifications (one transaction) -> events
(`docket.notifications.queued` starts their delivery) -> summary.
"""

from __future__ import annotations

import datetime
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.events import emit_event
from prefect.runtime import flow_run
from pydantic import BaseModel, Field

from docket_core.queues.export import ExportClaim, ExportFilters
from docket_core.settings import get_settings
from flows.run_extensions import artifact_key, run_extensions
from tasks.extensions import build_extension_runner, plan_extensions
from tasks.queues import (
    announce,
    claim_export,
    commit_export,
    exporting_ids,
    fail_export,
    queue_ids,
    unfinished_exports,
    write_export_part,
)
from tasks.resources import build_task_runner, resolve_resources

__all__ = ["ExportSummary", "export_queue"]


class ExportSummary(BaseModel):
    """The exports one run committed (resumed ones first), and where their parts are."""

    queue_ids: list[str] = Field(default_factory=list)
    exports: list[dict[str, Any]] = Field(default_factory=list)
    exported: int = 0
    failed: int = 0
    flow_run_id: str | None = None


def _markdown(summary: ExportSummary, store_uri: Any) -> str:
    queues = ", ".join(f"`{q}`" for q in summary.queue_ids) or "no queue"
    lines = [f"# Export of {queues}", "", "| export | documents | failed export | part |", "|---|---|---|---|"]
    for e in summary.exports:
        part = f"`{store_uri(e['key'])}`" if e["key"] else "none (nothing left to write)"
        lines.append(f"| {e['export_id']}{' (resumed)' if e['resumed'] else ''} | {e['exported']} | {e['failed']} | {part} |")
    if not summary.exports:
        lines.append("| none | 0 | 0 | nothing was ready |")
    lines += ["", f"Read them: `duckdb -c \"SELECT * FROM read_parquet('{store_uri('exports')}/*/*/*.parquet', hive_partitioning=true)\"`"]
    return "\n".join(lines)


def _finish(claim: ExportClaim, resources: Any, actor: str) -> dict[str, Any]:
    """Steps 2-4 for one claimed export (a new one, or one a crash left behind)."""
    per_document = claim.claimed <= get_settings().max_document_events
    ids: list[int] = []
    if not plan_extensions(claim.queue_id, "annotation_content.export", resources).empty:
        ids = exporting_ids(claim.export_id, resources)
        run = run_extensions.with_options(task_runner=build_extension_runner())(
            claim.queue_id, "annotation_content.export", document_ids=ids, actor=actor
        )
        reasons = {o.document_id: "; ".join(o.run_errors) for o in run.outcomes if o.run_errors}
        if reasons:
            announce(fail_export(reasons, resources, actor))
            ids = [doc for doc in ids if doc not in reasons]
    elif per_document:
        ids = exporting_ids(claim.export_id, resources)
    written = write_export_part(claim, resources)
    result = commit_export(claim, written, resources, actor)
    exported = [(doc, claim.queue_id, claim.export_id) for doc in ids] if per_document and result["exported"] == len(ids) else []
    announce([], exported=exported, notified=result["notified"], queue_id=claim.queue_id)
    return result


@flow(name="export_queue", task_runner=build_task_runner(work="io"), log_prints=False)
def export_queue(
    queue_id: str | None = None,
    statuses: list[str] | None = None,
    since: datetime.datetime | None = None,
    until: datetime.datetime | None = None,
    document_ids: list[int] | None = None,
    actor: str = "export",
    store_block: str | None = None,
    catalog_block: str | None = None,
) -> ExportSummary:
    """Export what is ready in a queue (or in every queue) to Parquet, exactly once, safe to kill and rerun.

    Args:
        queue_id: the queue to export; empty: every queue (what the scheduled deployment does).
        statuses: only documents in these statuses (default: confirmed, and to_review when the queue
            exports those too).
        since: only documents that became ready at or after this time.
        until: only documents that became ready before this time.
        document_ids: only these documents (default: every ready one).
        actor: recorded in each document's history.
        store_block: name of a `DocketStore` block; default from `DOCKET_*` settings.
        catalog_block: name of a `DocketCatalog` block; default from `DOCKET_*` settings.
    """
    logger = get_run_logger()
    resources = resolve_resources(store_block, catalog_block)
    summary = ExportSummary(queue_ids=[queue_id] if queue_id else queue_ids(resources), flow_run_id=str(flow_run.id) if flow_run.id else None)
    filters = ExportFilters(statuses=statuses or [], since=since, until=until, document_ids=document_ids or [])

    for queue in summary.queue_ids:
        for claim in unfinished_exports(queue, resources):
            logger.warning("Export %s was interrupted after claiming %d documents; finishing it first", claim.export_id, claim.claimed)
            summary.exports.append(_finish(claim, resources, actor))
        claim = claim_export(queue, filters, resources, actor, summary.flow_run_id)
        if claim is not None:
            summary.exports.append(_finish(claim, resources, actor))

    summary.exported = sum(e["exported"] for e in summary.exports)
    summary.failed = sum(e["failed"] for e in summary.exports)
    create_markdown_artifact(
        key=artifact_key("export", queue_id or "all-queues"), markdown=_markdown(summary, resources.store().uri),
        description=f"Export of {queue_id or 'every queue'}",
    )  # fmt: skip
    for done in summary.exports:
        emit_event(
            event="docket.queue.exported",
            resource={"prefect.resource.id": f"docket.queue.{done['queue_id']}"},
            related=[{"prefect.resource.id": f"docket.export.{done['export_id']}", "prefect.resource.role": "export"}],
            payload=done,
        )
    logger.info("%d documents exported, %d failed export, in %d exports", summary.exported, summary.failed, len(summary.exports))
    return summary
