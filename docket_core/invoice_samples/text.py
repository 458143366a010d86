"""The printed face of a sample invoice: its lines of text, with English or German labels."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from docket_core.invoice_samples.amounts import CENT, as_decimal, invoice_totals

__all__ = ["SYMBOLS", "invoice_lines"]

_MONTHS_EN = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
              "October", "November", "December"]  # fmt: skip
SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}
"""Currency symbols the printed face may use instead of the ISO code."""


def _format_amount(value: Decimal, lang: str) -> str:
    text = f"{value.quantize(CENT, rounding=ROUND_HALF_UP):,}"  # 1,234.56
    return text.replace(",", "_").replace(".", ",").replace("_", ".") if lang == "de" else text


def _format_date(value: datetime.date, style: str) -> str:
    if style == "de":
        return value.strftime("%d.%m.%Y")
    if style == "slash":
        return value.strftime("%d/%m/%Y")
    if style == "long":
        return f"{value.day} {_MONTHS_EN[value.month - 1]} {value.year}"
    return value.isoformat()


def invoice_lines(invoice: Mapping[str, Any], lang: str, *, show_rate: bool = True) -> list[str]:
    """The printed face of an invoice, with English or German labels."""
    totals = invoice_totals(invoice)
    date_style = invoice.get("date_style", "de" if lang == "de" else "iso")
    currency = invoice["currency"]
    symbol = invoice.get("currency_symbol")

    def money(value: Decimal) -> str:
        amount = _format_amount(value, lang)
        return f"{symbol}{amount}" if symbol and lang != "de" else f"{amount} {symbol or currency}"

    rates = sorted({rate for _, rate, _ in totals["lines"]})
    rate_text = f" {rates[0].normalize():f} %" if show_rate and len(rates) == 1 else ""
    de = lang == "de"
    lines = [
        f"{'Verkäufer' if de else 'Seller'}: {invoice['seller_name']}",
        f"{'USt-IdNr.' if de else 'VAT ID'}: {invoice['seller_vat_id']}"
        if invoice.get("seller_vat_id")
        else "",
        "RECHNUNG" if de else "INVOICE",
        f"{'Rechnungsnummer' if de else 'Invoice No.'}: {invoice['invoice_number']}",
        f"{'Rechnungsdatum' if de else 'Invoice date'}: {_format_date(invoice['issue_date'], date_style)}",
    ]
    if invoice.get("due_date"):
        lines.append(f"{'Fällig am' if de else 'Due date'}: {_format_date(invoice['due_date'], date_style)}")
    lines += [
        f"{'Rechnungsempfänger' if de else 'Bill to'}: {invoice['buyer_name']}",
        "",
        "Pos.  Bezeichnung  Menge  Einzelpreis  Betrag"
        if de
        else "Pos.  Description  Qty  Unit price  Amount",
    ]
    for number, (line, _, net) in enumerate(totals["lines"], start=1):
        price = _format_amount(as_decimal(line["unit_price"]), lang)
        lines.append(
            f"{line.get('id', number)}  {line['description']}  {line['quantity']}  {price}  {money(net)}"
        )
    lines += [
        "",
        f"{'Nettobetrag' if de else 'Net total'}: {money(totals['net_total'])}",
        f"{'MwSt.' if de else 'VAT'}{rate_text}: {money(totals['tax_total'])}",
        f"{'Gesamtbetrag' if de else 'Total'}: {money(totals['gross_total'])}",
        "",
    ]
    if invoice.get("iban"):
        iban = invoice["iban"]
        lines.append("IBAN: " + " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)))
    return lines
