"""Invoices as text PDFs, in the layout families of `model.INVOICE_LAYOUTS`.

Each layout composes the same blocks (party blocks, a block of invoice details, the item table,
totals, a footer with ids and bank details) in another arrangement, so that a capture engine meets
labels beside and below their values, sellers left and right, buyers before sellers, totals as rows
and as a table, and totals on the last of several pages.
"""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

from docket_core.synth.model import Line, SynthDocument
from docket_core.synth.pen import Pen

__all__ = ["write_invoice_pdf"]

_LEFT, _RIGHT = 50.0, 545.0
_FOOTER_Y = 770.0
_FIRST_PAGE_ROWS, _NEXT_PAGE_ROWS = 18, 34


def _party_rows(doc: SynthDocument, party: str) -> list[str]:
    p = doc.seller if party == "seller" else doc.buyer
    assert p is not None
    rows = [p.name, p.street, p.city_line]
    if party == "seller":
        rows.append(p.phone)
    return rows


def _details(doc: SynthDocument) -> list[tuple[str, str]]:
    """(label, value) rows of the invoice details block."""
    rows = [(doc.labels["invoice_number"], doc.number or ""), (doc.labels["issue_date"], doc.date(doc.issue_date))]
    if doc.due_date:
        rows.append((doc.labels["due_date"], doc.date(doc.due_date)))
    if doc.shows_currency_code:
        rows.append((doc.labels["currency"], doc.currency))
    for key, value in doc.distractors:  # after the number and dates, or (a customer number) first
        label = doc.locale.labels[key][len(value) % len(doc.locale.labels[key])]
        rows.insert(0 if key == "customer_number" and len(value) % 2 else len(rows), (label, value))
    return rows


def _details_beside(pen: Pen, rng: random.Random, doc: SynthDocument, x: float, y: float, size: float = 9) -> float:
    """Labels with their values to the right: aligned in a column, or as 'Label: value'."""
    rows = _details(doc)
    joined = rng.random() < 0.4
    gap = max(pen.width_of(f"{label}:", size, bold=True) for label, _ in rows) + 10
    for label, value in rows:
        if joined:
            pen.text(x, y, f"{label}: {value}", size)
        else:
            pen.text(x, y, f"{label}:" if rng.random() < 0.7 else label, size, bold=True)
            pen.text(x + gap, y, value, size)
        y += size * 1.45
    return y


def _details_below(pen: Pen, doc: SynthDocument, y: float, size: float = 8.5) -> float:
    """A row of columns, each value directly below its label."""
    rows = _details(doc)
    step = (_RIGHT - _LEFT) / len(rows)
    for i, (label, value) in enumerate(rows):
        pen.text(_LEFT + i * step, y, label, size, bold=True)
        pen.text(_LEFT + i * step, y + size * 1.5, value, size + 0.5)
    return y + size * 3.2


def _table_header(pen: Pen, doc: SynthDocument, y: float) -> float:
    desc, qty, price, amount = doc.locale.labels["columns"]
    pen.shade(_LEFT - 4, y - 10, _RIGHT - _LEFT + 8, 14)
    pen.text(_LEFT, y, desc, 8.5, bold=True)
    pen.text(340, y, qty, 8.5, bold=True, align="right")
    pen.text(440, y, price, 8.5, bold=True, align="right")
    pen.text(_RIGHT, y, amount, 8.5, bold=True, align="right")
    return y + 16


def _table_rows(pen: Pen, doc: SynthDocument, lines: list[Line], y: float, size: float = 8.5) -> float:
    for line in lines:
        pen.text(_LEFT, y, line.description, size)
        pen.text(340, y, f"{line.quantity}", size, align="right")
        pen.text(440, y, doc.amount(line.unit_price), size, align="right")
        pen.text(_RIGHT, y, doc.amount(line.amount), size, align="right")
        y += size * 1.5
    pen.rule(_LEFT, y - size * 0.8, _RIGHT)
    return y + 6


def _prepaid_rows(doc: SynthDocument) -> list[tuple[str, str, bool]]:
    if not doc.prepaid:
        return []
    return [(doc.labels["paid"], doc.money(-doc.prepaid), False),
            (doc.labels["amount_due"], doc.money(doc.gross - doc.prepaid), True)]  # fmt: skip


def _totals_beside(pen: Pen, doc: SynthDocument, y: float, size: float = 9.5) -> float:
    rows = [(doc.labels["net"], doc.money(doc.net), False), (doc.labels["tax"], doc.money(doc.tax), False),
            (doc.labels["gross"], doc.money(doc.gross), not doc.prepaid)] + _prepaid_rows(doc)  # fmt: skip
    for label, value, bold in rows:
        pen.text(360, y, label, size, bold=bold)
        pen.text(_RIGHT, y, value, size, bold=bold, align="right")
        y += size * 1.6
    return y


