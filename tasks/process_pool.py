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

from prefect.task_runners import ProcessPoolTaskRunner

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
    """`ProcessPoolTaskRunner` whose worker processes report to the flow run's Prefect API.

    The runner hands each worker the settings and environment of the flow run (captured at the first
    submit): captured with `PREFECT_API_URL` set to the API this process uses, they carry its address.
    """

    def submit(self, task: Any, parameters: dict[str, Any], wait_for: Any = None, dependencies: Any = None) -> Any:
        if self._cached_context is None:
            from prefect.settings import PREFECT_API_URL, temporary_settings

            api_url = current_api_url()
            if api_url and not PREFECT_API_URL.value():
                with temporary_settings(updates={PREFECT_API_URL: api_url}):
                    return super().submit(task, parameters, wait_for, dependencies)
        return super().submit(task, parameters, wait_for, dependencies)
