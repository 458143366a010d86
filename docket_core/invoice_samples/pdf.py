"""Sample PDFs, written by hand with the standard Helvetica font that every PDF reader provides.

No third-party template or font file is copied. A Factur-X PDF is the text PDF with its CII XML
attached.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, NameObject

from docket_core.errors import InputError
from docket_core.invoice_samples.cii import build_cii_xml
from docket_core.invoice_samples.text import invoice_lines

__all__ = ["write_facturx_pdf", "write_text_pdf"]

_MAX_LINES = 50
_LINE_HEIGHT = 15


def _pdf_string(text: str) -> bytes:
    try:
        raw = text.encode("cp1252")  # the font's WinAnsiEncoding
    except UnicodeEncodeError as e:
        raise InputError(f"sample PDF text must be in Windows-1252 (WinAnsi), got {text!r}") from e
    out = bytearray(b"(")
    for byte in raw:
        if byte in b"()\\":
            out += b"\\" + bytes([byte])
        elif 32 <= byte < 127:
            out.append(byte)
        else:
            out += b"\\%03o" % byte
    return bytes(out + b")")


def _text_pdf_bytes(lines: Sequence[str]) -> bytes:
    if len(lines) > _MAX_LINES:
        raise InputError(f"a sample PDF page holds at most {_MAX_LINES} lines, got {len(lines)}")
    content = bytearray(b"BT\n/F1 11 Tf\n50 800 Td\n")
    for i, line in enumerate(lines):
        if i:
            content += b"0 -%d Td\n" % _LINE_HEIGHT
        if line:
            content += _pdf_string(line) + b" Tj\n"
    content += b"ET\n"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(content) + bytes(content) + b"endstream",
    ]
    pdf = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        pdf += b"%010d 00000 n \n" % offset
    pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(pdf)


def write_text_pdf(dest: Path, lines: list[str]) -> Path:
    """Write a one-page A4 PDF showing `lines` in 11 pt Helvetica, top to bottom.

    pypdf's `extract_text` gives the lines back, one per line. No lines gives a page without a
    text layer, like a scan.

    Args:
        dest: The file to write (its folder must exist).
        lines: At most 50 lines of Windows-1252 text (umlauts and the euro sign are fine).

    Returns:
        `dest`.

    Raises:
        InputError: When there are too many lines or a character has no WinAnsi code.
    """
    dest.write_bytes(_text_pdf_bytes(lines))
    return dest


def write_facturx_pdf(dest: Path, invoice: Mapping[str, Any]) -> Path:
    """Write a PDF showing the invoice as text, with its CII XML attached as `factur-x.xml`.

    The attachment is in the embedded-files name tree and, as PDF/A-3 asks, in the catalog's /AF
    array with the relationship /Data. (The PDF is not a validated PDF/A-3: no XMP metadata.)

    Args:
        dest: The file to write.
        invoice: As for `build_cii_xml`.

    Returns:
        `dest`.
    """
    xml = build_cii_xml(invoice)
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_text_pdf_bytes(invoice_lines(invoice, "en")))))
    attachment = writer.add_attachment("factur-x.xml", xml)
    attachment.subtype = NameObject("/text#2Fxml")
    attachment.associated_file_relationship = NameObject("/Data")
    writer.root_object[NameObject("/AF")] = ArrayObject([attachment.pdf_object.indirect_reference])
    with dest.open("wb") as fh:
        writer.write(fh)
    return dest
