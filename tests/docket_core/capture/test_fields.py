"""Template-free fields on the page model: the six languages, geometric pairing, parties, receipts."""

from __future__ import annotations

import datetime

import pytest

from docket_core.capture.fields import extract
from docket_core.capture.pages import page_from_text
from docket_core.capture.values import currency_of, parse_amount, parse_date, parse_iban, parse_vat_id
from docket_core.steps.invoice import fields_from_text

# One invoice per language, written the way each language labels it (values differ on purpose).
INVOICES = {
    "en": ("Invoice number: EN-1001\nInvoice date: Jan 4, 2023\nDue date: 3 February 2023\n"
           "Subtotal: 1,000.00\nVAT 20%: 200.00\nAmount due: 1,200.00 GBP",
           "EN-1001", datetime.date(2023, 1, 4), datetime.date(2023, 2, 3), (1000.0, 200.0, 1200.0), "GBP"),
    "de": ("Rechnungsnummer: DE-2002\nRechnungsdatum: 5. März 2024\nFällig am: 04.04.2024\n"
           "Nettobetrag: 1.234,56 €\nMwSt. 19 %: 234,57 €\nGesamtbetrag: 1.469,13 €",
           "DE-2002", datetime.date(2024, 3, 5), datetime.date(2024, 4, 4), (1234.56, 234.57, 1469.13), "EUR"),
    "fr": ("Facture N° FR-3003\nDate de facture : 19 avril 2014\nDate d'échéance : 19 mai 2014\n"
           "Total HT : 500,00 €\nTVA 20 % : 100,00 €\nNet à payer : 600,00 €",
           "FR-3003", datetime.date(2014, 4, 19), datetime.date(2014, 5, 19), (500.0, 100.0, 600.0), "EUR"),
    "nl": ("Factuurnummer: NL-4004\nFactuurdatum: 19 april 2014\nVervaldatum: 19 mei 2014\n"
           "Subtotaal: € 80,00\nBTW 21%: € 16,80\nTe betalen: € 96,80",
           "NL-4004", datetime.date(2014, 4, 19), datetime.date(2014, 5, 19), (80.0, 16.8, 96.8), "EUR"),
    "es": ("Número de factura: ES-5005\nFecha de factura: 2 de julio de 2015\nVencimiento: 1 de agosto de 2015\n"
           "Base imponible: 1.000,00 €\nIVA 21%: 210,00 €\nTotal a pagar: 1.210,00 €",
           "ES-5005", datetime.date(2015, 7, 2), datetime.date(2015, 8, 1), (1000.0, 210.0, 1210.0), "EUR"),
    "it": ("Numero fattura: IT-6006\nData fattura: 02/07/2015\nScadenza: 01/08/2015\n"
           "Imponibile: 250,00 €\nIVA 22%: 55,00 €\nTotale da pagare: 305,00 €",
           "IT-6006", datetime.date(2015, 7, 2), datetime.date(2015, 8, 1), (250.0, 55.0, 305.0), "EUR"),
}  # fmt: skip


class TestSixLanguages:
    @pytest.mark.parametrize("language", sorted(INVOICES))
    def test_reads_number_dates_amounts_and_currency(self, language: str) -> None:
        text, number, issued, due, totals, currency = INVOICES[language]

        fields, _ = fields_from_text(text)

        assert fields["invoice_number"] == number
        assert (fields["issue_date"], fields["due_date"]) == (issued, due)
        assert (fields["net_total"], fields["tax_total"], fields["gross_total"]) == totals
        assert fields["currency"] == currency

    @pytest.mark.parametrize("language", sorted(INVOICES))
    def test_settles_the_document_language_from_its_labels(self, language: str) -> None:
        values, _, _ = extract([page_from_text(INVOICES[language][0])])

        assert values["language"] == language


