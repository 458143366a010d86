"""Reading a hook request and writing its answer: small helpers for function extensions.

    def my_extension(payload: dict) -> dict:
        doc = HookDocument(payload)
        if doc.text("po_number") == "":
            return doc.answer(messages=[doc.message("error", "PO number missing", "po_number")])
        return doc.answer()

Fields are addressed by `schema_id`; the first datapoint with it is the one read and replaced (a
table cell is addressed by its datapoint id). Numbers read with `,` or `.` decimals.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from docket_core.extensions.content import Node, find_by_schema_id

__all__ = ["HookDocument", "decimal_of", "format_amount"]


def decimal_of(text: Any) -> Decimal | None:
    """A datapoint's text as a Decimal ("1.234,56", "1,234.56", "19 %" all read), None if not a number."""
    if text is None or isinstance(text, bool):
        return None
    raw = str(text).replace("\u00a0", "").replace(" ", "").replace("%", "").replace("'", "")
    if not raw:
        return None
    if "," in raw and "." in raw:
        decimal_sep = "," if raw.rfind(",") > raw.rfind(".") else "."
        raw = raw.replace("." if decimal_sep == "," else ",", "").replace(decimal_sep, ".")
    elif "," in raw:
        raw = raw.replace(",", ".") if raw.rsplit(",", 1)[1].isdigit() and len(raw.rsplit(",", 1)[1]) <= 2 else raw.replace(",", "")
    try:
        return Decimal(raw)
    except InvalidOperation:
        return None


def format_amount(value: Decimal) -> str:
    """Two decimals, as amounts and rates are written in datapoints."""
    return str(value.quantize(Decimal("0.01")))


class HookDocument:
    """The document of an `annotation_content` request, read by schema_id."""

    def __init__(self, payload: Mapping[str, Any]) -> None:
        self.payload = payload
        self.content: list[Node] = list((payload.get("annotation") or {}).get("content") or [])
        self.settings: Mapping[str, Any] = payload.get("settings") or {}
        self.schema: list[Mapping[str, Any]] = list((payload.get("docket") or {}).get("schema") or [])
        self.updated = set(payload.get("updated_datapoints") or [])

    def datapoint(self, schema_id: str) -> Node | None:
        found = find_by_schema_id(self.content, schema_id)
        return found[0] if found else None

    def text(self, schema_id: str) -> str | None:
        """The datapoint's text ("" when empty), or None when the document has no such datapoint."""
        node = self.datapoint(schema_id)
        if node is None:
            return None
        return str((node.get("content") or {}).get("value") or "").strip()

    def number(self, schema_id: str) -> Decimal | None:
        return decimal_of(self.text(schema_id))

    def field_type(self, schema_id: str) -> str | None:
        for field in self.schema:
            if field.get("id") == schema_id:
                return field.get("type")
        return None

    def replace(self, schema_id: str, text: str) -> dict[str, Any] | None:
        """A `replace` operation setting the datapoint's value, or None without such a datapoint."""
        node = self.datapoint(schema_id)
        if node is None:
            return None
        return {"op": "replace", "id": node["id"], "value": {"content": {"value": text}}}

    def message(self, kind: str, content: str, schema_id: str | None = None) -> dict[str, Any]:
        """A message, pointing at the datapoint when there is one with that schema_id."""
        message: dict[str, Any] = {"type": kind, "content": content}
        node = self.datapoint(schema_id) if schema_id else None
        if node is not None:
            message["id"] = node["id"]
        return message

    def answer(
        self,
        *,
        messages: Iterable[Mapping[str, Any]] = (),
        operations: Iterable[Mapping[str, Any] | None] = (),
        automation_blockers: Iterable[Mapping[str, Any]] = (),
    ) -> dict[str, Any]:
        """The hook response; None operations (a datapoint that was not there) are left out."""
        return {
            "messages": [dict(m) for m in messages],
            "operations": [dict(o) for o in operations if o is not None],
            "automation_blockers": [dict(b) for b in automation_blockers],
        }
