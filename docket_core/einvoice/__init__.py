"""Structured e-invoices: find the XML a PDF carries and read UN/CEFACT CII or UBL 2.1 into one shape.

Supported syntaxes:

- UN/CEFACT Cross Industry Invoice (`rsm:CrossIndustryInvoice`, D16B): Factur-X 1.0 (all profiles),
  ZUGFeRD 2.x and XRechnung in CII syntax;
- the ZUGFeRD 1.0 `rsm:CrossIndustryDocument`, which has the same content under older element names;
- OASIS UBL 2.1 `Invoice` and `CreditNote` (EN 16931, XRechnung UBL, Peppol BIS).

Anything else (Order-X, despatch advices, arbitrary XML) is refused with an `InputError`.

One module per concept: `model` (the `EInvoice` shape), `safexml` (expat parsing that refuses any
DTD), `tree` (reading values out of the parsed tree), `cii` and `ubl` (one syntax each), `parse`
(which syntax, then read it) and `pdf` (the XML attached to a PDF). This package exposes their
public API.
"""

from docket_core.einvoice.model import EInvoice, LineItem
from docket_core.einvoice.parse import parse_invoice_xml
from docket_core.einvoice.pdf import EINVOICE_ATTACHMENT_NAMES, MAX_XML_BYTES, find_embedded_xml, open_pdf

__all__ = [
    "EINVOICE_ATTACHMENT_NAMES",
    "MAX_XML_BYTES",
    "EInvoice",
    "LineItem",
    "find_embedded_xml",
    "open_pdf",
    "parse_invoice_xml",
]
