"""The knobs of the local Prefect server (`DOCKET_*`) that commands and `docket serve` share.

`DocketSettings` (`docket_core.settings`) inherits them; `docket settings` prints them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ServerSettings"]


class ServerSettings(BaseSettings):
    """Whether a local Prefect server is started and shared, and on which port."""

    model_config = SettingsConfigDict(env_prefix="DOCKET_", env_file=".env", extra="ignore")

    prefect_server: Literal["auto", "ephemeral"] = Field(
        default="auto",
        description="Without PREFECT_API_URL: `auto` starts one local Prefect server in the background (under "
        "<home>/prefect, on loopback) and every later command and `docket serve` reuse it; `ephemeral` gives each "
        "process Prefect's own short-lived API (10-20 s to start each time).",
    )
    prefect_runner: Literal["auto", "off"] = Field(
        default="auto",
        description="With the local server: `auto` also starts a warm runner beside it (Prefect and the flows "
        "imported once), and later `docket staging|jobs|workflows` commands from the same environment and folder "
        "run in a fork of it, skipping about 1.5 s of imports; `off` runs every command in its own process.",
    )
    prefect_port: int = Field(
        default=4200, ge=1, le=65535,
        description="Port of the local Prefect server (a free one is taken when it is busy).",
    )  # fmt: skip
