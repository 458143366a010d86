"""Queue stages as Prefect tasks (import, capture, review, export) and the document events flows emit.

`announce` turns status changes into Prefect events: `docket.document.status-changed` for each, and
`docket.document.exported` for each export; past `DOCKET_MAX_DOCUMENT_EVENTS` in one call, a single
`docket.documents.status-changed` event carries the counts instead. Notifications to queue
subscribers are written by `change_status` and `commit_export` themselves, in the transaction of the
change; `announce` then emits `docket.notifications.queued`, which starts the delivery deployment.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event

from docket_core.queues import export as exporting
from docket_core.queues.automation import review_automation
from docket_core.queues.capture import CaptureSummary, capture_chunk
from docket_core.queues.documents import NewDocument, mark_initialized
from docket_core.queues.email import email_files, parse_eml
from docket_core.queues.importing import ImportPlan, ImportRequest, StagedFile, documents_in, register_import
from docket_core.queues.lifecycle import StatusChange
from docket_core.queues.models import QueueSpec
from docket_core.queues.registry import get_queue, list_queues
from docket_core.queues.review import ConfirmOutcome, EditResult, apply_edits, require_status, set_status
from docket_core.queues.review import confirm_documents as confirm_unblocked
from docket_core.resources import Resources
from docket_core.settings import get_settings
from docket_core.settings import DocketSettings
from docket_core.staging.ingest import stage_file
from tasks.retry import retry_unless_bad_input

__all__ = [
    "EmailIntake",
    "announce",
    "auto_confirm_candidates",
    "capture_documents",
    "claim_export",
    "commit_export",
    "confirm_documents",
    "edit_document",
    "email_documents",
    "exporting_ids",
    "fail_export",
    "finish_initialize",
    "load_queue",
    "pending_documents",
    "queue_ids",
    "read_email",
    "register_documents",
    "require_confirmable",
    "set_documents_status",
    "unfinished_exports",
    "write_export_part",
]

_RETRY = {"retries": 2, "retry_delay_seconds": 2, "retry_condition_fn": retry_unless_bad_input, "cache_policy": NO_CACHE}


@task(name="load-queue", **_RETRY)
def load_queue(queue_id: str, resources: Resources) -> QueueSpec:
    with resources.catalog().read() as conn:
        return get_queue(conn, queue_id)


@dataclass
class EmailIntake:
    """An e-mail read from the store: its hook files, and each attachment staged (or why it was not)."""

    email_id: str
    headers: dict[str, str]
    body: dict[str, str | None]
    files: list[dict[str, Any]]
    staged: dict[str, StagedFile] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)


@task(name="read-email", **_RETRY)
def read_email(email_key: str, resources: Resources, settings: DocketSettings) -> EmailIntake:
    """Parse the .eml and stage each attachment like an uploaded document (validated, content-addressed)."""
    store = resources.store()
    parsed = parse_eml(store.read_bytes(email_key))
    files = email_files(parsed)
    staged: dict[str, StagedFile] = {}
    rejected: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="docket-email-") as tmp:
        for descriptor, attachment in zip(files, parsed.attachments):
            path = Path(tmp) / f"{descriptor['id']}-{Path(attachment.filename).name or 'file'}"
            path.write_bytes(attachment.data)
            outcome = stage_file(path, attachment.filename, batch_kind="documents", settings=settings, store=store)
            if outcome.status == "ingested" and outcome.sha256:
                staged[descriptor["id"]] = StagedFile(name=attachment.filename, sha256=outcome.sha256, media_type=outcome.media_type, size=outcome.size)
            else:
                rejected[descriptor["id"]] = f"{outcome.error_type}: {outcome.reason}"
    body = {"body_text_plain": parsed.body_text, "body_text_html": parsed.body_html}
    return EmailIntake(parsed.email_id, parsed.headers, body, files, staged, rejected)


def email_documents(intake: EmailIntake, kept: list[dict[str, Any]]) -> list[NewDocument]:
    """A document for each kept file that staged, with the values e-mail extensions gave it."""
    items = []
    for descriptor in kept:
        staged = intake.staged.get(str(descriptor.get("id")))
        if staged is None:
            continue
        values = {v["id"]: v.get("value") for v in descriptor.get("values") or [] if isinstance(v, dict) and "id" in v}
        metadata = {"email": {k: intake.headers.get(k) for k in ("from", "subject", "date", "message-id")}, "values": values}
        items.append(
            NewDocument(f"email:{intake.email_id}:{descriptor['id']}", staged.name, {"kind": "email", "email_id": intake.email_id,
                        "file_id": descriptor["id"]}, staged.media_type, staged.sha256, staged.size, metadata)  # fmt: skip
        )
    return items


@task(name="register-documents", **_RETRY)
def register_documents(request: ImportRequest, resources: Resources, settings: DocketSettings, items: list[NewDocument] | None = None) -> ImportPlan:
    """Create the import's documents once per import key (a re-run finds them)."""
    return register_import(request, resources, settings, items=items or ())


