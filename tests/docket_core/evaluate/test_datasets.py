"""Truth for the development data: receipt keys normalized, e-invoices without their XML."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from docket_core.einvoice import find_embedded_xml
from docket_core.errors import InputError
from docket_core.evaluate.datasets import (
    _squash,
    einvoice_cases,
    normalize_receipt_date,
    normalize_receipt_total,
    pdf_text,
    printed_in,
    receipt_cases,
    render_scan_pdf,
    strip_attachments,
)
from docket_core.invoice_samples import write_sample_invoices

SAMPLE_DATA = os.environ.get("DOCKET_SAMPLE_DATA")


class TestReceiptKeys:
    @pytest.mark.parametrize(
        ("printed", "iso"),
        [("09/01/2019", "2019-01-09"), ("05-02-18", "2018-02-05"), ("18 MAR 2018", "2018-03-18"),
         ("2018/02/22", "2018-02-22"), ("2016-07-31", "2016-07-31"), ("29/03/18", "2018-03-29")],
    )  # fmt: skip
    def test_printed_dates_are_read_day_first(self, printed: str, iso: str) -> None:
        assert normalize_receipt_date(printed) == iso

    def test_a_date_in_no_known_form_is_refused(self) -> None:
        with pytest.raises(InputError, match="receipt date 'yesterday' is in none of the known printed forms"):
            normalize_receipt_date("yesterday")

    @pytest.mark.parametrize(("printed", "total"), [("31.00", "31.00"), ("RM39.00", "39.00"), ("$8.60", "8.60"),
                                                    ("1,234.50", "1234.50")])  # fmt: skip
    def test_totals_lose_their_currency_marks(self, printed: str, total: str) -> None:
        assert normalize_receipt_total(printed) == total


class TestEInvoiceCopies:
    def test_the_text_copy_has_the_pages_but_not_the_xml(self, tmp_path: Path) -> None:
        facturx = next(p for p in write_sample_invoices(tmp_path / "in", 1) if p.suffix == ".pdf")
        assert find_embedded_xml(facturx) is not None
        copy = tmp_path / "copy.pdf"
        strip_attachments(facturx, copy)
        assert find_embedded_xml(copy) is None
        assert pdf_text(copy) == pdf_text(facturx) and pdf_text(copy).strip()

    def test_the_scan_copy_has_no_text_layer(self, tmp_path: Path) -> None:
        facturx = next(p for p in write_sample_invoices(tmp_path / "in", 1) if p.suffix == ".pdf")
        assert render_scan_pdf(facturx, tmp_path / "scan.pdf", dpi=100) == 1
        assert not pdf_text(tmp_path / "scan.pdf").strip()

    def test_printed_values_are_found_in_any_common_form(self) -> None:
        text = _squash("Rechnungsdatum: 5. März 2018  Gesamt 1.234,56 €  Nr. RE 2018/7  due March 19, 2018")
        assert printed_in(text, "issue_date", "2018-03-05")
        assert printed_in(text, "due_date", "2018-03-19")
        assert printed_in(text, "gross_total", "1234.56")
        assert printed_in(text, "currency", "EUR")
        assert printed_in(text, "invoice_number", "RE2018/7")
        assert not printed_in(text, "net_total", "1000.00")
        assert not printed_in(text, "iban", "DE89370400440532013000")


@pytest.mark.skipif(not SAMPLE_DATA, reason="set DOCKET_SAMPLE_DATA to the development data to run")
class TestDevelopmentData:
    def test_every_receipt_has_seller_date_and_total(self) -> None:
        cases = list(receipt_cases(Path(SAMPLE_DATA or ".")))
        assert len(cases) == 48
        for image, truth in cases:
            assert image.is_file() and set(truth.fields) == {"seller_name", "issue_date", "gross_total"}

    def test_einvoice_truth_comes_from_the_xml_and_the_copies_carry_none(self, tmp_path: Path) -> None:
        cases, _, skipped = einvoice_cases(Path(SAMPLE_DATA or "."), tmp_path, ocr=False, limit=3)
        assert len(cases) == 3 and not skipped
        for path, truth in cases:
            assert find_embedded_xml(path) is None
            assert {"invoice_number", "issue_date", "gross_total", "currency"} <= set(truth.fields)
