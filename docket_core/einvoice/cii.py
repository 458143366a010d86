"""UN/CEFACT Cross Industry Invoice into `EInvoice`.

Reads the `rsm:CrossIndustryInvoice` (D16B) of Factur-X 1.0 (all profiles), ZUGFeRD 2.x and XRechnung
in CII syntax, and the ZUGFeRD 1.0 `rsm:CrossIndustryDocument`, which has the same content under
older element names.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from docket_core.einvoice.model import EInvoice, LineItem, kept_lines, single_rate
from docket_core.einvoice.tree import all_at, amount_in, date_at, decimal_at, one_at, text_at

__all__ = ["ROOT_NAMESPACES", "parse_cii"]

ROOT_NAMESPACES = {
    "CrossIndustryInvoice": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "CrossIndustryDocument": "urn:ferd:CrossIndustryDocument:invoice:1p0",
}
"""The namespace of each CII root element Docket reads, by local name."""

# ZUGFeRD 1.0 names come second in each alternative.
_CII_DOC = "ExchangedDocument|HeaderExchangedDocument"
_CII_CONTEXT = "ExchangedDocumentContext|SpecifiedExchangedDocumentContext"
_CII_TX = "SupplyChainTradeTransaction|SpecifiedSupplyChainTradeTransaction"
_CII_AGREEMENT = "ApplicableHeaderTradeAgreement|ApplicableSupplyChainTradeAgreement"
_CII_SETTLEMENT = "ApplicableHeaderTradeSettlement|ApplicableSupplyChainTradeSettlement"
_CII_SUMS = "SpecifiedTradeSettlementHeaderMonetarySummation|SpecifiedTradeSettlementMonetarySummation"
_CII_RATE = "RateApplicablePercent|ApplicablePercent"


def _cii_vat_id(party: Element | None) -> str | None:
    for reg in all_at(party, "SpecifiedTaxRegistration/ID"):
        if reg.get("schemeID") == "VA":
            return text_at(reg)
    return None


def _cii_line(line: Element) -> LineItem:
    settlement = one_at(line, "SpecifiedLineTradeSettlement|SpecifiedSupplyChainTradeSettlement")
    return LineItem(
        id=text_at(line, "AssociatedDocumentLineDocument/LineID"),
        description=text_at(line, "SpecifiedTradeProduct/Name"),
        quantity=decimal_at(line, "SpecifiedLineTradeDelivery|SpecifiedSupplyChainTradeDelivery/BilledQuantity"),
        unit_price=decimal_at(
            line,
            "SpecifiedLineTradeAgreement|SpecifiedSupplyChainTradeAgreement/NetPriceProductTradePrice/ChargeAmount",
        ),
        net_amount=decimal_at(
            settlement,
            "SpecifiedTradeSettlementLineMonetarySummation|SpecifiedTradeSettlementMonetarySummation/LineTotalAmount",
        ),
        tax_rate=decimal_at(settlement, f"ApplicableTradeTax/{_CII_RATE}"),
    )


def parse_cii(root: Element) -> EInvoice:
    """The fields of a CII invoice, from its root element (a tree of local names).

    Raises:
        InputError: When a date or amount cannot be read.
    """
    doc = one_at(root, _CII_DOC)
    tx = one_at(root, _CII_TX)
    agreement = one_at(tx, _CII_AGREEMENT)
    settlement = one_at(tx, _CII_SETTLEMENT)
    sums = one_at(settlement, _CII_SUMS)
    currency = text_at(settlement, "InvoiceCurrencyCode")
    lines = kept_lines(_cii_line(line) for line in all_at(tx, "IncludedSupplyChainTradeLineItem"))
    rates = [r for tax in all_at(settlement, "ApplicableTradeTax") if (r := decimal_at(tax, _CII_RATE)) is not None]
    if not rates:  # MINIMUM and some BASIC WL files state no breakdown; the lines may still tell
        rates = [line.tax_rate for line in lines if line.tax_rate is not None]
    tax_rate, tax_rates = single_rate(rates)
    return EInvoice(
        syntax="CII",
        profile=text_at(root, f"{_CII_CONTEXT}/GuidelineSpecifiedDocumentContextParameter/ID"),
        invoice_number=text_at(doc, "ID"),
        type_code=text_at(doc, "TypeCode"),
        issue_date=date_at(doc, "IssueDateTime/DateTimeString"),
        due_date=date_at(settlement, "SpecifiedTradePaymentTerms/DueDateDateTime/DateTimeString"),
        seller_name=text_at(agreement, "SellerTradeParty/Name"),
        seller_vat_id=_cii_vat_id(one_at(agreement, "SellerTradeParty")),
        buyer_name=text_at(agreement, "BuyerTradeParty/Name"),
        currency=currency,
        iban=text_at(
            settlement, "SpecifiedTradeSettlementPaymentMeans/PayeePartyCreditorFinancialAccount/IBANID"
        ),
        net_total=decimal_at(sums, "TaxBasisTotalAmount"),
        tax_total=amount_in(all_at(sums, "TaxTotalAmount"), currency),
        gross_total=decimal_at(sums, "GrandTotalAmount"),
        due_payable=decimal_at(sums, "DuePayableAmount"),
        tax_rate=tax_rate,
        tax_rates=tax_rates,
        line_items=lines,
    )
