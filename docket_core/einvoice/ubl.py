"""OASIS UBL 2.1 `Invoice` and `CreditNote` (EN 16931, XRechnung UBL, Peppol BIS) into `EInvoice`."""

from __future__ import annotations

from xml.etree.ElementTree import Element

from docket_core.einvoice.model import EInvoice, LineItem, kept_lines, single_rate
from docket_core.einvoice.tree import all_at, amount_in, date_at, decimal_at, one_at, text_at

__all__ = ["ROOT_NAMESPACES", "parse_ubl"]

ROOT_NAMESPACES = {
    "Invoice": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "CreditNote": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
}
"""The namespace of each UBL root element Docket reads, by local name."""


def _ubl_vat_id(party: Element | None) -> str | None:
    for scheme in all_at(party, "PartyTaxScheme"):
        if text_at(scheme, "TaxScheme/ID") == "VAT":
            return text_at(scheme, "CompanyID")
    return None


def _ubl_party_name(party: Element | None) -> str | None:
    # EN 16931 BT-27/BT-44 is the legal registration name; the trading name is the fallback.
    return text_at(party, "PartyLegalEntity/RegistrationName") or text_at(party, "PartyName/Name")


def _ubl_line(line: Element) -> LineItem:
    return LineItem(
        id=text_at(line, "ID"),
        description=text_at(line, "Item/Name") or text_at(line, "Item/Description"),
        quantity=decimal_at(line, "InvoicedQuantity|CreditedQuantity"),
        unit_price=decimal_at(line, "Price/PriceAmount"),
        net_amount=decimal_at(line, "LineExtensionAmount"),
        tax_rate=decimal_at(line, "Item/ClassifiedTaxCategory/Percent"),
    )


def parse_ubl(root: Element) -> EInvoice:
    """The fields of a UBL invoice or credit note, from its root element (a tree of local names).

    Raises:
        InputError: When a date or amount cannot be read.
    """
    seller = one_at(root, "AccountingSupplierParty/Party")
    buyer = one_at(root, "AccountingCustomerParty/Party")
    totals = one_at(root, "LegalMonetaryTotal")
    currency = text_at(root, "DocumentCurrencyCode")
    lines = kept_lines(_ubl_line(line) for line in all_at(root, "InvoiceLine|CreditNoteLine"))
    rates = [
        r
        for r in (decimal_at(c) for c in all_at(root, "TaxTotal/TaxSubtotal/TaxCategory/Percent"))
        if r is not None
    ]
    if not rates:
        rates = [line.tax_rate for line in lines if line.tax_rate is not None]
    tax_rate, tax_rates = single_rate(rates)
    return EInvoice(
        syntax="UBL",
        profile=text_at(root, "CustomizationID"),
        invoice_number=text_at(root, "ID"),
        type_code=text_at(root, "InvoiceTypeCode|CreditNoteTypeCode"),
        issue_date=date_at(root, "IssueDate"),
        due_date=date_at(root, "DueDate") or date_at(root, "PaymentMeans/PaymentDueDate"),
        seller_name=_ubl_party_name(seller),
        seller_vat_id=_ubl_vat_id(seller),
        buyer_name=_ubl_party_name(buyer),
        currency=currency,
        iban=text_at(root, "PaymentMeans/PayeeFinancialAccount/ID"),
        net_total=decimal_at(totals, "TaxExclusiveAmount"),
        tax_total=amount_in(all_at(root, "TaxTotal/TaxAmount"), currency),
        gross_total=decimal_at(totals, "TaxInclusiveAmount"),
        due_payable=decimal_at(totals, "PayableAmount"),
        tax_rate=tax_rate,
        tax_rates=tax_rates,
        line_items=lines,
    )
