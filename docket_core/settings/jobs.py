"""The knobs of jobs (`DOCKET_*`): the task runner, Dask, fan-out, per-file time budget, chunk leases.

`DocketSettings` (`docket_core.settings`) inherits them; `docket settings` prints them.
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["JobSettings", "usable_cores"]


class JobSettings(BaseSettings):
    """How batch work runs: threads, worker processes or Dask, how a job spreads over flow runs, how long a file may take."""

    model_config = SettingsConfigDict(env_prefix="DOCKET_", env_file=".env", extra="ignore")

    task_runner: Literal["auto", "threads", "processes", "dask"] = Field(
        default="threads",
        description="Prefect task runner for batch work (ingests, jobs): `threads` in the flow's process (the "
        "default: measured faster on 2 cores, where a worker process's start-up outweighs the second core); "
        "`auto` is `processes` on a machine with more than one core, else `threads`; `processes`: a pool of "
        "DOCKET_PROCESS_WORKERS worker processes (every core, not one GIL); `dask`: a local cluster of "
        "DOCKET_DASK_WORKERS processes, or the scheduler at DOCKET_DASK_ADDRESS. Flows that wait on I/O "
        "(queues, webhooks) use threads unless it is `dask`.",
    )
    max_workers: int = Field(default=4, ge=1, le=256, description="Task runner thread pool size.")
    process_workers: int | None = Field(
        default=None, ge=1, le=256,
        description="Worker processes of the process pool (DOCKET_TASK_RUNNER=processes or auto); default: one per core.",
    )  # fmt: skip
    process_min_tasks: int = Field(
        default=8, ge=1, le=100_000,
        description="Fewest shards or chunks mapped at once that go to the process pool; fewer run on threads in the "
        "flow's process (starting a worker process costs seconds).",
    )  # fmt: skip
    dask_address: str | None = Field(
        default=None, description="Address of a running Dask scheduler (tcp://host:8786); with task_runner=dask."
    )
    dask_workers: int | None = Field(
        default=None, ge=1, le=256,
        description="Worker processes of the local Dask cluster a flow run starts (one thread each); default: one per core.",
    )  # fmt: skip

    job_fanout: int = Field(
        default=0, ge=0, le=256,
        description="Extra flow runs of the `process-chunks` deployment a job starts to share its chunks "
        "(on other Prefect workers); 0 keeps the whole job in one flow run.",
    )  # fmt: skip
    chunks_deployment: str = Field(
        default="process_chunks/process-chunks", description="The deployment a job fans out to (flow/deployment)."
    )
    file_time_budget: float = Field(
        default=60.0, gt=0, le=86_400,
        description="Seconds one file's steps may run in a job or capture; past it the file fails with "
        "processing-timeout (long loops check it, so the work stops) and the job goes on.",
    )  # fmt: skip
    lease_seconds: float = Field(
        default=120.0, ge=1, le=3600,
        description="How long a chunk stays leased to a worker that stops renewing it (it renews every third of this).",
    )  # fmt: skip

    @property
    def batch_runner(self) -> Literal["threads", "processes", "dask"]:
        """The runner batch work (ingests, jobs) gets: `auto` resolved against this machine's cores."""
        if self.task_runner != "auto":
            return self.task_runner
        return "processes" if usable_cores() > 1 else "threads"


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the platform tells, else the core count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1
