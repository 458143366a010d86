"""The `import_documents` flow: documents into a queue, captured, extended, and confirmed if nothing blocks.

(e-mail: read and stage its attachments -> `email` extensions keep some) -> register the documents
(`importing`, once per import key) -> capture each chunk with the queue's workflow (`to_review`) ->
`initialize` extensions (subflow) -> with `auto_confirm`: `confirm` extensions (subflow) on the documents
with no error message or automation blocker, then `confirmed` -> events -> summary.

Running it again with the same request resumes: documents still `importing` are captured, those not yet
initialized get their extensions, and confirmation considers the rest.
"""

from __future__ import annotations

from prefect import flow, get_run_logger, unmapped
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run
from pydantic import BaseModel, Field

from docket_core.queues.importing import ImportRequest
from docket_core.settings import get_settings
from flows.document_action import confirm_stage
from flows.run_extensions import EmailInput, artifact_key, run_extensions
from tasks.extensions import build_extension_runner, plan_extensions
from tasks.queues import (
    announce,
    auto_confirm_candidates,
    capture_documents,
    email_documents,
    finish_initialize,
    load_queue,
    pending_documents,
    read_email,
    register_documents,
)
from tasks.resources import build_task_runner, resolve_resources

__all__ = ["ImportSummary", "import_documents"]


class ImportSummary(BaseModel):
    """What an import did, by document status, and where to look next."""

    queue_id: str
    document_ids: list[int] = Field(default_factory=list)
    created: int = 0
    existing: int = 0
    captured: int = 0
    failed_import: int = 0
    confirmed: int = 0
    blocked: dict[int, list[str]] = Field(default_factory=dict, description="Documents left to review, and why.")
    email_rejected: dict[str, str] = Field(default_factory=dict, description="Attachments that are no documents, and why.")
    email_dropped: list[str] = Field(default_factory=list, description="Attachments an e-mail extension did not keep.")
    flow_run_id: str | None = None


def _markdown(s: ImportSummary) -> str:
    lines = [
        f"# Import into queue `{s.queue_id}`",
        "",
        "| documents | new | already there | captured | failed import | confirmed | to review |",
        "|---|---|---|---|---|---|---|",
        f"| {len(s.document_ids)} | {s.created} | {s.existing} | {s.captured} | {s.failed_import} | {s.confirmed} | {len(s.blocked)} |",
    ]
    if s.blocked:
        lines += ["", "| document | why it waits for review |", "|---|---|"]
        lines += [f"| {doc} | {'; '.join(why)[:300] or 'automatic confirmation is off'} |" for doc, why in sorted(s.blocked.items())[:50]]
    lines += ["", f"Next: `docket documents list --queue {s.queue_id}`, `docket documents show --id N`."]
    return "\n".join(lines)


@flow(name="import_documents", task_runner=build_task_runner(work="io"), log_prints=False)
def import_documents(request: ImportRequest, store_block: str | None = None, catalog_block: str | None = None) -> ImportSummary:
    """Bring a batch, a job's output, uploaded files or an e-mail into a queue, and take them to review.

    Args:
        request: the queue and where the documents come from.
        store_block: name of a `DocketStore` block; default from `DOCKET_*` settings.
        catalog_block: name of a `DocketCatalog` block; default from `DOCKET_*` settings.
    """
    logger = get_run_logger()
    settings = get_settings()
    resources = resolve_resources(store_block, catalog_block)
    queue = load_queue(request.queue_id, resources)
    summary = ImportSummary(queue_id=queue.queue_id, flow_run_id=str(flow_run.id) if flow_run.id else None)

    items = None
    if request.source == "email":
        intake = read_email(request.email_key or "", resources, settings)
        kept = intake.files
        if not plan_extensions(queue.queue_id, "email.received", resources).empty:
            run = run_extensions.with_options(task_runner=build_extension_runner())(
                queue.queue_id, "email.received", email=EmailInput(email_id=intake.email_id, files=intake.files, headers=intake.headers, body=intake.body)
            )  # fmt: skip
            kept = run.email_files or []
        kept_ids = {str(f.get("id")) for f in kept}
        summary.email_dropped = [f["filename"] for f in intake.files if str(f["id"]) not in kept_ids]
        summary.email_rejected = {f["filename"]: intake.rejected[f["id"]] for f in intake.files if f["id"] in intake.rejected}
        items = email_documents(intake, kept)
        if not items:
            logger.warning("E-mail %s: no attachment became a document (%s)", intake.email_id, summary.email_rejected or "none kept")
            return summary

    plan = register_documents(request, resources, settings, items)
    summary.document_ids, summary.created, summary.existing = plan.document_ids, plan.created, plan.existing
    announce(plan.changes)

    to_capture = pending_documents(plan.document_ids, "importing", resources)
    if to_capture:
        size = get_settings().import_chunk_size
        chunks = [to_capture[i : i + size] for i in range(0, len(to_capture), size)]
        captures = capture_documents.map(
            chunks, range(len(chunks)), queue_id=queue.queue_id, resources=unmapped(resources), settings=unmapped(settings),
            actor=request.actor,
        )  # fmt: skip
        for done in captures.result():
            summary.captured += len(done.captured)
            summary.failed_import += len(done.failed)
            announce(done.changes)

    to_initialize = pending_documents(plan.document_ids, "to_review", resources, initialized=False)
    if to_initialize:
        if plan_extensions(queue.queue_id, "annotation_content.initialize", resources).empty:
            finish_initialize(to_initialize, resources)
        else:
            run_extensions.with_options(task_runner=build_extension_runner())(
                queue.queue_id, "annotation_content.initialize", document_ids=to_initialize, actor=request.actor
            )

    candidates = auto_confirm_candidates(plan.document_ids, resources)
    summary.blocked = {doc: why for doc, why in candidates.items() if why or not queue.auto_confirm}
    ready = sorted(doc for doc, why in candidates.items() if not why)
    if queue.auto_confirm and ready:
        confirmed = confirm_stage(ready, {doc: queue.queue_id for doc in ready}, resources, "automation")
        summary.blocked.update(confirmed.refused)
        summary.confirmed = len(confirmed.moved)

    create_markdown_artifact(
        key=artifact_key("import", queue.queue_id), markdown=_markdown(summary), description=f"Import into {queue.queue_id}"
    )
    logger.info(
        "Queue %s: %d documents (%d new), %d captured, %d failed import, %d confirmed, %d to review",
        queue.queue_id, len(summary.document_ids), summary.created, summary.captured, summary.failed_import,
        summary.confirmed, len(summary.blocked),
    )  # fmt: skip
    return summary
