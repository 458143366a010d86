"""Reading CII and UBL e-invoices, and finding the XML a PDF carries."""

from __future__ import annotations

import datetime
import os
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, NameObject

from docket_core.einvoice.model import EInvoice, LineItem
from docket_core.einvoice.parse import parse_invoice_xml
from docket_core.einvoice.pdf import find_embedded_xml
from docket_core.errors import InputError
from docket_core.invoice_samples.cii import build_cii_xml
from docket_core.invoice_samples.pdf import write_facturx_pdf, write_text_pdf

INVOICE = {
    "invoice_number": "RE-2024-117",
    "issue_date": datetime.date(2024, 3, 12),
    "due_date": datetime.date(2024, 4, 11),
    "seller_name": "Nordlicht Werkzeuge GmbH",
    "seller_vat_id": "DE123456789",
    "buyer_name": "Kestrel Logistics GmbH",
    "currency": "EUR",
    "iban": "DE89370400440532013000",
    "tax_rate": 19,
    "line_items": [
        {"description": "Schraubensatz M6", "quantity": 12, "unit_price": "4.35"},
        {"description": "Beratungsstunden", "quantity": 3, "unit_price": "110.00"},
    ],
}

UBL_INVOICE = b"""<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
    xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
    xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:CustomizationID>urn:cen.eu:en16931:2017</cbc:CustomizationID>
  <cbc:ID>UBL-0042</cbc:ID>
  <cbc:IssueDate>2024-05-02</cbc:IssueDate>
  <cbc:DueDate>2024-06-01</cbc:DueDate>
  <cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>
  <cbc:DocumentCurrencyCode>GBP</cbc:DocumentCurrencyCode>
  <cbc:TaxCurrencyCode>EUR</cbc:TaxCurrencyCode>
  <cac:AccountingSupplierParty><cac:Party>
    <cac:PartyName><cbc:Name>Harbour Lane</cbc:Name></cac:PartyName>
    <cac:PartyTaxScheme><cbc:CompanyID>GB-REG-1</cbc:CompanyID>
      <cac:TaxScheme><cbc:ID>LOC</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>
    <cac:PartyTaxScheme><cbc:CompanyID>GB123456789</cbc:CompanyID>
      <cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>
    <cac:PartyLegalEntity>
      <cbc:RegistrationName>Harbour Lane Stationery Ltd</cbc:RegistrationName></cac:PartyLegalEntity>
  </cac:Party></cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty><cac:Party>
    <cac:PartyName><cbc:Name>Blue Fern Studio</cbc:Name></cac:PartyName>
  </cac:Party></cac:AccountingCustomerParty>
  <cac:PaymentMeans><cbc:PaymentMeansCode>58</cbc:PaymentMeansCode>
    <cac:PayeeFinancialAccount><cbc:ID>GB33BUKB20201555555555</cbc:ID></cac:PayeeFinancialAccount>
  </cac:PaymentMeans>
  <cac:TaxTotal><cbc:TaxAmount currencyID="EUR">23.45</cbc:TaxAmount></cac:TaxTotal>
  <cac:TaxTotal><cbc:TaxAmount currencyID="GBP">20.00</cbc:TaxAmount>
    <cac:TaxSubtotal><cbc:TaxableAmount currencyID="GBP">100.00</cbc:TaxableAmount>
      <cbc:TaxAmount currencyID="GBP">20.00</cbc:TaxAmount>
      <cac:TaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>20</cbc:Percent>
        <cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:TaxCategory></cac:TaxSubtotal>
  </cac:TaxTotal>
  <cac:LegalMonetaryTotal>
    <cbc:LineExtensionAmount currencyID="GBP">100.00</cbc:LineExtensionAmount>
    <cbc:TaxExclusiveAmount currencyID="GBP">100.00</cbc:TaxExclusiveAmount>
    <cbc:TaxInclusiveAmount currencyID="GBP">120.00</cbc:TaxInclusiveAmount>
    <cbc:PrepaidAmount currencyID="GBP">20.00</cbc:PrepaidAmount>
    <cbc:PayableAmount currencyID="GBP">100.00</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>
  <cac:InvoiceLine>
    <cbc:ID>10</cbc:ID>
    <cbc:InvoicedQuantity unitCode="C62">4</cbc:InvoicedQuantity>
    <cbc:LineExtensionAmount currencyID="GBP">100.00</cbc:LineExtensionAmount>
    <cac:Item><cbc:Name>Printer paper A4, box</cbc:Name>
      <cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>20</cbc:Percent>
        <cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:ClassifiedTaxCategory></cac:Item>
    <cac:Price><cbc:PriceAmount currencyID="GBP">25.00</cbc:PriceAmount></cac:Price>
  </cac:InvoiceLine>
</Invoice>
"""

