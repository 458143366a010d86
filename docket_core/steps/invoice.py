"""The `invoice-capture` workflow: invoice and receipt fields from e-invoice XML, else from the pages.

`extract_fields` prefers structure over reading: a standalone CII/UBL file or a PDF carrying one
(Factur-X, ZUGFeRD, XRechnung) gives its fields exactly (`source` "xml-file" or "embedded-xml").
Any other PDF, and a JPEG, PNG or TIFF scan or photo, becomes pages of words with boxes
(`docket_core.capture`: the text layer, or OCR for scanned pages and images) on which the fields
are found without templates (`source` "pdf-text" or "ocr"). Each value found keeps where it was
read and with what confidence in `StepOutput.evidence`; a field not found is left empty with an
info message.

`check_fields` (in `invoice_checks`) then checks what was captured against itself.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from stdnum import iban as stdnum_iban

from docket_core.capture.documents import read_image, read_pdf
from docket_core.capture.fields import extract
from docket_core.capture.ocr import OcrUnavailableError
from docket_core.capture.pages import Page, page_from_text
from docket_core.einvoice import EInvoice, find_embedded_xml, open_pdf, parse_invoice_xml
from docket_core.errors import InputError
from docket_core.steps.invoice_checks import check_fields
from docket_core.workflows.model import Evidence, FieldType, FileContext, Message, StepFn, StepOutput

__all__ = [
    "FIELDS",
    "INVOICE_STEPS",
    "check_fields",
    "extract_fields",
    "fields_from_einvoice",
    "fields_from_pages",
    "fields_from_text",
    "is_valid_iban",
]

FIELDS: dict[str, FieldType] = {
    "invoice_number": "string",
    "issue_date": "date",
    "due_date": "date",
    "order_number": "string",
    "seller_name": "string",
    "seller_vat_id": "string",
    "buyer_name": "string",
    "buyer_vat_id": "string",
    "iban": "string",
    "currency": "string",
    "net_total": "float",
    "tax_total": "float",
    "gross_total": "float",
    "tax_rate": "float",
    "line_items": "rows",
    "document_kind": "string",
    "source": "string",
    "e_invoice_profile": "string",
}
"""Captured fields; `line_items` rows hold id, description, quantity, unit_price, net_amount, tax_rate;
`document_kind` is "invoice" or "receipt"."""

_TEXT_FIELDS = (
    "invoice_number", "issue_date", "due_date", "seller_name", "seller_vat_id", "buyer_name", "iban",
    "currency", "net_total", "tax_total", "gross_total", "tax_rate",
)  # fmt: skip
_RECEIPT_FIELDS = ("issue_date", "seller_name", "currency", "gross_total", "tax_total")
_XML_MEDIA_TYPES = {"application/xml", "text/xml"}
_IMAGE_MEDIA_TYPES = {"image/jpeg", "image/png", "image/tiff"}
_CENT = Decimal("0.01")

# --- datapoints from an e-invoice -----------------------------------------------------------------


def _cents(value: Decimal | None) -> float | None:
    return None if value is None else float(value.quantize(_CENT, rounding=ROUND_HALF_UP))


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def fields_from_einvoice(invoice: EInvoice, source: str) -> dict[str, Any]:
    """The datapoints of an e-invoice: amounts as floats rounded to cents, dates as dates."""
    return {
        "invoice_number": invoice.invoice_number,
        "issue_date": invoice.issue_date,
        "due_date": invoice.due_date,
        "seller_name": invoice.seller_name,
        "seller_vat_id": invoice.seller_vat_id,
        "buyer_name": invoice.buyer_name,
        "iban": invoice.iban,
        "currency": invoice.currency,
        "net_total": _cents(invoice.net_total),
        "tax_total": _cents(invoice.tax_total),
        "gross_total": _cents(invoice.gross_total),
        "tax_rate": _float(invoice.tax_rate),
        "line_items": [
            {
                "id": line.id,
                "description": line.description,
                "quantity": _float(line.quantity),
                "unit_price": _float(line.unit_price),
                "net_amount": _cents(line.net_amount),
                "tax_rate": _float(line.tax_rate),
            }
            for line in invoice.line_items
        ],
        "order_number": None,
        "buyer_vat_id": None,
        "document_kind": "invoice",
        "source": source,
        "e_invoice_profile": invoice.profile,
    }


# --- fields from pages ----------------------------------------------------------------------------


def is_valid_iban(iban: str) -> bool:
    """Whether `iban` (spaces allowed) has its country's length and a valid ISO 13616 mod-97 checksum."""
    return bool(stdnum_iban.is_valid(iban))


