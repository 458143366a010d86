"""The generated OCR samples: a scanned invoice with no text layer and a turned, noised receipt photo."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
from PIL import Image

from docket_core.scan_samples import receipt_truth, write_photographed_receipt, write_scanned_invoice
from docket_core.settings import get_settings
from docket_core.staging.ingest import stage_file
from docket_core.store import Store


def _pixels(path: Path) -> np.ndarray:
    document = pdfium.PdfDocument(str(path))
    try:
        return np.asarray(document[0].render(scale=100 / 72).to_pil().convert("L"))
    finally:
        document.close()


class TestScannedInvoice:
    def test_is_one_a4_page_of_pixels_with_no_text_to_extract(self, tmp_path: Path) -> None:
        path = write_scanned_invoice(tmp_path / "scan.pdf", dpi=100)
        document = pdfium.PdfDocument(str(path))
        try:
            assert len(document) == 1
            page = document[0]
            assert page.get_textpage().get_text_range().strip() == ""
            width, height = page.get_size()
            assert abs(width - 595) < 3 and abs(height - 842) < 3  # A4 in points, as the text invoice was
        finally:
            document.close()
        pixels = _pixels(path)
        assert (pixels < 128).mean() > 0.002  # there is print on it
        assert np.array_equal(_pixels(write_scanned_invoice(tmp_path / "again.pdf", dpi=100)), pixels)  # the same seed, the same scan


class TestPhotographedReceipt:
    def test_is_a_turned_noised_jpeg_whose_truth_adds_up(self, tmp_path: Path) -> None:
        path = write_photographed_receipt(tmp_path / "r.jpg", seed=3)
        with Image.open(path) as image:
            assert image.format == "JPEG"
            pixels = np.asarray(image.convert("L"), dtype=np.float32)
        assert pixels[:40, :40].std() > 2  # the table is noised, not flat
        truth = receipt_truth(3)
        assert truth["gross_total"] == sum(Decimal(price) for _, price in truth["items"])
        assert 0 < truth["tax_total"] < truth["gross_total"] and truth["currency"] == "GBP"

    def test_both_stage_as_documents(self, tmp_path: Path) -> None:
        settings = get_settings(home=tmp_path / "home")
        store = Store(str(tmp_path / "store"))
        for path in (write_scanned_invoice(tmp_path / "s.pdf", dpi=80), write_photographed_receipt(tmp_path / "r.jpg")):
            outcome = stage_file(path, path.name, batch_kind="documents", settings=settings, store=store)
            assert outcome.status == "ingested", outcome.reason