UBL_CREDIT_NOTE = b"""<?xml version="1.0" encoding="UTF-8"?>
<CreditNote xmlns="urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
    xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
    xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:ID>CN-7</cbc:ID>
  <cbc:IssueDate>2024-05-10</cbc:IssueDate>
  <cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>
  <cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
  <cac:AccountingSupplierParty><cac:Party>
    <cac:PartyName><cbc:Name>Bergmann KG</cbc:Name></cac:PartyName></cac:Party></cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty><cac:Party>
    <cac:PartyLegalEntity><cbc:RegistrationName>Obstgarten e.K.</cbc:RegistrationName></cac:PartyLegalEntity>
  </cac:Party></cac:AccountingCustomerParty>
  <cac:PaymentMeans><cbc:PaymentMeansCode>30</cbc:PaymentMeansCode>
    <cbc:PaymentDueDate>2024-05-24</cbc:PaymentDueDate></cac:PaymentMeans>
  <cac:TaxTotal><cbc:TaxAmount currencyID="EUR">1.40</cbc:TaxAmount></cac:TaxTotal>
  <cac:LegalMonetaryTotal>
    <cbc:TaxExclusiveAmount currencyID="EUR">20.00</cbc:TaxExclusiveAmount>
    <cbc:TaxInclusiveAmount currencyID="EUR">21.40</cbc:TaxInclusiveAmount>
    <cbc:PayableAmount currencyID="EUR">21.40</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>
  <cac:CreditNoteLine>
    <cbc:ID>1</cbc:ID>
    <cbc:CreditedQuantity unitCode="C62">2</cbc:CreditedQuantity>
    <cbc:LineExtensionAmount currencyID="EUR">20.00</cbc:LineExtensionAmount>
    <cac:Item><cbc:Description>Returned yoghurt</cbc:Description>
      <cac:ClassifiedTaxCategory><cbc:Percent>7</cbc:Percent></cac:ClassifiedTaxCategory></cac:Item>
    <cac:Price><cbc:PriceAmount currencyID="EUR">10.00</cbc:PriceAmount></cac:Price>
  </cac:CreditNoteLine>
</CreditNote>
"""

