"""OCR inputs from text PDFs: pages rendered with pypdfium2, then degraded with Pillow and numpy.

Variants (`RASTER_VARIANTS`):
- `scan`: grey, 200 dpi, turned up to 1.5 degrees, a little noise, as PNG or an image-only PDF;
- `fax`: 150 dpi, turned up to 2.5 degrees, blurred, heavier noise, strong JPEG compression;
- `photo`: a phone photo of the page: turned up to 3.5 degrees, perspective, uneven light, a table
  showing at the edges, colour noise, JPEG;
- `scan_pdf`: the `scan` pages in one image-only PDF (no text layer), every page of the document.
A variant never changes what the page says, so the truth of its source document holds for it.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
from PIL import Image, ImageFilter, ImageOps

__all__ = ["RASTER_VARIANTS", "render_pages", "write_raster_variant"]

RASTER_VARIANTS = ("scan", "fax", "photo", "scan_pdf")
_EXTENSIONS = {"scan": ".png", "fax": ".jpg", "photo": ".jpg", "scan_pdf": ".pdf"}


def render_pages(pdf: Path, dpi: int, *, grey: bool = True, max_pages: int = 30) -> list[Image.Image]:
    """The pages of `pdf` as images at `dpi` (greyscale unless `grey` is False)."""
    document = pdfium.PdfDocument(str(pdf))
    try:
        images = []
        for index in range(min(len(document), max_pages)):
            page = document[index]
            bitmap = page.render(scale=dpi / 72, grayscale=grey)
            images.append(bitmap.to_pil().convert("L" if grey else "RGB"))
            page.close()
        return images
    finally:
        document.close()


def _noise(image: Image.Image, rng: random.Random, sigma: float) -> Image.Image:
    arr = np.asarray(image).astype(np.float32)
    gen = np.random.default_rng(rng.randrange(2**32))
    arr += gen.normal(0, sigma, arr.shape).astype(np.float32)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), image.mode)


def _turn(image: Image.Image, degrees: float, fill: int | tuple[int, int, int]) -> Image.Image:
    return image.rotate(degrees, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=fill)


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    return Image.open(buffer).copy()


def _scan(page: Image.Image, rng: random.Random) -> Image.Image:
    page = _turn(page, rng.uniform(-1.5, 1.5), 255)
    return _noise(page, rng, rng.uniform(3, 8))


def _fax(page: Image.Image, rng: random.Random) -> Image.Image:
    page = _turn(page, rng.uniform(-2.5, 2.5), 255)
    page = page.filter(ImageFilter.GaussianBlur(rng.uniform(0.6, 1.1)))
    return _jpeg(_noise(page, rng, rng.uniform(8, 14)), rng.randint(25, 45))


def _perspective(image: Image.Image, rng: random.Random, strength: float) -> Image.Image:
    """Pull the corners in by up to `strength` of the size, as a hand-held camera does."""
    w, h = image.size
    d = [rng.uniform(0, strength) for _ in range(8)]
    quad = (d[0] * w, d[1] * h, d[2] * w, h - d[3] * h, w - d[4] * w, h - d[5] * h, w - d[6] * w, d[7] * h)
    return image.transform((w, h), Image.Transform.QUAD, quad, Image.Resampling.BILINEAR, fillcolor=(96, 84, 70))


def _photo(page: Image.Image, rng: random.Random) -> Image.Image:
    paper = ImageOps.colorize(page.convert("L"), black=(30, 30, 35), white=(238, 232, 220))
    table = (rng.randint(60, 120), rng.randint(50, 100), rng.randint(40, 80))
    border = max(page.size) // 14
    canvas = Image.new("RGB", (page.width + 2 * border, page.height + 2 * border), table)
    canvas.paste(paper, (border, border))
    canvas = _turn(canvas, rng.uniform(-3.5, 3.5), table)
    canvas = _perspective(canvas, rng, 0.03)
    w, h = canvas.size  # light from one side: a gradient over the whole picture
    gx = np.linspace(rng.uniform(0.65, 0.85), rng.uniform(1.0, 1.1), w, dtype=np.float32)
    gy = np.linspace(rng.uniform(0.85, 1.0), rng.uniform(0.9, 1.05), h, dtype=np.float32)
    light = np.outer(gy, gx)[..., None]
    if rng.random() < 0.5:
        light = light[:, ::-1]
    arr = np.clip(np.asarray(canvas).astype(np.float32) * light, 0, 255).astype(np.uint8)
    canvas = Image.fromarray(arr, "RGB").filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 0.9)))
    canvas = _noise(canvas, rng, rng.uniform(4, 9))
    longest = rng.choice((1400, 1600, 1800))  # a phone photo, downscaled as a messenger does
    scale = longest / max(canvas.size)
    canvas = canvas.resize((int(canvas.width * scale), int(canvas.height * scale)), Image.Resampling.BILINEAR)
    return _jpeg(canvas, rng.randint(55, 80))


def write_raster_variant(pdf: Path, out_stem: Path, variant: str, rng: random.Random) -> tuple[Path, int]:
    """Write `variant` of the text PDF `pdf` next to `out_stem` (its extension added); returns (path, pages).

    Image variants hold the first page only when the document has one page; a longer document's
    image variants are written as image-only PDFs, so that every page stays in one file.
    """
    if variant not in RASTER_VARIANTS:
        raise ValueError(f"variant must be one of {RASTER_VARIANTS}, got {variant!r}")
    pages = render_pages(pdf, dpi=200 if variant in ("scan", "scan_pdf") else 150, grey=variant != "photo")
    make = {"scan": _scan, "scan_pdf": _scan, "fax": _fax, "photo": _photo}[variant]
    images = [make(page, rng) for page in pages]
    if len(images) == 1 and variant != "scan_pdf":
        path = out_stem.with_suffix(_EXTENSIONS[variant])
        if path.suffix == ".jpg":
            images[0].save(path, "JPEG", quality=92)  # already degraded by its own JPEG pass
        else:
            images[0].save(path, "PNG", optimize=True)
        return path, 1
    path = out_stem.with_suffix(".pdf")
    rgb = [image.convert("RGB") if image.mode not in ("L", "RGB") else image for image in images]
    rgb[0].save(path, "PDF", save_all=True, append_images=rgb[1:], resolution=150.0 if variant == "fax" else 200.0)
    return path, len(images)
