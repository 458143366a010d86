"""Prefect's process pool task runner, its worker processes pointed at the flow run's own Prefect API.

A worker process spawned without `PREFECT_API_URL` would start an ephemeral API of its own (10-60 s,
and its task runs land in another database) when the flow run's process uses Prefect's ephemeral API
(`DOCKET_PREFECT_SERVER=ephemeral`, scripts, benchmarks). The workers here get the address of the API
the flow run talks to, whichever it is: `PREFECT_API_URL`, the shared local server, or the ephemeral
one this process started.
"""

from __future__ import annotations

import sys
from typing import Any

from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

__all__ = ["DocketProcessPool", "current_api_url"]


def current_api_url() -> str | None:
    """The API this process's Prefect client talks to: the configured one, else its ephemeral server."""
    from prefect.settings import PREFECT_API_URL

    configured = PREFECT_API_URL.value()
    if configured:
        return configured
    module = sys.modules.get("prefect.server.api.server")  # not imported: no ephemeral server runs here
    if module is None:
        return None
    for server in list(module.SubprocessASGIServer._instances.values()):
        if server.running:
            return server.api_url
    return None


class DocketProcessPool(ProcessPoolTaskRunner):
    """`ProcessPoolTaskRunner` whose worker processes report to the flow run's Prefect API, and which
    keeps small maps in the flow's own process.

    The runner hands each worker the settings and environment of the flow run (captured at the first
    submit): captured with `PREFECT_API_URL` set to the API this process uses, they carry its address.
    A worker process costs the start of an interpreter importing Prefect and Docket (about 2.5 CPU
    seconds each, far more on a loaded machine), so a map of fewer than `min_tasks` tasks (a small
    ingest or job) runs on `threads` threads here instead, as the thread runner would.
    """

    def __init__(self, max_workers: int | None = None, *, min_tasks: int = 1, threads: int = 4, **kwargs: Any) -> None:
        super().__init__(max_workers=max_workers, **kwargs)
        self._min_tasks, self._threads = min_tasks, threads
        self._small: ThreadPoolTaskRunner | None = None

    def duplicate(self) -> Any:
        copy = super().duplicate()
        copy._min_tasks, copy._threads = self._min_tasks, self._threads
        return copy

    def __enter__(self) -> Any:
        self._small = ThreadPoolTaskRunner(max_workers=self._threads).__enter__()
        return super().__enter__()

    def __exit__(self, *exc: Any) -> None:
        try:
            super().__exit__(*exc)
        finally:
            if self._small is not None:
                self._small.__exit__(*exc)
                self._small = None

    def map(self, task: Any, parameters: dict[str, Any], wait_for: Any = None) -> Any:
        if self._small is not None and _mapped_count(parameters) < self._min_tasks:
            return self._small.map(task, parameters, wait_for)
        return super().map(task, parameters, wait_for)

    def submit(self, task: Any, parameters: dict[str, Any], wait_for: Any = None, dependencies: Any = None) -> Any:
        if self._cached_context is None:
            from prefect.settings import PREFECT_API_URL, temporary_settings

            api_url = current_api_url()
            if api_url and not PREFECT_API_URL.value():
                with temporary_settings(updates={PREFECT_API_URL: api_url}):
                    return super().submit(task, parameters, wait_for, dependencies)
        return super().submit(task, parameters, wait_for, dependencies)


def _mapped_count(parameters: dict[str, Any]) -> int:
    """How many task runs `map` makes of these parameters (Prefect maps every iterable not `unmapped`)."""
    from prefect.utilities.annotations import allow_failure, quote, unmapped
    from prefect.utilities.collections import isiterable

    counts = []
    for value in parameters.values():
        if isinstance(value, (allow_failure, quote)):
            value = value.unwrap()
        if not isinstance(value, unmapped) and isiterable(value):
            counts.append(len(value) if hasattr(value, "__len__") else 1 << 30)
    return min(counts, default=0)
