"""Finding the e-invoice XML a PDF carries (Factur-X, ZUGFeRD, XRechnung attachments).

pypdf reports what it repairs in a broken PDF through `logging` (not `warnings`); those notices are
left to the logging configuration, and a PDF it cannot read at all becomes an `InputError`.
"""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from docket_core.deadline import check_deadline
from docket_core.einvoice.parse import syntax_of
from docket_core.einvoice.safexml import root_name
from docket_core.errors import InputError
from docket_core.pdf_attachments import list_attachments

__all__ = ["EINVOICE_ATTACHMENT_NAMES", "MAX_XML_BYTES", "find_embedded_xml", "open_pdf"]

EINVOICE_ATTACHMENT_NAMES = ("factur-x.xml", "zugferd-invoice.xml", "ZUGFeRD-invoice.xml", "xrechnung.xml")
"""Attachment names the Factur-X, ZUGFeRD and XRechnung specifications give the invoice XML."""

MAX_XML_BYTES = 32 * 1024 * 1024
"""The most bytes an e-invoice XML attached to a PDF may decode to (real ones are well under 1 MiB)."""

_SNIFF_BYTES = 64 * 1024  # enough for an XML declaration, comments and the root element's namespaces


def open_pdf(path: Path) -> PdfReader:
    """Open a PDF for reading, decrypting it when it only has an (empty) owner password.

    Raises:
        InputError: When the file is not a readable PDF or needs a password.
    """
    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise InputError(f"expected an unencrypted PDF, {path.name} needs a password; remove it first")
    except PyPdfError as e:
        raise InputError(f"expected a readable PDF, {path.name} could not be read: {e}") from e
    return reader


def _sniff_root(head: bytes) -> str | None:
    """ "CII", "UBL" or None, from the root element at the start of a document (its first bytes)."""
    found = root_name(head)
    return None if found is None else syntax_of(*found)


def find_embedded_xml(path: Path | PdfReader, *, max_bytes: int = MAX_XML_BYTES) -> tuple[str, bytes] | None:
    """The e-invoice XML a PDF carries, as `(attachment name, bytes)`, or None.

    A file with one of the standard names (`factur-x.xml`, `zugferd-invoice.xml`,
    `ZUGFeRD-invoice.xml`, `xrechnung.xml`) wins; otherwise the first `*.xml` attachment whose root is
    a CII CrossIndustryInvoice or a UBL Invoice/CreditNote. Both the embedded-files name tree and the
    catalog's /AF associated files are searched.

    Attachments are chosen before they are decoded: by name, then by the root element read from the
    first `_SNIFF_BYTES` decoded bytes of each `*.xml` file; only the chosen one is decoded whole,
    and refused past `max_bytes` (`docket_core.pdf_attachments`).

    Args:
        path: The PDF, or a reader already opened with `open_pdf`.
        max_bytes: The most bytes the chosen XML may decode to.

    Raises:
        InputError: When the file is not a readable PDF, or the chosen XML is larger than `max_bytes`
            or does not decode.
    """
    reader = path if isinstance(path, PdfReader) else open_pdf(path)
    try:
        candidates = [a for a in list_attachments(reader) if a.name.lower().endswith(".xml")]
        for attachment in candidates:
            if attachment.name in EINVOICE_ATTACHMENT_NAMES:
                return attachment.name, attachment.read(max_bytes)
        for attachment in candidates:
            check_deadline()
            if _sniff_root(attachment.head(_SNIFF_BYTES)) is not None:
                return attachment.name, attachment.read(max_bytes)
    except (PyPdfError, AttributeError, KeyError, TypeError) as e:
        raise InputError(f"expected readable PDF attachments, got a malformed attachment tree: {e}") from e
    return None
