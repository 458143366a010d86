"""A document's content tree as Rossum sends it: every node with its `url`, every datapoint with its
`normalized_value` (ISO date, JSON number), `validation_sources`, `hidden` and `time_spent`.

Docket stores values as text, as Rossum's `value` is, and capture and every save write the normalized
form beside it (`docket_core.queues.fields.normalized_text`); content stored before that gets it here,
from the same function. Enum options a hook set on a datapoint
stay on it. The stored tree is never changed: this returns a new one.
"""

from __future__ import annotations

from docket_core.extensions.content import Node
from docket_core.queues.fields import node_options, normalized_text
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
        shown: Node = {k: v for k, v in node.items() if k != "children"}
        shown["url"] = f"{base}/{node['id']}"
        if node.get("category") == "datapoint":
            data = dict(node.get("content") or {})
            field = fields.get(node["schema_id"])
            if "normalized_value" not in data:  # content stored before capture wrote it
                data["normalized_value"] = (
                    normalized_text(field, data.get("value"), node_options(node)) if field is not None else data.get("value")
                )
            shown["content"] = data
            shown.setdefault("validation_sources", [])
            shown.setdefault("hidden", False)
            shown.setdefault("time_spent", 0)
        else:
            shown["children"] = [render(child) for child in node.get("children") or []]
        return shown

    return [render(node) for node in content]
