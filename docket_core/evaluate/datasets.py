"""Truth for the real development data, built at run time from the data itself (never stored here).

Read from `DOCKET_SAMPLE_DATA` (the folder holding `zugferd-dev/`, `receipts-dev/`, `facturx-akretion/`):
- e-invoice PDFs (every PDF under `zugferd-dev/` and `facturx-akretion/`): the truth is the embedded
  XML as Docket's own parser reads it (`docket_core.einvoice`). The text path is evaluated on a copy
  of each PDF with its attachments removed (`strip_attachments`), so capture cannot read the XML and
  must read the page; the OCR path on that copy's pages rendered to an image-only PDF. A truth value
  the page does not print (an IBAN only in the XML, say) is dropped from the record and listed in
  `dropped`, since no reader of the page could find it (`printed_in` decides that generously), and
  so is an IBAN failing its checksum (sample data's made-up IBANs), which a validating reader must
  refuse. Names keep their words, with line breaks and runs of spaces made single spaces.
- shop receipts (`receipts-dev/`): the published key fields, normalized: `company` is the seller,
  `date` (printed as 09/01/2019, 18 MAR 2018, 05-02-18, 2018/02/22: Malaysian, so day first) is the
  issue date, `total` (31.00, RM39.00, $8.60) the gross total. The key gives no currency, so the
  truth has none.
"""

from __future__ import annotations

import datetime
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pypdfium2 as pdfium
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, NameObject
from stdnum import iban as std_iban

from docket_core.einvoice import find_embedded_xml, parse_invoice_xml
from docket_core.errors import InputError
from docket_core.evaluate.truth import TruthRecord
from docket_core.steps.invoice import fields_from_einvoice
from docket_core.synth.locales import MONTH_NAMES as MONTHS
from docket_core.synth.raster import render_pages

__all__ = [
    "Dropped",
    "einvoice_cases",
    "printed_in",
    "receipt_cases",
    "render_scan_pdf",
    "sample_data_root",
    "strip_attachments",
]

_LANGUAGE_WORDS = {  # words that tell an invoice's language, counted in its text
    "de": ("rechnung", "datum", "betrag", "menge", "netto", "brutto", "umsatzsteuer", "mwst", "zahlbar", "summe"),
    "en": ("invoice", "date", "amount", "quantity", "total", "due", "price", "tax", "payment", "description"),
    "fr": ("facture", "montant", "quantité", "tva", "total ttc", "échéance", "désignation", "prix", "règlement"),
    "nl": ("factuur", "bedrag", "btw", "aantal", "totaal", "omschrijving", "vervaldatum"),
    "es": ("factura", "importe", "iva", "cantidad", "fecha", "vencimiento", "descripción"),
    "it": ("fattura", "importo", "iva", "quantità", "totale", "scadenza", "descrizione"),
}
_SHORT_MONTHS_EN = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def sample_data_root() -> Path:
    """`DOCKET_SAMPLE_DATA`, which must be set to the folder of the development data."""
    raw = os.environ.get("DOCKET_SAMPLE_DATA")
    if not raw:
        raise InputError("set DOCKET_SAMPLE_DATA to the folder holding zugferd-dev/ and receipts-dev/")
    root = Path(raw)
    if not root.is_dir():
        raise InputError(f"DOCKET_SAMPLE_DATA must be a folder, got {raw!r}")
    return root


@dataclass(frozen=True)
class Dropped:
    """A truth value left out of a record, and why."""

    file: str
    field: str
    value: str
    reason: str


def strip_attachments(src: Path, dst: Path) -> None:
    """Copy the pages of `src` to `dst` without embedded files or file-attachment annotations.

    Raises:
        InputError: When the copy still carries an e-invoice XML (it then cannot test the text path).
    """
    writer = PdfWriter()
    for page in PdfReader(src).pages:
        added = writer.add_page(page)
        for key in ("/AF", "/Annots"):
            if key == "/Annots" and key in added:
                kept = [a for a in added[key] if a.get_object().get("/Subtype") != "/FileAttachment"]
                added[NameObject(key)] = ArrayObject(kept)
            elif key in added:
                del added[key]
    dst.parent.mkdir(parents=True, exist_ok=True)
    with dst.open("wb") as out:
        writer.write(out)
    if find_embedded_xml(dst) is not None:
        raise InputError(f"{dst}: still carries an e-invoice XML after its attachments were removed")


