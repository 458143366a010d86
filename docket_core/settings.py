"""Runtime settings: one `BaseSettings` with the `DOCKET_` prefix, built where used.

`DocketSettings` holds every knob: its own (stores, staging, jobs, task runners) and, inherited,
those of queues and extensions (`settings_queues.QueueSettings`) and of notifications and the push
receiver (`settings_notify.NotifySettings`) and of capture (`settings_capture.CaptureSettings`). `docket settings` prints them all with their values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict
from typing_extensions import Annotated

from docket_core.settings_capture import CaptureSettings
from docket_core.settings_notify import NotifySettings
from docket_core.settings_queues import QueueSettings

__all__ = ["DocketSettings", "MiB", "get_settings"]

MiB = 1024 * 1024


class DocketSettings(QueueSettings, NotifySettings, CaptureSettings):
    """Every knob Docket reads from the environment (`DOCKET_*`) or a `.env` file."""

    model_config = SettingsConfigDict(env_prefix="DOCKET_", env_file=".env", extra="ignore")

    home: Path = Field(
        default=Path(".docket"),
        description="Folder holding the local store and the SQLite catalog when no URL overrides them.",
    )
    store_url: str | None = Field(
        default=None,
        description="fsspec URL of the object store (a folder, memory://..., s3://bucket/prefix). "
        "Default: <home>/store.",
    )
    catalog_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the catalog (sqlite:///..., postgresql+psycopg://...). "
        "Default: sqlite:///<home>/catalog.db.",
    )

    max_image_bytes: int = Field(default=20 * MiB, ge=1, description="Largest image accepted.")
    max_document_bytes: int = Field(default=50 * MiB, ge=1, description="Largest document accepted.")
    max_video_bytes: int = Field(default=1024 * MiB, ge=1, description="Largest video accepted.")
    max_archive_members: int = Field(default=500, ge=1, le=10_000, description="Most files in a tar bundle.")
    shard_size: int = Field(default=500, ge=1, le=10_000, description="Files per shard (one task each).")

    file_workers: int = Field(default=4, ge=1, le=64, description="Threads validating and storing files in one shard.")
    download_concurrency: int = Field(default=32, ge=1, le=512, description="Parallel downloads per shard.")
    download_timeout: float = Field(default=60.0, gt=0, le=3600, description="Deadline for one download, seconds.")
    connect_timeout: float = Field(default=10.0, gt=0, le=600, description="TCP/TLS connect timeout, seconds.")
    max_redirects: int = Field(default=5, ge=0, le=20, description="Redirects followed (each re-checked).")
    allowed_url_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Hosts exempt from the private-network check (comma separated).",
    )

    workflow_paths: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="YAML workflow files or folders (comma separated)."
    )
    workflow_modules: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Python modules defining WORKFLOWS (comma separated)."
    )

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
    lease_seconds: float = Field(
        default=120.0, ge=1, le=3600,
        description="How long a chunk stays leased to a worker that stops renewing it (it renews every third of this).",
    )  # fmt: skip

    @field_validator("allowed_url_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [h.strip().lower() for h in value.split(",") if h.strip()]
        return value

    @field_validator("workflow_paths", "workflow_modules", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @property
    def resolved_store_url(self) -> str:
        return self.store_url or str((self.home / "store").resolve())

    @property
    def resolved_catalog_url(self) -> str:
        if self.catalog_url:
            return self.catalog_url
        return f"sqlite:///{(self.home / 'catalog.db').resolve()}"


def get_settings(**overrides: object) -> DocketSettings:
    """Build settings now (never at import), so environment changes are seen."""
    return DocketSettings(**overrides)  # type: ignore[arg-type]
