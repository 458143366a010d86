"""Generated sample invoices for tests, demos and benchmarks of the `invoice-capture` workflow.

Everything here is made up by this package: company names, VAT ids, IBANs (with valid check digits,
belonging to nobody), items and amounts. No third-party invoice, template or font file is copied;
the PDFs are written by hand with the standard Helvetica font that every PDF reader provides, and
the Factur-X XML is built element by element from the EN 16931 CII structure.

One module per concept: `amounts` (decimals and totals), `cii` (the Factur-X XML), `text` (the
printed face), `pdf` (writing PDFs) and `sample_set` (the random invoice data and which files are
written). This package exposes their public API.
"""

from docket_core.invoice_samples.cii import FACTURX_EN16931_GUIDELINE, build_cii_xml
from docket_core.invoice_samples.pdf import write_facturx_pdf, write_text_pdf
from docket_core.invoice_samples.sample_set import write_sample_invoices

__all__ = [
    "FACTURX_EN16931_GUIDELINE",
    "build_cii_xml",
    "write_facturx_pdf",
    "write_sample_invoices",
    "write_text_pdf",
]
