"""A generated corpus: invoices and receipts in every language and layout, OCR variants, truth.

`write_corpus(folder)` writes
- `text/<language>/<layout>-<n>.pdf`: text PDFs, every layout family in every language;
- `ocr/<variant>/<language>-<layout>-<n>.<ext>`: rasterised copies (see `raster.RASTER_VARIANTS`);
- `truth.jsonl`: one `TruthRecord` per file (see `docket_core.evaluate.truth`).
The same seed writes the same documents and the same truth.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from docket_core.evaluate.truth import TruthRecord, write_truth
from docket_core.synth.invoice_pdf import write_invoice_pdf
from docket_core.synth.locales import LANGUAGES
from docket_core.synth.model import INVOICE_LAYOUTS, RECEIPT_LAYOUTS, SynthDocument, make_document
from docket_core.synth.pen import unicode_font_available
from docket_core.synth.raster import RASTER_VARIANTS, write_raster_variant
from docket_core.synth.receipt_pdf import write_receipt_pdf

__all__ = ["GeneratedFile", "write_corpus", "write_document"]


@dataclass(frozen=True)
class GeneratedFile:
    """One file of a corpus, its truth and the document it shows."""

    path: Path
    truth: TruthRecord
    document: SynthDocument
    variant: str  # "text" or one of RASTER_VARIANTS
    pages: int


def write_document(doc: SynthDocument, path: Path, rng: random.Random) -> int:
    """Draw `doc` as a text PDF at `path`; returns its pages."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if doc.kind == "receipt":
        return write_receipt_pdf(doc, path, rng)
    return write_invoice_pdf(doc, path, rng)


def _plan(invoices: int, receipts: int) -> list[tuple[str, str, str]]:
    """(kind, language, layout) for each document: layouts cycle, so each language gets each one."""
    plan = []
    for language in LANGUAGES:
        plan += [("invoice", language, INVOICE_LAYOUTS[i % len(INVOICE_LAYOUTS)]) for i in range(invoices)]
        plan += [("receipt", language, RECEIPT_LAYOUTS[i % len(RECEIPT_LAYOUTS)]) for i in range(receipts)]
    return plan


def write_corpus(
    folder: Path,
    *,
    invoices_per_language: int = len(INVOICE_LAYOUTS),
    receipts_per_language: int = 2,
    raster_every: int = 2,
    seed: int = 12,
    languages: tuple[str, ...] | None = None,
) -> list[GeneratedFile]:
    """Write a corpus with its `truth.jsonl` into `folder`; returns its files in truth order.

    Args:
        folder: Where to write (created; existing files of the same names are replaced).
        invoices_per_language: Invoices per language; the layouts cycle through `INVOICE_LAYOUTS`.
        receipts_per_language: Receipts per language, cycling through `RECEIPT_LAYOUTS`.
        raster_every: Every n-th document also gets an OCR variant (0: none); variants cycle, and
            receipts are photographed.
        seed: Seed of every random choice.
        languages: A subset of `LANGUAGES` (all when None).
    """
    folder.mkdir(parents=True, exist_ok=True)
    unicode_font = unicode_font_available()
    out: list[GeneratedFile] = []
    variant_turn = 0
    for n, (kind, language, layout) in enumerate(_plan(invoices_per_language, receipts_per_language), start=1):
        if languages is not None and language not in languages:
            continue
        rng = random.Random(f"{seed}-{n}")  # one stream per document: a subset shows the same documents
        doc = make_document(rng, kind, language, layout, unicode_font=unicode_font)  # type: ignore[arg-type]
        stem = f"{layout}-{n:04d}"
        pdf = folder / "text" / language / f"{stem}.pdf"
        pages = write_document(doc, pdf, rng)
        fields = doc.truth()
        record = TruthRecord(pdf.relative_to(folder).as_posix(), doc.kind, language, fields)
        out.append(GeneratedFile(pdf, record, doc, "text", pages))
        shift = list(LANGUAGES).index(language)  # so that each language rasters other layouts
        if raster_every and (n + shift) % raster_every == 0:
            if kind == "receipt":
                variant = "photo"
            else:
                variant = RASTER_VARIANTS[(variant_turn + shift) % len(RASTER_VARIANTS)]
                variant_turn += 1
            target = folder / "ocr" / variant / f"{language}-{stem}"
            target.parent.mkdir(parents=True, exist_ok=True)
            path, raster_pages = write_raster_variant(pdf, target, variant, rng)
            raster = TruthRecord(path.relative_to(folder).as_posix(), doc.kind, language, fields)
            out.append(GeneratedFile(path, raster, doc, variant, raster_pages))
    write_truth(folder / "truth.jsonl", (f.truth for f in out))
    return out
