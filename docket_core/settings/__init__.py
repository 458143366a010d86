"""Runtime settings: one `BaseSettings` with the `DOCKET_` prefix, built where used.

`DocketSettings` holds every knob, inheriting one class per concern: staging (`staging.StagingSettings`),
jobs (`jobs.JobSettings`), the local Prefect server (`server.ServerSettings`), the review pages
(`review.ReviewSettings`), queues and extensions (`queues.QueueSettings`), notifications and the push
receiver (`notify.NotifySettings`), capture (`capture.CaptureSettings`), model steps
(`models.ModelSettings`) and the Roboflow-style API (`roboflow.RoboflowSettings`). Code builds it with
`get_settings()`; a function that needs one concern may type its parameter with that concern's class.
`docket settings` prints every knob with its value.
"""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from docket_core.settings.capture import CaptureSettings
from docket_core.settings.jobs import JobSettings
from docket_core.settings.models import ModelSettings
from docket_core.settings.notify import NotifySettings
from docket_core.settings.queues import QueueSettings
from docket_core.settings.review import ReviewSettings
from docket_core.settings.roboflow import RoboflowSettings
from docket_core.settings.server import ServerSettings
from docket_core.settings.staging import MiB, StagingSettings

__all__ = ["DocketSettings", "MiB", "get_settings"]


class DocketSettings(
    StagingSettings,  # first: its `home` (and description) is the one listed
    JobSettings,
    ServerSettings,
    ReviewSettings,
    QueueSettings,
    NotifySettings,
    CaptureSettings,
    ModelSettings,
    RoboflowSettings,
):
    """Every knob Docket reads from the environment (`DOCKET_*`) or a `.env` file."""

    model_config = SettingsConfigDict(env_prefix="DOCKET_", env_file=".env", extra="ignore")


def get_settings(**overrides: object) -> DocketSettings:
    """Build settings now (never at import), so environment changes are seen."""
    return DocketSettings(**overrides)  # type: ignore[arg-type]
