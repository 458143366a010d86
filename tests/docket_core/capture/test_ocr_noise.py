"""Capture on OCR pages: what the recogniser does to labels, amounts and ids, and how sure capture may be.

The pages are built from `OcrLine`s as the recogniser returns them (a line of text, its pixel box
and score), written here the way scans of generated invoices read.
"""

from __future__ import annotations

import pytest

from docket_core.capture.fields import extract
from docket_core.capture.ocr import OcrLine
from docket_core.capture.pages import page_from_ocr
from docket_core.capture.values import find_amounts, parse_vat_id


def _page(*rows: tuple[str, float, float]) -> list:
    """OCR lines at (x, y) in a 1000 x 1400 pixel page, 18 pixels tall, 12 pixels a character."""
    lines = [OcrLine(text, (x, y, x + 12 * len(text), y + 18), 0.97) for text, x, y in rows]
    return [page_from_ocr(1, lines, 1000, 1400)]


class TestLabels:
    def test_reads_a_label_whose_words_the_recogniser_split_or_ran_together(self) -> None:
        values, _, _ = extract(_page(("Total excl.VAT", 600, 600), ("18,640.75", 830, 600),
                                     ("VAT 23%", 600, 625), ("4,287.37", 830, 625),
                                     ("AmountDue", 600, 650), ("22,928.12", 830, 650)))  # fmt: skip

        assert (values["net_total"], values["tax_total"], values["gross_total"]) == (18640.75, 4287.37, 22928.12)

    def test_reads_a_tax_label_with_its_rate_run_into_it(self) -> None:
        for label in ("VAT@23%", "zzg. 19%USt"):
            values, _, _ = extract(_page(("Subtotal", 600, 600), ("100.00", 830, 600),
                                         (label, 600, 625), ("23.00", 830, 625),
                                         ("Total", 600, 650), ("123.00", 830, 650)))  # fmt: skip

            assert values["tax_total"] == 23.0, label


class TestValues:
    def test_reads_an_amount_run_into_its_currency_code_but_not_into_a_product_code(self) -> None:
        assert [str(a) for a, _, _ in find_amounts("INR12,345.67")] == ["12345.67"]
        assert find_amounts("ABC12.50") == []

    def test_closes_up_a_gstin_the_scan_spaced(self) -> None:
        assert parse_vat_id("29 ABCPE1234F1 Z7") == ("29ABCPE1234F1Z7", True)

    def test_drops_the_next_word_run_into_a_vat_id_when_the_shorter_reading_checks(self) -> None:
        assert parse_vat_id("IE4827163B.IBAN: IE29 AIBK") == ("IE4827163B", True)


class TestFallbacks:
    def test_takes_an_unlabelled_vat_id_whose_check_digits_hold_and_not_the_buyers(self) -> None:
        values, _, _ = extract(_page(("Bill to:", 80, 200), ("Lorcal & Oravin KG", 80, 225),
                                     ("USt-IdNr. DE314159262", 80, 250),
                                     ("USI-ID: DE575034901.IBAN: DE66070176659691016675", 90, 1280)))  # fmt: skip

        assert values["seller_vat_id"] == "DE575034901"

    def test_takes_the_currency_of_the_iban_country_when_none_is_printed(self) -> None:
        values, evidence, _ = extract(_page(("Total", 600, 600), ("22,928.12", 830, 600),
                                            ("IBAN: IE59 NIDV 7949 4834 9259 90", 90, 1280)))  # fmt: skip

        assert values["currency"] == "EUR"
        assert evidence["currency"].confidence < 0.7  # a guess from the country, never confirmed alone


def _invoice(number: str, score: float, *, currency_line: str = "Währung: EUR", date: str = "05.03.2018") -> list:
    rows = [(f"Rechnungsnummer: {number}", 80, 100, score), (f"Rechnungsdatum: {date}", 80, 130, 0.98),
            (currency_line, 80, 160, 0.98), ("Nettobetrag", 600, 600, 0.98), ("100,00", 830, 600, 0.98),
            ("MwSt. 19 %", 600, 625, 0.98), ("19,00", 830, 625, 0.98), ("Gesamtbetrag", 600, 650, 0.98),
            ("119,00", 830, 650, 0.98)]  # fmt: skip
    lines = [OcrLine(text, (x, y, x + 12 * len(text), y + 18), s) for text, x, y, s in rows]
    return [page_from_ocr(1, lines, 1000, 1400)]


class TestConfidence:
    def test_values_the_page_checks_may_be_confirmed(self) -> None:
        values, evidence, _ = extract(_invoice("RE-2024-0815", 0.98))

        assert values["invoice_number"] == "RE-2024-0815"
        for field in ("invoice_number", "issue_date", "currency", "gross_total"):
            assert evidence[field].confidence >= 0.9, field  # clean reading, dotted date, labelled code, sums

    def test_a_number_with_a_letter_the_recogniser_confuses_with_a_digit_stays_unconfirmed(self) -> None:
        for number in ("RE-2O24-0815", "47I102"):
            values, evidence, _ = extract(_invoice(number, 0.98))

            assert values["invoice_number"] == number
            assert evidence["invoice_number"].confidence < 0.9, number

    def test_a_blurred_number_or_an_ambiguous_date_stays_unconfirmed(self) -> None:
        _, evidence, _ = extract(_invoice("RE-2024-0815", 0.9, date="03/04/2018"))

        assert evidence["invoice_number"].confidence < 0.9
        assert evidence["issue_date"].confidence < 0.9  # 3 April or March 4: nothing on the page says

    def test_a_number_printed_twice_is_checked_but_not_inside_a_longer_one(self) -> None:
        twice = _invoice("RE-2024-0815", 0.9)
        twice[0].lines.append(page_from_ocr(1, [OcrLine("Verwendungszweck RE-2024-0815", (80, 1200, 500, 1218), 0.96)],
                                            1000, 1400).lines[0])  # fmt: skip
        inside = _invoice("E-2024-0815", 0.9)
        inside[0].lines.append(page_from_ocr(1, [OcrLine("Verwendungszweck RE-2024-0815", (80, 1200, 500, 1218), 0.96)],
                                             1000, 1400).lines[0])  # fmt: skip

        assert extract(twice)[1]["invoice_number"].confidence >= 0.9
        assert extract(inside)[1]["invoice_number"].confidence < 0.9


