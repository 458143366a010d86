"""Reading values out of a tree of local names (`docket_core.einvoice.safexml.parse_tree`), for CII and UBL.

A path is local names joined by "/"; each step may list alternatives with "|" (CII names of
ZUGFeRD 2.x and 1.0, UBL `Invoice` and `CreditNote` names).
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element

from docket_core.errors import InputError

__all__ = ["all_at", "amount_in", "date_at", "decimal_at", "one_at", "text_at"]


def all_at(el: Element | None, path: str) -> list[Element]:
    """Elements at `path`: local names joined by "/", each step may list alternatives with "|"."""
    if el is None:
        return []
    nodes = [el]
    for step in path.split("/"):
        names = step.split("|")
        nodes = [child for node in nodes for child in node if child.tag in names]
    return nodes


def one_at(el: Element | None, path: str) -> Element | None:
    """The first element at `path`, or None."""
    found = all_at(el, path)
    return found[0] if found else None


def text_at(el: Element | None, path: str | None = None) -> str | None:
    """The stripped text of the first element at `path` that has text, or None."""
    nodes = [el] if path is None else all_at(el, path)
    for node in nodes:
        if node is not None and node.text and node.text.strip():
            return node.text.strip()
    return None


def decimal_at(el: Element | None, path: str | None = None) -> Decimal | None:
    """The text at `path` (or of `el`) as an exact finite `Decimal`, or None when there is none.

    Raises:
        InputError: When the text is not a finite decimal number.
    """
    text = text_at(el, path)
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InputError(f"expected a decimal number in <{path or el.tag}>, got {text!r}") from None
    if not value.is_finite():
        raise InputError(f"expected a finite decimal number in <{path or el.tag}>, got {text!r}")
    return value


def date_at(el: Element | None, path: str) -> datetime.date | None:
    """The date at `path`: YYYYMMDD (CII format 102) or ISO YYYY-MM-DD; None when there is none.

    Raises:
        InputError: When the text is not such a date, or names another format.
    """
    node = one_at(el, path)
    text = text_at(node)
    if text is None:
        return None
    fmt = node.get("format") if node is not None else None
    try:
        if fmt in (None, "102") and len(text) == 8 and text.isdigit():
            return datetime.date(int(text[:4]), int(text[4:6]), int(text[6:]))
        if fmt is None:
            return datetime.date.fromisoformat(text[:10])
    except ValueError:
        pass
    raise InputError(
        f"expected a date as YYYYMMDD (format 102) or YYYY-MM-DD in <{path}>, got {text!r}"
        + (f" with format {fmt!r}" if fmt else "")
    )


def amount_in(nodes: list[Element], currency: str | None) -> Decimal | None:
    """The amount in the document currency when an amount is repeated in several currencies."""
    if not nodes:
        return None
    for node in nodes:
        if currency and node.get("currencyID") == currency:
            return decimal_at(node)
    for node in nodes:
        if node.get("currencyID") in (None, ""):
            return decimal_at(node)
    return decimal_at(nodes[0])
