"""Retry policy shared by tasks: retry what may pass next time, never a request that is wrong."""

from __future__ import annotations

from typing import Any

from docket_core.errors import ConflictError, InputError, NotFoundError

__all__ = ["retry_unless_bad_input"]


def retry_unless_bad_input(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect `retry_condition_fn`: False for errors that another attempt cannot fix."""
    try:
        state.result()
    except (InputError, ConflictError, NotFoundError):
        return False
    except Exception:  # noqa: BLE001 - anything else (I/O, database busy, network) may pass on retry
        return True
    return True