class TestRunTogether:
    def test_reads_the_number_of_a_title_or_label_run_into_it(self) -> None:
        for title, number in (("HandelsrechnungNr. 583920 vom 05.03.2018", "583920"),
                              ("Rechnungskorrektur(384) Nr.KR45678901 vom 16.09.2018", "KR45678901"),
                              ("FactureFC-2021-0042", "FC-2021-0042"),
                              ("Invoice#IN-20210315/12 issuedat 2021-03-15", "IN-20210315/12")):  # fmt: skip
            values, _, _ = extract(_page((title, 80, 100), ("Total", 600, 600), ("119,00", 830, 600)))

            assert values["invoice_number"] == number, title

    def test_reads_an_iban_run_into_its_label(self) -> None:
        values, _, _ = extract(_page(("IBANDE41500105170123456789", 700, 1200)))

        assert values["iban"] == "DE41500105170123456789"

    def test_cuts_a_letterhead_name_from_its_address_when_the_dash_lost_its_spaces(self) -> None:
        values, _, _ = extract(_page(("LesateliersMartinSARL-12 ruedesLilas-69003 Lyon-France", 190, 50),
                                     ("Facture FC-2021-0042", 50, 150), ("Total", 600, 600), ("119,00", 830, 600)))  # fmt: skip

        assert values["seller_name"] == "LesateliersMartin SARL"


class TestGeometry:
    def test_finds_the_name_under_a_party_heading_whose_padded_box_overlaps_it(self) -> None:
        # A photo: the recogniser's box of "Destinatario:" reaches into the name's line below it.
        lines = [OcrLine("Destinatario:", (140, 262, 300, 288), 0.98),
                 OcrLine("Nixter Costruzioni S.a.s.", (140, 280, 420, 306), 0.97),
                 OcrLine("ViaNixsen 160", (140, 300, 330, 323), 0.97)]  # fmt: skip
        values, _, _ = extract([page_from_ocr(1, lines, 1000, 1400)])

        assert values["buyer_name"] == "Nixter Costruzioni S.a.s."

    def test_a_day_above_12_elsewhere_settles_a_slashed_dates_order(self) -> None:
        values, evidence, _ = extract(_page(("Date de facture: 09/10/2022", 510, 200),
                                            ("Date de livraison: 28/09/2022", 510, 240)))  # fmt: skip

        assert str(values["issue_date"]) == "2022-10-09"
        assert evidence["issue_date"].confidence >= 0.9  # day first, as 28/09 shows; not the delivery date


class TestThroughTheRecogniser:
    def test_a_scanned_invoice_printed_without_spaces_is_read_whole(self, tmp_path) -> None:  # noqa: ANN001
        from PIL import Image, ImageDraw, ImageFont

        from docket_core.capture.documents import read_image

        pytest.importorskip("rapidocr_onnxruntime")
        # What scans of generated invoices show: spaces lost around labels, rates and the IBAN's label.
        rows = ["INVOICE", "Invoice No.: FA-32931", "Date: 13.03.2020", "Total excl.VAT     55,584.49",
                "VAT@12%     6,670.14", "GrandTotal     62,254.63", "IBANDE41500105170123456789"]  # fmt: skip
        image = Image.new("RGB", (1240, 1754), "white")
        draw = ImageDraw.Draw(image)
        font = ImageFont.load_default(size=34)
        for row, text in enumerate(rows):
            draw.text((90, 120 + row * 64), text, fill="black", font=font)
        image.save(tmp_path / "scan.png")

        pages, _ = read_image(tmp_path / "scan.png")
        values, evidence, _ = extract(pages)

        assert (values["net_total"], values["tax_total"], values["gross_total"]) == (55584.49, 6670.14, 62254.63)
        assert values["iban"] == "DE41500105170123456789"
        assert values["currency"] == "EUR"  # none printed: the IBAN's country
        assert evidence["gross_total"].confidence >= 0.9 > evidence["currency"].confidence


class TestTurnedScan:
    def test_reads_each_total_from_its_own_row_when_the_scan_is_turned(self) -> None:
        # A photo turned a little: each amount sits lower than its label, and the recogniser's padded
        # boxes let the amount of the row above reach into the gross total's row too.
        rows = [("Subtotale", 500, 600), ("40092,04", 780, 608), ("IVA(10%)", 500, 622), ("4009,20", 782, 630),
                ("Totale fattura", 500, 644), ("44101,24", 770, 652)]  # fmt: skip
        lines = [OcrLine(text, (x, y, x + 14 * len(text), y + 24), 0.97) for text, x, y in rows]
        values, _, _ = extract([page_from_ocr(1, lines, 1000, 1400)])

        assert (values["net_total"], values["tax_total"], values["gross_total"]) == (40092.04, 4009.2, 44101.24)
