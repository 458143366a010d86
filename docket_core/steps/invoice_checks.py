"""The checks of the `invoice-capture` workflow: captured invoice fields against each other.

`check_fields` checks net + tax = gross, the due date not before the issue date, invoice number and
gross total present; it fills a missing tax rate from net and tax. Findings are messages, never
exceptions.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from docket_core.workflows.model import FileContext, Message, StepOutput

__all__ = ["check_fields"]

_CENT = Decimal("0.01")
_TOLERANCE = Decimal("0.01")


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _as_date(value: Any) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _rates(line_items: Iterable[Mapping[str, Any]] | None) -> list[Decimal]:
    rates: list[Decimal] = []
    for line in line_items or []:
        rate = _decimal(line.get("tax_rate"))
        if rate is not None and rate not in rates:
            rates.append(rate)
    return rates


def check_fields(ctx: FileContext) -> StepOutput:
    """Check the captured fields against each other; fill a missing tax rate from net and tax.

    Errors: invoice number or gross total missing; net + tax differing from gross by more than 0.01;
    a due date before the issue date. Info: a tax rate derived (or why it could not be).

    Args:
        ctx: The file, with the datapoints of `extract_fields` in `ctx.datapoints`.

    Returns:
        `tax_rate` when it was derived, and the findings.
    """
    points = ctx.datapoints
    out = StepOutput()
    if not points.get("invoice_number"):
        out.messages.append(
            Message("error", "invoice number is missing; enter it before confirming", "invoice_number")
        )
    net, tax, gross = (_decimal(points.get(name)) for name in ("net_total", "tax_total", "gross_total"))
    if gross is None:
        out.messages.append(
            Message("error", "gross total is missing; enter it before confirming", "gross_total")
        )

    if _decimal(points.get("tax_rate")) is None and net is not None and tax is not None:
        line_rates = _rates(points.get("line_items"))
        if len(line_rates) > 1:
            shown = ", ".join(f"{rate.normalize():f}" for rate in line_rates)
            out.messages.append(
                Message("info", f"several tax rates apply ({shown} %); tax_rate left empty", "tax_rate")
            )
        elif net == 0:
            out.messages.append(Message("info", "tax rate cannot be derived: the net total is 0", "tax_rate"))
        else:
            rate = (tax / net * 100).quantize(_CENT, rounding=ROUND_HALF_UP)
            out.datapoints["tax_rate"] = float(rate)
            out.messages.append(
                Message("info", f"tax rate {rate} % derived from tax {tax:.2f} / net {net:.2f}", "tax_rate")
            )

    if net is not None and tax is not None and gross is not None and abs(net + tax - gross) > _TOLERANCE:
        out.messages.append(
            Message(
                "error",
                f"net {net:.2f} + tax {tax:.2f} = {net + tax:.2f}, but the gross total is {gross:.2f} "
                f"(difference {gross - net - tax:.2f})",
                "gross_total",
            )
        )

    issue, due = _as_date(points.get("issue_date")), _as_date(points.get("due_date"))
    if issue is not None and due is not None and due < issue:
        out.messages.append(
            Message(
                "error",
                f"due date {due.isoformat()} is before the issue date {issue.isoformat()}",
                "due_date",
            )
        )
    return out
