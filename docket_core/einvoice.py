"""Structured e-invoices: find the XML a PDF carries and read UN/CEFACT CII or UBL 2.1 into one shape.

Supported syntaxes:

- UN/CEFACT Cross Industry Invoice (`rsm:CrossIndustryInvoice`, D16B): Factur-X 1.0 (all profiles),
  ZUGFeRD 2.x and XRechnung in CII syntax;
- the ZUGFeRD 1.0 `rsm:CrossIndustryDocument`, which has the same content under older element names;
- OASIS UBL 2.1 `Invoice` and `CreditNote` (EN 16931, XRechnung UBL, Peppol BIS).

Anything else (Order-X, despatch advices, arbitrary XML) is refused with an `InputError`.

The XML is parsed with expat into a tree of local names. A document type declaration is refused
before any of it is read, so entity expansion (billion laughs) and external entities (XXE) cannot
happen: e-invoices never need a DTD.

pypdf reports what it repairs in a broken PDF through `logging` (not `warnings`); those notices are
left to the logging configuration, and a PDF it cannot read at all becomes an `InputError`.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal
from xml.etree.ElementTree import Element, TreeBuilder
from xml.parsers import expat

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from docket_core.deadline import check_deadline
from docket_core.errors import InputError
from docket_core.pdf_attachments import list_attachments

__all__ = [
    "EINVOICE_ATTACHMENT_NAMES",
    "MAX_XML_BYTES",
    "EInvoice",
    "LineItem",
    "find_embedded_xml",
    "open_pdf",
    "parse_invoice_xml",
]

EINVOICE_ATTACHMENT_NAMES = ("factur-x.xml", "zugferd-invoice.xml", "ZUGFeRD-invoice.xml", "xrechnung.xml")
"""Attachment names the Factur-X, ZUGFeRD and XRechnung specifications give the invoice XML."""

MAX_XML_BYTES = 32 * 1024 * 1024
"""The most bytes an e-invoice XML attached to a PDF may decode to (real ones are well under 1 MiB)."""

_XML_BLOCK = 1024 * 1024  # bytes parsed between two checks of the deadline
_SNIFF_BYTES = 64 * 1024  # enough for an XML declaration, comments and the root element's namespaces

_CII_NAMESPACES = {
    "CrossIndustryInvoice": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "CrossIndustryDocument": "urn:ferd:CrossIndustryDocument:invoice:1p0",
}
_UBL_NAMESPACES = {
    "Invoice": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "CreditNote": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
}


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


# --- safe XML -------------------------------------------------------------------------------------


class _Refused(Exception):
    """Raised inside expat callbacks to stop parsing at a construct Docket does not accept."""


def _refuse_doctype(name: str, *_: Any) -> None:
    raise _Refused(
        f"XML declares a document type ({name!r}); e-invoices never need a DTD and Docket refuses "
        "DTDs and entity declarations (XXE, entity expansion). Remove the <!DOCTYPE ...> block"
    )


def _refuse_entity(name: str, *_: Any) -> None:
    raise _Refused(f"XML declares the entity {name!r}; Docket refuses DTDs and entity declarations")


def _local(name: str) -> str:
    # expat gives "namespace-uri local-name" with namespace_separator=" ".
    return name.rpartition(" ")[2]


def _parse_tree(data: bytes) -> tuple[str, Element]:
    """Parse `data` into a tree of local names; return the root's namespace and the root."""
    builder = TreeBuilder()
    root_ns: list[str] = []

    def start(name: str, attrs: dict[str, str]) -> None:
        if not root_ns:
            root_ns.append(name.rpartition(" ")[0])
        builder.start(_local(name), {_local(k): v for k, v in attrs.items()})

    def end(name: str) -> None:
        builder.end(_local(name))

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_entity
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    try:
        # In blocks, so a job's per-file time budget is checked while a large document is parsed.
        view = memoryview(data)
        for start in range(0, len(view), _XML_BLOCK):
            check_deadline()
            parser.Parse(view[start : start + _XML_BLOCK], False)
        parser.Parse(b"", True)
    except _Refused as e:
        raise InputError(str(e)) from None
    except expat.ExpatError as e:
        raise InputError(f"expected a well-formed XML e-invoice, got an XML syntax error: {e}") from e
    return root_ns[0], builder.close()


