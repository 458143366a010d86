"""Which syntax an XML e-invoice is in, and reading it into `EInvoice`.

Anything but a CII or UBL invoice (Order-X, despatch advices, arbitrary XML) is refused with an
`InputError`.
"""

from __future__ import annotations

from docket_core.einvoice import cii, ubl
from docket_core.einvoice.model import EInvoice
from docket_core.einvoice.safexml import parse_tree
from docket_core.errors import InputError

__all__ = ["parse_invoice_xml", "syntax_of"]


def syntax_of(ns: str, tag: str) -> str | None:
    """ "CII", "UBL" or None, for a root element's namespace and local name."""
    if cii.ROOT_NAMESPACES.get(tag) == ns:
        return "CII"
    if ubl.ROOT_NAMESPACES.get(tag) == ns:
        return "UBL"
    return None


def parse_invoice_xml(data: bytes) -> EInvoice:
    """Read a CII (Factur-X, ZUGFeRD 1.0/2.x, XRechnung) or UBL 2.1 invoice or credit note.

    Args:
        data: The XML document, as bytes (its own declaration tells the encoding).

    Returns:
        The captured fields; amounts are `Decimal` exactly as written.

    Raises:
        InputError: When the XML is not well-formed, declares a DTD or entities, is neither a CII
            nor a UBL invoice, or holds a date or amount that cannot be read.
    """
    ns, root = parse_tree(data)
    syntax = syntax_of(ns, root.tag)
    if syntax == "CII":
        return cii.parse_cii(root)
    if syntax == "UBL":
        return ubl.parse_ubl(root)
    got = f"{{{ns}}}{root.tag}" if ns else root.tag
    raise InputError(
        "expected a UN/CEFACT CII CrossIndustryInvoice (Factur-X, ZUGFeRD, XRechnung) or a UBL 2.1 "
        f"Invoice/CreditNote, got root element {got}; other documents (Order-X orders, despatch "
        "advices) are not invoices"
    )
