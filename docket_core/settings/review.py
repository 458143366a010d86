"""The knobs of the review pages (`DOCKET_*`): sign-in lifetime, locks, embedding, page rendering.

`DocketSettings` (`docket_core.settings`) inherits them; `docket settings` prints them.
"""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from typing_extensions import Annotated

__all__ = ["ReviewSettings"]


class ReviewSettings(BaseSettings):
    """How people sign in to, hold, embed and see documents on the review pages."""

    model_config = SettingsConfigDict(env_prefix="DOCKET_", env_file=".env", extra="ignore")

    review_session_hours: float = Field(
        default=12.0, gt=0, le=24 * 30, description="How long a review page sign-in lasts, hours."
    )
    review_lock_seconds: float = Field(
        default=120.0, ge=10, le=3600,
        description="How long a document stays held by a reviewer whose page stopped refreshing its lock, seconds.",
    )  # fmt: skip
    review_embed_minutes: float = Field(
        default=30.0, gt=0, le=24 * 60, description="Lifetime of an embedded review URL's token, minutes."
    )
    review_frame_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins (https://app.example.com) whose pages may show embedded review pages in an iframe "
        "(comma separated); every other framing is refused.",
    )
    review_page_dpi: int = Field(default=110, ge=36, le=300, description="Resolution PDF pages are rendered at for review.")

    @field_validator("review_frame_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [v.strip().rstrip("/") for v in value.split(",") if v.strip()]
        return value
