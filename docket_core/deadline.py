"""A per-file time budget: a cooperative deadline that long loops check, so runaway work stops.

A job gives each file `DOCKET_FILE_TIME_BUDGET` seconds (`docket_core.jobs.process.run_file`). The
deadline lives in a context variable, `docket_core.deadline`, set for the file's steps by
`time_budget`; code that loops over untrusted content (XML fed block by block, PDF pages, OCR
pages, attachments) calls `check_deadline()` once per round, which raises `ProcessingTimeout` once
the budget is spent. Outside a budget (ingest validation, tests, the CLI) `check_deadline()` does
nothing.

Why cooperative rather than a killable child process per file: a job runs thousands of small files
per worker, several at once on threads, and most take milliseconds; a process per file (or a pool
of them, restarted on every kill) would cost more than the work, copy each file's bytes across a
pipe, and lose the shared per-process state (the OCR model, the webhook client). A thread cannot be
stopped from outside, and injecting an exception into it (`PyThreadState_SetAsyncExc`) can land in
the middle of a library's lock handling. A checked deadline stops the work at the next round of its
loop, so the overrun is bounded by the longest single round (one page, one 1 MiB block of XML),
and the checks are cheap enough (one `time.monotonic()`) to sit in every loop. `run_file` also
checks after every step, so a step that swallowed the exception still fails its file with the
typed reason, and the job goes on with the next file.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import ClassVar

from docket_core.errors import DocketError, FileErrorType

__all__ = ["ProcessingTimeout", "check_deadline", "remaining", "time_budget"]


@dataclass(frozen=True)
class _Budget:
    at: float  # time.monotonic() when it is spent
    seconds: float
    what: str


_current: ContextVar[_Budget | None] = ContextVar("docket_core.deadline", default=None)


class ProcessingTimeout(DocketError, TimeoutError):
    """Raised when one file's processing runs past its time budget (`DOCKET_FILE_TIME_BUDGET`)."""

    error_type: ClassVar[FileErrorType] = FileErrorType.PROCESSING_TIMEOUT


@contextmanager
def time_budget(seconds: float | None, what: str) -> Iterator[None]:
    """Run the block with a deadline `seconds` from now (None: no budget); a nested budget can only shorten it.

    `what` names the work in the error (a file's name).
    """
    if seconds is None:
        yield
        return
    outer = _current.get()
    budget = _Budget(time.monotonic() + seconds, seconds, what)
    if outer is not None and outer.at <= budget.at:
        budget = outer
    token = _current.set(budget)
    try:
        yield
    finally:
        _current.reset(token)


def check_deadline() -> None:
    """Raise `ProcessingTimeout` when the current budget is spent; call it once per round of long loops."""
    budget = _current.get()
    if budget is not None and time.monotonic() >= budget.at:
        raise ProcessingTimeout(
            f"expected {budget.what} to be processed within {budget.seconds:g} s (DOCKET_FILE_TIME_BUDGET), "
            "it took longer and was stopped; raise the budget if such files are expected"
        )


def remaining() -> float | None:
    """Seconds left in the current budget (never below 0), or None outside one: for timeouts of calls out."""
    budget = _current.get()
    return None if budget is None else max(0.0, budget.at - time.monotonic())
