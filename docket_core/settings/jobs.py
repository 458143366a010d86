"""The knobs of jobs (`DOCKET_*`): the task runner, Dask, fan-out, per-file time budget, chunk leases.

`DocketSettings` (`docket_core.settings`) inherits them; `docket settings` prints them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["JobSettings"]


class JobSettings(BaseSettings):
    """How batch work runs: threads or Dask, how a job spreads over flow runs, how long a file may take."""

    model_config = SettingsConfigDict(env_prefix="DOCKET_", env_file=".env", extra="ignore")

    task_runner: Literal["threads", "dask"] = Field(
        default="threads",
        description="Prefect task runner for batch work: threads in the flow's process, or Dask "
        "(a local cluster of DOCKET_DASK_WORKERS processes, or the scheduler at DOCKET_DASK_ADDRESS).",
    )
    max_workers: int = Field(default=4, ge=1, le=256, description="Task runner thread pool size.")
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
