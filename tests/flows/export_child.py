"""Runs the `export_queue` flow in a child process that stops dead at a chosen point, for the crash test.

    python -m tests.flows.export_child QUEUE_ID KILL_AT MARKER

KILL_AT is `after-claim` (documents claimed, no part written) or `after-write` (part written, not
committed). At that point the child writes MARKER and sleeps until the test kills it with SIGKILL.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from docket_core.queues import export


def _stop_here(marker: Path) -> None:
    marker.write_text("reached")
    time.sleep(600)


def main() -> None:
    queue_id, kill_at, marker = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    if kill_at == "after-claim":
        def write_export(*args: Any, **kwargs: Any) -> int:
            _stop_here(marker)
            return 0

        export.write_export = write_export  # type: ignore[assignment]
    elif kill_at == "after-write":
        def commit_export(*args: Any, **kwargs: Any) -> dict[str, Any]:
            _stop_here(marker)
            return {}

        export.commit_export = commit_export  # type: ignore[assignment]
    else:
        raise SystemExit(f"KILL_AT must be after-claim or after-write, got {kill_at!r}")
    from flows.export_queue import export_queue

    export_queue(queue_id=queue_id)


if __name__ == "__main__":
    main()