def render_scan_pdf(src: Path, dst: Path, dpi: int = 200) -> int:
    """Render every page of `src` at `dpi` into an image-only PDF `dst` (no text layer); returns pages."""
    pages = render_pages(src, dpi=dpi)
    dst.parent.mkdir(parents=True, exist_ok=True)
    pages[0].save(dst, "PDF", save_all=True, append_images=pages[1:], resolution=float(dpi))
    return len(pages)


def pdf_text(path: Path, max_pages: int = 30) -> str:
    document = pdfium.PdfDocument(str(path))
    try:
        texts = []
        for index in range(min(len(document), max_pages)):
            page = document[index]
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return "\n".join(texts)
    finally:
        document.close()


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text.casefold())


def _amount_forms(value: Decimal) -> set[str]:
    whole, cents = f"{abs(value):.2f}".split(".")
    groups = [whole[max(0, i - 3) : i] for i in range(len(whole), 0, -3)][::-1]
    forms = set()
    for thousands in ("", ".", ",", "'"):
        for decimal in (".", ","):
            if thousands != decimal:
                forms.add(thousands.join(groups) + decimal + cents)
    return forms


def _date_forms(date: datetime.date) -> set[str]:
    d, m, y = date.day, date.month, date.year
    forms = {date.isoformat(), f"{y}{m:02d}{d:02d}"}
    for dd in (f"{d:02d}", str(d)):
        for mm in (f"{m:02d}", str(m)):
            for sep in (".", "/", "-"):
                for yy in (str(y), f"{y % 100:02d}"):
                    forms |= {f"{dd}{sep}{mm}{sep}{yy}", f"{mm}{sep}{dd}{sep}{yy}"}
    names = {names[m - 1].casefold() for names in MONTHS.values()} | {_SHORT_MONTHS_EN[m - 1]}
    names |= {n[:3] for n in names} | {n[:3] + "." for n in names}
    for name in names:
        for dd in (f"{d:02d}", str(d)):
            forms |= {f"{dd}{name}{y}", f"{dd}.{name}{y}", f"{name}{dd},{y}", f"{name}{dd}{y}", f"{dd}de{name}de{y}",
                      f"{dd}-{name}-{y}"}  # fmt: skip
    return forms


def printed_in(squashed_text: str, field: str, value: str) -> bool:
    """Whether `value` (a truth value of `field`) appears in the page text, whitespace and case ignored."""
    if field in ("net_total", "tax_total", "gross_total"):
        return any(form in squashed_text for form in _amount_forms(Decimal(value)))
    if field in ("issue_date", "due_date"):
        return any(form in squashed_text for form in _date_forms(datetime.date.fromisoformat(value)))
    if field == "currency":
        symbols = {"EUR": "€", "GBP": "£", "USD": "$", "INR": "₹", "CHF": "chf"}
        return value.casefold() in squashed_text or symbols.get(value, "\0") in squashed_text
    return _squash(value) in squashed_text


def guess_language(text: str) -> str:
    """The language whose invoice words occur most often in `text` ("de" on a tie with nothing found)."""
    lowered = text.casefold()
    counts = {lang: sum(lowered.count(w) for w in words) for lang, words in _LANGUAGE_WORDS.items()}
    best = max(counts, key=lambda lang: (counts[lang], lang == "de"))
    return best


def _einvoice_pdfs(root: Path) -> list[Path]:
    pdfs = sorted((root / "zugferd-dev").rglob("*.pdf")) + sorted((root / "facturx-akretion").glob("*.pdf"))
    return [p for p in pdfs if p.is_file()]


