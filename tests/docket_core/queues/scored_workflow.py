"""A workflow reading small XML capture results: each field with its value, page, box and confidence.

It stands in for an engine whose confidences a test chooses, so queue automation can be tested on
documents that are read exactly as they say (`DOCKET_WORKFLOW_MODULES=tests.docket_core.queues.scored_workflow`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from docket_core.queues.capture import capture_chunk
from docket_core.queues.importing import ImportRequest, StagedFile, register_import
from docket_core.queues.models import QueueSpec
from docket_core.queues.registry import save_queue
from docket_core.resources import Resources
from docket_core.settings import DocketSettings
from docket_core.staging.ingest import stage_file
from docket_core.workflows.model import Evidence, FileContext, Message, StepOutput
from docket_core.workflows.registry import Workflow

MODULE = "tests.docket_core.queues.scored_workflow"

FIELDS = {"invoice_number": "string", "issue_date": "date", "gross_total": "float", "note": "string"}


def write_scored(path: Path, fields: dict[str, tuple[str, float]], *, error: str | None = None) -> Path:
    """A capture result: `{field: (text, confidence)}`, boxes stacked down page 1; `error` adds an error."""
    items = "".join(
        f'<field id="{name}" value="{text}" confidence="{confidence}" page="1" box="0.1 {0.1 + 0.05 * n:.2f} 0.4 {0.13 + 0.05 * n:.2f}"/>'
        for n, (name, (text, confidence)) in enumerate(fields.items())
    )
    problem = f'<error field="gross_total">{error}</error>' if error else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'<?xml version="1.0"?><capture>{items}{problem}</capture>', encoding="utf-8")
    return path


def read_scored(ctx: FileContext) -> StepOutput:
    root = ElementTree.parse(ctx.path).getroot()
    out = StepOutput()
    for item in root.iter("field"):
        name, text = item.get("id", ""), item.get("value", "")
        value: Any = float(text) if FIELDS.get(name) == "float" else text
        out.datapoints[name] = value
        x0, y0, x1, y1 = (float(v) for v in item.get("box", "0 0 0 0").split())
        out.evidence[name] = Evidence(int(item.get("page", "1")), (x0, y0, x1, y1), f"read: {text}", float(item.get("confidence", "0")))
    out.messages += [Message("error", e.text or "", e.get("field")) for e in root.iter("error")]
    return out


WORKFLOWS = [Workflow.build("scored-capture", [("read", read_scored, ())], media=["documents"], fields=FIELDS)]


def scored_queue(queue_id: str = "scored", **options: Any) -> QueueSpec:
    """A queue over `scored-capture` whose invoice number, date and total are required."""
    fields = [
        {"id": "invoice_number", "required": True}, {"id": "issue_date", "type": "date", "required": True},
        {"id": "gross_total", "type": "number", "required": True, **options.pop("gross_total", {})}, {"id": "note"},
    ]  # fmt: skip
    return QueueSpec(queue_id=queue_id, workflow_id="scored-capture", fields=fields, **options)


def capture(resources: Resources, settings: DocketSettings, queue: QueueSpec, paths: list[Path]) -> list[int]:
    """Register and capture these files in `queue`, as the import flow's first stages do."""
    with resources.catalog().begin() as conn:
        save_queue(conn, queue, source="test")
    staged = []
    for path in paths:
        o = stage_file(path, path.name, batch_kind="documents", settings=settings, store=resources.store())
        staged.append(StagedFile(name=path.name, sha256=o.sha256 or "", media_type=o.media_type, size=o.size))
    plan = register_import(ImportRequest(queue_id=queue.queue_id, source="files", files=staged), resources, settings)
    capture_chunk(plan.document_ids, queue.queue_id, resources, settings, actor="capture")
    return plan.document_ids
