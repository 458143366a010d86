"""Generated samples for OCR: a scanned invoice (an image-only PDF) and a photographed shop receipt.

Both are made by this module: the scan is one of `write_sample_invoices`' English text invoices
rendered to pixels (pypdfium2), greyed, lightly blurred and speckled like a flatbed scan, then saved as
a PDF holding only that image, so no text layer is left to read. The receipt is drawn with Pillow's
bundled font on a paper strip, laid on a darker table, turned a few degrees, noised and saved as a
JPEG like a phone photo. Shop, items and amounts are made up; no font file or third-party image is
copied. The same `seed` gives the same files, and `*_truth` says what is printed on them.
"""

from __future__ import annotations

import datetime
import random
import tempfile
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from docket_core.invoice_samples.sample_set import write_sample_invoices

__all__ = ["RECEIPT_SHOPS", "receipt_truth", "write_photographed_receipt", "write_scanned_invoice"]

RECEIPT_SHOPS = ("Corner Bakery Ltd", "Harbour Fish & Chips Ltd", "Quayside Coffee Co. Ltd")
_CENT = Decimal("0.01")
_ITEMS = (("Sourdough loaf", "4.20"), ("Flat white", "3.10"), ("Croissant", "2.40"), ("Orange juice", "2.95"),
          ("Cheese scone", "2.60"), ("Tea", "2.20"))  # fmt: skip


def _speckle(image: Image.Image, rng: np.random.Generator, sigma: float) -> Image.Image:
    pixels = np.asarray(image, dtype=np.float32)
    noisy = pixels + rng.normal(0.0, sigma, pixels.shape)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), mode=image.mode)


def write_scanned_invoice(dest: Path, *, seed: int = 0, dpi: int = 150) -> Path:
    """Write an English invoice as a scanned, image-only PDF at `dest` and return it.

    Args:
        dest: the PDF to write (its folder is created).
        seed: varies the invoice (vendor, items, amounts) and the scanner noise.
        dpi: the resolution of the scan.
    """
    import pypdfium2 as pdfium

    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="docket-scan-") as tmp:
        text_pdf = write_sample_invoices(Path(tmp), count=2, seed=seed)[1]  # the English text invoice
        document = pdfium.PdfDocument(str(text_pdf))
        try:
            page = document[0].render(scale=dpi / 72, grayscale=True).to_pil()
        finally:
            document.close()
    rng = np.random.default_rng(seed)
    scan = _speckle(page.convert("L").filter(ImageFilter.GaussianBlur(0.6)), rng, 9.0)
    scan.save(dest, "PDF", resolution=float(dpi))
    return dest


def receipt_truth(seed: int = 0) -> dict[str, Any]:
    """What the receipt of this `seed` prints: seller, date, items, tax (VAT 20 % included), total, currency."""
    rng = random.Random(seed)
    items = rng.sample(_ITEMS, 3)
    total = sum((Decimal(price) for _, price in items), Decimal(0))
    tax = (total - total / Decimal("1.2")).quantize(_CENT, rounding=ROUND_HALF_UP)
    day = datetime.date(2026, 1, 1) + datetime.timedelta(days=rng.randrange(330))
    return {"seller_name": rng.choice(RECEIPT_SHOPS), "issue_date": day, "items": items, "tax_total": tax, "gross_total": total,
            "currency": "GBP"}  # fmt: skip


def _receipt_lines(truth: dict[str, Any]) -> list[tuple[str, str]]:
    """(left, right-aligned) text of each printed line."""
    lines = [(truth["seller_name"], ""), ("12 Harbour Lane, Bristol", ""), ("VAT No. GB 123 4567 89", ""), ("", ""),
             (f"Date: {truth['issue_date']:%d/%m/%Y}  10:42", ""), ("", "")]  # fmt: skip
    lines += [(name, price) for name, price in truth["items"]]
    lines += [("", ""), ("TOTAL GBP", str(truth["gross_total"])), ("VAT 20% incl.", str(truth["tax_total"])), ("", ""),
              ("Card payment", ""), ("Thank you!", "")]  # fmt: skip
    return lines


def write_photographed_receipt(dest: Path, *, seed: int = 0) -> Path:
    """Write a phone photo of a shop receipt (JPEG, slightly turned, noised) at `dest` and return it."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    truth = receipt_truth(seed)
    font = ImageFont.load_default(size=30)
    lines = _receipt_lines(truth)
    paper = Image.new("L", (620, 80 + 44 * len(lines)), 244)
    draw = ImageDraw.Draw(paper)
    for n, (left, right) in enumerate(lines):
        # The shop's name centred, then text on the left and amounts on the right, as till printers do.
        x = (620 - draw.textlength(left, font=font)) / 2 if n == 0 else 40
        draw.text((x, 40 + 44 * n), left, fill=25, font=font)
        if right:
            draw.text((580 - draw.textlength(right, font=font), 40 + 44 * n), right, fill=25, font=font)
    rng = np.random.default_rng(seed)
    table = Image.new("L", (paper.width + 220, paper.height + 220), 92)
    table.paste(paper, (110, 110))
    angle = float(rng.uniform(-4.0, 4.0))
    photo = table.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=92, expand=False)
    photo = _speckle(photo.filter(ImageFilter.GaussianBlur(0.8)), rng, 7.0)
    photo.convert("RGB").save(dest, "JPEG", quality=82)
    return dest
