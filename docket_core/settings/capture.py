"""Runtime knobs of capture (`DOCKET_*`): OCR resolution and threads, PDF reading budgets.

`DocketSettings` (`docket_core.settings`) inherits them; `docket settings` prints them.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["CaptureSettings"]


class CaptureSettings(BaseSettings):
    """How documents become pages of words: OCR and the bounds on reading a PDF."""

    model_config = SettingsConfigDict(env_prefix="DOCKET_", env_file=".env", extra="ignore")

    ocr_dpi: int = Field(
        default=200, ge=72, le=600, description="Resolution at which a scanned PDF page is rendered for OCR."
    )
    ocr_threads: int = Field(
        default=0, ge=0, le=64,
        description="Threads one OCR model uses per process (0: onnxruntime's default, every core).",
    )  # fmt: skip
    ocr_max_side: int = Field(
        default=2500, ge=500, le=10_000,
        description="Longest side in pixels an image is scaled down to before OCR (bounds time and memory).",
    )  # fmt: skip
    ocr_det_max_side: int = Field(
        default=2000, ge=320, le=10_000,
        description="Longest side in pixels of the image OCR's text detector sees (lines are still read from "
        "the full image); lower is faster, and misses small print sooner.",
    )  # fmt: skip
    ocr_det_max_pixels: int = Field(
        default=1_700_000, ge=0, le=100_000_000,
        description="Pixels in all of the image OCR's text detector sees (0: no bound beyond "
        "ocr_det_max_side): an A4 page is shrunk, a long narrow receipt keeps its width.",
    )  # fmt: skip
    ocr_rec_batch: int = Field(
        default=0, ge=0, le=256,
        description="Lines OCR's recogniser reads per call (0: 1 on CPU, where a batch pads every line to its "
        "widest; 6 on a GPU).",
    )  # fmt: skip
    ocr_memory_arena: bool = Field(
        default=True,
        description="Whether OCR's onnxruntime sessions keep a memory arena: about 15% faster detection, for "
        "memory the process keeps at its largest page (peak 1.1 GB instead of 0.66 GB on A4 at 200 dpi).",
    )
    capture_max_pages: int = Field(
        default=30, ge=1, le=1000, description="Pages of one document that capture reads (the rest is ignored)."
    )
    capture_max_page_chars: int = Field(
        default=60_000, ge=1000, le=10_000_000,
        description="Characters of one PDF page's text layer that capture reads.",
    )  # fmt: skip
    capture_max_chars: int = Field(
        default=400_000, ge=1000, le=100_000_000,
        description="Characters of text one PDF may yield over all its pages before capture stops reading pages.",
    )  # fmt: skip
    capture_max_objects: int = Field(
        default=200_000, ge=1000, le=100_000_000,
        description="Page objects (text runs, paths, images) of one PDF capture reads before it stops reading "
        "pages: ten pages sharing one huge content stream cost ten times its parsing.",
    )  # fmt: skip
    capture_min_text_chars: int = Field(
        default=20, ge=0, le=10_000,
        description="Characters a PDF page's text layer needs to be read as text; fewer and the page is OCRed.",
    )  # fmt: skip
