"""Runtime knobs of queues and extensions (`DOCKET_*`), built where used, never at import.

`DocketSettings` (`docket_core.settings`) inherits them; `docket settings` prints them.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["QueueSettings"]


class QueueSettings(BaseSettings):
    """How extensions run and how queues import and export."""

    model_config = SettingsConfigDict(env_prefix="DOCKET_", env_file=".env", extra="ignore")

    extension_chunk_size: int = Field(
        default=250, ge=1, le=10_000, description="Documents one extension task handles (one task per extension per chunk)."
    )
    webhook_concurrency: int = Field(
        default=32, ge=1, le=1024, description="Webhook requests one extension task has in flight at once."
    )
    max_webhook_answer_bytes: int = Field(
        default=16 * 1024 * 1024, ge=1024, le=1024 * 1024 * 1024,
        description="Largest answer body a webhook extension may send, decoded; a longer one fails that call.",
    )  # fmt: skip
    extension_workers: int = Field(
        default=32, ge=1, le=256, description="Threads running extension tasks (a level's extensions run in parallel)."
    )
    function_workers: int = Field(default=8, ge=1, le=256, description="Threads calling function extensions.")
    public_base_url: str = Field(
        default="http://127.0.0.1:8787",
        description="The public address of `docket serve` (Rossum's base_url; default: its local port): URLs in "
        "extension requests and API answers point under it, at /api/v1, where the Rossum-compatible API answers.",
    )
    api_token_lifetime_s: int = Field(
        default=583_200, ge=60, le=583_200,
        description="Seconds a token from POST /api/v1/auth/login lasts (Rossum's default and most: 162 hours); "
        "a login may ask for less with max_token_lifetime_s.",
    )  # fmt: skip
    import_chunk_size: int = Field(default=50, ge=1, le=10_000, description="Documents one capture task handles.")
    max_document_events: int = Field(
        default=1000, ge=0, le=1_000_000,
        description="Most per-document Prefect events one flow run emits; beyond it, one summary event.",
    )  # fmt: skip
    export_batch_rows: int = Field(default=20_000, ge=100, le=1_000_000, description="Documents per Parquet row group in exports.")
    default_score_threshold: float = Field(
        default=0.9, ge=0, le=1,
        description="Confidence each required captured field needs for a queue to confirm a document automatically, "
        "unless the queue or the field sets its own.",
    )  # fmt: skip
    review_timeout: int = Field(default=86_400, ge=1, le=30 * 86_400, description="Seconds a review waits for a person.")
    review_poll_interval: int = Field(default=5, ge=1, le=600, description="Seconds between checks of a paused review.")