def fields_from_pages(pages: list[Page], source: str) -> tuple[dict[str, Any], list[Message], dict[str, Evidence]]:
    """Invoice or receipt fields found on `pages`, what was not found, and where each value was read.

    Returns:
        The datapoints (every field of `FIELDS`; `line_items` and `e_invoice_profile` stay empty),
        messages (info for each field not found, a warning for an IBAN failing its checksum) and
        the evidence of each value found.
    """
    values, evidence, rejected = extract(pages)
    fields: dict[str, Any] = {name: values.get(name) for name in FIELDS}
    fields |= {"line_items": None, "source": source, "e_invoice_profile": None}
    messages: list[Message] = []
    if fields["iban"] is None and rejected:
        messages.append(
            Message("warning", f"{rejected[0]} looks like an IBAN but fails the mod-97 check; iban left empty", "iban")
        )
    where = "PDF text" if source == "pdf-text" else "OCR text"
    expected = _RECEIPT_FIELDS if fields["document_kind"] == "receipt" else _TEXT_FIELDS
    for name in expected:
        if fields[name] is None:
            messages.append(Message("info", f"{name} not found in the {where}", name))
    return fields, messages, evidence


def fields_from_text(text: str) -> tuple[dict[str, Any], list[Message]]:
    """Invoice fields found in plain text (one text line per row), and what was not found."""
    fields, messages, _ = fields_from_pages([page_from_text(text)], "pdf-text")
    return fields, messages


# --- the steps ------------------------------------------------------------------------------------


def _is_xml(ctx: FileContext) -> bool:
    return ctx.media_type in _XML_MEDIA_TYPES or ctx.media_type.endswith("+xml")


def _empty(source: str | None) -> dict[str, Any]:
    return {name: None for name in FIELDS} | {"source": source}


def _from_pages(pages: list[Page], messages: list[Message]) -> StepOutput:
    if not any(page.lines for page in pages):
        messages.append(Message("warning", "no text found on any page, neither in a text layer nor by OCR"))
        source = pages[0].source if pages else "pdf-text"
        return StepOutput(_empty(source), messages)
    source = "ocr" if all(page.source == "ocr" for page in pages) else "pdf-text"
    if source == "pdf-text" and any(page.source == "ocr" for page in pages):
        ocred = ", ".join(str(page.number) for page in pages if page.source == "ocr")
        messages.append(Message("info", f"page(s) {ocred} have no text layer and were read by OCR"))
    fields, field_messages, evidence = fields_from_pages(pages, source)
    return StepOutput(fields, messages + field_messages, evidence)


def _from_pdf(ctx: FileContext) -> StepOutput:
    reader = open_pdf(ctx.path)
    messages: list[Message] = []
    try:
        embedded = find_embedded_xml(reader)
    except InputError as e:
        embedded = None
        messages.append(Message("warning", f"{e}; reading the page text instead"))
    if embedded is not None:
        name, data = embedded
        try:
            invoice = parse_invoice_xml(data)
        except InputError as e:
            messages.append(
                Message(
                    "warning",
                    f"the attached {name} is not a readable e-invoice: {e}; reading the page text instead",
                )
            )
        else:
            messages.append(
                Message("info", f"fields read from the attached {name} ({invoice.profile or 'no profile'})")
            )
            return StepOutput(fields_from_einvoice(invoice, "embedded-xml"), messages)
    pages, page_messages = read_pdf(ctx.path)
    return _from_pages(pages, messages + page_messages)


def extract_fields(ctx: FileContext) -> StepOutput:
    """Capture the invoice or receipt fields of one PDF, XML or image file.

    Args:
        ctx: The file; `application/xml` (or `text/xml`, `*+xml`) is read as CII/UBL, `application/pdf`
            through its attached e-invoice or else its pages, `image/jpeg`, `image/png` and
            `image/tiff` by OCR.

    Returns:
        Every field of `FIELDS` (None when not found), messages about how they were found, and the
        evidence (page, box, text, confidence) of each value read from a page.

    Raises:
        InputError: When an XML file is not a CII/UBL invoice, or a PDF or image cannot be read at all.
    """
    if _is_xml(ctx):
        try:
            invoice = parse_invoice_xml(ctx.path.read_bytes())
        except InputError as e:
            raise InputError(f"{ctx.name}: {e}") from e
        return StepOutput(fields_from_einvoice(invoice, "xml-file"))
    if ctx.media_type == "application/pdf":
        return _from_pdf(ctx)
    if ctx.media_type in _IMAGE_MEDIA_TYPES:
        try:
            pages, messages = read_image(ctx.path)
        except OcrUnavailableError as e:
            return StepOutput(_empty("ocr"), [Message("warning", f"{ctx.name} was not read: {e}")])
        return _from_pages(pages, messages)
    return StepOutput(
        _empty(None),
        [
            Message(
                "warning",
                f"invoice-capture reads PDF, XML, JPEG, PNG and TIFF files, got {ctx.media_type}; nothing captured",
            )
        ],
    )


INVOICE_STEPS: list[tuple[str, StepFn, tuple[str, ...]]] = [
    ("extract", extract_fields, ()),
    ("checks", check_fields, ("extract",)),
]
"""The `invoice-capture` workflow: (step name, function, names it runs after)."""
