"""PDFium, which pypdfium2 wraps, is not thread-safe: every call into it in a process takes this lock.

Capture reads PDFs on several file threads of a chunk, and the review page renders pages on the web
server's threads; two threads inside PDFium at once crash the process (a segfault, not an exception).
One re-entrant lock for the whole process keeps every caller out of each other's way.
"""

from __future__ import annotations

import threading

__all__ = ["PDFIUM_LOCK"]

PDFIUM_LOCK = threading.RLock()
