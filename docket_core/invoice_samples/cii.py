"""The Factur-X XML of a sample invoice, built element by element from the EN 16931 CII structure."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any
from xml.etree import ElementTree as ET

from docket_core.errors import InputError
from docket_core.invoice_samples.amounts import as_decimal, invoice_totals, money_text

__all__ = ["FACTURX_EN16931_GUIDELINE", "build_cii_xml"]

FACTURX_EN16931_GUIDELINE = "urn:cen.eu:en16931:2017"
"""The guideline id of the Factur-X / ZUGFeRD EN 16931 (COMFORT) profile."""

_RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
_RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
_UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
_QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"


def _sub(parent: ET.Element, tag: str, text: Any = None, **attrs: str) -> ET.Element:
    prefix, _, local = tag.partition(":")
    ns = {"rsm": _RSM, "ram": _RAM, "udt": _UDT}[prefix]
    el = ET.SubElement(parent, f"{{{ns}}}{local}", attrs)
    if text is not None:
        el.text = str(text)
    return el


def _date_102(parent: ET.Element, tag: str, value: datetime.date) -> None:
    _sub(_sub(parent, tag), "udt:DateTimeString", value.strftime("%Y%m%d"), format="102")


def _party(parent: ET.Element, tag: str, name: str, vat_id: str | None) -> None:
    party = _sub(parent, tag)
    _sub(party, "ram:Name", name)
    address = _sub(party, "ram:PostalTradeAddress")
    _sub(address, "ram:CountryID", (vat_id or "DE")[:2])
    if vat_id:
        _sub(_sub(party, "ram:SpecifiedTaxRegistration"), "ram:ID", vat_id, schemeID="VA")


def build_cii_xml(invoice: Mapping[str, Any]) -> bytes:
    """A Factur-X / ZUGFeRD EN 16931 CII invoice for the given fields and line items.

    Args:
        invoice: `invoice_number`, `issue_date` (date), `seller_name`, `buyer_name`, `currency`,
            `line_items` (each `description`, `quantity`, `unit_price`, optional `id` and
            `tax_rate`); optional `type_code` (default "380"), `due_date`, `seller_vat_id`,
            `buyer_vat_id`, `iban`, `tax_rate` (default rate of the lines), and `net_total`,
            `tax_total`, `gross_total` to override the computed totals.

    Returns:
        UTF-8 XML bytes in the element order of the CII schema.
    """
    for key in ("invoice_number", "issue_date", "seller_name", "buyer_name", "currency"):
        if not invoice.get(key):
            raise InputError(f"a sample invoice needs {key!r}, got {invoice.get(key)!r}")
    totals = invoice_totals(invoice)
    currency = invoice["currency"]
    for prefix, ns in (("rsm", _RSM), ("ram", _RAM), ("udt", _UDT), ("qdt", _QDT)):
        ET.register_namespace(prefix, ns)
    root = ET.Element(f"{{{_RSM}}}CrossIndustryInvoice")
    context = _sub(root, "rsm:ExchangedDocumentContext")
    _sub(_sub(context, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", FACTURX_EN16931_GUIDELINE)
    document = _sub(root, "rsm:ExchangedDocument")
    _sub(document, "ram:ID", invoice["invoice_number"])
    _sub(document, "ram:TypeCode", invoice.get("type_code", "380"))
    _date_102(document, "ram:IssueDateTime", invoice["issue_date"])

    transaction = _sub(root, "rsm:SupplyChainTradeTransaction")
    for number, (line, rate, net) in enumerate(totals["lines"], start=1):
        item = _sub(transaction, "ram:IncludedSupplyChainTradeLineItem")
        _sub(_sub(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", line.get("id", number))
        _sub(_sub(item, "ram:SpecifiedTradeProduct"), "ram:Name", line["description"])
        agreement = _sub(item, "ram:SpecifiedLineTradeAgreement")
        _sub(_sub(agreement, "ram:NetPriceProductTradePrice"), "ram:ChargeAmount", as_decimal(line["unit_price"]))
        _sub(
            _sub(item, "ram:SpecifiedLineTradeDelivery"),
            "ram:BilledQuantity",
            as_decimal(line["quantity"]),
            unitCode="C62",
        )
        settlement = _sub(item, "ram:SpecifiedLineTradeSettlement")
        tax = _sub(settlement, "ram:ApplicableTradeTax")
        _sub(tax, "ram:TypeCode", "VAT")
        _sub(tax, "ram:CategoryCode", "S" if rate else "Z")
        _sub(tax, "ram:RateApplicablePercent", rate)
        _sub(
            _sub(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation"),
            "ram:LineTotalAmount",
            money_text(net),
        )

    agreement = _sub(transaction, "ram:ApplicableHeaderTradeAgreement")
    _party(agreement, "ram:SellerTradeParty", invoice["seller_name"], invoice.get("seller_vat_id"))
    _party(agreement, "ram:BuyerTradeParty", invoice["buyer_name"], invoice.get("buyer_vat_id"))
    _sub(transaction, "ram:ApplicableHeaderTradeDelivery")
    settlement = _sub(transaction, "ram:ApplicableHeaderTradeSettlement")
    _sub(settlement, "ram:InvoiceCurrencyCode", currency)
    if invoice.get("iban"):
        means = _sub(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
        _sub(means, "ram:TypeCode", "58")  # SEPA credit transfer
        _sub(_sub(means, "ram:PayeePartyCreditorFinancialAccount"), "ram:IBANID", invoice["iban"])
    for rate, basis, amount in totals["breakdown"]:
        tax = _sub(settlement, "ram:ApplicableTradeTax")
        _sub(tax, "ram:CalculatedAmount", money_text(amount))
        _sub(tax, "ram:TypeCode", "VAT")
        _sub(tax, "ram:BasisAmount", money_text(basis))
        _sub(tax, "ram:CategoryCode", "S" if rate else "Z")
        _sub(tax, "ram:RateApplicablePercent", rate)
    if invoice.get("due_date"):
        _date_102(
            _sub(settlement, "ram:SpecifiedTradePaymentTerms"), "ram:DueDateDateTime", invoice["due_date"]
        )
    sums = _sub(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    _sub(sums, "ram:LineTotalAmount", money_text(totals["line_total"]))
    _sub(sums, "ram:TaxBasisTotalAmount", money_text(totals["net_total"]))
    _sub(sums, "ram:TaxTotalAmount", money_text(totals["tax_total"]), currencyID=currency)
    _sub(sums, "ram:GrandTotalAmount", money_text(totals["gross_total"]))
    _sub(sums, "ram:DuePayableAmount", money_text(totals["gross_total"]))
    ET.indent(root)
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True)