ZUGFERD_1 = """<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryDocument xmlns:rsm="urn:ferd:CrossIndustryDocument:invoice:1p0"
    xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:12"
    xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:15">
  <rsm:SpecifiedExchangedDocumentContext>
    <ram:GuidelineSpecifiedDocumentContextParameter>
      <ram:ID>urn:ferd:CrossIndustryDocument:invoice:1p0:comfort</ram:ID>
    </ram:GuidelineSpecifiedDocumentContextParameter>
  </rsm:SpecifiedExchangedDocumentContext>
  <rsm:HeaderExchangedDocument>
    <ram:ID>Z1-99</ram:ID><ram:TypeCode>380</ram:TypeCode>
    <ram:IssueDateTime><udt:DateTimeString format="102">20130305</udt:DateTimeString></ram:IssueDateTime>
  </rsm:HeaderExchangedDocument>
  <rsm:SpecifiedSupplyChainTradeTransaction>
    <ram:ApplicableSupplyChainTradeAgreement>
      <ram:SellerTradeParty><ram:Name>Lieferant GmbH</ram:Name>
        <ram:SpecifiedTaxRegistration><ram:ID schemeID="FC">201/113/40209</ram:ID>
        </ram:SpecifiedTaxRegistration>
        <ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">DE123456789</ram:ID>
        </ram:SpecifiedTaxRegistration>
      </ram:SellerTradeParty>
      <ram:BuyerTradeParty><ram:Name>Kunden AG</ram:Name></ram:BuyerTradeParty>
    </ram:ApplicableSupplyChainTradeAgreement>
    <ram:ApplicableSupplyChainTradeSettlement>
      <ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>
      <ram:ApplicableTradeTax><ram:CalculatedAmount currencyID="EUR">37.62</ram:CalculatedAmount>
        <ram:ApplicablePercent>19.00</ram:ApplicablePercent></ram:ApplicableTradeTax>
      <ram:SpecifiedTradeSettlementMonetarySummation>
        <ram:TaxBasisTotalAmount currencyID="EUR">198.00</ram:TaxBasisTotalAmount>
        <ram:TaxTotalAmount currencyID="EUR">37.62</ram:TaxTotalAmount>
        <ram:GrandTotalAmount currencyID="EUR">235.62</ram:GrandTotalAmount>
        <ram:DuePayableAmount currencyID="EUR">235.62</ram:DuePayableAmount>
      </ram:SpecifiedTradeSettlementMonetarySummation>
    </ram:ApplicableSupplyChainTradeSettlement>
    <ram:IncludedSupplyChainTradeLineItem>
      <ram:AssociatedDocumentLineDocument><ram:LineID>1</ram:LineID></ram:AssociatedDocumentLineDocument>
      <ram:SpecifiedSupplyChainTradeAgreement><ram:NetPriceProductTradePrice>
        <ram:ChargeAmount currencyID="EUR">9.9000</ram:ChargeAmount></ram:NetPriceProductTradePrice>
      </ram:SpecifiedSupplyChainTradeAgreement>
      <ram:SpecifiedSupplyChainTradeDelivery>
        <ram:BilledQuantity unitCode="C62">20.0000</ram:BilledQuantity>
      </ram:SpecifiedSupplyChainTradeDelivery>
      <ram:SpecifiedSupplyChainTradeSettlement>
        <ram:ApplicableTradeTax><ram:ApplicablePercent>19.00</ram:ApplicablePercent></ram:ApplicableTradeTax>
        <ram:SpecifiedTradeSettlementMonetarySummation>
          <ram:LineTotalAmount currencyID="EUR">198.00</ram:LineTotalAmount>
        </ram:SpecifiedTradeSettlementMonetarySummation>
      </ram:SpecifiedSupplyChainTradeSettlement>
      <ram:SpecifiedTradeProduct><ram:Name>Trennbl\u00e4tter A4</ram:Name></ram:SpecifiedTradeProduct>
    </ram:IncludedSupplyChainTradeLineItem>
  </rsm:SpecifiedSupplyChainTradeTransaction>
</rsm:CrossIndustryDocument>
""".encode()