class TestParsers:
    @pytest.mark.parametrize(
        ("written", "expected"),
        [("19 april 2014", datetime.date(2014, 4, 19)), ("Jan 4, 2023", datetime.date(2023, 1, 4)),
         ("5. März 2024", datetime.date(2024, 3, 5)), ("1er février 2021", datetime.date(2021, 2, 1)),
         ("3 juni 2022", datetime.date(2022, 6, 3)), ("7 de septiembre de 2020", datetime.date(2020, 9, 7)),
         ("12 dicembre 2019", datetime.date(2019, 12, 12)), ("2024-03-12", datetime.date(2024, 3, 12))],
    )  # fmt: skip
    def test_reads_month_names_in_each_language(self, written: str, expected: datetime.date) -> None:
        assert parse_date(written) == (expected, False)

    def test_reads_a_slashed_date_month_first_only_when_told(self) -> None:
        assert parse_date("02/07/2015") == (datetime.date(2015, 7, 2), True)
        assert parse_date("02/07/2015", month_first=True) == (datetime.date(2015, 2, 7), True)
        assert parse_date("02.07.2015", month_first=True) == (datetime.date(2015, 7, 2), False)  # dots: day first

    @pytest.mark.parametrize(
        ("written", "expected"),
        [("1.234,56 €", "1234.56"), ("$1,234.56", "1234.56"), ("1 234,56", "1234.56"), ("RM 31.00", "31.00"),
         ("Rs. 2,50,000.00", "250000.00"), ("12.50-", "-12.50")],
    )  # fmt: skip
    def test_reads_amounts_with_either_separator(self, written: str, expected: str) -> None:
        assert str(parse_amount(written)) == expected

    @pytest.mark.parametrize(
        ("written", "code"), [("RM 31.00", "MYR"), ("Rs. 1,200.00", "INR"), ("₹ 450.00", "INR"), ("12,00 €", "EUR"),
                              ("CHF 12.00", "CHF"), ("£3.20", "GBP")],
    )  # fmt: skip
    def test_names_the_currency_of_codes_and_symbols(self, written: str, code: str) -> None:
        assert currency_of(written) == code

    def test_checks_vat_ids_and_ibans_with_their_check_digits(self) -> None:
        assert parse_vat_id("TVA : FR 40 303 265 045") == ("FR40303265045", True)
        assert parse_vat_id("USt-IdNr.: DE 123 456 789") == ("DE123456789", False)  # format only
        assert parse_vat_id("VAT: XY123456") is None
        assert parse_iban("IBAN: DE89 3704 0044 0532 0130 00 BIC COBADEFFXXX") == ("DE89370400440532013000", [])
        assert parse_iban("IBAN DE89 3704 0044 0532 0130 01")[0] is None


class TestGeometricPairing:
    def test_takes_the_value_right_of_its_label_on_the_same_line(self) -> None:
        values, evidence, _ = extract([page_from_text("Invoice number      INV-9\nTotal        55.00 EUR")])

        assert (values["invoice_number"], values["gross_total"]) == ("INV-9", 55.0)
        assert evidence["invoice_number"].text == "INV-9"
        assert evidence["invoice_number"].box[0] > 0.2  # the value's box, not the label's

    def test_takes_the_value_below_its_label_in_the_same_column(self) -> None:
        text = (
            "Invoice no.       Invoice date       Due date\n"
            "A-778             19 April 2014      19 May 2014\n"
            "\n"
            "Total\n"
            "1.234,56 EUR\n"
        )
        values, evidence, _ = extract([page_from_text(text)])

        assert values["invoice_number"] == "A-778"
        assert (values["issue_date"], values["due_date"]) == (datetime.date(2014, 4, 19), datetime.date(2014, 5, 19))
        assert values["gross_total"] == 1234.56
        assert evidence["issue_date"].box[1] > evidence["invoice_number"].box[1] - 1e-9
        assert evidence["due_date"].box[0] > evidence["issue_date"].box[0]

    def test_a_value_printed_as_its_own_row_below_wins_over_a_far_unrelated_one(self) -> None:
        values, _, _ = extract([page_from_text("Order number\nPO-4471\n\n\n\n\nReference 12")])

        assert values["order_number"] == "PO-4471"


