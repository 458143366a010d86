"""A page-model cache for the capture bench only: OCR a file once, then iterate on extraction in seconds.

`install(folder)` wraps the `read_pdf` and `read_image` that `docket_core.steps.invoice` calls so
each file's pages (the page model and reading messages) are stored in `folder` as a pickle, keyed by
the file's sha256, the capture settings that shape reading (`ocr_dpi`, `ocr_max_side`, the reading
budgets) and a digest of the reading code (`capture/ocr.py`, `pages.py`, `documents.py`): a change
to OCR or rendering reads the file again. The product path never caches; the bench's speed figures
are meaningless with a warm cache (the bench says so).
"""

from __future__ import annotations

import functools
import hashlib
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

from docket_core.settings import get_settings

__all__ = ["install"]

ROOT = Path(__file__).resolve().parent.parent
READING_CODE = ("ocr.py", "pages.py", "documents.py")
SETTINGS = ("ocr_dpi", "ocr_max_side", "capture_max_pages", "capture_max_page_chars", "capture_max_chars",
            "capture_max_objects", "capture_min_text_chars")  # fmt: skip


def _code_digest() -> str:
    h = hashlib.sha256()
    for name in READING_CODE:
        h.update((ROOT / "docket_core" / "capture" / name).read_bytes())
    return h.hexdigest()[:16]


def _key(path: Path, reader: str, code: str) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    settings = get_settings()
    h.update(repr((reader, code, [(k, getattr(settings, k)) for k in SETTINGS])).encode())
    return h.hexdigest()


def _cached(fn: Callable[..., Any], folder: Path, code: str, counts: dict[str, int]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def read(path: Path, settings: Any = None) -> Any:
        entry = folder / f"{_key(Path(path), fn.__name__, code)}.pickle"
        if settings is None and entry.is_file():
            counts["hits"] += 1
            return pickle.loads(entry.read_bytes())
        result = fn(path, settings)
        counts["misses"] += 1
        if settings is None:
            tmp = entry.with_suffix(".tmp")
            tmp.write_bytes(pickle.dumps(result))
            tmp.replace(entry)
        return result

    return read


def install(folder: Path) -> dict[str, int]:
    """Serve `docket_core.steps.invoice`'s page reading from `folder`; returns the hit/miss counts."""
    import docket_core.steps.invoice as invoice

    folder.mkdir(parents=True, exist_ok=True)
    code, counts = _code_digest(), {"hits": 0, "misses": 0}
    invoice.read_pdf = _cached(invoice.read_pdf, folder, code, counts)  # type: ignore[assignment]
    invoice.read_image = _cached(invoice.read_image, folder, code, counts)  # type: ignore[assignment]
    return counts
