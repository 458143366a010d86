"""Generated invoices and receipts with their truth, for tests, demos and capture evaluation.

Made up here, every part: companies and their legal forms, addresses, VAT ids and IBANs with right
check digits (`parties`), each language's labels, dates and amounts (`locales`), a document's values
(`model`), its drawing as a text PDF in one of several layout families (`invoice_pdf`, `receipt_pdf`,
with reportlab), its OCR variants (`raster`) and whole corpora with a truth JSONL (`corpus`).
No real vendor's name, template or layout is used. `python -m docket_core.synth FOLDER` writes one.
"""

from docket_core.synth.corpus import GeneratedFile, write_corpus, write_document
from docket_core.synth.model import INVOICE_LAYOUTS, RECEIPT_LAYOUTS, SynthDocument, make_document

__all__ = [
    "INVOICE_LAYOUTS",
    "RECEIPT_LAYOUTS",
    "GeneratedFile",
    "SynthDocument",
    "make_document",
    "write_corpus",
    "write_document",
]