class TestSellerAndBuyer:
    def test_the_letterhead_company_is_the_seller_and_the_billed_one_the_buyer(self) -> None:
        text = (
            "Nordwind Maschinenbau GmbH - Hafenweg 3 - 20457 Hamburg\n"
            "\n"
            "Rechnung an:\n"
            "Kestrel Logistics Ltd\n"
            "12 Harbour Road\n"
            "\n"
            "Rechnungsnummer: 2024-17\n"
            "USt-IdNr.: DE 123 456 789\n"
            "Gesamtbetrag: 119,00 €\n"
        )
        values, evidence, _ = extract([page_from_text(text)])

        assert values["seller_name"] == "Nordwind Maschinenbau GmbH"
        assert values["buyer_name"] == "Kestrel Logistics Ltd"
        assert evidence["seller_name"].confidence > 0.5

    def test_a_labelled_seller_block_gives_its_name_line(self) -> None:
        text = "Verkäufer\nNummer: 730215\nName: Bergmann & Söhne KG\nKäufer\nName: Obstgarten Müller e.K.\n"
        values, _, _ = extract([page_from_text(text)])

        assert (values["seller_name"], values["buyer_name"]) == ("Bergmann & Söhne KG", "Obstgarten Müller e.K.")


class TestReceipts:
    def test_reads_a_shop_receipt_with_the_same_engine(self) -> None:
        text = (
            "KEDAI RUNCIT MAJU SDN BHD\n"
            "NO. 12, JALAN MERDEKA\n"
            "GST REG NO: 000123456789\n"
            "DATE: 09/01/2019 10:15\n"
            "SUGAR 1KG            2.90\n"
            "RICE 5KG            18.50\n"
            "TOTAL SALES (EXCLUDING GST)  20.19\n"
            "GST 6%                1.21\n"
            "TOTAL (RM)           21.40\n"
            "CASH                 50.00\n"
            "CHANGE               28.60\n"
        )
        values, evidence, _ = extract([page_from_text(text)])

        assert values["seller_name"] == "KEDAI RUNCIT MAJU SDN BHD"
        assert values["issue_date"] == datetime.date(2019, 1, 9)
        assert (values["gross_total"], values["tax_total"], values["currency"]) == (21.4, 1.21, "MYR")
        assert values["document_kind"] == "receipt"
        assert evidence["gross_total"].confidence >= 0.8  # net + tax = total backs it


# Seller block, buyer block, VAT id and IBAN labels as each language prints them.
PARTIES = {
    "en": ("Seller: Harbour Lane Ltd", "Bill to: Blue Fern Studio Ltd", "VAT No.: GB 123 4567 89", "IBAN: GB33 BUKB 2020 1555 5555 55"),
    "de": ("Verkäufer: Bergmann KG", "Rechnungsempfänger: Obstgarten GmbH", "USt-IdNr.: DE 123 456 789", "IBAN: DE89 3704 0044 0532 0130 00"),
    "fr": ("Vendeur : Les Ateliers Martin SARL", "Client : Ma Boutique SAS", "N° TVA intracommunautaire : FR 40 303 265 045", "IBAN : FR14 2004 1010 0505 0001 3M02 606"),
    "nl": ("Leverancier: Van Dijk B.V.", "Klant: De Molen N.V.", "BTW-nummer: NL 123456789 B01", "IBAN: NL91 ABNA 0417 1643 00"),
    "es": ("Proveedor: Olivos del Sur S.L.", "Cliente: Mercado Central S.A.", "NIF-IVA: ESB12345674", "IBAN: ES91 2100 0418 4502 0005 1332"),
    "it": ("Fornitore: Ferro Rossi S.r.l.", "Cliente: Bottega Verde S.p.A.", "Partita IVA: IT 00743110157", "IBAN: IT60 X054 2811 1010 0000 0123 456"),
}  # fmt: skip


