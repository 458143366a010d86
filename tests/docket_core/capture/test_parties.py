"""Seller, buyer and the seller's VAT id without templates: address blocks, headings, whose VAT id."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from docket_core.capture.addresses import address_blocks, postal
from docket_core.capture.documents import read_pdf
from docket_core.capture.fields import extract
from docket_core.capture.names import wrapped_name
from docket_core.capture.pages import Line, Page, Word, page_from_text
from docket_core.evaluate.score import is_right
from docket_core.synth import make_document, write_document


def _extract(text: str) -> dict:
    values, _, _ = extract([page_from_text(text)])
    return values


class TestLetters:
    def test_the_vat_id_under_the_addressee_is_the_buyers_and_the_footer_one_the_sellers(self) -> None:
        text = (
            "Tisora Feinmechanik GmbH\n"
            "Saucestraße 71\n"
            "80089 München\n"
            "\n\n\n"
            "Halbriter Bürotechnik KG            Rechnungsnummer: 2020-1579\n"
            "Pontestraße 155                     Rechnungsdatum: 28.05.2020\n"
            "80066 München\n"
            "USt-IdNr.: DE 314 159 262\n"
            "\n\n"
            "Gesamtbetrag: 119,00 EUR\n"
            "\n\n\n"
            "Tisora Feinmechanik GmbH · USt-IdNr.: DE 123 456 789\n"
        )
        values = _extract(text)

        assert values["seller_name"] == "Tisora Feinmechanik GmbH"
        assert values["buyer_name"] == "Halbriter Bürotechnik KG"
        assert values["seller_vat_id"] == "DE123456789"
        assert values["buyer_vat_id"] == "DE314159262"

    def test_the_billed_address_block_is_the_buyer_not_the_delivery_address(self) -> None:
        text = (
            "Les Ateliers Martin SARL - 12 rue des Lilas - 69003 Lyon\n"
            "\n\n\n"
            "Adresse de livraison\n"
            "Entrepôt du Nord                    Le petit comptoir\n"
            "12 rue du Port                      35 rue de la République\n"
            "59000 Lille                         69001 Lyon\n"
            "\n\n"
            "Facture N° FA-2017-10\n"
            "Total TTC : 120,00 €\n"
        )
        assert _extract(text)["buyer_name"] == "Le petit comptoir"

    def test_the_sellers_name_printed_small_over_the_window_is_the_sender_not_the_addressee(self) -> None:
        text = (
            "Belpra Consulting Ltd\n"
            "Lortis Studio LLP\n"
            "67 Brical Street\n"
            "Manchester M1 2AE\n"
            "\n\n\n"
            "                                        Belpra Consulting Ltd\n"
            "Invoice no.: INV-77\n"
            "Total: 120.00 GBP\n"
        )
        values = _extract(text)

        assert values["seller_name"] == "Belpra Consulting Ltd"
        assert values["buyer_name"] == "Lortis Studio LLP"

    def test_a_bare_vat_id_with_valid_check_digits_in_the_letterhead_is_the_sellers(self) -> None:
        text = (
            "Les Ateliers Martin SARL - 12 rue des Lilas - 69003 Lyon\n"
            "TVA : FR40303265045 - SIRET : 30326504500010\n"
            "\n\n"
            "Facture N° FA-2017-10\n"
            "Total TTC : 120,00 €\n"
        )
        assert _extract(text)["seller_vat_id"] == "FR40303265045"


class TestLabelledBlocks:
    def test_a_salutation_and_a_name_going_on_below_stay_whole(self) -> None:
        text = (
            "Verkäufer:\n"
            "Nummer      : 730215\n"
            "HVG Hanseatische\n"
            "Versorgungsverein Beispielstadt a.G.\n"
            "Musterstr. 12\n"
            "DE 12345 Musterstadt\n"
            "\n"
            "Käufer:\n"
            "\n"
            "Herrn\n"
            "Max Mustermann\n"
            "\n"
            "Musterstr. 11\n"
            "DE 12346 Bad Musterhausen\n"
        )
        values = _extract(text)

        assert values["seller_name"] == "HVG Hanseatische Versorgungsverein Beispielstadt a.G."
        assert values["buyer_name"] == "Herrn Max Mustermann"

    def test_a_number_row_without_its_colon_is_no_name(self) -> None:
        text = "Käufer:\nNummer          31846027\nAbnehmer AG Nord\nHauptstraße 1\n12345 Musterstadt\n"

        assert _extract(text)["buyer_name"] == "Abnehmer AG Nord"

    def test_a_customer_code_is_no_buyer_heading(self) -> None:
        text = (
            "Senostdar Forniture S.n.c.\n"
            "Viale Tansen 72\n"
            "00129 Roma\n"
            "\n\n"
            "Destinatario:\n"
            "Nixter Costruzioni S.a.s.\n"
            "Via Nixsen 160\n"
            "40107 Bologna\n"
            "\n\n"
            "Cod. cliente      Numero fattura\n"
            "47958             F2023-82746\n"
            "\n"
            "Descrizione\n"
        )
        assert _extract(text)["buyer_name"] == "Nixter Costruzioni S.a.s."

    def test_a_title_at_the_end_of_the_sellers_row_is_cut_off(self) -> None:
        text = (
            "Gravellum Bürotechnik UG (haftungsbeschränkt) RECHNUNG\n"
            "Molenallee 2\n"
            "20108 Hamburg\n"
            "\n\n"
            "Kunde:\n"
            "Prazet & Belora GmbH\n"
        )
        assert _extract(text)["seller_name"] == "Gravellum Bürotechnik UG (haftungsbeschränkt)"


def _ocr_page(rows: list[tuple]) -> Page:
    """A receipt as the recogniser reads it: each row (text, left edge, type height[, confidence])
    one under the other."""
    lines, y = [], 0.05
    for text, x0, height, *confidence in rows:
        words, x = [], x0
        for token in text.split():
            width = 0.6 * height * len(token) * 2.5  # a receipt is about 2.5 times as tall as wide
            words.append(Word(token, (x, y, x + width, y + height), confidence[0] if confidence else 0.95))
            x += width + 0.6 * height * 2.5
        lines.append(Line(tuple(words)))
        y += 1.3 * height
    return Page(1, lines, "ocr", 400.0, 1000.0)


def _receipt_seller(rows: list[tuple]) -> str | None:
    values, _, _ = extract([_ocr_page(rows)])
    return values.get("seller_name")


class TestReceiptSellers:
    def test_the_shop_is_the_seller_not_the_company_that_owns_it(self) -> None:
        rows = [("TERAJU STATIONERY SHOP", 0.07, 0.025), ("NO. 12A, JALAN MERANTI JAYA", 0.07, 0.02),
                ("47100 PUCHONG", 0.07, 0.016), ("GST ID No: 002468013579", 0.07, 0.016),
                ("TAX INVOICE", 0.6, 0.019), ("Owned By:", 0.06, 0.018), ("TERAJU SUPPLY SDN BHD (1048213-K)", 0.06, 0.016),
                ("TOTAL 12.00", 0.07, 0.016), ("CASH 20.00", 0.07, 0.016)]  # fmt: skip
        assert _receipt_seller(rows) == "TERAJU STATIONERY SHOP"

    def test_a_registration_number_in_full_width_brackets_is_no_part_of_the_name(self) -> None:
        rows = [("RIMBA CO. (M) BHD \uff08204815-H\uff09", 0.35, 0.016), ("2ND FLR, RIMBA TAMAN DAHLIA SC", 0.34, 0.017),
                ("CHERAS, 55100 KUALA LUMPUR", 0.35, 0.017), ("Total Sales Incl GST 75.00", 0.29, 0.018),
                ("CASH 100.00", 0.29, 0.016)]  # fmt: skip
        assert _receipt_seller(rows) == "RIMBA CO. (M) BHD"

    def test_a_name_wrapped_over_three_lines_is_read_whole(self) -> None:
        rows = [("BENG SOON HARDWARE", 0.14, 0.022), ("ENTERPRISE (BUKIT", 0.14, 0.022), ("RAJA) SDN BHD", 0.22, 0.021),
                ("913046-X", 0.4, 0.019), ("NO. 8-G, JALAN MERANTI JAYA", 0.2, 0.022), ("TOTAL 33.00", 0.07, 0.02),
                ("CASH 50.00", 0.07, 0.02)]  # fmt: skip
        assert _receipt_seller(rows) == "BENG SOON HARDWARE ENTERPRISE (BUKIT RAJA) SDN BHD"

    def test_the_customer_printed_below_the_title_is_not_the_seller(self) -> None:
        rows = [("SERI MURNI BAKERIES (KL) SDN BHD (275104-X)", 0.06, 0.02, 0.9), ("Lot 7, Jalan Perindustrian 4/2,", 0.28, 0.019),
                ("43300 Seri Kembangan, Selangor.", 0.26, 0.02), ("GST ID: 001357924680", 0.31, 0.018),
                ("TAX INVOICE / ADJUSTMENT NOTE", 0.23, 0.029), ("Date: 30/07/2017", 0.52, 0.018),
                ("PASAR SEGAR UTAMA SDN BHD", 0.05, 0.027, 0.99), ("GROUND FLOOR, NO. 9 & 11,", 0.05, 0.02),
                ("Total 41.94", 0.5, 0.02)]  # fmt: skip
        assert _receipt_seller(rows) == "SERI MURNI BAKERIES (KL) SDN BHD"


class TestOcrGeometry:
    def test_a_name_whose_box_starts_inside_its_headings_box_is_still_below_it(self) -> None:
        def line(text: str, x0: float, y0: float, height: float) -> Line:
            words, x = [], x0
            for token in text.split():
                words.append(Word(token, (x, y0, x + 0.012 * len(token), y0 + height), 0.95))
                x += 0.012 * (len(token) + 1)
            return Line(tuple(words))

        page = Page(1, [line("Senostdar Forniture S.n.c.", 0.14, 0.088, 0.028), line("Viale Tansen 72", 0.14, 0.114, 0.02),
                        line("00129 Roma", 0.14, 0.136, 0.019), line("Destinatario:", 0.137, 0.187, 0.019),
                        line("Nixter Costruzioni S.a.s.", 0.136, 0.200, 0.022), line("ViaNixsen 160", 0.137, 0.214, 0.018),
                        line("40107 Bologna", 0.136, 0.226, 0.021), line("Totale 120,00 EUR", 0.5, 0.5, 0.02)],
                    "ocr", 1240.0, 1754.0)  # fmt: skip
        values, _, _ = extract([page])

        assert values["buyer_name"] == "Nixter Costruzioni S.a.s."

    def test_a_senders_line_over_the_window_is_not_joined_to_the_addressees_name(self) -> None:
        page = page_from_text(  # the sender's line as the recogniser runs it together
            "Orazet & ZetostV.O.F.Kerkstraat 5·3511 ABUtrecht\nDarhalbri Drukkerij B.V.\nHafenstraat 57\n"
        )

        text, words = wrapped_name(page.lines, 1, "Darhalbri Drukkerij B.V.")

        assert (text, words) == ("Darhalbri Drukkerij B.V.", page.lines[1].words)
        popular = page_from_text("PUSTAKA ILMU\nCO. (M) SDN BHD\n")
        assert wrapped_name(popular.lines, 1, "CO. (M) SDN BHD")[0] == "PUSTAKA ILMU CO. (M) SDN BHD"


class TestAddressBlocks:
    @pytest.mark.parametrize(
        ("line", "expected"),
        [("80066 München", True), ("3574 EF Utrecht", True), ("Manchester M1 2AE", True),
         ("34117Kasselfeld", True), ("Cork T12 X405", True), ("Rechnungsnummer: INV-2020-1579", False),
         ("1.650,44 EUR", False), ("+43 556 906847", False), ("Datum: 28. Mai 2020", False)],
    )  # fmt: skip
    def test_tells_a_postcode_line_from_numbers_dates_and_phones(self, line: str, expected: bool) -> None:
        assert postal(line) is expected

    def test_a_heading_printed_as_the_first_line_is_the_blocks_heading_not_its_name(self) -> None:
        page = page_from_text("Adresse de livraison\nEntrepôt Nord SAS\n12 rue du Port\n59000 Lille\n")

        (block,) = address_blocks(page)

        assert block.name == "Entrepôt Nord SAS"
        assert block.heading is not None and block.heading.text == "Adresse de livraison"


def _generated(layout: str, language: str, seed: int, tmp_path: Path):  # noqa: ANN202 - (document, values)
    rng = random.Random(seed)
    doc = make_document(rng, "invoice", language, layout, unicode_font=False)
    pdf = tmp_path / f"{layout}-{language}-{seed}.pdf"
    write_document(doc, pdf, rng)
    pages, _ = read_pdf(pdf)
    values, _, _ = extract(pages)
    return doc, values


class TestGeneratedLayouts:
    """Letters print the addressee's VAT id under its address and the seller's in the footer."""

    @pytest.mark.parametrize("language", ["de", "en", "fr", "nl", "es", "it"])
    @pytest.mark.parametrize("layout", ["letter", "buyer_first", "seller_right"])
    def test_reads_both_parties_and_the_sellers_own_vat_id(self, layout: str, language: str, tmp_path: Path) -> None:
        checked = 0
        for seed in range(40):
            doc, values = _generated(layout, language, seed, tmp_path)
            if doc.buyer_vat_id is None or not doc.show_vat_id or doc.seller.vat_id is None:
                continue  # only pages where both VAT ids are printed
            assert values.get("seller_vat_id") == doc.seller.vat_id, (seed, values.get("seller_vat_id"))
            assert doc.buyer is not None and is_right("buyer_name", doc.buyer.name, values.get("buyer_name"))
            assert is_right("seller_name", doc.seller.name, values.get("seller_name"))
            checked += 1
            if checked == 2:
                break
        assert checked == 2
