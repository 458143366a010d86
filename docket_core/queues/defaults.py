"""A queue's schema when none is given: the fields its workflow captures.

Plain fields map by type (int and float become number, bool an enum of true/false, timestamps text).
A table needs its columns; for the built-in `invoice-capture` they are known (`line_items`), and an
invoice queue also gets `vendor_id`, where vendor matching writes its result.
"""

from __future__ import annotations

from typing import Any

from docket_core.queues.models import FieldSpec
from docket_core.workflows.registry import Workflow

__all__ = ["INVOICE_LINE_ITEMS", "schema_for_workflow"]

INVOICE_LINE_ITEMS = FieldSpec(
    id="line_items",
    type="multivalue",
    row_id="line_item",
    columns=(
        FieldSpec(id="item_id", source="id"),
        FieldSpec(id="item_description", source="description"),
        FieldSpec(id="item_quantity", type="number", source="quantity"),
        FieldSpec(id="item_unit_price", type="number", source="unit_price"),
        FieldSpec(id="item_net_amount", type="number", source="net_amount"),
        FieldSpec(id="item_tax_rate", type="number", source="tax_rate"),
    ),
)
"""The rows `invoice-capture` gives, with cell ids unique in the schema (Rossum's `item_*` style)."""

_REQUIRED = {"invoice-capture": {"invoice_number", "issue_date", "seller_name", "gross_total", "currency"}}
_SKIPPED = {"invoice-capture": {"source", "e_invoice_profile"}}  # how it was read, not what was read
_KNOWN_TABLES = {("invoice-capture", "line_items"): INVOICE_LINE_ITEMS}


def _plain(name: str, kind: str, required: bool) -> dict[str, Any]:
    if kind in ("int", "float"):
        return {"id": name, "type": "number", "required": required}
    if kind == "date":
        return {"id": name, "type": "date", "required": required}
    if kind == "bool":
        return {"id": name, "type": "enum", "options": ("true", "false"), "required": required}
    return {"id": name, "type": "string", "required": required}


def schema_for_workflow(workflow: Workflow) -> tuple[list[FieldSpec], list[str]]:
    """The fields for a queue fed by `workflow`, and notes on what was left out (tables without columns)."""
    fields: list[FieldSpec] = []
    notes: list[str] = []
    required = _REQUIRED.get(workflow.workflow_id, set())
    for name, kind in workflow.fields.items():
        if name in _SKIPPED.get(workflow.workflow_id, set()):
            continue
        if kind == "rows":
            table = _KNOWN_TABLES.get((workflow.workflow_id, name))
            if table is None:
                notes.append(f"{name} is a table whose columns are unknown; declare it with columns in a schema file")
                continue
            fields.append(table)
            continue
        fields.append(FieldSpec(**_plain(name, kind, name in required)))
    if workflow.workflow_id == "invoice-capture":
        fields.insert(next(i for i, f in enumerate(fields) if f.id == "seller_vat_id") + 1, FieldSpec(id="vendor_id", label="Vendor id"))
    return fields, notes
