"""The knobs of the Roboflow-style batch API (`DOCKET_ROBOFLOW_*`) and of staged-data expiry.

`DocketSettings` inherits them (one class lists every knob; `docket settings` prints them).
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["RoboflowSettings"]

GiB = 1024 * 1024 * 1024


class RoboflowSettings(BaseSettings):
    """Signed upload/download URLs, page sizes and expiry, read from `DOCKET_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix="DOCKET_", env_file=".env", extra="ignore")

    roboflow_url_secret: SecretStr | None = Field(
        default=None,
        description="Key signing the API's upload and download URLs (HMAC-SHA256); a random one per process when "
        "unset (URLs then stop working when the server restarts). Set it when several servers answer the API.",
    )
    roboflow_public_url: str | None = Field(
        default=None,
        description="Base URL clients reach the API at (behind a proxy, say), for the upload and download URLs it "
        "hands out; default: the address the request came to.",
    )
    roboflow_url_ttl_seconds: int = Field(
        default=3600, ge=60, le=7 * 86400, description="How long an upload or download URL works, seconds."
    )
    roboflow_max_upload_bytes: int = Field(
        default=2 * GiB, ge=1024, description="Largest body one upload URL accepts (a tar shard; videos also obey "
        "DOCKET_MAX_VIDEO_BYTES)."
    )  # fmt: skip
    roboflow_page_size: int = Field(default=100, ge=1, le=1000, description="Items per page when the client names no pageSize.")
    staged_data_ttl_days: int | None = Field(
        default=None, ge=1, le=36500,
        description="Days staged batches are kept (Roboflow keeps them 7); the cleanup flow deletes older ones. "
        "Unset: kept until deleted, and the API reports no expiry.",
    )  # fmt: skip
