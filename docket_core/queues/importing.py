"""Documents into a queue: from a staged batch, a job's output, uploaded files, or an e-mail's attachments.

`register_import` creates the documents (`importing`) once per import key, so running an import again
after a crash creates nothing twice. Documents from a job's output arrive with their captured values and
go straight to `to_review`; the others wait for `capture_chunk` to run the queue's workflow. The
`import_documents` flow then runs the queue's `initialize` extensions and, if the queue says so,
confirms what nothing blocks.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa
from pydantic import BaseModel, Field, model_validator

from docket_core.catalog.schema import batches, files, job_chunks, jobs
from docket_core.catalog.schema_queues import documents
from docket_core.errors import InputError, NotFoundError
from docket_core.queues.capture import captured_document, queue_workflow
from docket_core.queues.documents import NewDocument, register_documents, write_content
from docket_core.queues.lifecycle import StatusChange, change_status
from docket_core.queues.models import QueueSpec
from docket_core.queues.registry import get_queue
from docket_core.resources import Resources
from docket_core.settings import DocketSettings
from docket_core.store import Store
from docket_core.workflows.model import Evidence

__all__ = ["ImportPlan", "ImportRequest", "StagedFile", "documents_in", "register_import"]


class StagedFile(BaseModel):
    """A file already in the store (content-addressed by its sha256)."""

    name: str = Field(description="The file's name, shown as the document's file name.")
    sha256: str = Field(description="Where its bytes are: the store's blob for this sha256.")
    media_type: str | None = Field(default=None, description="Its media type, as validation found it.")
    size: int | None = Field(default=None, description="Its size in bytes.")
    values: dict[str, Any] = Field(default_factory=dict, description="Values e-mail extensions (or an upload) attached to it.")
    metadata: dict[str, Any] = Field(default_factory=dict, description="Client data kept with the document (Rossum's annotation metadata).")


class ImportRequest(BaseModel):
    """What to bring into a queue; the same request twice adds nothing twice."""

    queue_id: str = Field(description="The queue (`docket queues list`).")
    source: Literal["batch", "job", "files", "email"] = Field(description="batch, job, files or email.")
    batch_id: str | None = Field(default=None, description="source=batch: the staged batch whose files to import.")
    job_id: str | None = Field(default=None, description="source=job: the job whose captured output to import.")
    files: list[StagedFile] = Field(default_factory=list, description="source=files: files staged in the store.")
    email_key: str | None = Field(default=None, description="source=email: store key of the .eml file.")
    actor: str = Field(default="import", description="Who imports, recorded in each document's history.")

    @model_validator(mode="after")
    def _source_given(self) -> ImportRequest:
        needed = {"batch": self.batch_id, "job": self.job_id, "files": self.files or None, "email": self.email_key}
        if needed[self.source] is None:
            what = {"batch": "batch_id", "job": "job_id", "files": "files", "email": "email_key"}[self.source]
            raise ValueError(f"source {self.source!r} needs {what}")
        return self


@dataclass
class ImportPlan:
    """The documents of one import: all of them (new and from an earlier run), and what was created."""

    queue_id: str
    document_ids: list[int]
    created: int
    existing: int
    changes: list[StatusChange] = field(default_factory=list)


def _from_batch(conn: sa.Connection, queue: QueueSpec, batch_id: str, settings: DocketSettings) -> list[NewDocument]:
    batch = conn.execute(sa.select(batches).where(batches.c.batch_id == batch_id)).first()
    if batch is None:
        raise NotFoundError(f"no batch {batch_id!r}; `docket staging list-batches` shows the batches there are")
    workflow = queue_workflow(queue, settings)
    if batch.media_kind not in workflow.media_kinds:
        raise InputError(
            f"queue {queue.queue_id!r} captures with {workflow.workflow_id!r}, which reads {', '.join(sorted(workflow.media_kinds))}; "
            f"batch {batch_id!r} holds {batch.media_kind}"
        )
    rows = conn.execute(
        sa.select(files.c.name, files.c.sha256, files.c.media_type, files.c.size)
        .where(files.c.batch_id == batch_id, files.c.status == "ingested", files.c.store_key.is_(None))
        .order_by(files.c.name)
    )
    return [
        NewDocument(f"batch:{batch_id}:{r.name}", r.name, {"kind": "batch", "batch_id": batch_id, "name": r.name},
                    r.media_type, r.sha256, r.size)  # fmt: skip
        for r in rows
    ]


_EVIDENCE_COLUMNS = ["file_name", "schema_id", "page", "box_x0", "box_y0", "box_x1", "box_y1", "source_text", "confidence"]


def _job_evidence(store: Store, key: str) -> dict[str, dict[str, Evidence]]:
    """Where the job read each plain value, by file name then datapoint, from one datapoints part."""
    with store.open(key) as fh:
        table = pq.read_table(fh, columns=[*_EVIDENCE_COLUMNS, "row_index"])
    table = table.filter(pc.and_(pc.is_valid(table["page"]), pc.is_null(table["row_index"])))
    found: dict[str, dict[str, Evidence]] = {}
    for r in table.select(_EVIDENCE_COLUMNS).to_pylist():
        box = (r["box_x0"], r["box_y0"], r["box_x1"], r["box_y1"])
        if r["confidence"] is None or any(v is None for v in box):
            continue
        found.setdefault(r["file_name"], {})[r["schema_id"]] = Evidence(r["page"], box, r["source_text"] or "", r["confidence"])
    return found


def _from_job(conn: sa.Connection, resources: Resources, job_id: str) -> list[tuple[NewDocument, dict[str, Any], dict[str, Evidence]]]:
    job = conn.execute(sa.select(jobs).where(jobs.c.job_id == job_id)).first()
    if job is None:
        raise NotFoundError(f"no job {job_id!r}; `docket jobs list` shows the jobs there are")
    if job.state != "succeeded":
        raise InputError(f"job {job_id!r} is {job.state}; import its output once it succeeded")
    parts = conn.execute(
        sa.select(job_chunks.c.docs_key, job_chunks.c.points_key)
        .where(job_chunks.c.job_id == job_id, job_chunks.c.docs_key.is_not(None))
        .order_by(job_chunks.c.seq)
    ).all()
    store = resources.store()
    found = []
    for docs_key, points_key in parts:
        evidence = _job_evidence(store, points_key) if points_key else {}
        with store.open(docs_key) as fh:
            for row in pq.read_table(fh).to_pylist():
                if row.pop("status") != "succeeded":
                    continue
                name = row["file_name"]
                item = NewDocument(
                    f"job:{job_id}:{name}", name, {"kind": "job", "job_id": job_id, "batch_id": job.batch_id, "name": name},
                    row.get("media_type"), row.get("sha256"),
                )  # fmt: skip
                found.append((item, row, evidence.get(name, {})))
    return found


def _captured(queue: QueueSpec, row: dict[str, Any], job_id: str, evidence: dict[str, Evidence]) -> Any:
    values = {k: (json.loads(v) if isinstance(v, str) and v[:1] == "[" else v) for k, v in row.items()}
    fields = [f.captured_as for f in queue.fields]
    return captured_document(queue, values, {name: f"job {job_id}" for name in fields}, row.get("messages") or [], evidence)


def register_import(
    request: ImportRequest, resources: Resources, settings: DocketSettings, *, items: Sequence[NewDocument] = ()
) -> ImportPlan:
    """Create the import's documents (once per import key) and give back all of their ids.

    `items` are the documents of an e-mail, staged by the caller; the other sources are read here.
    Documents from a job's output get their content now and move to `to_review`.
    """
    catalog = resources.catalog()
    with catalog.read() as conn:
        queue = get_queue(conn, request.queue_id)
        captured: dict[str, tuple[dict[str, Any], dict[str, Evidence]]] = {}
        if request.source == "batch":
            items = _from_batch(conn, queue, request.batch_id or "", settings)
        elif request.source == "job":
            pairs = _from_job(conn, resources, request.job_id or "")
            items = [item for item, _, _ in pairs]
            captured = {item.import_key: (row, evidence) for item, row, evidence in pairs}
        elif request.source == "files":
            items = [
                NewDocument(f"upload:{f.sha256}:{f.name}", f.name, {"kind": "upload", "name": f.name}, f.media_type, f.sha256, f.size,
                            {**f.metadata, **({"values": f.values} if f.values else {})})  # fmt: skip
                for f in request.files
            ]
    if request.source != "job":
        queue_workflow(queue, settings)  # no workflow: say so before creating anything
    if not items:
        raise InputError(f"nothing to import into queue {queue.queue_id!r}: the {request.source} holds no files")
    with catalog.begin() as conn:
        registered = register_documents(conn, queue.queue_id, items, actor=request.actor)
        changes: list[StatusChange] = []
        new_keys = {k for k, v in registered.ids_by_key.items() if v in set(registered.created)}
        ready = []
        for key, (row, evidence) in captured.items():
            if key not in new_keys:
                continue
            doc = _captured(queue, row, request.job_id or "", evidence)
            doc_id = registered.ids_by_key[key]
            write_content(conn, doc_id, revision=None, content=doc.content, field_values=doc.field_values, sources=doc.sources,
                          messages=doc.messages, automation_blockers=[], actor=request.actor)  # fmt: skip
            ready.append(doc_id)
        if ready:
            changes = change_status(conn, ready, "to_review", actor=request.actor, note=f"captured by job {request.job_id}").changes
    ids = sorted(registered.ids_by_key[i.import_key] for i in items if i.import_key in registered.ids_by_key)
    return ImportPlan(queue.queue_id, sorted(set(ids)), len(registered.created), len(registered.existing), changes)


def documents_in(conn: sa.Connection, document_ids: Sequence[int], status: str, *, initialized: bool | None = None) -> list[int]:
    """Which of these documents are in `status` (and, if asked, initialized or not yet)."""
    ids = sorted(set(document_ids))
    found: list[int] = []
    for start in range(0, len(ids), 500):
        query = sa.select(documents.c.document_id).where(documents.c.document_id.in_(ids[start : start + 500]), documents.c.status == status)
        if initialized is True:
            query = query.where(documents.c.initialized_at.is_not(None))
        elif initialized is False:
            query = query.where(documents.c.initialized_at.is_(None))
        found += conn.execute(query).scalars()
    return sorted(found)
