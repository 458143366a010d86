"""The page model: words and lines with page-relative boxes, from a text layer and from OCR."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from docket_core.capture.documents import read_image, read_pdf
from docket_core.capture.ocr import OcrLine, ocr_engine, read_lines
from docket_core.invoice_samples.pdf import write_text_pdf
from docket_core.steps.invoice import extract_fields
from docket_core.workflows.model import FileContext

RECEIPT = [
    "BAKERY CORNER SDN BHD",
    "DATE: 14/03/2019",
    "BREAD                 4.50",
    "TOTAL (RM)            4.50",
    "CASH                 10.00",
]


def _render(lines: list[str], size: tuple[int, int] = (1240, 1754), font_size: int = 34) -> Image.Image:
    """A white page with `lines` in black, as a scanner would give it (A4 at 150 dpi by default)."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=font_size)
    for row, text in enumerate(lines):
        draw.text((90, 120 + row * int(font_size * 1.9)), text, fill="black", font=font)
    return image


class TestTextLayer:
    def test_gives_words_and_lines_with_page_relative_boxes(self, tmp_path: Path) -> None:
        path = write_text_pdf(tmp_path / "a.pdf", ["Invoice No.: INV-7", "Total: 12.00 EUR"])

        pages, messages = read_pdf(path)

        assert messages == []
        assert [page.source for page in pages] == ["pdf-text"]
        lines = pages[0].lines
        assert [line.text for line in lines] == ["Invoice No.: INV-7", "Total: 12.00 EUR"]
        first, second = lines
        assert [word.text for word in first.words] == ["Invoice", "No.:", "INV-7"]
        for line in lines:
            x0, y0, x1, y1 = line.box
            assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
            assert all(word.confidence == 1.0 for word in line.words)
        assert first.box[1] < 0.1 and second.box[1] > first.box[3]  # origin top left, top line first
        assert first.words[0].box[2] < first.words[1].box[0]  # words left to right

    def test_bounds_the_pages_it_reads(self, tmp_path: Path) -> None:
        from pypdf import PdfWriter

        writer = PdfWriter()
        for _ in range(5):
            writer.add_blank_page(595, 842)
        path = tmp_path / "long.pdf"
        with path.open("wb") as fh:
            writer.write(fh)
        from docket_core.settings import get_settings

        pages, messages = read_pdf(path, get_settings(capture_max_pages=2))

        assert len(pages) == 2
        assert [m.content for m in messages] == ["read the first 2 of 5 pages"]