def _syntax_of(ns: str, tag: str) -> str | None:
    if _CII_NAMESPACES.get(tag) == ns:
        return "CII"
    if _UBL_NAMESPACES.get(tag) == ns:
        return "UBL"
    return None


# --- tree helpers ---------------------------------------------------------------------------------


def _all(el: Element | None, path: str) -> list[Element]:
    """Elements at `path`: local names joined by "/", each step may list alternatives with "|"."""
    if el is None:
        return []
    nodes = [el]
    for step in path.split("/"):
        names = step.split("|")
        nodes = [child for node in nodes for child in node if child.tag in names]
    return nodes


def _one(el: Element | None, path: str) -> Element | None:
    found = _all(el, path)
    return found[0] if found else None


def _str(el: Element | None, path: str | None = None) -> str | None:
    """The stripped text of the first element at `path` that has text, or None."""
    nodes = [el] if path is None else _all(el, path)
    for node in nodes:
        if node is not None and node.text and node.text.strip():
            return node.text.strip()
    return None


def _dec(el: Element | None, path: str | None = None) -> Decimal | None:
    text = _str(el, path)
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InputError(f"expected a decimal number in <{path or el.tag}>, got {text!r}") from None
    if not value.is_finite():
        raise InputError(f"expected a finite decimal number in <{path or el.tag}>, got {text!r}")
    return value


def _date(el: Element | None, path: str) -> datetime.date | None:
    node = _one(el, path)
    text = _str(node)
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


def _amount_in(nodes: list[Element], currency: str | None) -> Decimal | None:
    """The amount in the document currency when an amount is repeated in several currencies."""
    if not nodes:
        return None
    for node in nodes:
        if currency and node.get("currencyID") == currency:
            return _dec(node)
    for node in nodes:
        if node.get("currencyID") in (None, ""):
            return _dec(node)
    return _dec(nodes[0])


def _kept(lines: Iterator[LineItem]) -> tuple[LineItem, ...]:
    # ZUGFeRD 1.0 EXTENDED allows note-only lines (a line document with just a note): not items.
    return tuple(line for line in lines if any(v is not None for v in vars(line).values()))


def _single_rate(rates: list[Decimal]) -> tuple[Decimal | None, tuple[Decimal, ...]]:
    distinct: list[Decimal] = []
    for rate in rates:
        if rate not in distinct:
            distinct.append(rate)
    return (distinct[0] if len(distinct) == 1 else None), tuple(distinct)


# --- CII ------------------------------------------------------------------------------------------

# ZUGFeRD 1.0 names come second in each alternative.
_CII_DOC = "ExchangedDocument|HeaderExchangedDocument"
_CII_CONTEXT = "ExchangedDocumentContext|SpecifiedExchangedDocumentContext"
_CII_TX = "SupplyChainTradeTransaction|SpecifiedSupplyChainTradeTransaction"
_CII_AGREEMENT = "ApplicableHeaderTradeAgreement|ApplicableSupplyChainTradeAgreement"
_CII_SETTLEMENT = "ApplicableHeaderTradeSettlement|ApplicableSupplyChainTradeSettlement"
_CII_SUMS = "SpecifiedTradeSettlementHeaderMonetarySummation|SpecifiedTradeSettlementMonetarySummation"
_CII_RATE = "RateApplicablePercent|ApplicablePercent"


def _cii_vat_id(party: Element | None) -> str | None:
    for reg in _all(party, "SpecifiedTaxRegistration/ID"):
        if reg.get("schemeID") == "VA":
            return _str(reg)
    return None


def _cii_line(line: Element) -> LineItem:
    settlement = _one(line, "SpecifiedLineTradeSettlement|SpecifiedSupplyChainTradeSettlement")
    return LineItem(
        id=_str(line, "AssociatedDocumentLineDocument/LineID"),
        description=_str(line, "SpecifiedTradeProduct/Name"),
        quantity=_dec(line, "SpecifiedLineTradeDelivery|SpecifiedSupplyChainTradeDelivery/BilledQuantity"),
        unit_price=_dec(
            line,
            "SpecifiedLineTradeAgreement|SpecifiedSupplyChainTradeAgreement/NetPriceProductTradePrice/ChargeAmount",
        ),
        net_amount=_dec(
            settlement,
            "SpecifiedTradeSettlementLineMonetarySummation|SpecifiedTradeSettlementMonetarySummation/LineTotalAmount",
        ),
        tax_rate=_dec(settlement, f"ApplicableTradeTax/{_CII_RATE}"),
    )