class TestPartiesInSixLanguages:
    @pytest.mark.parametrize("language", sorted(PARTIES))
    def test_reads_seller_buyer_vat_id_and_iban(self, language: str) -> None:
        seller, buyer, vat, iban = PARTIES[language]

        values, evidence, _ = extract([page_from_text("\n".join([seller, vat, buyer, iban]))])

        assert values["seller_name"] == seller.split(":", 1)[1].strip()
        assert values["buyer_name"] == buyer.split(":", 1)[1].strip()
        assert values["seller_vat_id"] == "".join(vat.split(":", 1)[1].split())
        assert values["iban"] == "".join(iban.split(":", 1)[1].split())
        assert set(evidence) >= {"seller_name", "buyer_name", "seller_vat_id", "iban"}


ORDER_LABELS = {"en": "Purchase order", "de": "Bestellnummer", "fr": "N° de commande", "nl": "Bestelnummer",
                "es": "Número de pedido", "it": "Numero ordine"}  # fmt: skip


class TestOrderNumbers:
    @pytest.mark.parametrize("language", sorted(ORDER_LABELS))
    def test_reads_the_order_number_apart_from_the_invoice_number(self, language: str) -> None:
        text = INVOICES[language][0] + f"\n{ORDER_LABELS[language]}: PO-{language.upper()}-77"

        values, evidence, _ = extract([page_from_text(text)])

        assert values["order_number"] == f"PO-{language.upper()}-77"
        assert values["invoice_number"] == INVOICES[language][1]
        assert evidence["order_number"].text.startswith("PO-")


class TestOcrNoise:
    def test_puts_back_the_spaces_ocr_drops_around_legal_forms(self) -> None:
        from docket_core.capture.parties import respace

        assert respace("Stahlbau KerpenGmbH&Co.KG") == "Stahlbau Kerpen GmbH & Co. KG"
        assert respace("AbnehmerAGNord") == "Abnehmer AG Nord"
        assert respace("MUSTER-KUNDEGMBH") == "MUSTER-KUNDE GMBH"
        assert respace("ConsultingService GmbH") == "ConsultingService GmbH"  # CamelCase names stay

    def test_puts_back_the_spaces_ocr_drops_between_three_capitalised_words(self) -> None:
        from docket_core.capture.parties import respace

        assert respace("HarbourLaneStationery Ltd") == "Harbour Lane Stationery Ltd"
        assert respace("Seller NordlichtWerkzeugHandel") == "Seller Nordlicht Werkzeug Handel"
        for brand in ("McDonalds Ltd", "PayPal Europe S.a r.l.", "LinkedIn Ireland", "iPhoneRepairShop"):
            assert respace(brand) == brand

    def test_splits_a_label_from_the_number_the_recogniser_ran_into_it(self) -> None:
        from docket_core.capture.ocr import OcrLine
        from docket_core.capture.pages import page_from_ocr

        # A recogniser score under 0.95: not a clean reading (see ocr_confidence), so nothing backs the number.
        lines = [OcrLine("Handelsrechnung (380) Nr.583920 vom05.03.2018", (50, 40, 700, 70), 0.93),
                 OcrLine("Gesamtbetrag:1.234,56EUR", (50, 400, 500, 430), 0.96)]  # fmt: skip
        values, evidence, _ = extract([page_from_ocr(1, lines, 1000, 1400)])

        assert (values["invoice_number"], values["issue_date"]) == ("583920", datetime.date(2018, 3, 5))
        assert (values["gross_total"], values["currency"]) == (1234.56, "EUR")
        assert evidence["invoice_number"].confidence < 0.9  # read by OCR, nothing else backs it
