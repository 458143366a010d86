"""The generated corpus: its documents print what their truth says, in every language and layout."""

from __future__ import annotations

import datetime
import json
import random
import re
from decimal import Decimal
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image
from stdnum import iban as std_iban
from stdnum.eu import vat as eu_vat
from stdnum.gb import vat as gb_vat
from stdnum.in_ import gstin

from docket_core.evaluate.truth import TRUTH_FIELDS, read_truth
from docket_core.synth import INVOICE_LAYOUTS, RECEIPT_LAYOUTS, make_document, write_corpus, write_document
from docket_core.synth.locales import LANGUAGES, format_amount, format_date, format_money
from docket_core.synth.parties import COUNTRIES, make_iban, make_party, make_vat_id
from docket_core.synth.raster import RASTER_VARIANTS, write_raster_variant


def _text(pdf: Path) -> str:
    document = pdfium.PdfDocument(str(pdf))
    try:
        parts = []
        for page in document:
            textpage = page.get_textpage()
            parts.append(textpage.get_text_range())
        return "\n".join(parts)
    finally:
        document.close()


def _spaced(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").split())


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("corpus")
    return folder, write_corpus(folder, raster_every=0, seed=7)


class TestParties:
    def test_vat_ids_and_ibans_have_right_check_digits_in_every_country(self) -> None:
        rng = random.Random(3)
        for code, country in COUNTRIES.items():
            for _ in range(5):
                vat, iban = make_vat_id(rng, code), make_iban(rng, code)
                if country.has_vat:
                    valid = gstin.is_valid if code == "IN" else gb_vat.is_valid if code == "GB" else eu_vat.is_valid
                    assert vat is not None and valid(vat), (code, vat)
                if country.has_iban:
                    assert iban is not None and iban.startswith(code) and std_iban.is_valid(iban), (code, iban)

    def test_german_ibans_use_a_bank_code_no_bank_has(self) -> None:
        iban = make_iban(random.Random(1), "DE")
        assert iban is not None and iban[4] == "0"

    def test_company_names_end_with_a_legal_form_of_their_country(self) -> None:
        rng = random.Random(5)
        for code, country in COUNTRIES.items():
            name = make_party(rng, code).name
            assert any(name.endswith(" " + (f.upper() if code == "MY" else f)) for f in country.legal_forms), name


class TestLocales:
    @pytest.mark.parametrize(
        ("style", "printed"),
        [("comma_dot", "1,234,567.50"), ("dot_comma", "1.234.567,50"), ("space_comma", "1 234 567,50"),
         ("plain_comma", "1234567,50"), ("indian", "12,34,567.50"), ("nbsp_comma", "1\u00a0234\u00a0567,50")],
    )  # fmt: skip
    def test_amounts_print_in_each_style(self, style: str, printed: str) -> None:
        assert format_amount(Decimal("1234567.50"), style) == printed

    def test_money_shows_symbols_and_codes_where_each_country_puts_them(self) -> None:
        assert format_money(Decimal("1234.5"), "dot_comma", "EUR", "symbol_after") == "1.234,50 €"
        assert format_money(Decimal("12.5"), "comma_dot", "MYR", "symbol_before") == "RM12.50"
        assert format_money(Decimal("99"), "comma_dot", "INR", "symbol_before", rupee_glyph=False) == "Rs.99.00"
        assert format_money(Decimal("99"), "indian", "INR", "symbol_before") == "₹99.00"
        assert format_money(Decimal("7"), "comma_dot", "GBP", "code_before") == "GBP 7.00"

    @pytest.mark.parametrize(
        ("language", "style", "printed"),
        [("de", "d.My", "5. März 2024"), ("nl", "dMy", "5 maart 2024"), ("en", "bdy", "Mar 5, 2024"),
         ("es", "d de M de y", "5 de marzo de 2024"), ("it", "dMy", "5 marzo 2024"), ("fr", "dMy", "5 mars 2024"),
         ("en", "mdy/", "03/05/2024"), ("fr", "dmy/", "05/03/2024"), ("de", "dmy.", "05.03.2024")],
    )  # fmt: skip
    def test_dates_print_with_the_languages_month_names_and_orders(self, language: str, style: str, printed: str) -> None:
        assert format_date(datetime.date(2024, 3, 5), style, language) == printed


class TestCorpus:
    def test_every_language_has_every_layout_family_and_receipts(self, corpus) -> None:
        folder, files = corpus
        seen = {(f.truth.language, f.document.layout) for f in files}
        for language in LANGUAGES:
            for layout in INVOICE_LAYOUTS + RECEIPT_LAYOUTS:
                assert (language, layout) in seen
        assert {f.truth.kind for f in files} == {"invoice", "receipt"}

    def test_truth_file_holds_one_record_per_file_with_known_fields(self, corpus) -> None:
        folder, files = corpus
        records = read_truth(folder / "truth.jsonl")
        assert [r.file for r in records] == [f.truth.file for f in files]
        for line in (folder / "truth.jsonl").read_text(encoding="utf-8").splitlines():
            assert set(json.loads(line)) == {"file", "kind", "language", "fields"}
        for record in records:
            assert (folder / record.file).is_file()
            assert set(record.fields) <= set(TRUTH_FIELDS)
            datetime.date.fromisoformat(record.fields["issue_date"])
            assert re.fullmatch(r"-?\d+\.\d{2}", record.fields["gross_total"])
            assert record.fields["currency"] in {"EUR", "GBP", "USD", "INR", "MYR"}

    def test_amounts_add_up_and_ids_are_valid(self, corpus) -> None:
        _, files = corpus
        for f in files:
            fields = f.truth.fields
            if "net_total" in fields:
                assert Decimal(fields["net_total"]) + Decimal(fields["tax_total"]) == Decimal(fields["gross_total"])
            if "iban" in fields:
                assert std_iban.is_valid(fields["iban"])

    def test_each_text_pdf_prints_its_truth_values_as_its_language_formats_them(self, corpus) -> None:
        _, files = corpus
        for f in files:
            text = _spaced(_text(f.path))
            printed = f.document.printed()
            assert set(printed) >= set(f.truth.fields) - {"currency"}, f.path
            for field, value in printed.items():
                assert _spaced(value) in text, (f.path.name, field, value)
            if f.document.shows_currency_code:
                assert f.truth.fields["currency"] in text

    def test_some_invoices_print_look_alikes_a_reader_must_not_take(self, corpus) -> None:
        _, files = corpus
        prepaid = [f for f in files if f.document.prepaid]
        assert prepaid and any(f.document.distractors for f in files) and any(f.document.buyer_vat_id for f in files)
        for f in prepaid:  # the amount still due is printed, but the gross total stays net + tax
            doc = f.document
            assert _spaced(doc.amount(doc.gross - doc.prepaid)) in _spaced(_text(f.path))
            assert f.truth.fields["gross_total"] == f"{doc.net + doc.tax:.2f}"
        for f in files:
            if f.document.buyer_vat_id:
                assert f.document.buyer_vat_id != f.truth.fields.get("seller_vat_id")

    def test_multipage_invoices_have_their_totals_on_the_last_page_only(self, corpus) -> None:
        _, files = corpus
        multipage = [f for f in files if f.document.layout == "multipage"]
        assert multipage and all(f.pages >= 2 for f in multipage)
        for f in multipage:
            document = pdfium.PdfDocument(str(f.path))
            pages = [_spaced(page.get_textpage().get_text_range()) for page in document]
            document.close()
            gross = _spaced(f.document.printed()["gross_total"])
            assert gross in pages[-1] and not any(gross in page for page in pages[:-1])

    def test_the_same_seed_writes_the_same_documents(self, tmp_path: Path) -> None:
        a = write_corpus(tmp_path / "a", invoices_per_language=2, receipts_per_language=1, raster_every=0, seed=9,
                         languages=("de",))  # fmt: skip
        b = write_corpus(tmp_path / "b", invoices_per_language=2, receipts_per_language=1, raster_every=0, seed=9)
        assert [r.truth for r in a] == [r.truth for r in b if r.truth.language == "de"]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = random.Random(2)
    doc = make_document(rng, "invoice", "fr", "classic", unicode_font=False)
    pdf = tmp_path_factory.mktemp("raster") / "doc.pdf"
    write_document(doc, pdf, rng)
    return pdf


class TestRaster:

    @pytest.mark.parametrize("variant", RASTER_VARIANTS)
    def test_each_variant_decodes_and_has_no_text_layer(self, source: Path, variant: str) -> None:
        path, pages = write_raster_variant(source, source.parent / f"out-{variant}", variant, random.Random(4))
        assert pages == 1
        if path.suffix == ".pdf":
            document = pdfium.PdfDocument(str(path))
            assert len(document) == 1 and not document[0].get_textpage().get_text_range().strip()
            document.close()
        else:
            with Image.open(path) as image:
                image.load()
                assert min(image.size) > 700
                a4 = 842 / 595
                if variant == "photo":  # the table shows around the page, so it is not A4-shaped
                    assert abs(image.height / image.width - a4) > 0.01

    def test_a_multipage_document_becomes_one_image_pdf_with_every_page(self, tmp_path: Path) -> None:
        rng = random.Random(8)
        doc = make_document(rng, "invoice", "de", "multipage", unicode_font=False)
        pdf = tmp_path / "long.pdf"
        pages = write_document(doc, pdf, rng)
        path, raster_pages = write_raster_variant(pdf, tmp_path / "long-fax", "fax", rng)
        assert path.suffix == ".pdf" and raster_pages == pages >= 2


@pytest.mark.slow
class TestRasterIsReadable:
    def test_ocr_reads_the_seller_and_the_gross_total_off_a_photographed_receipt(self, tmp_path: Path) -> None:
        from rapidfuzz import fuzz

        from docket_core.capture.ocr import read_lines

        rng = random.Random(11)
        doc = make_document(rng, "receipt", "en", "receipt_centered", unicode_font=False)
        write_document(doc, tmp_path / "r.pdf", rng)
        path, _ = write_raster_variant(tmp_path / "r.pdf", tmp_path / "r-photo", "photo", rng)
        with Image.open(path) as image:
            text = " ".join(line.text for line in read_lines(image.convert("RGB")))
        assert fuzz.partial_ratio(doc.seller.name.upper(), text.upper()) >= 80, text
        assert doc.printed()["gross_total"] in text.replace(" ", ""), text
