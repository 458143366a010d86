"""A document's pages as images for the review page: PDFs rendered with pypdfium2, images as they are.

Rendered pages are cached on local disk by the file's sha256, page and resolution, so a document
opens fast the second time and for every other reviewer. Work is bounded: at most `MAX_PAGES` pages
are shown, and a page is rendered at most `MAX_PIXELS` large whatever its declared size.
"""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

from PIL import Image

from docket_core.errors import InputError, NotFoundError
from docket_core.pdfium import PDFIUM_LOCK

__all__ = ["MAX_PAGES", "page_count", "page_image"]

MAX_PAGES = 50
MAX_PIXELS = 4096 * 4096


def _is_pdf(media_type: str) -> bool:
    return media_type == "application/pdf"


def page_count(path: Path, media_type: str) -> int:
    if _is_pdf(media_type):
        import pypdfium2 as pdfium

        with PDFIUM_LOCK:  # pdfium is not thread-safe
            pdf = pdfium.PdfDocument(str(path))
            try:
                return min(len(pdf), MAX_PAGES)
            finally:
                pdf.close()
    if media_type.startswith("image/"):
        with Image.open(path) as img:
            return min(getattr(img, "n_frames", 1), MAX_PAGES)
    raise InputError(f"expected a PDF or an image to show, got {media_type}")


def _render(path: Path, media_type: str, page: int, dpi: int) -> bytes:
    out = io.BytesIO()
    if _is_pdf(media_type):
        import pypdfium2 as pdfium

        with PDFIUM_LOCK:
            pdf = pdfium.PdfDocument(str(path))
            try:
                if not 1 <= page <= min(len(pdf), MAX_PAGES):
                    raise NotFoundError(f"this document has no page {page}")
                pdf_page = pdf[page - 1]
                width, height = pdf_page.get_size()  # points
                scale = min(dpi / 72, (MAX_PIXELS / max(width * height, 1)) ** 0.5)
                image = pdf_page.render(scale=scale).to_pil()
            finally:
                pdf.close()
    else:
        with Image.open(path) as img:
            if not 1 <= page <= min(getattr(img, "n_frames", 1), MAX_PAGES):
                raise NotFoundError(f"this document has no page {page}")
            img.seek(page - 1)
            image = img.convert("RGB")
            if image.width * image.height > MAX_PIXELS:
                image.thumbnail((4096, 4096))
    image.convert("RGB").save(out, format="JPEG", quality=85, optimize=True)
    return out.getvalue()


def page_image(path: Path, media_type: str, sha256: str, page: int, *, dpi: int, cache: Path) -> bytes:
    """The page as a JPEG, from the cache when it was rendered before."""
    key = cache / sha256[:2] / f"{sha256}-{page}-{dpi}.jpg"
    try:
        return key.read_bytes()
    except FileNotFoundError:
        pass
    data = _render(path, media_type, page, dpi)
    key.parent.mkdir(parents=True, exist_ok=True)
    tmp = key.with_name(f".{key.name}.{os.getpid()}.{threading.get_ident()}.part")
    tmp.write_bytes(data)
    tmp.replace(key)
    return data
