"""A document's content tree built from captured values, its typed values read back, and edits.

Values in the content are text, as Rossum keeps them (`content.value`), so an extension written for
Rossum reads them unchanged. The typed values (`number` as float, `date` as an ISO date string, a table
as a list of rows) are what exports and the CLI show; text that does not parse becomes None there and
the built-in field checks report it.

Each datapoint's `content` carries Rossum's keys:

- `value`: the text; `normalized_value`: an ISO `YYYY-MM-DD` date for a date field, a JSON number
  (as text, `"1234.5"`) for a number field, the text itself for others, None when empty or unparsable.
  `normalize_content` recomputes it from `value` whenever a person or an extension changed values
  (as Rossum does, the value wins over a normalized value sent with it).
- `page` (from 1) and `position` `[x0, y0, x1, y1]`: where the value was read. Unlike Rossum's pixels,
  Docket's position is **relative to the page** (each in [0, 1], origin top left: multiply by the
  page's width and height in any unit, e.g. points at 72 dpi, to draw it), the box the review page
  draws as it is. `rir_page` and `rir_position` keep what capture read when a person moves the box.
- `rir_text`: the text the value was parsed from; `rir_confidence`: capture's confidence in [0, 1],
  what a queue's score thresholds judge (`docket_core.queues.automation`).

All of them are None for a value with no known provenance (a table cell, a value from a workflow that
reports none, a row an extension added).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from docket_core import normalized
from docket_core.errors import InputError
from docket_core.extensions.content import IdAllocator, Node, find_by_schema_id, index_content
from docket_core.normalized import node_options, parse_date, parse_number
from docket_core.queues.models import BASIC_SECTION, FieldSpec, QueueSpec, section_id
from docket_core.workflows.model import Evidence

__all__ = [
    "build_content",
    "content_values",
    "edit_operations",
    "format_value",
    "keyed_sources",
    "multivalue_children",
    "normalize_content",
    "normalized_text",
    "parse_value",
]

def format_value(field: FieldSpec, value: Any) -> str:
    """A captured value as the text of a datapoint: numbers without float noise, dates as ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        # Amounts read as amounts ("119.00"); finer values keep their digits ("0.125").
        number = Decimal(str(value))
        exponent = number.as_tuple().exponent
        return str(number.quantize(Decimal("0.01"))) if isinstance(exponent, int) and exponent >= -2 else format(number, "f")
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if field.type == "date" else value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def parse_value(field: FieldSpec, text: Any, *, strict: bool = False, options: list[str] | None = None) -> Any:
    """The typed value of a datapoint's text: float for number, ISO date string for date.

    Empty text is None. Text that does not parse raises `InputError` when `strict` (edits), and is None
    otherwise (reading stored content). An enum's value must be among `options` when given (the options
    a hook set on that document's datapoint), else among the field's own.
    """
    if text is None:
        return None
    text = str(text).strip()
    if not text:
        return None
    try:
        if field.type == "number":
            return parse_number(text)
        if field.type == "date":
            return parse_date(text)
    except (ValueError, InvalidOperation) as e:
        if strict:
            expected = "a number like 1234.56" if field.type == "number" else "a date like 2024-03-31"
            raise InputError(f"{field.id} must be {expected}, got {text!r}") from e
        return None
    allowed = options if options is not None else list(field.options)
    if field.type == "enum" and text not in allowed:
        if strict:
            raise InputError(f"{field.id} must be one of {allowed}, got {text!r}")
        return None
    return text


def normalized_text(field: FieldSpec, text: Any, options: list[str] | None = None) -> str | None:
    """Rossum's `normalized_value` of a datapoint's text: ISO date, JSON number, or the text; None if
    empty or not of the field's type (an enum's value checked against `options` when given, else the field's own)."""
    return normalized.normalized_text(field.type, text, options if options is not None else field.options)


def _datapoint(allocate: IdAllocator, field: FieldSpec, value: Any, evidence: Evidence | None = None) -> Node:
    text = format_value(field, value)
    content: dict[str, Any] = {"value": text, "normalized_value": normalized_text(field, text)}
    if evidence is None:
        content.update(page=None, position=None, rir_page=None, rir_position=None, rir_text=None, rir_confidence=None)
    else:
        box = [float(v) for v in evidence.box]
        content.update(page=evidence.page, position=box, rir_page=evidence.page, rir_position=list(box), rir_text=evidence.text,
                       rir_confidence=float(evidence.confidence))  # fmt: skip
    return {"id": allocate(), "schema_id": field.id, "category": "datapoint", "content": content}


