"""Shop receipts as narrow text PDFs: the shop on top, date and time, items, tax, total, payment."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

from docket_core.synth.model import SynthDocument
from docket_core.synth.pen import Pen

__all__ = ["write_receipt_pdf"]

_WIDTH = 227.0  # 80 mm till roll
_MARGIN = 12.0


def _rows(doc: SynthDocument, rng: random.Random) -> list[tuple[str, str, str]]:
    """(kind, left, right) rows top to bottom; kind is head, text, item, rule, total or center."""
    s, labels = doc.seller, doc.labels
    rows: list[tuple[str, str, str]] = [("head", s.name, "")]
    rows += [("center", s.street, ""), ("center", s.city_line, ""), ("center", f"Tel {s.phone}", "")]
    if doc.show_vat_id and s.vat_id:
        rows.append(("center", f"{labels['vat_id']}: {s.vat_id}", ""))
    rows.append(("rule", "", ""))
    when = doc.date(doc.issue_date)
    if rng.random() < 0.5:
        rows.append(("text", f"{when} {doc.issue_time}", ""))
    else:
        rows.append(("text", f"{labels['issue_date']}: {when}", doc.issue_time or ""))
    if doc.number:
        rows.append(("text", f"{labels['receipt_number']}: {doc.number}", ""))
    rows.append(("rule", "", ""))
    for line in doc.lines:
        left = line.description if line.quantity == 1 else f"{line.quantity} x {line.description}"
        rows.append(("item", left, doc.amount(line.amount)))
    rows.append(("rule", "", ""))
    rate = f"{doc.tax_rate.normalize():f}"
    if doc.show_net:
        rows.append(("item", labels["net"], doc.amount(doc.net)))
    rows.append(("item", f"{labels['tax']}" if rate in labels["tax"] else f"{labels['tax']} {rate}%", doc.amount(doc.tax)))
    rows.append(("total", labels["receipt_total"], doc.money(doc.gross)))
    if doc.shows_currency_code:
        rows.append(("text", f"{labels['currency']}: {doc.currency}", ""))
    paid = (doc.gross / 10).to_integral_value() * 10 + 10 if rng.random() < 0.6 else doc.gross
    rows.append(("item", labels["cash"], doc.amount(Decimal(paid))))
    rows.append(("item", labels["change"], doc.amount(Decimal(paid) - doc.gross)))
    rows.append(("rule", "", ""))
    rows.append(("center", labels["thanks"], ""))
    return rows


def write_receipt_pdf(doc: SynthDocument, path: Path, rng: random.Random) -> int:
    """Draw `doc` as a till receipt, one narrow page as long as its rows; returns 1 (its pages)."""
    rows = _rows(doc, rng)
    height = 40 + 13 * len(rows) + 20
    pen = Pen(path, doc.font if doc.font != "Times-Roman" else "Courier", size=(_WIDTH, height))
    centered = doc.layout == "receipt_centered"
    mid, right = _WIDTH / 2, _WIDTH - _MARGIN
    y = 30.0
    for kind, left, value in rows:
        if kind == "head":
            size = 11 if pen.width_of(left, 11, bold=True) < _WIDTH - 2 * _MARGIN else 8.5
            pen.text(mid if centered else _MARGIN, y, left, size, bold=True, align="center" if centered else "left")
            y += 15
            continue
        if kind == "rule":
            pen.rule(_MARGIN, y - 6, right, 0.4)
            y += 5
            continue
        size = 9.5 if kind == "total" else 7.5
        if kind == "center":
            pen.text(mid if centered else _MARGIN, y, left, size, align="center" if centered else "left")
        else:
            pen.text(_MARGIN, y, left, size, bold=kind == "total")
            if value:
                pen.text(right, y, value, size, bold=kind == "total", align="right")
        y += 13 if kind != "total" else 16
    pen.save()
    return 1
