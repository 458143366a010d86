"""Built-in function extensions, usable on any queue (`type: function`, `function: <import path>`).

- `fill_tax_rate`: computes what is missing among net, tax, gross and rate from the others.
- `check_fields`: required fields, values of the wrong type, and the invoice checks of the
  `invoice-capture` workflow (totals that do not add up, due before issue) as error messages, which
  block automatic confirmation.
- `match_vendor` and `fill_from_vendor` (in `docket_core.extensions.vendors`): the vendor against
  master data, then fields filled from the match.

Each reads the queue's datapoints by schema_id; `settings.fields` maps the names used here (net_total,
tax_total, gross_total, tax_rate, invoice_number, issue_date, due_date) to other schema_ids.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from docket_core.extensions.hookdoc import HookDocument, decimal_of, format_amount
from docket_core.extensions.vendors import fill_from_vendor, match_vendor
from docket_core.normalized import node_options
from docket_core.steps.invoice import check_fields as check_invoice
from docket_core.workflows.model import FileContext

__all__ = ["BUILTINS", "check_fields", "fill_from_vendor", "fill_tax_rate", "match_vendor"]

BUILTINS: Mapping[str, str] = {
    "tax-fill": "docket_core.extensions.builtin:fill_tax_rate",
    "field-checks": "docket_core.extensions.builtin:check_fields",
    "vendor-match": "docket_core.extensions.builtin:match_vendor",
    "vendor-fill": "docket_core.extensions.builtin:fill_from_vendor",
}
"""Short names of the built-ins (`docket extensions create --builtin vendor-match`)."""

_HUNDRED = Decimal(100)
_INVOICE_FIELDS = ("invoice_number", "issue_date", "due_date", "net_total", "tax_total", "gross_total", "tax_rate")


def _ids(settings: Mapping[str, Any]) -> dict[str, str]:
    mapping = settings.get("fields") or {}
    return {name: str(mapping.get(name, name)) for name in _INVOICE_FIELDS}


def fill_tax_rate(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Fill the one of net, tax, gross and tax rate that is missing, from the others.

    Only empty datapoints are filled, each with an info message saying how. Rules, in order: rate from
    tax and net (as the invoice workflow does); tax from gross and net; tax from net and rate; net from
    gross and rate; then gross from net and tax.
    """
    doc = HookDocument(payload)
    ids = _ids(doc.settings)
    net, tax, gross, rate = (doc.number(ids[n]) for n in ("net_total", "tax_total", "gross_total", "tax_rate"))
    operations, messages = [], []

    def fill(name: str, value: Decimal, how: str) -> None:
        operation = doc.replace(ids[name], format_amount(value))
        if operation is not None and doc.text(ids[name]) == "":
            operations.append(operation)
            messages.append(doc.message("info", f"{name} {format_amount(value)} {how}", ids[name]))

    if tax is None and net is not None and gross is not None:
        tax = gross - net
        fill("tax_total", tax, f"computed as gross {format_amount(gross)} - net {format_amount(net)}")
    if net is None and gross is not None and rate is not None:
        net = (gross / (1 + rate / _HUNDRED)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        fill("net_total", net, f"computed from gross {format_amount(gross)} at {format_amount(rate)} %")
    if tax is None and net is not None and rate is not None:
        tax = (net * rate / _HUNDRED).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        fill("tax_total", tax, f"computed as {format_amount(rate)} % of net {format_amount(net)}")
    if rate is None and net is not None and tax is not None:
        # The invoice workflow's own rule (and its reasons for not deriving one), on these values.
        derived = check_invoice(_context({"net_total": float(net), "tax_total": float(tax), "gross_total": None}))
        if "tax_rate" in derived.datapoints:
            rate = Decimal(str(derived.datapoints["tax_rate"]))
            fill("tax_rate", rate, f"% derived from tax {format_amount(tax)} / net {format_amount(net)}")
        else:
            messages += [doc.message("info", m.content, ids["tax_rate"]) for m in derived.messages if m.schema_id == "tax_rate"]
    if gross is None and net is not None and tax is not None:
        fill("gross_total", net + tax, f"computed as net {format_amount(net)} + tax {format_amount(tax)}")
    return doc.answer(messages=messages, operations=operations)


def _context(points: Mapping[str, Any]) -> FileContext:
    return FileContext(name="", media_type="", path=Path(), datapoints=points)


def check_fields(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Error messages for what keeps a document from being confirmed as it is.

    - every field the queue marks `required` (and `settings.required`) must have a value;
    - number, date and enum fields must hold a number, a date, one of their options;
    - with invoice fields present: net + tax must equal gross (within 0.01) and the due date must not
      be before the issue date, the checks of the `invoice-capture` workflow.
    """
    doc = HookDocument(payload)
    ids = _ids(doc.settings)
    messages: list[dict[str, Any]] = []
    flagged: set[str] = set()
    required = [f["id"] for f in doc.schema if f.get("required") and f.get("type") != "multivalue"]
    required += [r for r in doc.settings.get("required") or [] if r not in required]
    for schema_id in required:
        if doc.text(schema_id) == "":
            messages.append(doc.message("error", f"{schema_id} is required; enter it before confirming", schema_id))
            flagged.add(schema_id)
    for field in doc.schema:
        text, schema_id = doc.text(field["id"]), field["id"]
        if not text or schema_id in flagged:
            continue
        node = doc.datapoint(schema_id)
        problem = _type_problem(field, text, node_options(node) if node is not None else None)
        if problem:
            messages.append(doc.message("error", problem, schema_id))
            flagged.add(schema_id)

    present = {name: doc.text(ids[name]) for name in _INVOICE_FIELDS}
    if any(present[n] is not None for n in ("net_total", "tax_total", "gross_total")):
        points = {name: _point(name, text) for name, text in present.items() if text}
        for finding in check_invoice(_context(points)).messages:
            schema_id = ids.get(finding.schema_id or "", finding.schema_id)
            missing = finding.content.endswith("missing; enter it before confirming")
            if finding.type != "error" or (missing and (schema_id in flagged or present.get(finding.schema_id or "") is None)):
                continue
            messages.append(doc.message("error", finding.content, schema_id))
    return doc.answer(messages=messages)


def _date(text: str) -> datetime.date | None:
    match = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", text)
    try:
        if match:
            return datetime.date(int(match[3]), int(match[2]), int(match[1]))
        return datetime.date.fromisoformat(text[:10])
    except ValueError:
        return None


def _point(name: str, text: str) -> Any:
    if name in ("net_total", "tax_total", "gross_total", "tax_rate"):
        number = decimal_of(text)
        return float(number) if number is not None else None
    if name in ("issue_date", "due_date"):
        return _date(text)
    return text


def _type_problem(field: Mapping[str, Any], text: str, options: list[str] | None = None) -> str | None:
    kind = field.get("type")
    if kind == "number" and decimal_of(text) is None:
        return f"{field['id']} must be a number, got {text!r}"
    if kind == "date" and _date(text) is None:
        return f"{field['id']} must be a date like 2024-03-31, got {text!r}"
    allowed = options if options is not None else list(field.get("options") or ())
    if kind == "enum" and text not in allowed:
        return f"{field['id']} must be one of {allowed}, got {text!r}"
    return None