class TestParseInvoiceXml:
    def test_reads_back_every_field_of_a_generated_factur_x_invoice(self) -> None:
        assert parse_invoice_xml(build_cii_xml(INVOICE)) == EInvoice(
            syntax="CII",
            profile="urn:cen.eu:en16931:2017",
            invoice_number="RE-2024-117",
            type_code="380",
            issue_date=datetime.date(2024, 3, 12),
            due_date=datetime.date(2024, 4, 11),
            seller_name="Nordlicht Werkzeuge GmbH",
            seller_vat_id="DE123456789",
            buyer_name="Kestrel Logistics GmbH",
            currency="EUR",
            iban="DE89370400440532013000",
            net_total=Decimal("382.20"),
            tax_total=Decimal("72.62"),
            gross_total=Decimal("454.82"),
            due_payable=Decimal("454.82"),
            tax_rate=Decimal("19"),
            tax_rates=(Decimal("19"),),
            line_items=(
                LineItem(
                    "1", "Schraubensatz M6", Decimal("12"), Decimal("4.35"), Decimal("52.20"), Decimal("19")
                ),
                LineItem(
                    "2", "Beratungsstunden", Decimal("3"), Decimal("110.00"), Decimal("330.00"), Decimal("19")
                ),
            ),
        )

    def test_leaves_the_tax_rate_empty_when_several_rates_apply(self) -> None:
        invoice = INVOICE | {
            "line_items": [
                {"description": "Joghurt", "quantity": 10, "unit_price": "1.00", "tax_rate": 7},
                {"description": "Schrauben", "quantity": 1, "unit_price": "10.00", "tax_rate": 19},
            ]
        }

        parsed = parse_invoice_xml(build_cii_xml(invoice))

        assert (parsed.tax_rate, parsed.tax_rates) == (None, (Decimal(7), Decimal(19)))
        assert (parsed.net_total, parsed.tax_total, parsed.gross_total) == (
            Decimal("20.00"),
            Decimal("2.60"),
            Decimal("22.60"),
        )

    def test_reads_a_ubl_invoice_with_the_tax_total_in_the_document_currency(self) -> None:
        assert parse_invoice_xml(UBL_INVOICE) == EInvoice(
            syntax="UBL",
            profile="urn:cen.eu:en16931:2017",
            invoice_number="UBL-0042",
            type_code="380",
            issue_date=datetime.date(2024, 5, 2),
            due_date=datetime.date(2024, 6, 1),
            seller_name="Harbour Lane Stationery Ltd",
            seller_vat_id="GB123456789",
            buyer_name="Blue Fern Studio",
            currency="GBP",
            iban="GB33BUKB20201555555555",
            net_total=Decimal("100.00"),
            tax_total=Decimal("20.00"),
            gross_total=Decimal("120.00"),
            due_payable=Decimal("100.00"),
            tax_rate=Decimal("20"),
            tax_rates=(Decimal("20"),),
            line_items=(
                LineItem(
                    "10",
                    "Printer paper A4, box",
                    Decimal("4"),
                    Decimal("25.00"),
                    Decimal("100.00"),
                    Decimal("20"),
                ),
            ),
        )

    def test_reads_a_ubl_credit_note_and_its_payment_due_date(self) -> None:
        parsed = parse_invoice_xml(UBL_CREDIT_NOTE)

        assert (parsed.invoice_number, parsed.type_code, parsed.due_date) == (
            "CN-7",
            "381",
            datetime.date(2024, 5, 24),
        )
        assert (parsed.seller_name, parsed.buyer_name, parsed.seller_vat_id) == (
            "Bergmann KG",
            "Obstgarten e.K.",
            None,
        )
        assert parsed.tax_rate == Decimal(7)
        assert parsed.line_items == (
            LineItem("1", "Returned yoghurt", Decimal(2), Decimal("10.00"), Decimal("20.00"), Decimal(7)),
        )

    def test_reads_a_zugferd_1_cross_industry_document(self) -> None:
        parsed = parse_invoice_xml(ZUGFERD_1)

        assert parsed.profile == "urn:ferd:CrossIndustryDocument:invoice:1p0:comfort"
        assert (parsed.invoice_number, parsed.issue_date) == ("Z1-99", datetime.date(2013, 3, 5))
        assert (parsed.seller_name, parsed.seller_vat_id, parsed.buyer_name) == (
            "Lieferant GmbH",
            "DE123456789",
            "Kunden AG",
        )
        assert (parsed.net_total, parsed.tax_total, parsed.gross_total, parsed.tax_rate) == (
            Decimal("198.00"),
            Decimal("37.62"),
            Decimal("235.62"),
            Decimal("19.00"),
        )
        assert parsed.line_items == (
            LineItem(
                "1",
                "Trennblätter A4",
                Decimal("20.0000"),
                Decimal("9.9000"),
                Decimal("198.00"),
                Decimal("19.00"),
            ),
        )

    def test_refuses_a_billion_laughs_document_before_expanding_anything(self) -> None:
        bomb = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">&lol3;</Invoice>"""

        with pytest.raises(InputError, match=r"declares a document type \('lolz'\).*refuses DTDs"):
            parse_invoice_xml(bomb)

    def test_refuses_an_external_entity(self, tmp_path: Path) -> None:
        secret = tmp_path / "secret.txt"
        secret.write_text("do not read me")
        xxe = f"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100">&x;
