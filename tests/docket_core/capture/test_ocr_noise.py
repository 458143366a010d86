"""Capture on OCR pages: what the recogniser does to labels, amounts and ids, and how sure capture may be.

The pages are built from `OcrLine`s as the recogniser returns them (a line of text, its pixel box
and score), written here the way scans of generated invoices read.
"""

from __future__ import annotations

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
        assert [str(a) for a, _, _ in find_amounts("INR72,611.11")] == ["72611.11"]
        assert find_amounts("ABC12.50") == []

    def test_closes_up_a_gstin_the_scan_spaced(self) -> None:
        assert parse_vat_id("33 BAHCR9986L5 ZC") == ("33BAHCR9986L5ZC", True)

    def test_drops_the_next_word_run_into_a_vat_id_when_the_shorter_reading_checks(self) -> None:
        assert parse_vat_id("IE3504863T.IBAN: IE28 UFAW") == ("IE3504863T", True)


class TestFallbacks:
    def test_takes_an_unlabelled_vat_id_whose_check_digits_hold_and_not_the_buyers(self) -> None:
        values, _, _ = extract(_page(("Bill to:", 80, 200), ("Lorcal & Oravin KG", 80, 225),
                                     ("USt-IdNr. DE136695976", 80, 250),
                                     ("USI-ID: DE575034901.IBAN: DE66070176659691016675", 90, 1280)))  # fmt: skip

        assert values["seller_vat_id"] == "DE575034901"

    def test_takes_the_currency_of_the_iban_country_when_none_is_printed(self) -> None:
        values, evidence, _ = extract(_page(("Total", 600, 600), ("22,928.12", 830, 600),
                                            ("IBAN: IE59 NIDV 7949 4834 9259 90", 90, 1280)))  # fmt: skip

        assert values["currency"] == "EUR"
        assert evidence["currency"].confidence < 0.7  # a guess from the country, never confirmed alone