def build_content(queue: QueueSpec, captured: Mapping[str, Any], evidence: Mapping[str, Evidence] | None = None) -> list[Node]:
    """The content tree of a new document: every field of the schema, filled from `captured`.

    Plain fields go in the `basic_info` section; each table gets a section holding its multivalue, one
    tuple per captured row. Ids count up from 1 in document order. `evidence` (by captured name) says
    where plain fields were read: their `page`, `position`, `rir_text` and `rir_confidence`.
    """
    evidence = evidence or {}
    allocate = IdAllocator(1)
    basic: Node = {"id": allocate(), "schema_id": BASIC_SECTION, "category": "section", "children": []}
    content = [basic]
    for field in queue.fields:
        if field.type != "multivalue":
            basic["children"].append(_datapoint(allocate, field, captured.get(field.captured_as), evidence.get(field.captured_as)))
            continue
        section: Node = {"id": allocate(), "schema_id": section_id(field), "category": "section", "children": []}
        multivalue: Node = {"id": allocate(), "schema_id": field.id, "category": "multivalue", "children": []}
        section["children"].append(multivalue)
        rows = captured.get(field.captured_as) or []
        if not isinstance(rows, list):
            raise InputError(f"captured {field.captured_as!r} must be a list of rows for table {field.id!r}, got {rows!r:.80}")
        for row in rows:
            cells = row if isinstance(row, Mapping) else {}
            tuple_node: Node = {"id": allocate(), "schema_id": field.row_schema_id, "category": "tuple", "children": []}
            for column in field.columns:
                tuple_node["children"].append(_datapoint(allocate, column, cells.get(column.captured_as)))
            multivalue["children"].append(tuple_node)
        content.append(section)
    return content


def normalize_content(queue: QueueSpec, content: list[Node]) -> list[Node]:
    """Set every datapoint's `normalized_value` from its `value` (in place; returns `content`).

    Run on what a person or an extension changed before it is saved, so a value set later is
    normalized like a captured one. Datapoints of no field in the schema are left as they are.
    """
    kinds = {f.id: (f.type, f.options) for f in queue.scalar_fields()}
    kinds.update({c.id: (c.type, c.options) for t in queue.tables() for c in t.columns})
    normalized.normalize_content(content, kinds)
    return content


def multivalue_children(queue: QueueSpec) -> dict[str, str]:
    """Each table's row schema_id, by the table's id (for adding rows to an empty table)."""
    return {table.id: table.row_schema_id for table in queue.tables()}


def content_values(queue: QueueSpec, content: list[Node]) -> dict[str, Any]:
    """The typed values of a content tree, by field id; a table is a list of rows of typed cells.

    A field missing from the content (a schema grown after capture) is None, or [] for a table.
    """
    values: dict[str, Any] = {}
    for field in queue.fields:
        nodes = find_by_schema_id(content, field.id)
        if field.type != "multivalue":
            values[field.id] = parse_value(field, nodes[0].get("content", {}).get("value"), options=node_options(nodes[0])) if nodes else None
            continue
        rows = []
        for row in (nodes[0].get("children") or []) if nodes else []:
            cells = {cell["schema_id"]: cell for cell in row.get("children") or []}
            rows.append(
                {c.id: parse_value(c, cells[c.id].get("content", {}).get("value"), options=node_options(cells[c.id])) if c.id in cells else None
                 for c in field.columns}
            )
        values[field.id] = rows
    return values


def edit_operations(queue: QueueSpec, content: list[Node], changes: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rossum `replace` operations for edits given as `{schema_id or "#<datapoint id>": text}`.

    A plain field is named by its id; any datapoint (a table cell) by `#<id>` as `docket documents show`
    prints it. Values are checked against the field's type and options.

    Raises:
        InputError: naming an unknown field or id, a table (edit its cells by id), or a bad value.
    """
    index = index_content(content)
    operations = []
    for key, text in changes.items():
        if key.startswith("#"):
            raw_id = key[1:]
            node = index.get(int(raw_id)) if raw_id.isdigit() else None
            if node is None or node["category"] != "datapoint":
                raise InputError(f"no datapoint with id {key!r} in this document; `docket documents show` lists them")
            field = queue.field(node["schema_id"]) or (queue.column(node["schema_id"]) or (None, None))[1]
        else:
            field = queue.field(key)
            if field is None or field.type == "multivalue":
                known = ", ".join(f.id for f in queue.scalar_fields())
                hint = "; edit a table's cells by id (#<id>)" if field is not None else ""
                raise InputError(f"queue {queue.queue_id!r} has no plain field {key!r} (fields: {known}){hint}")
            nodes = find_by_schema_id(content, key)
            if not nodes:
                raise InputError(f"this document's content has no datapoint {key!r}; it was captured before the field existed")
            node = nodes[0]
        if field is not None:
            parse_value(field, text, strict=True, options=node_options(node))
        operations.append({"op": "replace", "id": node["id"], "value": {"content": {"value": "" if text is None else str(text)}}})
    return operations


def keyed_sources(content: list[Node], by_id: Mapping[str, str]) -> dict[str, str]:
    """Sources keyed as documents keep them: a plain field by its schema_id, a table cell by its id.

    Exports read a plain field's source without the content tree; schema_ids start with a letter, so
    the two kinds of key never collide.
    """
    plain = {
        str(child["id"]): child["schema_id"]
        for section in content
        for child in section.get("children") or []
        if child.get("category") == "datapoint"
    }
    return {plain.get(key, key): source for key, source in by_id.items()}
