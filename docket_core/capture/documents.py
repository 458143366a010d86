"""Read a document into pages: a PDF's text layer (pypdfium2), OCR for scanned pages and images.

Reading is bounded: at most `capture_max_pages` pages, `capture_max_page_chars` characters a page,
`capture_max_chars` characters and `capture_max_objects` page objects over the document (a small
PDF whose pages all share one huge content stream stops early); what is left unread is said in a
message, never silently dropped. PDFium is not thread-safe: every call into it holds the process's
`PDFIUM_LOCK` (a page at a time, so OCR and other files' pages run in between).
"""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from docket_core.capture.ocr import OcrUnavailableError, read_lines
from docket_core.capture.pages import Page, Word, group_lines, page_from_ocr
from docket_core.deadline import check_deadline
from docket_core.errors import InputError
from docket_core.pdfium import PDFIUM_LOCK
from docket_core.settings import get_settings
from docket_core.settings.capture import CaptureSettings
from docket_core.workflows.model import Message

__all__ = ["read_image", "read_pdf"]

_SPACES = {0x20, 0x09, 0x0A, 0x0D, 0xA0, 0x2002, 0x2003, 0x2009, 0x202F, 0xFFFE, 0x02}


def _text_words(textpage: pdfium.PdfTextPage, width: float, height: float, limit: int) -> list[Word]:
    """Words of a text layer: characters joined until a space, a line break or a gap."""
    words: list[Word] = []
    chars: list[str] = []
    box = [0.0, 0.0, 0.0, 0.0]
    size = 0.0
    last_right = last_base = 0.0

    def flush() -> None:
        if chars:
            # pdfium gives UTF-16 code units: join surrogate pairs into their character.
            text = "".join(chars).encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
            words.append(Word(text, (box[0] / width, 1 - box[3] / height, box[2] / width, 1 - box[1] / height)))
            chars.clear()

    guessed_space = False
    for index in range(min(textpage.count_chars(), limit)):
        code = pdfium_c.FPDFText_GetUnicode(textpage, index)
        if code == 0x20 and pdfium_c.FPDFText_IsGenerated(textpage, index) == 1:
            guessed_space = True  # pdfium's guess from a gap; kerned letters ("Ver käufer") are no space
            continue
        if code in _SPACES or code < 0x20 or pdfium_c.FPDFText_GetCharAngle(textpage, index) > 0.01:
            flush()
            continue
        left, bottom, right, top = textpage.get_charbox(index)
        font = pdfium_c.FPDFText_GetFontSize(textpage, index) or (top - bottom) or 8.0
        gap = left - last_right
        if chars and (abs(bottom - last_base) > 0.6 * size and abs(top - box[3]) > 0.6 * size
                      or gap > 0.5 * size or left < box[0] - 0.5 * size
                      or guessed_space and gap > 0.2 * size):  # fmt: skip
            flush()
        guessed_space = False
        if not chars:
            # The box's height is the font's, not the glyph's: "a" and "ÄJ" sit in one line box.
            box = [left, bottom, right, max(top, bottom + 0.7 * font)]
            size = font
        box = [min(box[0], left), min(box[1], bottom), max(box[2], right), max(box[3], top)]
        chars.append(chr(code) if code < 0x110000 else "\ufffd")
        last_right, last_base = right, bottom
    flush()
    return words


def _has_image(page: pdfium.PdfPage) -> bool:
    """Whether the page shows an image: a page with little text and no image is short, not scanned."""
    count = pdfium_c.FPDFPage_CountObjects(page)
    return any(
        pdfium_c.FPDFPageObj_GetType(pdfium_c.FPDFPage_GetObject(page, i)) == pdfium_c.FPDF_PAGEOBJ_IMAGE
        for i in range(min(count, 10_000))
    )


def read_pdf(path: Path, settings: CaptureSettings | None = None) -> tuple[list[Page], list[Message]]:
    """The pages of a PDF: its text layer, or OCR of the page rendered at `ocr_dpi` when the page
    has fewer than `capture_min_text_chars` characters of text.

    Raises:
        InputError: When the file is not a readable PDF or needs a password.
    """
    settings = settings or get_settings()
    messages: list[Message] = []
    try:
        with PDFIUM_LOCK:
            pdf = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as e:
        raise InputError(f"expected a readable PDF, {path.name} could not be read: {e}") from e
    pages: list[Page] = []
    budget = settings.capture_max_chars
    objects = settings.capture_max_objects
    try:
        with PDFIUM_LOCK:
            count = len(pdf)
        if count > settings.capture_max_pages:
            messages.append(Message("info", f"read the first {settings.capture_max_pages} of {count} pages"))
        for index in range(min(count, settings.capture_max_pages)):
            check_deadline()
            if budget <= 0 or objects <= 0:
                messages.append(
                    Message(
                        "info",
                        f"stopped reading at page {index + 1} of {count}: the document's reading budget is spent",
                    )
                )
                break
            with PDFIUM_LOCK:  # one page at a time inside PDFium; OCR below runs outside it
                page = pdf[index]
                try:
                    objects -= pdfium_c.FPDFPage_CountObjects(page)
                    width, height = page.get_size()
                    textpage = page.get_textpage()
                    try:
                        chars = textpage.count_chars()
                        limit = min(settings.capture_max_page_chars, budget)
                        if chars > limit:
                            messages.append(Message("info", f"page {index + 1}: read {limit} of {chars} characters"))
                        words = _text_words(textpage, width, height, limit)
                        budget -= min(chars, limit)
                    finally:
                        textpage.close()
                    if sum(len(w.text) for w in words) >= max(1, settings.capture_min_text_chars) or not _has_image(page):
                        pages.append(Page(index + 1, group_lines(words, height / width), "pdf-text", width, height))
                        continue
                    image = page.render(scale=settings.ocr_dpi / 72).to_pil()
                finally:
                    page.close()
            try:
                pages.append(_ocr_page(index + 1, image, settings))
            except OcrUnavailableError as e:
                messages.append(Message("warning", f"page {index + 1} has no text layer and was not read: {e}"))
    finally:
        with PDFIUM_LOCK:
            pdf.close()
    return pages, messages


def _ocr_page(number: int, image: object, settings: CaptureSettings) -> Page:
    from PIL import Image

    assert isinstance(image, Image.Image)
    longest = max(image.size)
    if longest > settings.ocr_max_side:
        scale = settings.ocr_max_side / longest
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.BILINEAR)
    return page_from_ocr(number, read_lines(image), image.width, image.height)


def read_image(path: Path, settings: CaptureSettings | None = None) -> tuple[list[Page], list[Message]]:
    """The pages of a JPEG, PNG or TIFF scan or photo (every frame of a multi-page TIFF), by OCR.

    Raises:
        InputError: When the file is not a readable image.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    settings = settings or get_settings()
    messages: list[Message] = []
    pages: list[Page] = []
    try:
        with Image.open(path) as image:
            frames = getattr(image, "n_frames", 1)
            if frames > settings.capture_max_pages:
                messages.append(Message("info", f"read the first {settings.capture_max_pages} of {frames} pages"))
            for index in range(min(frames, settings.capture_max_pages)):
                check_deadline()
                image.seek(index)
                frame = ImageOps.exif_transpose(image.convert("RGB"))
                pages.append(_ocr_page(index + 1, frame, settings))
    except (UnidentifiedImageError, OSError) as e:
        raise InputError(f"expected a readable image, {path.name} could not be read: {e}") from e
    return pages, messages
