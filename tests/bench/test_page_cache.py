"""`bench/page_cache.py`: a file's pages read once, served from the cache after, read again when the file changes."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

import docket_core.steps.invoice as invoice
from docket_core.invoice_samples.pdf import write_text_pdf

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def page_cache(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201 - the bench module
    spec = importlib.util.spec_from_file_location("bench_page_cache", ROOT / "bench" / "page_cache.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_page_cache"] = module
    spec.loader.exec_module(module)
    # install() replaces the readers invoice-capture calls: put them back after the test.
    monkeypatch.setattr(invoice, "read_pdf", invoice.read_pdf)
    monkeypatch.setattr(invoice, "read_image", invoice.read_image)
    return module


def test_reads_a_file_once_and_again_when_it_changes(page_cache, tmp_path: Path) -> None:  # noqa: ANN001
    pdf = write_text_pdf(tmp_path / "a.pdf", ["Invoice No.: INV-7", "Total: 12.00 EUR"])
    counts = page_cache.install(tmp_path / "cache")

    first, _ = invoice.read_pdf(pdf)
    again, _ = invoice.read_pdf(pdf)
    assert counts == {"hits": 1, "misses": 1}
    assert [p.text for p in again] == [p.text for p in first]

    write_text_pdf(pdf, ["Invoice No.: INV-8", "Total: 13.00 EUR"])
    changed, _ = invoice.read_pdf(pdf)
    assert counts == {"hits": 1, "misses": 2}
    assert "INV-8" in changed[0].text
