"""What the review page shows of a document: its fields with their values, boxes, confidence and messages.

Built from the queue's schema and the document's content tree (`docket_core.queues.fields`): a plain
field is one input; a table is rows of cells. A datapoint's `page` and page-relative `position` (from
capture) become a box drawn over its page; its `rir_confidence` is shown when under the threshold that
decides automatic confirmation. Messages go next to the datapoint they name, errors first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from docket_core.extensions.content import find_by_schema_id
from docket_core.queues.models import FieldSpec, QueueSpec

__all__ = ["CellView", "FieldView", "MessageView", "TableView", "document_view"]

_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass
class MessageView:
    type: str
    content: str
    source: str | None = None


@dataclass
class CellView:
    """One datapoint the reviewer can change."""

    datapoint_id: int
    schema_id: str
    label: str
    type: str
    value: str
    options: list[str] = field(default_factory=list)
    required: bool = False
    page: int | None = None
    box: list[float] | None = None
    confidence: float | None = None
    threshold: float | None = None
    messages: list[MessageView] = field(default_factory=list)

    @property
    def low_confidence(self) -> bool:
        return self.confidence is not None and self.threshold is not None and self.confidence < self.threshold

    @property
    def has_error(self) -> bool:
        return any(m.type == "error" for m in self.messages)


@dataclass
class FieldView(CellView):
    pass


@dataclass
class TableView:
    schema_id: str
    label: str
    multivalue_id: int | None
    columns: list[FieldSpec]
    rows: list[tuple[int, list[CellView]]]  # (tuple datapoint id, its cells in column order)


def _threshold(queue: QueueSpec, spec: FieldSpec, default: float | None) -> float | None:
    own = getattr(spec, "score_threshold", None)
    if own is not None:
        return own
    queue_default = getattr(queue, "default_score_threshold", None)
    return queue_default if queue_default is not None else default


def _cell(node: Mapping[str, Any], spec: FieldSpec, queue: QueueSpec, default_threshold: float | None,
          messages: Mapping[int, list[MessageView]]) -> CellView:  # fmt: skip
    content = node.get("content") or {}
    options = [o["value"] if isinstance(o, Mapping) else str(o) for o in (node.get("options") or content.get("options") or [])]
    options = options or list(spec.options)
    box = content.get("position")
    confidence = content.get("rir_confidence")
    return CellView(
        datapoint_id=int(node["id"]), schema_id=spec.id, label=spec.label or spec.id, type=spec.type,
        value="" if content.get("value") is None else str(content.get("value")), options=options, required=spec.required,
        page=content.get("page"), box=[float(v) for v in box] if box and len(box) == 4 else None,
        confidence=float(confidence) if confidence is not None else None,
        threshold=_threshold(queue, spec, default_threshold),
        messages=sorted(messages.get(int(node["id"]), []), key=lambda m: _ORDER.get(m.type, 3)),
    )  # fmt: skip


def document_view(queue: QueueSpec, content: list[dict[str, Any]], raw_messages: list[Mapping[str, Any]],
                  *, default_threshold: float | None = None) -> tuple[list[FieldView | TableView], list[MessageView]]:  # fmt: skip
    """The fields in schema order, and the messages that name no datapoint (document-wide), errors first."""
    by_id: dict[int, list[MessageView]] = {}
    general: list[MessageView] = []
    for m in raw_messages:
        view = MessageView(str(m.get("type", "info")), str(m.get("content", "")), m.get("source"))
        target = m.get("id")
        if target is None and m.get("schema_id"):
            nodes = find_by_schema_id(content, str(m["schema_id"]))
            target = nodes[0]["id"] if nodes else None
        if target is None:
            general.append(view)
        else:
            by_id.setdefault(int(target), []).append(view)
    out: list[FieldView | TableView] = []
    for spec in queue.fields:
        nodes = find_by_schema_id(content, spec.id)
        if spec.type != "multivalue":
            if nodes:
                cell = _cell(nodes[0], spec, queue, default_threshold, by_id)
                out.append(FieldView(**cell.__dict__))
            continue
        multivalue = nodes[0] if nodes else None
        rows: list[tuple[int, list[CellView]]] = []
        for row in (multivalue or {}).get("children", []):
            cells = {c.get("schema_id"): c for c in row.get("children", [])}
            rows.append((int(row["id"]), [_cell(cells[c.id], c, queue, default_threshold, by_id) for c in spec.columns if c.id in cells]))
        general.extend(by_id.get(int(multivalue["id"]), []) if multivalue else [])
        out.append(TableView(spec.id, spec.label or spec.id, int(multivalue["id"]) if multivalue else None, list(spec.columns), rows))
    return out, sorted(general, key=lambda m: _ORDER.get(m.type, 3))