def _totals_table(pen: Pen, doc: SynthDocument, y: float, size: float = 9) -> float:
    cells = [(doc.labels["net"], doc.money(doc.net)), (doc.labels["tax"], doc.money(doc.tax)),
             (doc.labels["gross"], doc.money(doc.gross))]  # fmt: skip
    step = 130.0
    x0 = _RIGHT - step * len(cells)
    pen.shade(x0 - 4, y - 10, step * len(cells) + 8, 14)
    for i, (label, value) in enumerate(cells):
        right = x0 + step * (i + 1) - 6
        pen.text(right, y, label, size, bold=True, align="right")
        pen.text(right, y + size * 1.7, value, size + (1 if i == 2 else 0), bold=i == 2, align="right")
    y += size * 3.5
    for label, value, bold in _prepaid_rows(doc):
        pen.text(360, y, label, size, bold=bold)
        pen.text(_RIGHT, y, value, size, bold=bold, align="right")
        y += size * 1.6
    return y


def _footer(pen: Pen, doc: SynthDocument, *, with_seller: bool = False) -> None:
    seller = doc.seller
    parts = [seller.name] if with_seller else []
    if doc.show_vat_id and seller.vat_id:
        parts.append(f"{doc.labels['vat_id']}: {seller.vat_id}")
    if doc.show_iban and seller.iban:
        grouped = " ".join(seller.iban[i : i + 4] for i in range(0, len(seller.iban), 4))
        parts.append(f"IBAN: {grouped}")
    pen.rule(_LEFT, _FOOTER_Y - 12, _RIGHT, 0.3)
    pen.text(_LEFT, _FOOTER_Y, doc.labels["terms"], 7.5)
    pen.text(_LEFT, _FOOTER_Y + 11, "  ·  ".join(parts) if pen.regular != "Courier" else " | ".join(parts), 7.5)
    pen.text(_LEFT, _FOOTER_Y + 22, seller.email, 7.5)


def _seller_block(pen: Pen, doc: SynthDocument, x: float, y: float, align: str = "left") -> float:
    rows = _party_rows(doc, "seller")
    y = pen.lines(x, y, rows[:1], 14, bold_first=True, align=align)
    return pen.lines(x, y + 2, rows[1:], 8.5, align=align)


def _title(pen: Pen, doc: SynthDocument, x: float, y: float, align: str = "left") -> None:
    pen.text(x, y, doc.labels["title"], 18, bold=True, align=align)


def _buyer_block(pen: Pen, doc: SynthDocument, x: float, y: float, labelled: bool) -> float:
    if labelled:
        pen.text(x, y, f"{doc.labels['buyer']}:", 8, bold=True)
        y += 12
    y = pen.lines(x, y, _party_rows(doc, "buyer"), 9.5)
    if doc.buyer_vat_id:
        y = pen.lines(x, y, [f"{doc.labels['vat_id']}: {doc.buyer_vat_id}"], 8)
    return y


def _body(pen: Pen, rng: random.Random, doc: SynthDocument, y: float, *, table_totals: bool = False) -> None:
    y = _table_rows(pen, doc, doc.lines, _table_header(pen, doc, y))
    (_totals_table if table_totals else _totals_beside)(pen, doc, y + 8)


def _classic(pen: Pen, rng: random.Random, doc: SynthDocument, table_totals: bool = False) -> None:
    _seller_block(pen, doc, _LEFT, 60)
    _title(pen, doc, _RIGHT, 62, align="right")
    _details_beside(pen, rng, doc, 340, 100)
    _buyer_block(pen, doc, _LEFT, 160, labelled=rng.random() < 0.6)
    _body(pen, rng, doc, 270, table_totals=table_totals)
    _footer(pen, doc)


def _seller_right(pen: Pen, rng: random.Random, doc: SynthDocument) -> None:
    _seller_block(pen, doc, _RIGHT, 60, align="right")
    _title(pen, doc, _LEFT, 62)
    y = _buyer_block(pen, doc, _LEFT, 130, labelled=rng.random() < 0.5)
    _details_beside(pen, rng, doc, _LEFT, y + 20)
    _body(pen, rng, doc, 300)
    _footer(pen, doc)


def _stacked(pen: Pen, rng: random.Random, doc: SynthDocument) -> None:
    _seller_block(pen, doc, _LEFT, 60)
    _title(pen, doc, _RIGHT, 62, align="right")
    _buyer_block(pen, doc, _LEFT, 150, labelled=rng.random() < 0.6)
    y = _details_below(pen, doc, 235)
    _body(pen, rng, doc, y + 20)
    _footer(pen, doc)


