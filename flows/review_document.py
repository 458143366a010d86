"""The `review_document` flow: a person confirms or corrects a document in the Prefect UI.

mark it `reviewing` -> `started` extensions -> a markdown artifact with its fields and messages -> pause
for the person's input (a form with every plain field, prefilled, and the decision) -> their
corrections as an edit (`updated` extensions) -> confirm (`confirm` extensions), reject or postpone.
Resume it from the UI, or with `prefect.flow_runs.resume_flow_run(flow_run_id, run_input={...})`.
"""

from __future__ import annotations

from typing import Any, Literal

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput
from pydantic import Field, create_model

from docket_core.queues.documents import document_details
from docket_core.queues.fields import format_value
from docket_core.queues.models import QueueSpec
from docket_core.settings import get_settings
from flows.document_action import ActionSummary, confirm_stage
from flows.run_extensions import artifact_key, run_extensions
from tasks.extensions import build_extension_runner, plan_extensions
from tasks.queues import announce, edit_document, load_queue, set_documents_status
from tasks.resources import build_task_runner, resolve_resources

__all__ = ["ReviewDecision", "resume_waiting_review", "review_document", "review_form", "review_page_url"]

ReviewDecision = Literal["confirm", "reject", "postpone"]


def review_form(queue: QueueSpec, values: dict[str, Any]) -> type[RunInput]:
    """The form the person fills in: the decision, a note, and each plain field prefilled with its value."""
    fields: dict[str, Any] = {
        "decision": (ReviewDecision, Field(default="confirm", description="confirm, reject or postpone")),
        "note": (str, Field(default="", description="Why (kept in the document's history).")),
        "decided_in_review_page": (bool, Field(default=False, description="Set by the review page: the decision is made there already.")),
    }
    for spec in queue.scalar_fields():
        fields[spec.id] = (str, Field(default=format_value(spec, values.get(spec.id)), title=spec.label or spec.id,
                                      description=f"{spec.type}{', required' if spec.required else ''}"))  # fmt: skip
    return create_model(f"Review_{queue.queue_id.replace('-', '_')}", __base__=RunInput, **fields)


def review_page_url(document_id: int) -> str:
    """Where the review page of a document is, as people reach `docket serve` (DOCKET_PUBLIC_URL)."""
    from docket_core.settings import get_settings

    base = get_settings().public_base_url
    return f"{base.rstrip('/')}/review/documents/{document_id}"


def resume_waiting_review(document_id: int, decision: str, note: str = "") -> list[str]:
    """Resume the `review_document` runs paused for this document: the decision was made on the review page.

    Returns the ids of the runs resumed (none when no run waits, the usual case).
    """
    from prefect import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType
    from prefect.flow_runs import resume_flow_run

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["review_document"])),
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))),
        )
    resumed = []
    for run in runs:
        if run.parameters.get("document_id") == document_id:
            resume_flow_run(run.id, run_input={"decision": decision, "note": note, "decided_in_review_page": True})
            resumed.append(str(run.id))
    return resumed


def _markdown(details: dict[str, Any]) -> str:
    lines = [f"# Review document {details['document_id']}: `{details['file_name']}`", "",
             f"Open it beside its fields in the [review page]({review_page_url(details['document_id'])}), "
             "or fill in the form of this paused run.", "", "| field | value |", "|---|---|"]
    lines += [f"| {k} | {v if not isinstance(v, list) else f'{len(v)} rows'} |" for k, v in details["values"].items()]
    if details["messages"]:
        lines += ["", "| type | message | from |", "|---|---|---|"]
        lines += [f"| {m['type']} | {m['content']} | {m.get('source', '')} |" for m in details["messages"]]
    return "\n".join(lines)


@flow(name="review_document", task_runner=build_task_runner(work="io"), log_prints=False)
def review_document(
    document_id: int,
    actor: str = "reviewer",
    timeout_s: int | None = None,
    store_block: str | None = None,
    catalog_block: str | None = None,
) -> ActionSummary:
    """Pause for a person to confirm, correct, reject or postpone one document.

    Args:
        document_id: the document to review (in to_review or postponed).
        actor: who reviews, recorded in the history.
        timeout_s: how long to wait for the person (default DOCKET_REVIEW_TIMEOUT); then the flow fails
            and the document stays `reviewing` until someone acts on it.
        store_block: name of a `DocketStore` block; default from `DOCKET_*` settings.
        catalog_block: name of a `DocketCatalog` block; default from `DOCKET_*` settings.
    """
    logger = get_run_logger()
    settings = get_settings()
    resources = resolve_resources(store_block, catalog_block)
    announce(set_documents_status([document_id], "reviewing", resources, actor, "review started"))
    details = document_details(resources.catalog(), document_id)
    queue = load_queue(details["queue_id"], resources)
    if not plan_extensions(queue.queue_id, "annotation_content.started", resources).empty:
        run_extensions.with_options(task_runner=build_extension_runner())(
            queue.queue_id, "annotation_content.started", document_ids=[document_id], actor=actor
        )
        details = document_details(resources.catalog(), document_id)
    create_markdown_artifact(key=artifact_key("review", str(document_id)), markdown=_markdown(details), description="What to review")

    form = review_form(queue, details["values"])
    logger.info("Document %d waits for review: resume this flow run with the form filled in", document_id)
    answer = pause_flow_run(
        wait_for_input=form, timeout=timeout_s or settings.review_timeout, poll_interval=settings.review_poll_interval
    )
    given = answer.model_dump()
    if given.get("decided_in_review_page"):
        logger.info("Document %d was reviewed on the review page (%s)", document_id, given["decision"])
        return ActionSummary(action=given["decision"])
    changes = {
        spec.id: given[spec.id]
        for spec in queue.scalar_fields()
        if spec.id in given and given[spec.id] != format_value(spec, details["values"].get(spec.id))
    }
    if changes:
        edited = edit_document(document_id, changes, [], resources, actor)
        announce(edited.changes)
        if not plan_extensions(queue.queue_id, "annotation_content.updated", resources).empty:
            run_extensions.with_options(task_runner=build_extension_runner())(
                queue.queue_id, "annotation_content.updated", document_ids=[document_id],
                updated_datapoints={document_id: edited.updated_datapoints}, actor=actor)  # fmt: skip
    decision = given["decision"]
    if decision == "confirm":
        summary = confirm_stage([document_id], {document_id: queue.queue_id}, resources, actor)
        if document_id in summary.refused:
            announce(set_documents_status([document_id], "to_review", resources, actor, "confirmation refused"))
    else:
        to = "rejected" if decision == "reject" else "postponed"
        changed = set_documents_status([document_id], to, resources, actor, given.get("note") or None)
        announce(changed)
        summary = ActionSummary(action=decision, moved={c.document_id: c.to_status for c in changed})
    logger.info("Document %d reviewed: %s, changed %s", document_id, decision, ", ".join(changes) or "nothing")
    return summary
