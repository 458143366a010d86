"""A new document's first content: its file through the queue's workflow, then `importing` -> `to_review`.

The workflow's datapoints fill the queue's fields (`build_content`); its messages keep their type and
point at the datapoint they are about; each datapoint remembers the step that produced it. A chunk of
documents is captured on a few threads and written in one transaction; documents no longer
`importing` are skipped, so a re-run after a crash redoes only what was not written.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from docket_core.catalog.schema_queues import documents
from docket_core.errors import InputError
from docket_core.extensions.content import find_by_schema_id
from docket_core.jobs.process import run_file
from docket_core.outputs import FileResult
from docket_core.queues.documents import fail_import, write_content
from docket_core.queues.fields import build_content, content_values, keyed_sources
from docket_core.queues.lifecycle import StatusChange, change_status
from docket_core.queues.models import QueueSpec
from docket_core.queues.registry import get_queue
from docket_core.resources import Resources
from docket_core.settings import DocketSettings
from docket_core.store import local_blob
from docket_core.workflows.model import Message
from docket_core.workflows.registry import Workflow, get_workflow, load_workflows

__all__ = ["CaptureSummary", "Captured", "capture_chunk", "captured_document", "queue_workflow"]


@dataclass
class Captured:
    """A document's content as first captured, with its typed values, sources and messages."""

    content: list[dict[str, Any]]
    field_values: dict[str, Any]
    sources: dict[str, str]
    messages: list[dict[str, Any]]


@dataclass
class CaptureSummary:
    captured: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    changes: list[StatusChange] = field(default_factory=list)


def captured_document(
    queue: QueueSpec, datapoints: Mapping[str, Any], step_sources: Mapping[str, str], messages: Iterable[Message | Mapping[str, Any]]
) -> Captured:
    """Content for `queue` from a workflow's datapoints, step names (by datapoint) and messages."""
    content = build_content(queue, datapoints)
    sources: dict[str, str] = {}
    for field_spec in queue.fields:
        step = step_sources.get(field_spec.captured_as)
        if step is None:
            continue
        for node in find_by_schema_id(content, field_spec.id):
            for sub in [node, *_cells(node)]:
                if sub["category"] == "datapoint":
                    sources[str(sub["id"])] = f"workflow:{step}"
    converted = []
    for message in messages:
        m = message if isinstance(message, Mapping) else {"type": message.type, "content": message.content,
                                                           "schema_id": message.schema_id, "source": message.source}  # fmt: skip
        out: dict[str, Any] = {"type": m.get("type") or "info", "content": str(m.get("content") or "")}
        target = queue.field(m["schema_id"]) if m.get("schema_id") else None
        nodes = find_by_schema_id(content, target.id) if target is not None else []
        if nodes:
            out["id"] = nodes[0]["id"]
        out["source"] = f"workflow:{m.get('source') or 'capture'}"
        converted.append(out)
    return Captured(content, content_values(queue, content), keyed_sources(content, sources), converted)


def _cells(node: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for child in node.get("children") or []:
        yield child
        yield from _cells(child)


def queue_workflow(queue: QueueSpec, settings: DocketSettings) -> Workflow:
    """The workflow capturing the queue's documents, or an error saying how to give it one."""
    if not queue.workflow_id:
        raise InputError(
            f"queue {queue.queue_id!r} has no workflow to capture new files; set one "
            "(`docket queues create --workflow invoice-capture ...` or `workflow:` in the YAML) or import a job's output"
        )
    return get_workflow(queue.workflow_id, load_workflows(settings.workflow_paths, settings.workflow_modules))


def capture_chunk(document_ids: list[int], queue_id: str, resources: Resources, settings: DocketSettings, *, actor: str) -> CaptureSummary:
    """Run the queue's workflow over these documents (those still `importing`) and move them to `to_review`."""
    catalog, store = resources.catalog(), resources.store()
    with catalog.read() as conn:
        queue = get_queue(conn, queue_id)
        rows = conn.execute(
            sa.select(documents.c.document_id, documents.c.file_name, documents.c.media_type, documents.c.sha256)
            .where(documents.c.document_id.in_(document_ids), documents.c.status == "importing")
            .order_by(documents.c.document_id)
        ).all()
    if not rows:
        return CaptureSummary()
    workflow = queue_workflow(queue, settings)

    def one(row: sa.Row) -> FileResult:
        if row.sha256 is None:
            return FileResult(row.file_name, row.media_type, None, "failed", error_reason="the document has no stored file")
        with local_blob(store, row.sha256) as path:
            return run_file(workflow, path, row.file_name, row.media_type, row.sha256, time_budget=settings.file_time_budget)

    with ThreadPoolExecutor(max_workers=settings.file_workers, thread_name_prefix="docket-capture") as pool:
        results = list(pool.map(one, rows))

    summary = CaptureSummary()
    with catalog.begin() as conn:
        for row, result in zip(rows, results):
            if result.status != "succeeded":
                summary.changes += fail_import(conn, row.document_id, result.error_reason or "capture failed", actor=actor).changes
                summary.failed.append(row.document_id)
                continue
            captured = captured_document(queue, result.datapoints, result.sources, result.messages)
            write_content(
                conn, row.document_id, revision=None, content=captured.content, field_values=captured.field_values,
                sources=captured.sources, messages=captured.messages, automation_blockers=[], actor=actor,
            )  # fmt: skip
            summary.captured.append(row.document_id)
        if summary.captured:
            summary.changes += change_status(conn, summary.captured, "to_review", actor=actor, note=f"captured by {workflow.workflow_id}").changes
    return summary