def _parse_cii(root: Element) -> EInvoice:
    doc = _one(root, _CII_DOC)
    tx = _one(root, _CII_TX)
    agreement = _one(tx, _CII_AGREEMENT)
    settlement = _one(tx, _CII_SETTLEMENT)
    sums = _one(settlement, _CII_SUMS)
    currency = _str(settlement, "InvoiceCurrencyCode")
    lines = _kept(_cii_line(line) for line in _all(tx, "IncludedSupplyChainTradeLineItem"))
    rates = [r for tax in _all(settlement, "ApplicableTradeTax") if (r := _dec(tax, _CII_RATE)) is not None]
    if not rates:  # MINIMUM and some BASIC WL files state no breakdown; the lines may still tell
        rates = [line.tax_rate for line in lines if line.tax_rate is not None]
    tax_rate, tax_rates = _single_rate(rates)
    return EInvoice(
        syntax="CII",
        profile=_str(root, f"{_CII_CONTEXT}/GuidelineSpecifiedDocumentContextParameter/ID"),
        invoice_number=_str(doc, "ID"),
        type_code=_str(doc, "TypeCode"),
        issue_date=_date(doc, "IssueDateTime/DateTimeString"),
        due_date=_date(settlement, "SpecifiedTradePaymentTerms/DueDateDateTime/DateTimeString"),
        seller_name=_str(agreement, "SellerTradeParty/Name"),
        seller_vat_id=_cii_vat_id(_one(agreement, "SellerTradeParty")),
        buyer_name=_str(agreement, "BuyerTradeParty/Name"),
        currency=currency,
        iban=_str(
            settlement, "SpecifiedTradeSettlementPaymentMeans/PayeePartyCreditorFinancialAccount/IBANID"
        ),
        net_total=_dec(sums, "TaxBasisTotalAmount"),
        tax_total=_amount_in(_all(sums, "TaxTotalAmount"), currency),
        gross_total=_dec(sums, "GrandTotalAmount"),
        due_payable=_dec(sums, "DuePayableAmount"),
        tax_rate=tax_rate,
        tax_rates=tax_rates,
        line_items=lines,
    )


# --- UBL ------------------------------------------------------------------------------------------


def _ubl_vat_id(party: Element | None) -> str | None:
    for scheme in _all(party, "PartyTaxScheme"):
        if _str(scheme, "TaxScheme/ID") == "VAT":
            return _str(scheme, "CompanyID")
    return None


def _ubl_party_name(party: Element | None) -> str | None:
    # EN 16931 BT-27/BT-44 is the legal registration name; the trading name is the fallback.
    return _str(party, "PartyLegalEntity/RegistrationName") or _str(party, "PartyName/Name")


def _ubl_line(line: Element) -> LineItem:
    return LineItem(
        id=_str(line, "ID"),
        description=_str(line, "Item/Name") or _str(line, "Item/Description"),
        quantity=_dec(line, "InvoicedQuantity|CreditedQuantity"),
        unit_price=_dec(line, "Price/PriceAmount"),
        net_amount=_dec(line, "LineExtensionAmount"),
        tax_rate=_dec(line, "Item/ClassifiedTaxCategory/Percent"),
    )