@task(name="capture", **_RETRY, task_run_name="capture-{number}")
def capture_documents(document_ids: list[int], number: int, queue_id: str, resources: Resources, settings: DocketSettings, actor: str) -> CaptureSummary:
    """The queue's workflow over a chunk of `importing` documents; they move to `to_review` (or `failed_import`)."""
    return capture_chunk(document_ids, queue_id, resources, settings, actor=actor)


@task(name="pending-documents", **_RETRY)
def pending_documents(document_ids: list[int], status: str, resources: Resources, initialized: bool | None = None) -> list[int]:
    with resources.catalog().read() as conn:
        return documents_in(conn, document_ids, status, initialized=initialized)


@task(name="finish-initialize", **_RETRY)
def finish_initialize(document_ids: list[int], resources: Resources) -> None:
    """Mark documents initialized when no extension listens to `initialize`."""
    with resources.catalog().begin() as conn:
        mark_initialized(conn, document_ids)


@task(name="auto-confirm-candidates", **_RETRY)
def auto_confirm_candidates(document_ids: list[int], resources: Resources) -> dict[int, list[str]]:
    """For each initialized `to_review` document, what blocks its automatic confirmation ([] = nothing):
    error messages, automation blockers, required fields below their score threshold (named in an info
    message on the document)."""
    threshold = get_settings().default_score_threshold
    with resources.catalog().begin() as conn:
        ready = documents_in(conn, document_ids, "to_review", initialized=True)
        return review_automation(conn, ready, default_threshold=threshold, actor="automation")


@task(name="require-confirmable", **_RETRY)
def require_confirmable(document_ids: list[int], resources: Resources) -> dict[int, str]:
    """The queue of each document, if every one may be confirmed (else the error says which cannot)."""
    return require_status(resources.catalog(), document_ids, "confirmed")


@task(name="confirm", **_RETRY)
def confirm_documents(document_ids: list[int], resources: Resources, actor: str, note: str | None = None) -> ConfirmOutcome:
    """Confirm the documents no error message blocks (whichever extension or step gave it); the others
    come back in `refused` with their messages."""
    return confirm_unblocked(resources.catalog(), document_ids, actor=actor, note=note)


@task(name="set-status", **_RETRY)
def set_documents_status(document_ids: list[int], to: str, resources: Resources, actor: str, note: str | None = None) -> list[StatusChange]:
    return set_status(resources.catalog(), document_ids, to, actor=actor, note=note)


@task(name="edit-document", **_RETRY)
def edit_document(document_id: int, changes: dict[str, Any], operations: list[dict[str, Any]], resources: Resources, actor: str,
                  revision: int | None = None) -> EditResult:  # fmt: skip
    """Apply a person's edit (made on `revision`, if given); its changed datapoint ids go to the `updated` extensions."""
    return apply_edits(resources.catalog(), document_id, changes=changes, operations=operations, actor=actor, revision=revision)


@task(name="list-queues", **_RETRY)
def queue_ids(resources: Resources) -> list[str]:
    """Every queue's id."""
    return [q["queue_id"] for q in list_queues(resources.catalog())]


@task(name="unfinished-exports", **_RETRY)
def unfinished_exports(queue_id: str, resources: Resources) -> list[exporting.ExportClaim]:
    return exporting.unfinished_exports(resources.catalog(), queue_id)


