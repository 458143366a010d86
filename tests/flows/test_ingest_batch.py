"""The `ingest_batch` flow under a real Prefect test server."""

from __future__ import annotations

from pathlib import Path

import pytest

from docket_core.staging.models import IngestRequest
from docket_core.staging.queries import batch_details
from docket_core.resources import Resources
from tests.helpers import artifact_keys, image_folder, write

pytestmark = pytest.mark.usefixtures("prefect_harness")


class TestIngestBatchFlow:
    def test_a_folder_is_staged_through_a_flow_run_with_artifacts(self, tmp_path: Path, docket_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:

        from flows.ingest_batch import ingest_batch

        monkeypatch.setenv("DOCKET_SHARD_SIZE", "4")
        image_folder(tmp_path / "in", 9)
        write(tmp_path / "in/bad.jpg", b"not an image")
        request = IngestRequest(batch_id="flow-b", media_kind="images", source_kind="folder", source=str(tmp_path / "in"), ingest_id="flow-1")
        summary = ingest_batch(request=request)
        assert (summary.status, summary.ingested, summary.failed, summary.shards) == ("completed", 9, 1, 3)
        assert summary.flow_run_id

        assert artifact_keys("ingest-progress-flow-1", "ingest-summary-flow-1") == {"ingest-progress-flow-1", "ingest-summary-flow-1"}
        details = batch_details(Resources.from_settings().catalog(), "flow-b")
        assert (details["files_count"], details["failed_count"]) == (9, 1)

    def test_running_the_flow_again_with_the_same_ingest_id_adds_nothing(self, tmp_path: Path, docket_env: Path) -> None:
        from flows.ingest_batch import ingest_batch

        image_folder(tmp_path / "in", 3)
        request = IngestRequest(batch_id="flow-c", media_kind="images", source_kind="folder", source=str(tmp_path / "in"), ingest_id="again")
        first = ingest_batch(request=request)
        second = ingest_batch(request=request)
        assert second.already_completed and second.ingested == first.ingested == 3
        assert batch_details(Resources.from_settings().catalog(), "flow-c")["files_count"] == 3