def _parse_ubl(root: Element) -> EInvoice:
    seller = _one(root, "AccountingSupplierParty/Party")
    buyer = _one(root, "AccountingCustomerParty/Party")
    totals = _one(root, "LegalMonetaryTotal")
    currency = _str(root, "DocumentCurrencyCode")
    lines = _kept(_ubl_line(line) for line in _all(root, "InvoiceLine|CreditNoteLine"))
    rates = [
        r for r in (_dec(c) for c in _all(root, "TaxTotal/TaxSubtotal/TaxCategory/Percent")) if r is not None
    ]
    if not rates:
        rates = [line.tax_rate for line in lines if line.tax_rate is not None]
    tax_rate, tax_rates = _single_rate(rates)
    return EInvoice(
        syntax="UBL",
        profile=_str(root, "CustomizationID"),
        invoice_number=_str(root, "ID"),
        type_code=_str(root, "InvoiceTypeCode|CreditNoteTypeCode"),
        issue_date=_date(root, "IssueDate"),
        due_date=_date(root, "DueDate") or _date(root, "PaymentMeans/PaymentDueDate"),
        seller_name=_ubl_party_name(seller),
        seller_vat_id=_ubl_vat_id(seller),
        buyer_name=_ubl_party_name(buyer),
        currency=currency,
        iban=_str(root, "PaymentMeans/PayeeFinancialAccount/ID"),
        net_total=_dec(totals, "TaxExclusiveAmount"),
        tax_total=_amount_in(_all(root, "TaxTotal/TaxAmount"), currency),
        gross_total=_dec(totals, "TaxInclusiveAmount"),
        due_payable=_dec(totals, "PayableAmount"),
        tax_rate=tax_rate,
        tax_rates=tax_rates,
        line_items=lines,
    )


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
    ns, root = _parse_tree(data)
    syntax = _syntax_of(ns, root.tag)
    if syntax == "CII":
        return _parse_cii(root)
    if syntax == "UBL":
        return _parse_ubl(root)
    got = f"{{{ns}}}{root.tag}" if ns else root.tag
    raise InputError(
        "expected a UN/CEFACT CII CrossIndustryInvoice (Factur-X, ZUGFeRD, XRechnung) or a UBL 2.1 "
        f"Invoice/CreditNote, got root element {got}; other documents (Order-X orders, despatch "
        "advices) are not invoices"
    )


# --- PDF attachments ------------------------------------------------------------------------------


def open_pdf(path: Path) -> PdfReader:
    """Open a PDF for reading, decrypting it when it only has an (empty) owner password.

    Raises:
        InputError: When the file is not a readable PDF or needs a password.
    """
    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise InputError(f"expected an unencrypted PDF, {path.name} needs a password; remove it first")
    except PyPdfError as e:
        raise InputError(f"expected a readable PDF, {path.name} could not be read: {e}") from e
    return reader


def _sniff_root(head: bytes) -> str | None:
    """ "CII", "UBL" or None, from the root element at the start of a document (its first bytes)."""
    found: list[str] = []

    def start(name: str, _attrs: dict[str, str]) -> None:
        found.append(name)
        raise _Refused("root found")

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_entity
    parser.StartElementHandler = start
    try:
        parser.Parse(head, False)
    except (_Refused, expat.ExpatError):
        pass
    if not found:
        return None
    ns, _, tag = found[0].rpartition(" ")
    return _syntax_of(ns, tag)


def find_embedded_xml(path: Path | PdfReader, *, max_bytes: int = MAX_XML_BYTES) -> tuple[str, bytes] | None:
    """The e-invoice XML a PDF carries, as `(attachment name, bytes)`, or None.

    A file with one of the standard names (`factur-x.xml`, `zugferd-invoice.xml`,
    `ZUGFeRD-invoice.xml`, `xrechnung.xml`) wins; otherwise the first `*.xml` attachment whose root is
    a CII CrossIndustryInvoice or a UBL Invoice/CreditNote. Both the embedded-files name tree and the
    catalog's /AF associated files are searched.

    Attachments are chosen before they are decoded: by name, then by the root element read from the
    first `_SNIFF_BYTES` decoded bytes of each `*.xml` file; only the chosen one is decoded whole,
    and refused past `max_bytes` (`docket_core.pdf_attachments`).

    Args:
        path: The PDF, or a reader already opened with `open_pdf`.
        max_bytes: The most bytes the chosen XML may decode to.

    Raises:
        InputError: When the file is not a readable PDF, or the chosen XML is larger than `max_bytes`
            or does not decode.
    """
    reader = path if isinstance(path, PdfReader) else open_pdf(path)
    try:
        candidates = [a for a in list_attachments(reader) if a.name.lower().endswith(".xml")]
        for attachment in candidates:
            if attachment.name in EINVOICE_ATTACHMENT_NAMES:
                return attachment.name, attachment.read(max_bytes)
        for attachment in candidates:
            check_deadline()
            if _sniff_root(attachment.head(_SNIFF_BYTES)) is not None:
                return attachment.name, attachment.read(max_bytes)
    except (PyPdfError, AttributeError, KeyError, TypeError) as e:
        raise InputError(f"expected readable PDF attachments, got a malformed attachment tree: {e}") from e
    return None