def einvoice_cases(root: Path, cache: Path, *, ocr: bool, dpi: int = 200, limit: int | None = None) -> tuple[list[tuple[Path, TruthRecord]], list[Dropped], list[str]]:  # fmt: skip
    """(file to capture, truth) for each e-invoice PDF, the truth values dropped as unprinted, and skips.

    The files to capture are written under `cache` (attachments removed; rendered as scans when `ocr`),
    and reused while they are newer than their source.
    """
    cases, dropped, skipped = [], [], []
    for pdf in _einvoice_pdfs(root):
        if limit is not None and len(cases) >= limit:
            break
        rel = pdf.relative_to(root).as_posix()
        try:
            embedded = find_embedded_xml(pdf)
            if embedded is None:
                skipped.append(f"{rel}: no embedded e-invoice XML")
                continue
            invoice = parse_invoice_xml(embedded[1])
        except InputError as e:
            skipped.append(f"{rel}: {e}")
            continue
        text_copy = cache / "text" / rel
        if not text_copy.is_file() or text_copy.stat().st_mtime < pdf.stat().st_mtime:
            strip_attachments(pdf, text_copy)
        target = text_copy
        if ocr:
            target = cache / "scan" / rel
            if not target.is_file() or target.stat().st_mtime < text_copy.stat().st_mtime:
                render_scan_pdf(text_copy, target, dpi)
        text = pdf_text(text_copy)
        squashed = _squash(text)
        fields = {}
        for name, value in fields_from_einvoice(invoice, "embedded-xml").items():
            if name not in ("invoice_number", "issue_date", "due_date", "seller_name", "seller_vat_id",
                            "buyer_name", "iban", "currency", "net_total", "tax_total", "gross_total"):  # fmt: skip
                continue
            if value is None or value == "":
                continue
            normalized = value.isoformat() if isinstance(value, datetime.date) else (
                f"{Decimal(str(value)):.2f}" if isinstance(value, float) else re.sub(r"\s+", "", str(value))
                if name in ("iban", "seller_vat_id") else " ".join(str(value).split())
            )  # fmt: skip
            if name == "iban" and not std_iban.is_valid(normalized):
                # Sample data's made-up IBANs often fail the checksum; a reader that validates must refuse them.
                dropped.append(Dropped(rel, name, normalized, "fails the IBAN checksum or length"))
            elif printed_in(squashed, name, normalized):
                fields[name] = normalized
            else:
                dropped.append(Dropped(rel, name, normalized, "not printed on the page"))
        cases.append((target, TruthRecord(rel, "invoice", guess_language(text), fields)))
    return cases, dropped, skipped


def normalize_receipt_date(printed: str) -> str:
    """A date as SROIE receipts print it, day first, as YYYY-MM-DD: 09/01/2019, 05-02-18, 18 MAR 2018,
    2018/02/22, 2016-07-31."""
    text = printed.strip()
    if m := re.fullmatch(r"(\d{4})[/.-](\d{1,2})[/.-](\d{1,2})", text):
        return datetime.date(int(m[1]), int(m[2]), int(m[3])).isoformat()
    if m := re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})", text):
        year = int(m[3]) + (2000 if len(m[3]) == 2 else 0)
        return datetime.date(year, int(m[2]), int(m[1])).isoformat()
    if m := re.fullmatch(r"(\d{1,2})\s*([A-Za-z]{3})[A-Za-z]*\s*(\d{4})", text):
        return datetime.date(int(m[3]), _SHORT_MONTHS_EN.index(m[2].lower()) + 1, int(m[1])).isoformat()
    raise InputError(f"receipt date {printed!r} is in none of the known printed forms")


def normalize_receipt_total(printed: str) -> str:
    """A total as printed (31.00, RM39.00, $8.60, 1,234.50) as a decimal string."""
    digits = re.sub(r"[^\d.,]", "", printed).replace(",", "")
    if not digits:
        raise InputError(f"receipt total {printed!r} holds no number")
    return f"{Decimal(digits):.2f}"


def receipt_cases(root: Path) -> Iterator[tuple[Path, TruthRecord]]:
    """(image, truth) for each receipt of `receipts-dev/` with a key file."""
    folder = root / "receipts-dev"
    for image in sorted((folder / "img").glob("*.jpg")):
        key = folder / "key" / f"{image.stem}.json"
        if not key.is_file():
            continue
        raw = json.loads(key.read_text(encoding="utf-8"))
        fields = {
            "seller_name": raw["company"].strip(),
            "issue_date": normalize_receipt_date(raw["date"]),
            "gross_total": normalize_receipt_total(raw["total"]),
        }
        yield image, TruthRecord(f"receipts-dev/img/{image.name}", "receipt", "en", fields)