</rsm:CrossIndustryInvoice>""".encode()

        with pytest.raises(InputError, match="refuses DTDs and entity declarations"):
            parse_invoice_xml(xxe)

    def test_refuses_xml_that_is_neither_cii_nor_ubl(self) -> None:
        ns = b"urn:un:unece:uncefact:data:SCRDMCCBDACIOMessageStructure:100"
        order = b'<rsm:SCRDMCCBDACIOMessageStructure xmlns:rsm="' + ns + b'"/>'

        with pytest.raises(
            InputError,
            match=r"got root element \{urn:un:unece:uncefact:data:SCRDMCCBDACIOMessageStructure:100\}",
        ):
            parse_invoice_xml(order)

    def test_refuses_an_invoice_element_outside_the_ubl_namespace(self) -> None:
        with pytest.raises(InputError, match="got root element Invoice;"):
            parse_invoice_xml(b"<Invoice><ID>1</ID></Invoice>")

    def test_refuses_xml_that_is_not_well_formed(self) -> None:
        with pytest.raises(
            InputError, match="well-formed XML e-invoice, got an XML syntax error: mismatched tag"
        ):
            parse_invoice_xml(b"<a><b></a>")

    def test_names_a_date_it_cannot_read(self) -> None:
        broken = build_cii_xml(INVOICE).replace(b">20240312<", b">2024-3-12<")

        with pytest.raises(
            InputError, match=r"YYYYMMDD \(format 102\).*IssueDateTime/DateTimeString.*'2024-3-12'"
        ):
            parse_invoice_xml(broken)

    def test_names_an_amount_it_cannot_read(self) -> None:
        broken = build_cii_xml(INVOICE).replace(
            b">454.82</ram:GrandTotalAmount>", b">454,82</ram:GrandTotalAmount>"
        )

        with pytest.raises(InputError, match=r"decimal number in <GrandTotalAmount>, got '454,82'"):
            parse_invoice_xml(broken)


def _pdf_with_attachments(dest: Path, attachments: dict[str, bytes], *, only_in_af: bool = False) -> Path:
    writer = PdfWriter(clone_from=PdfReader(write_text_pdf(dest.with_suffix(".plain.pdf"), ["Invoice"])))
    files = [writer.add_attachment(name, data) for name, data in attachments.items()]
    writer.root_object[NameObject("/AF")] = ArrayObject([f.pdf_object.indirect_reference for f in files])
    if only_in_af:
        del writer.root_object["/Names"]
    with dest.open("wb") as fh:
        writer.write(fh)
    return dest


class TestFindEmbeddedXml:
    def test_finds_the_factur_x_attachment_byte_for_byte(self, tmp_path: Path) -> None:
        pdf = write_facturx_pdf(tmp_path / "fx.pdf", INVOICE)

        assert find_embedded_xml(pdf) == ("factur-x.xml", build_cii_xml(INVOICE))

    def test_prefers_a_standard_name_over_other_invoice_xml(self, tmp_path: Path) -> None:
        pdf = _pdf_with_attachments(
            tmp_path / "two.pdf", {"a-copy.xml": UBL_INVOICE, "xrechnung.xml": ZUGFERD_1}
        )

        assert find_embedded_xml(pdf) == ("xrechnung.xml", ZUGFERD_1)

    def test_finds_an_invoice_xml_under_any_name_and_skips_other_xml(self, tmp_path: Path) -> None:
        attachments = {"notes.xml": b"<notes>call Bob</notes>", "rechnung-4711.xml": UBL_INVOICE}
        pdf = _pdf_with_attachments(tmp_path / "named.pdf", attachments)

        assert find_embedded_xml(pdf) == ("rechnung-4711.xml", UBL_INVOICE)

    def test_finds_a_file_listed_only_as_an_associated_file(self, tmp_path: Path) -> None:
        pdf = _pdf_with_attachments(tmp_path / "af.pdf", {"factur-x.xml": ZUGFERD_1}, only_in_af=True)
        assert PdfReader(pdf).attachments == {}

        assert find_embedded_xml(pdf) == ("factur-x.xml", ZUGFERD_1)

    def test_gives_none_for_a_pdf_without_an_e_invoice(self, tmp_path: Path) -> None:
        assert (
            find_embedded_xml(_pdf_with_attachments(tmp_path / "n.pdf", {"notes.xml": b"<notes/>"})) is None
        )
        assert find_embedded_xml(write_text_pdf(tmp_path / "plain.pdf", ["Invoice No.: 1"])) is None

    def test_refuses_a_file_that_is_not_a_pdf(self, tmp_path: Path) -> None:
        fake = tmp_path / "fake.pdf"
        fake.write_bytes(b"<html>not a pdf</html>")

        with pytest.raises(InputError, match=r"expected a readable PDF, fake\.pdf could not be read"):
            find_embedded_xml(fake)

    def test_refuses_a_pdf_that_needs_a_password(self, tmp_path: Path) -> None:
        writer = PdfWriter(clone_from=PdfReader(write_text_pdf(tmp_path / "p.pdf", ["Invoice"])))
        writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-128")
        locked = tmp_path / "locked.pdf"
        with locked.open("wb") as fh:
            writer.write(fh)

        with pytest.raises(InputError, match=r"locked\.pdf needs a password"):
            find_embedded_xml(locked)


SAMPLE_DATA = os.environ.get("DOCKET_SAMPLE_DATA")


@pytest.mark.skipif(
    not SAMPLE_DATA, reason="set DOCKET_SAMPLE_DATA to the shared data folder to run realism tests"
)
class TestRealEInvoices:
    def test_reads_every_cii_and_ubl_sample_of_the_factur_x_library(self) -> None:
        folder = Path(SAMPLE_DATA or "") / "facturx-akretion" / "xml"
        files = sorted(p for p in folder.glob("*.xml") if not p.name.startswith("order-x"))
        assert len(files) == 10

        parsed = {p.name: parse_invoice_xml(p.read_bytes()) for p in files}

        for name, invoice in parsed.items():
            assert invoice.invoice_number and invoice.issue_date and invoice.seller_name, name
            assert invoice.gross_total == invoice.net_total + invoice.tax_total, name
        assert parsed["ubl-21-en16931.xml"].syntax == "UBL"
        assert parsed["zugferd-comfort.xml"].profile == "urn:ferd:CrossIndustryDocument:invoice:1p0:comfort"

    def test_finds_the_factur_x_attachment_of_the_library_pdf(self) -> None:
        folder = Path(SAMPLE_DATA or "") / "facturx-akretion"

        found = find_embedded_xml(folder / "invoice_EN16931.pdf")

        assert found == ("factur-x.xml", (folder / "invoice_EN16931.embedded.xml").read_bytes())

    def test_refuses_order_x_documents(self) -> None:
        order = Path(SAMPLE_DATA or "") / "facturx-akretion" / "xml" / "order-x-basic.xml"

        with pytest.raises(InputError, match="Order-X orders"):
            parse_invoice_xml(order.read_bytes())