@pytest.mark.slow  # the real OCR models: about a second a test on an idle core
class TestOcr:
    def test_reads_lines_with_pixel_boxes_and_confidence(self) -> None:
        image = _render(["Rechnungsnummer: RE-2024-0815", "Gesamtbetrag 1.234,56 EUR"], size=(1000, 300))

        lines = read_lines(image)

        texts = [line.text.replace(" ", "") for line in lines]
        assert texts == ["Rechnungsnummer:RE-2024-0815", "Gesamtbetrag1.234,56EUR"]
        assert all(isinstance(line, OcrLine) and line.confidence > 0.8 for line in lines)
        first, second = (line.box for line in lines)
        assert 60 <= first[0] <= 120 and first[1] < second[1] and first[2] <= 1000
        assert ocr_engine() is ocr_engine()  # loaded once per process

    def test_boxes_are_in_the_whole_images_pixels_when_the_text_sits_inside_wide_margins(self) -> None:
        # An A4 page at 200 dpi with text only in its middle: OCR skips the blank paper around it.
        image = Image.new("RGB", (1654, 2339), "white")
        draw, font = ImageDraw.Draw(image), ImageFont.load_default(size=40)
        draw.text((400, 700), "Invoice SC-4711", fill="black", font=font)
        draw.text((1100, 1700), "Total: 99.50 EUR", fill="black", font=font)

        lines = read_lines(image)

        assert [line.text.replace(" ", "") for line in lines] == ["InvoiceSC-4711", "Total:99.50EUR"]
        (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = (line.box for line in lines)
        assert 380 <= ax0 <= 410 and 690 <= ay0 <= 715 and ax1 < 800 and ay1 <= 760
        assert 1080 <= bx0 <= 1110 and 1690 <= by0 <= 1715 and bx1 < 1500 and by1 <= 1760

    def test_a_blank_page_has_no_lines(self) -> None:
        assert read_lines(Image.new("RGB", (1654, 2339), "white")) == []

    def test_reads_a_scanned_pdf_page_by_ocr_with_evidence(self, tmp_path: Path) -> None:
        path = tmp_path / "scan.pdf"
        lines = ["INVOICE", "Invoice number: SC-4711", "Invoice date: 12.03.2024", "Total: 99.50 EUR"]
        _render(lines, size=(620, 877)).save(path, resolution=150)  # an A6 scan, rendered at 200 dpi for OCR

        out = extract_fields(FileContext("scan.pdf", "application/pdf", path))

        assert out.datapoints["source"] == "ocr"
        assert (out.datapoints["invoice_number"], out.datapoints["issue_date"], out.datapoints["gross_total"]) == (
            "SC-4711",
            datetime.date(2024, 3, 12),
            99.5,
        )
        evidence = out.evidence["invoice_number"]
        assert evidence.page == 1 and "SC-4711" in evidence.text
        assert 0.05 < evidence.box[0] < evidence.box[2] < 0.9 and evidence.box[1] < 0.3
        assert 0 < evidence.confidence <= 1

    def test_reads_a_photographed_receipt_image(self, tmp_path: Path) -> None:
        path = tmp_path / "receipt.png"
        _render(RECEIPT, size=(700, 600), font_size=30).save(path)

        pages, _ = read_image(path)
        out = extract_fields(FileContext("receipt.png", "image/png", path))

        assert pages[0].source == "ocr" and pages[0].lines
        assert out.datapoints["source"] == "ocr"
        assert out.datapoints["document_kind"] == "receipt"
        # The recogniser drops some spaces between words; the name's letters are what it must get right.
        name = (out.datapoints["seller_name"] or "").replace(" ", "")
        assert (name, out.datapoints["issue_date"], out.datapoints["gross_total"]) == (
            "BAKERYCORNERSDNBHD",
            datetime.date(2019, 3, 14),
            4.5,
        )
        assert out.datapoints["currency"] == "MYR"


def _shared_stream_pdf(path: Path, pages: int = 10, size: int = 1024 * 1024) -> Path:
    """A PDF of a few KB whose `pages` pages all show one `size`-byte (decoded) content stream."""
    import zlib

    unit = b"BT /F1 9 Tf 20 20 Td (Total 12.00 EUR) Tj ET\n"
    data = zlib.compress(unit * (size // len(unit)), 9)
    font = b"<< /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >>"
    kids = " ".join(f"{4 + i} 0 R" for i in range(pages)).encode()
    bodies = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages,
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream",
    ] + [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 3 0 R /Resources " + font + b" >>"] * pages
    out, offsets = bytearray(b"%PDF-1.7\n"), []
    for number, body in enumerate(bodies, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(bodies) + 1, xref)
    path.write_bytes(bytes(out))
    return path


class TestReadingBudget:
    def test_stops_reading_pages_that_share_one_huge_content_stream(self, tmp_path: Path) -> None:
        from docket_core.settings import get_settings

        path = _shared_stream_pdf(tmp_path / "small.pdf")
        assert path.stat().st_size < 8 * 1024

        pages, messages = read_pdf(path, get_settings(capture_max_objects=50_000))

        assert len(pages) == 3  # each page holds ~23,000 text objects
        assert [m.content for m in messages] == [
            "stopped reading at page 4 of 10: the document's reading budget is spent"
        ]


class TestDetectionSize:
    """What OCR's text detector is given: a whole A4 page is shrunk by its area, a long narrow receipt
    keeps its width (a bound on the longest side alone would shrink it until small print is lost)."""

    class _Detector:
        mean, std = [0.5] * 3, [0.5] * 3

        def get_preprocess(self, longest: int) -> str:
            return f"own sizing for {longest}"

        def __call__(self, image: object) -> object:
            return self.get_preprocess(max(image.shape[:2]))

    class _Engine:
        def __init__(self, detector: object) -> None:
            self.text_det = detector

    class _Image:
        def __init__(self, height: int, width: int) -> None:
            self.shape = (height, width, 3)

    def _sizing(self, height: int, width: int) -> object:
        from docket_core.capture.ocr import _bound_detection

        engine = self._Engine(self._Detector())
        _bound_detection(engine, max_side=2000, max_pixels=1_700_000)
        return engine.text_det(self._Image(height, width))

    def test_an_a4_page_at_200_dpi_is_shrunk_to_the_pixel_bound(self) -> None:
        sizing = self._sizing(2339, 1654)

        assert sizing.limit_type == "max" and 1540 <= sizing.limit_side_len <= 1560
        assert sizing.limit_side_len**2 * 1654 / 2339 <= 1_700_000

    def test_a_long_narrow_receipt_within_the_bound_keeps_its_own_sizing(self) -> None:
        assert self._sizing(1900, 800) == "own sizing for 1900"

    def test_a_longest_side_over_its_bound_is_still_cut_to_it(self) -> None:
        sizing = self._sizing(4000, 300)

        assert sizing.limit_side_len == 2000
