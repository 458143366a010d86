"""The values that travel through an ingest: the request, per-file outcomes, shard and ingest summaries."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

from docket_core.names import check_id

__all__ = ["STORE_SOURCE", "FileOutcome", "IngestPlan", "IngestRequest", "IngestSummary", "ShardSummary"]

MediaKind = Literal["images", "documents", "videos"]
SourceKind = Literal["folder", "archive", "references"]

STORE_SOURCE = "store:"
"""A references `source` of `store:<key>` names a JSONL file already in the store (a push's inline list)."""


class IngestRequest(BaseModel):
    """One request to add files to a batch. The same `ingest_id` twice adds nothing twice."""

    batch_id: str = Field(description="Batch to add the files to (created if new); ^[a-z0-9_-]{1,64}$.")
    media_kind: MediaKind = Field(description="What the batch holds: images, documents or videos.")
    source_kind: SourceKind = Field(description="folder, archive (a tar bundle) or references (JSONL).")
    source: str = Field(description="Folder path, tar path, or references file path, http(s) URL or store:<key>.")
    ingest_id: str | None = Field(
        default=None, description="Idempotency key; generated when empty. Re-running with it resumes."
    )
    allow_private_network: bool = Field(
        default=False, description="Allow references to loopback/private hosts (testing only)."
    )
    notifications_url: str | None = Field(default=None, description="Where to send ingest notifications.")
    notification_category: Literal["ingest-status", "files-status"] | None = Field(
        default=None, description="ingest-status (one summary) or files-status (per shard, per file)."
    )
    workflow_id: str | None = Field(default=None, description="Workflow to run over the batch afterwards.")

    @field_validator("batch_id")
    @classmethod
    def _valid_batch_id(cls, value: str) -> str:
        return check_id(value, "batch id")

    @field_validator("ingest_id")
    @classmethod
    def _valid_ingest_id(cls, value: str | None) -> str | None:
        if value is not None and not (1 <= len(value) <= 128 and value.isprintable() and "/" not in value):
            raise ValueError(f"ingest id must be 1-128 printable characters without '/', got {value!r}")
        return value


class FileOutcome(BaseModel):
    """What happened to one file of a shard, before it is recorded in the catalog."""

    name: str
    status: Literal["ingested", "failed"]
    error_type: str | None = None
    reason: str | None = None
    sha256: str | None = None
    size: int | None = None
    media_type: str | None = None
    # False for failures whose name could not be read (a malformed reference line): they are reported
    # with the shard but never become a file of the batch.
    named: bool = True


class ShardSummary(BaseModel):
    shard_id: str
    status: str
    ingested: int
    failed: int
    duplicates: int


class IngestPlan(BaseModel):
    ingest_id: str
    batch_id: str
    pending_shards: list[str]
    total_shards: int
    total_files: int
    pending_files: int
    already_completed: bool = False


class IngestSummary(BaseModel):
    """The answer every staging command prints (`--json` gives exactly these keys and more)."""

    batch_id: str
    ingest_id: str
    status: str
    ingested: int
    failed: int
    duplicates: int
    shards: int
    files: int
    already_completed: bool = False
    flow_run_id: str | None = None
