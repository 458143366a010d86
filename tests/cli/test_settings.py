"""`docket settings`: every DOCKET_* knob in one place, with the value in effect and secrets hidden."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from docket_core.cli import app
from docket_core.settings import get_settings
from docket_core.settings.notify import NotifySettings
from docket_core.settings.queues import QueueSettings
from docket_core.signing import generate_secret

runner = CliRunner()


def listed() -> dict[str, dict]:
    result = runner.invoke(app, ["settings", "--json"])
    assert result.exit_code == 0, result.stderr
    return {row["variable"]: row for row in json.loads(result.stdout)}


class TestSettings:
    def test_one_class_holds_every_knob_of_staging_jobs_queues_and_notifications(self) -> None:
        settings = get_settings(extension_workers=3, notify_timeout=2.5)
        assert isinstance(settings, QueueSettings) and isinstance(settings, NotifySettings)
        assert (settings.extension_workers, settings.notify_timeout, settings.shard_size) == (3, 2.5, 500)
        rows = listed()
        for name in (*QueueSettings.model_fields, *NotifySettings.model_fields, "shard_size", "task_runner"):
            assert f"DOCKET_{name.upper()}" in rows

    def test_values_come_from_the_environment_and_secrets_never_show(self, docket_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        secret = generate_secret()
        monkeypatch.setenv("DOCKET_SHARD_SIZE", "200")
        monkeypatch.setenv("DOCKET_WEBHOOK_SECRET", secret)
        monkeypatch.setenv("DOCKET_CATALOG_URL", "postgresql+psycopg://docket:pa55word@db.internal/docket")
        rows = listed()
        assert (rows["DOCKET_SHARD_SIZE"]["value"], rows["DOCKET_SHARD_SIZE"]["default"]) == (200, False)
        assert rows["DOCKET_MAX_WORKERS"]["default"] is True and rows["DOCKET_MAX_WORKERS"]["value"] == 4
        assert rows["DOCKET_WEBHOOK_SECRET"]["value"] == "<set, hidden>"
        assert rows["DOCKET_CATALOG_URL"]["value"] == "postgresql+psycopg://docket:***@db.internal/docket"
        assert rows["DOCKET_RECEIVER_SECRET"]["value"].startswith("<generated in ")
        text = runner.invoke(app, ["settings"]).stdout
        assert "DOCKET_SHARD_SIZE=200  (set)" in text and "Files per shard" in text
        assert secret not in text and "pa55word" not in text
