"""A document's content tree as Rossum sends it: every node with its `url`, every datapoint with its
`normalized_value` (ISO date, JSON number), `validation_sources`, `hidden` and `time_spent`.

Docket stores values as text, as Rossum's `value` is; the normalized form is derived here from the
field's type with the same parsing the typed values use (`docket_core.queues.fields.parse_value`), unless
the stored content carries one already (capture writes it). Enum options a hook set on a datapoint
stay on it. The stored tree is never changed: this returns a new one.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from docket_core.extensions.content import Node
from docket_core.queues.fields import node_options, parse_value
from docket_core.queues.models import FieldSpec, QueueSpec
from docket_core.rossum.objects import Urls

__all__ = ["normalized_value", "wire_content"]


def normalized_value(field: FieldSpec | None, text: Any, options: list[str] | None = None) -> str | None:
    """Rossum's `normalized_value` of a datapoint's text: a date as `2024-03-31`, a number in JSON number
    form (`18492.48`, `1000`), other text as it is; `None` for a number or date that does not parse."""
    if field is None or field.type in ("string", "enum"):
        return "" if text is None else str(text)
    typed = parse_value(field, text, options=options)
    if typed is None:
        return None if str(text or "").strip() else ""
    if field.type == "number":
        number = Decimal(str(typed))
        return format(number.normalize(), "f") if number != number.to_integral() else str(int(number))
    return str(typed)


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
            if "normalized_value" not in data:
                data["normalized_value"] = normalized_value(fields.get(node["schema_id"]), data.get("value"), node_options(node))
            shown["content"] = data
            shown.setdefault("validation_sources", [])
            shown.setdefault("hidden", False)
            shown.setdefault("time_spent", 0)
        else:
            shown["children"] = [render(child) for child in node.get("children") or []]
        return shown

    return [render(node) for node in content]
