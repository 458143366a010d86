"""The `cleanup_staged_data` flow: off by default, and with a TTL it deletes what is older."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from docket_core.catalog import utcnow
from docket_core.catalog.schema import batches
from docket_core.resources import Resources
from docket_core.roboflow.ingests import stage_image
from docket_core.settings import get_settings
from docket_core.staging.queries import list_batches
from flows.cleanup_staged_data import cleanup_staged_data
from tests.helpers import jpeg_bytes


@pytest.mark.usefixtures("prefect_harness")
class TestCleanupStagedData:
    def test_without_a_ttl_nothing_goes_and_with_one_only_older_batches_go(self, docket_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        resources, settings = Resources.from_settings(), get_settings()
        stage_image(resources, settings, batch_id="old", file_name="a.jpg", data=jpeg_bytes(1))
        stage_image(resources, settings, batch_id="new", file_name="b.jpg", data=jpeg_bytes(2))
        with resources.catalog().begin() as conn:
            conn.execute(sa.update(batches).where(batches.c.batch_id == "old").values(created_at=utcnow() - timedelta(days=8)))

        assert cleanup_staged_data()["deleted"] == []  # DOCKET_STAGED_DATA_TTL_DAYS unset: kept until deleted
        assert [b["batch_id"] for b in list_batches(resources.catalog())] == ["old", "new"]
        monkeypatch.setenv("DOCKET_STAGED_DATA_TTL_DAYS", "7")
        assert cleanup_staged_data()["deleted"] == ["old"]
        assert [b["batch_id"] for b in list_batches(resources.catalog())] == ["new"]
