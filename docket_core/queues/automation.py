"""When a queue may confirm a document by itself: the one place that decides.

A document in `to_review` is confirmed automatically (with the queue's `auto_confirm`) only when

- no error message stands and no extension raised an automation blocker, and
- every **required** plain field meets its score threshold: the field's `score_threshold`, else the
  queue's `default_score_threshold`, else `DOCKET_DEFAULT_SCORE_THRESHOLD` (0.9).

A field meets its threshold when its value was read by capture with a confidence (`rir_confidence`)
at or above it. A value a person entered, or an extension set (from master data, by computing it), is
not the engine's reading, so the engine's confidence no longer judges it: it meets the threshold. A
captured value whose workflow gives no confidence (an e-invoice's XML, read exactly; a workflow that
reports no provenance) is not held back either. An empty required field never meets it.

A document held back by a threshold gets one info message (source `automation`) naming the fields and
their confidence, so a reviewer sees what to check; it is replaced each time automation looks again and
dropped when a person edits the document.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from docket_core.extensions.content import Node, find_by_schema_id
from docket_core.queues.documents import AUTOMATION_SOURCE, load_documents, write_content
from docket_core.queues.models import FieldSpec, QueueSpec
from docket_core.queues.registry import get_queue
from docket_core.queues.runs import blocking_reasons

__all__ = ["Shortfall", "automation_reasons", "review_automation", "score_message", "shortfalls", "threshold_for"]

_CAPTURED = ("workflow:", "job ")  # sources of values as capture read them (a workflow step, a job's output)


@dataclass(frozen=True)
class Shortfall:
    """A required field below its threshold: its confidence (None when the field is empty)."""

    schema_id: str
    confidence: float | None
    threshold: float

    def describe(self) -> str:
        if self.confidence is None:
            return f"{self.schema_id} (empty)"
        return f"{self.schema_id} ({self.confidence:.2f} < {self.threshold:.2f})"


def threshold_for(queue: QueueSpec, field: FieldSpec, default_threshold: float) -> float:
    """The field's own threshold, else the queue's, else the default."""
    if field.score_threshold is not None:
        return field.score_threshold
    return queue.default_score_threshold if queue.default_score_threshold is not None else default_threshold


def shortfalls(queue: QueueSpec, content: Sequence[Node], sources: Mapping[str, str], *, default_threshold: float) -> list[Shortfall]:
    """The required plain fields that do not meet their threshold, in schema order."""
    found = []
    for field in queue.scalar_fields():
        if not field.required:
            continue
        nodes = find_by_schema_id(content, field.id)
        data = nodes[0].get("content") if nodes else None
        data = data if isinstance(data, Mapping) else {}
        threshold = threshold_for(queue, field, default_threshold)
        if str(data.get("value") or "").strip() == "":
            found.append(Shortfall(field.id, None, threshold))
            continue
        source = sources.get(field.id)
        if source is not None and not source.startswith(_CAPTURED):
            continue  # a person or an extension set it: the engine's confidence no longer applies
        confidence = data.get("rir_confidence")
        if isinstance(confidence, int | float) and not isinstance(confidence, bool) and confidence < threshold:
            found.append(Shortfall(field.id, float(confidence), threshold))
    return found


def score_message(found: Iterable[Shortfall]) -> dict[str, Any] | None:
    """The info message naming the fields below their threshold; None when there are none."""
    described = [s.describe() for s in found]
    if not described:
        return None
    return {
        "type": "info", "source": AUTOMATION_SOURCE,
        "content": f"not confirmed automatically: below the confidence threshold: {', '.join(described)}; check before confirming",
    }  # fmt: skip


def automation_reasons(
    queue: QueueSpec, row: Any, *, default_threshold: float, found: list[Shortfall] | None = None
) -> list[str]:
    """Everything that keeps a document (a catalog row with its data) from automatic confirmation."""
    reasons = blocking_reasons(row.messages, row.automation_blockers)
    if found is None:
        found = shortfalls(queue, row.content, row.sources, default_threshold=default_threshold)
    if found:
        reasons.append(f"{AUTOMATION_SOURCE}: below the confidence threshold: {', '.join(s.describe() for s in found)}")
    return reasons


def review_automation(conn: sa.Connection, document_ids: Sequence[int], *, default_threshold: float, actor: str) -> dict[int, list[str]]:
    """For each of these documents, what keeps it from automatic confirmation ([] = nothing), and its
    info message about fields below their threshold written (or removed when none is left)."""
    queues: dict[str, QueueSpec] = {}
    verdicts: dict[int, list[str]] = {}
    for row in load_documents(conn, document_ids):
        queue = queues.get(row.queue_id) or queues.setdefault(row.queue_id, get_queue(conn, row.queue_id))
        found = shortfalls(queue, row.content, row.sources, default_threshold=default_threshold)
        verdicts[row.document_id] = automation_reasons(queue, row, default_threshold=default_threshold, found=found)
        message = score_message(found)
        messages = [dict(m) for m in row.messages if m.get("source") != AUTOMATION_SOURCE] + ([message] if message else [])
        if messages != list(row.messages):
            write_content(
                conn, row.document_id, revision=row.revision, content=row.content, field_values=row.field_values,
                sources=row.sources, messages=messages, automation_blockers=list(row.automation_blockers), actor=actor,
            )  # fmt: skip
    return verdicts
