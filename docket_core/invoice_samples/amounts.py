"""Amounts of a sample invoice: exact decimals, cents rounded half up, and totals from the lines."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

__all__ = ["CENT", "as_decimal", "invoice_totals", "money_text"]

CENT = Decimal("0.01")
"""The smallest amount a sample invoice shows; amounts round to it half up."""


def as_decimal(value: Any) -> Decimal:
    """`value` as an exact `Decimal` (an int, a str, or a Decimal already)."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


def money_text(value: Decimal) -> str:
    """An amount as the XML writes it: to the cent, no thousands separator."""
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def invoice_totals(invoice: Mapping[str, Any]) -> dict[str, Any]:
    """Line totals, the VAT breakdown by rate, and the document totals (overridable by the caller)."""
    lines = []
    breakdown: dict[Decimal, Decimal] = {}
    for line in invoice.get("line_items", []):
        rate = as_decimal(line.get("tax_rate", invoice.get("tax_rate", 0)))
        net = (as_decimal(line["quantity"]) * as_decimal(line["unit_price"])).quantize(CENT, rounding=ROUND_HALF_UP)
        lines.append((line, rate, net))
        breakdown[rate] = breakdown.get(rate, Decimal(0)) + net
    taxes = {
        rate: (basis * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        for rate, basis in breakdown.items()
    }
    net_total = as_decimal(invoice.get("net_total", sum(breakdown.values(), Decimal(0))))
    tax_total = as_decimal(invoice.get("tax_total", sum(taxes.values(), Decimal(0))))
    gross_total = as_decimal(invoice.get("gross_total", net_total + tax_total))
    return {
        "lines": lines,
        "breakdown": [(rate, breakdown[rate], taxes[rate]) for rate in sorted(breakdown)],
        "line_total": sum(breakdown.values(), Decimal(0)),
        "net_total": net_total,
        "tax_total": tax_total,
        "gross_total": gross_total,
    }
