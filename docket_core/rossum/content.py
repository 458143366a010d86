"""A document's content tree as Rossum sends it: every node with its `url`, every datapoint with its
`normalized_value` (ISO date, JSON number), `validation_sources`, `hidden` and `time_spent`.

Docket stores values as text, as Rossum's `value` is, and capture and every save write the normalized
form beside it (`docket_core.queues.fields.normalized_text`); content stored before that gets it here,
from the same function. Enum options a hook set on a datapoint
stay on it. The stored tree is never changed: this returns a new one.
"""

from __future__ import annotations

from docket_core.extensions.content import Node
from docket_core.normalized import node_options
from docket_core.queues.fields import normalized_text
from docket_core.queues.models import FieldSpec, QueueSpec
from docket_core.rossum.objects import Urls

__all__ = ["wire_content"]


def _fields_by_schema_id(queue: QueueSpec) -> dict[str, FieldSpec]:
    found: dict[str, FieldSpec] = {}
    for field in queue.fields:
        found[field.id] = field
        for column in field.columns:
            found[column.id] = column
    return found


def wire_content(urls: Urls, document_id: int, queue: QueueSpec | None, content: list[Node]) -> list[Node]:
    """The content tree of one document as hooks and the API see it (a new tree; `content` is untouched)."""
    fields = _fields_by_schema_id(queue) if queue is not None else {}
    base = f"{urls.annotation(document_id)}/content"

    def render(node: Node) -> Node:
        shown: Node = {**node, "url": f"{base}/{node['id']}"}
        if node.get("category") == "datapoint":
            data = node.get("content")
            if isinstance(data, dict) and "normalized_value" not in data:  # content stored before capture wrote it
                field = fields.get(node["schema_id"])
                data = {**data, "normalized_value": (
                    normalized_text(field, data.get("value"), node_options(node)) if field is not None else data.get("value"))}
            shown["content"] = data  # shared with the stored tree, never changed
            if "validation_sources" not in shown:
                shown["validation_sources"] = []
            if "hidden" not in shown:
                shown["hidden"] = False
            if "time_spent" not in shown:
                shown["time_spent"] = 0
        elif "children" in node:
            shown["children"] = [render(child) for child in node["children"] or []]
        return shown

    return [render(node) for node in content]
