"""PDFium is not thread-safe: capture reads PDFs on several threads at once without crashing the process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from docket_core.invoice_samples.sample_set import write_sample_invoices

REPO = Path(__file__).resolve().parents[3]


class TestThreads:
    def test_many_threads_reading_pdfs_at_once_give_each_its_pages(self, tmp_path: Path) -> None:
        pdfs = [p for p in write_sample_invoices(tmp_path, count=12) if p.suffix == ".pdf"]
        # In a child process: without the lock two threads inside PDFium crash it (a segfault, which
        # would take pytest down with it instead of failing this test).
        script = textwrap.dedent(f"""
            from concurrent.futures import ThreadPoolExecutor
            from pathlib import Path
            from docket_core.capture.documents import read_pdf
            paths = [Path(p) for p in {[str(p) for p in pdfs]!r}] * 30
            with ThreadPoolExecutor(8) as pool:
                pages = list(pool.map(lambda p: len(read_pdf(p)[0]), paths))
            print(sum(pages), len(paths))
        """)
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=REPO)
        assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}"
        total, files = map(int, done.stdout.split())
        assert files == len(pdfs) * 30 and total >= files  # every PDF read, each with its page(s)