@task(name="claim-export", **_RETRY)
def claim_export(queue_id: str, filters: exporting.ExportFilters, resources: Resources, actor: str, flow_run_id: str | None) -> exporting.ExportClaim | None:
    """Move every ready document to `exporting` under a new export id, in one transaction."""
    return exporting.claim_export(resources.catalog(), queue_id, filters, actor=actor, flow_run_id=flow_run_id)


@task(name="exporting-documents", **_RETRY)
def exporting_ids(export_id: str, resources: Resources) -> list[int]:
    return exporting.exporting_ids(resources.catalog(), export_id)


@task(name="fail-export", **_RETRY)
def fail_export(reasons: dict[int, str], resources: Resources, actor: str) -> list[StatusChange]:
    return exporting.fail_export(resources.catalog(), reasons, actor=actor).changes


@task(name="write-export", **_RETRY, task_run_name="write-{claim.export_id}")
def write_export_part(claim: exporting.ExportClaim, resources: Resources) -> int:
    """The claimed documents into one Parquet part at the export's fixed key (whole or not at all)."""
    catalog = resources.catalog()
    with catalog.read() as conn:
        queue = get_queue(conn, claim.queue_id)
    return exporting.write_export(resources.store(), queue, claim, catalog, batch_rows=get_settings().export_batch_rows)


@task(name="commit-export", **_RETRY, task_run_name="commit-{claim.export_id}")
def commit_export(claim: exporting.ExportClaim, written: int, resources: Resources, actor: str) -> dict[str, Any]:
    """Mark the export's documents `exported` and record the export, in one transaction."""
    return exporting.commit_export(resources.catalog(), claim, actor=actor, written=written)


def _resource(document_id: int, queue_id: str) -> dict[str, str]:
    return {"prefect.resource.id": f"docket.document.{document_id}", "docket.queue": queue_id}


def announce(
    changes: Iterable[StatusChange], *, exported: Iterable[tuple[int, str, str]] = (), notified: int = 0, queue_id: str | None = None
) -> int:
    """Emit Prefect events for status changes (and exports as `(document_id, queue_id, export_id)`),
    and `docket.notifications.queued` once when they (or `notified`, counted elsewhere) queued any.

    Returns how many events were emitted. Beyond the limit, one summary event per kind.
    """
    limit = get_settings().max_document_events
    changes, exported = list(changes), list(exported)
    emitted = 0
    notified += sum(c.notified for c in changes)
    if notified:
        queue = queue_id or (changes[0].queue_id if changes else exported[0][1] if exported else "all")
        emit_event(event="docket.notifications.queued", resource={"prefect.resource.id": f"docket.queue.{queue}"},
                   payload={"notifications": notified})  # fmt: skip
        emitted += 1
    if len(changes) <= limit:
        for c in changes:
            emit_event(
                event="docket.document.status-changed",
                resource=_resource(c.document_id, c.queue_id),
                payload={"document_id": c.document_id, "queue_id": c.queue_id, "from": c.from_status, "to": c.to_status,
                         "actor": c.actor, "at": c.at.isoformat(), "note": c.note},  # fmt: skip
            )
            emitted += 1
    elif changes:
        counts = Counter((c.queue_id, c.from_status, c.to_status) for c in changes)
        emit_event(
            event="docket.documents.status-changed",
            resource={"prefect.resource.id": f"docket.queue.{changes[0].queue_id}"},
            payload={"changes": [{"queue_id": q, "from": f, "to": t, "count": n} for (q, f, t), n in sorted(counts.items())]},
        )
        emitted += 1
    if len(exported) <= limit:
        for document_id, queue_id, export_id in exported:
            emit_event(
                event="docket.document.exported",
                resource=_resource(document_id, queue_id),
                related=[{"prefect.resource.id": f"docket.export.{export_id}", "prefect.resource.role": "export"}],
                payload={"document_id": document_id, "queue_id": queue_id, "export_id": export_id},
            )
            emitted += 1
    elif exported:
        emit_event(
            event="docket.documents.exported",
            resource={"prefect.resource.id": f"docket.export.{exported[0][2]}"},
            payload={"queue_id": exported[0][1], "export_id": exported[0][2], "count": len(exported)},
        )
        emitted += 1
    return emitted
