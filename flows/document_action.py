"""The `document_action` flow: what a person does to documents, with the extensions it fires.

edit: apply the change -> `updated` extensions (subflow) with the changed datapoint ids -> events.
confirm: check each may be confirmed -> `confirm` extensions (subflow) -> those without a new error
message become `confirmed`, the others stay and say why -> events.
reject / postpone / reopen: the status change -> events.
"""

from __future__ import annotations

from typing import Any, Literal

from prefect import flow, get_run_logger
from pydantic import BaseModel, Field

from flows.run_extensions import run_extensions
from tasks.extensions import build_extension_runner, plan_extensions
from tasks.queues import announce, confirm_documents, edit_document, require_confirmable, set_documents_status
from tasks.resources import build_task_runner, resolve_resources

__all__ = ["ActionSummary", "document_action"]

Action = Literal["edit", "confirm", "reject", "postpone", "reopen"]
_STATUS = {"reject": "rejected", "postpone": "postponed", "reopen": "to_review"}


class ActionSummary(BaseModel):
    """What happened: per document, its new status, or why it did not move."""

    action: str
    moved: dict[int, str] = Field(default_factory=dict, description="Documents that changed status, to which.")
    refused: dict[int, list[str]] = Field(default_factory=dict, description="Documents an extension kept from moving, and why.")
    updated_datapoints: dict[int, list[int]] = Field(default_factory=dict, description="For an edit: the datapoints changed.")


def confirm_stage(document_ids: list[int], queues: dict[int, str], resources: Any, actor: str) -> ActionSummary:
    """`confirm` extensions per queue, then confirmation of what no error message blocks (theirs or any other).

    Shared by this flow, `import_documents` (automatic confirmation) and `review_document`.
    """
    summary = ActionSummary(action="confirm")
    for queue_id in sorted(set(queues.values())):
        ids = sorted(doc for doc, q in queues.items() if q == queue_id and doc in document_ids)
        if not plan_extensions(queue_id, "annotation_content.confirm", resources).empty:
            run = run_extensions.with_options(task_runner=build_extension_runner())(
                queue_id, "annotation_content.confirm", document_ids=ids, actor=actor
            )
            summary.refused.update({o.document_id: o.run_errors for o in run.outcomes if o.run_errors})
        ready = [doc for doc in ids if doc not in summary.refused]
        if ready:
            outcome = confirm_documents(ready, resources, actor, "confirmed" if actor != "automation" else "nothing blocks it")
            summary.moved.update({c.document_id: c.to_status for c in outcome.changes})
            summary.refused.update(outcome.refused)
            announce(outcome.changes)
    return summary


@flow(name="document_action", task_runner=build_task_runner(work="io"), log_prints=False)
def document_action(
    action: Action,
    document_ids: list[int],
    changes: dict[str, Any] | None = None,
    operations: list[dict[str, Any]] | None = None,
    note: str | None = None,
    actor: str = "person",
    revision: int | None = None,
    store_block: str | None = None,
    catalog_block: str | None = None,
) -> ActionSummary:
    """Edit, confirm, reject, postpone or reopen documents, running the extensions each action fires.

    Args:
        action: edit, confirm, reject, postpone or reopen (back to to_review).
        document_ids: the documents (an edit takes one).
        changes: for edit, `{field id or "#<datapoint id>": new text}`.
        operations: for edit, Rossum operations (`replace`, `add`, `remove`) to apply as well.
        note: why (kept in each document's history), e.g. a rejection reason.
        actor: who does it, recorded in the history.
        revision: for edit, the document revision the change was made on; a stale edit is refused.
        store_block: name of a `DocketStore` block; default from `DOCKET_*` settings.
        catalog_block: name of a `DocketCatalog` block; default from `DOCKET_*` settings.
    """
    logger = get_run_logger()
    resources = resolve_resources(store_block, catalog_block)
    if action == "edit":
        if len(document_ids) != 1:
            raise ValueError(f"an edit changes one document, got {len(document_ids)}")
        edited = edit_document(document_ids[0], changes or {}, operations or [], resources, actor, revision)
        announce(edited.changes)
        summary = ActionSummary(action=action, moved={c.document_id: c.to_status for c in edited.changes},
                                updated_datapoints={edited.document_id: edited.updated_datapoints})  # fmt: skip
        if not plan_extensions(edited.queue_id, "annotation_content.updated", resources).empty:
            run_extensions.with_options(task_runner=build_extension_runner())(
                edited.queue_id, "annotation_content.updated", document_ids=[edited.document_id],
                updated_datapoints={edited.document_id: edited.updated_datapoints}, actor=actor,
            )  # fmt: skip
        logger.info("Document %d: changed %s", edited.document_id, ", ".join(edited.changed_fields))
        return summary
    if action == "confirm":
        summary = confirm_stage(document_ids, require_confirmable(document_ids, resources), resources, actor)
        logger.info("Confirmed %d, refused %d", len(summary.moved), len(summary.refused))
        return summary
    changed = set_documents_status(document_ids, _STATUS[action], resources, actor, note)
    announce(changed)
    return ActionSummary(action=action, moved={c.document_id: c.to_status for c in changed})
