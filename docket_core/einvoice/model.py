"""The one shape Docket reads every structured invoice into, whichever syntax (CII or UBL) it came in."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

__all__ = ["EInvoice", "LineItem", "kept_lines", "single_rate"]


@dataclass(frozen=True)
class LineItem:
    """One invoice line; `unit_price` is the net price per the line's price base quantity."""

    id: str | None
    description: str | None
    quantity: Decimal | None
    unit_price: Decimal | None
    net_amount: Decimal | None
    tax_rate: Decimal | None


@dataclass(frozen=True)
class EInvoice:
    """The fields Docket captures from a structured invoice, amounts exact as written in the XML.

    `tax_total` is the VAT in the document currency; `tax_rate` is set only when a single rate
    applies (`tax_rates` lists every distinct rate found). `profile` is the guideline or
    customization id (for example `urn:cen.eu:en16931:2017`).
    """

    syntax: Literal["CII", "UBL"]
    profile: str | None
    invoice_number: str | None
    type_code: str | None
    issue_date: datetime.date | None
    due_date: datetime.date | None
    seller_name: str | None
    seller_vat_id: str | None
    buyer_name: str | None
    currency: str | None
    iban: str | None
    net_total: Decimal | None
    tax_total: Decimal | None
    gross_total: Decimal | None
    due_payable: Decimal | None
    tax_rate: Decimal | None
    tax_rates: tuple[Decimal, ...]
    line_items: tuple[LineItem, ...]


def kept_lines(lines: Iterator[LineItem]) -> tuple[LineItem, ...]:
    """The lines that are items: any field set."""
    # ZUGFeRD 1.0 EXTENDED allows note-only lines (a line document with just a note): not items.
    return tuple(line for line in lines if any(v is not None for v in vars(line).values()))


def single_rate(rates: list[Decimal]) -> tuple[Decimal | None, tuple[Decimal, ...]]:
    """`(tax_rate, tax_rates)` for `EInvoice`: the rate when only one applies, and every distinct rate."""
    distinct: list[Decimal] = []
    for rate in rates:
        if rate not in distinct:
            distinct.append(rate)
    return (distinct[0] if len(distinct) == 1 else None), tuple(distinct)
