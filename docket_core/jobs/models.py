"""Job requests and the job record the CLI and API print."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

from docket_core.names import check_id

__all__ = ["ChunkSummary", "JobPlan", "JobRequest", "JobState"]

JobState = Literal["pending", "running", "succeeded", "failed", "aborted"]
FINISHED: frozenset[str] = frozenset({"succeeded", "failed", "aborted"})


class JobRequest(BaseModel):
    """Run a workflow over every ingested file of a batch. The same `job_id` twice runs once."""

    batch_id: str = Field(description="The staged batch to process.")
    workflow_id: str = Field(description="The workflow to run (`docket workflows list`).")
    job_id: str | None = Field(default=None, description="Idempotency key; generated when empty.")
    max_failure_rate: float | None = Field(
        default=None, ge=0, le=1, description="Fail the job once more than this share of files failed (0..1)."
    )
    notifications_url: str | None = Field(default=None, description="Where to send the job-done notification.")

    @field_validator("batch_id")
    @classmethod
    def _batch(cls, value: str) -> str:
        return check_id(value, "batch id")

    @field_validator("job_id")
    @classmethod
    def _job(cls, value: str | None) -> str | None:
        return None if value is None else check_id(value, "job id")


class JobPlan(BaseModel):
    job_id: str
    pending_chunks: list[str]
    total_chunks: int
    total_files: int
    pending_files: int
    finished: bool = False


class ChunkSummary(BaseModel):
    chunk_id: str
    status: str  # done | skipped (the job was aborted before it started) | lost (this worker's lease expired)
    succeeded: int = 0
    failed: int = 0