def _two_column(pen: Pen, rng: random.Random, doc: SynthDocument) -> None:
    _title(pen, doc, (_LEFT + _RIGHT) / 2, 55, align="center")
    pen.text(_LEFT, 95, doc.labels["seller"], 8, bold=True)
    pen.lines(_LEFT, 109, _party_rows(doc, "seller"), 9.5, bold_first=True)
    pen.text(310, 95, doc.labels["buyer"], 8, bold=True)
    pen.lines(310, 109, _party_rows(doc, "buyer"), 9.5, bold_first=True)
    _details_beside(pen, rng, doc, 310, 185)
    _body(pen, rng, doc, 270)
    _footer(pen, doc)


def _buyer_first(pen: Pen, rng: random.Random, doc: SynthDocument) -> None:
    s = doc.seller
    pen.text(_LEFT, 60, f"{s.name} · {s.street} · {s.city_line}" if pen.regular != "Courier" else s.name, 6.5)
    pen.rule(_LEFT, 63, 280, 0.3)
    _buyer_block(pen, doc, _LEFT, 78, labelled=False)
    _seller_block(pen, doc, _RIGHT, 150, align="right")
    _title(pen, doc, _LEFT, 175)
    _details_beside(pen, rng, doc, _LEFT, 205)
    _body(pen, rng, doc, 290)
    _footer(pen, doc, with_seller=True)


def _letter(pen: Pen, rng: random.Random, doc: SynthDocument) -> None:
    _seller_block(pen, doc, (_LEFT + _RIGHT) / 2, 55, align="center")
    _buyer_block(pen, doc, _LEFT, 150, labelled=False)
    y = _details_beside(pen, rng, doc, 340, 150)
    y = max(y, 210) + 20
    pen.text(_LEFT, y, doc.labels["title"], 13, bold=True)
    y += 24
    for line in doc.lines:
        pen.text(_LEFT, y, f"{line.quantity} × {line.description}" if pen.regular != "Courier" else line.description, 9.5)
        pen.text(_RIGHT, y, doc.amount(line.amount), 9.5, align="right")
        y += 15
    pen.rule(_LEFT, y - 6, _RIGHT)
    _totals_beside(pen, doc, y + 10)
    _footer(pen, doc)


def _multipage(pen: Pen, rng: random.Random, doc: SynthDocument) -> None:
    chunks = [doc.lines[:_FIRST_PAGE_ROWS]]
    rest = doc.lines[_FIRST_PAGE_ROWS:]
    while rest:
        chunks.append(rest[:_NEXT_PAGE_ROWS])
        rest = rest[_NEXT_PAGE_ROWS:]
    if len(chunks) == 1:  # totals need their own page: move the last lines over
        chunks = [doc.lines[:-3], doc.lines[-3:]]
    pages = len(chunks)
    page_label = doc.labels["page"]
    for number, chunk in enumerate(chunks, start=1):
        if number == 1:
            _seller_block(pen, doc, _LEFT, 60)
            _title(pen, doc, _RIGHT, 62, align="right")
            _details_beside(pen, rng, doc, 340, 100)
            _buyer_block(pen, doc, _LEFT, 160, labelled=True)
            y = 260.0
        else:
            pen.text(_LEFT, 50, doc.seller.name, 8)
            pen.text(_RIGHT, 50, f"{doc.labels['invoice_number']} {doc.number}", 8, align="right")
            y = 80.0
        y = _table_rows(pen, doc, chunk, _table_header(pen, doc, y))
        if number < pages:
            running = sum((line.amount for chunk_ in chunks[:number] for line in chunk_), start=Decimal(0))
            pen.text(360, y + 4, doc.labels["carried"], 8.5)
            pen.text(_RIGHT, y + 4, doc.amount(running), 8.5, align="right")
        else:
            _totals_beside(pen, doc, y + 8)
            _footer(pen, doc)
        pen.text(_RIGHT, 825, page_label.format(p=number, n=pages), 7.5, align="right")
        if number < pages:
            pen.next_page()


_LAYOUTS = {
    "classic": _classic,
    "seller_right": _seller_right,
    "stacked": _stacked,
    "two_column": _two_column,
    "buyer_first": _buyer_first,
    "totals_table": lambda pen, rng, doc: _classic(pen, rng, doc, table_totals=True),
    "multipage": _multipage,
    "letter": _letter,
}


def write_invoice_pdf(doc: SynthDocument, path: Path, rng: random.Random) -> int:
    """Draw `doc` in its layout to a text PDF at `path`; returns the number of pages."""
    pen = Pen(path, doc.font)
    _LAYOUTS[doc.layout](pen, rng, doc)
    pages = pen.canvas.getPageNumber()
    pen.save()
    return pages
