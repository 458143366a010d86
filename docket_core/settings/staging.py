"""The knobs of staging (`DOCKET_*`): where the store and catalog are, size caps, downloads, workflows.

`DocketSettings` (`docket_core.settings`) inherits them; `docket settings` prints them.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from typing_extensions import Annotated

__all__ = ["MiB", "StagingSettings"]

MiB = 1024 * 1024


class StagingSettings(BaseSettings):
    """Where staged files go, how big they may be, how downloads behave, and where workflows are defined."""

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
    max_references_bytes: int = Field(
        default=1024 * MiB, ge=1, le=64 * 1024 * MiB,
        description="Largest references file (JSONL) accepted, decoded; one fetched by URL must also "
        "arrive within DOCKET_DOWNLOAD_TIMEOUT.",
    )  # fmt: skip
    max_archive_members: int = Field(default=500, ge=1, le=10_000, description="Most files in a tar bundle.")
    shard_size: int = Field(default=500, ge=1, le=10_000, description="Files per shard (one task each).")

    file_workers: int = Field(default=4, ge=1, le=64, description="Threads validating and storing files in one shard.")
    download_concurrency: int = Field(default=32, ge=1, le=512, description="Parallel downloads per shard.")
    download_timeout: float = Field(default=60.0, gt=0, le=3600, description="Deadline for one download, seconds.")
    connect_timeout: float = Field(default=10.0, gt=0, le=600, description="TCP/TLS connect timeout, seconds.")
    max_redirects: int = Field(default=5, ge=0, le=20, description="Redirects followed (each re-checked).")
    extra_ca_file: Path | None = Field(
        default=None,
        description="PEM file of extra certificate authorities trusted for https downloads (a private CA), besides certifi's.",
    )
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
