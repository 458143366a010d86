"""The import flow confirms by confidence: above every threshold confirms, below or with an error waits."""

from __future__ import annotations

from pathlib import Path

import pytest

from docket_core.extensions.content import find_by_schema_id
from docket_core.queues.documents import document_details
from docket_core.queues.importing import ImportRequest
from docket_core.queues.registry import save_queue
from docket_core.resources import Resources
from tests.docket_core.queues.scored_workflow import MODULE, scored_queue, write_scored
from tests.docket_core.queues.test_automation import HIGH
from tests.flows.test_queue_flows import stage

pytestmark = pytest.mark.usefixtures("prefect_harness")


class TestAutomaticConfirmation:
    def test_only_documents_whose_required_fields_meet_their_thresholds_confirm(
        self, tmp_path: Path, docket_env: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from flows.import_documents import import_documents

        monkeypatch.setenv("DOCKET_WORKFLOW_MODULES", MODULE)
        resources = Resources.from_settings()
        with resources.catalog().begin() as conn:
            save_queue(conn, scored_queue(auto_confirm=True, gross_total={"score_threshold": 0.96}), source="test")
        files = [
            write_scored(tmp_path / "in" / "a-good.xml", HIGH),
            write_scored(tmp_path / "in" / "b-low-date.xml", {**HIGH, "issue_date": ("2024-03-31", 0.7)}),
            write_scored(tmp_path / "in" / "c-total-under-its-own.xml", {**HIGH, "gross_total": ("119.00", 0.95)}),
            write_scored(tmp_path / "in" / "d-error.xml", HIGH, error="gross total does not add up"),
        ]
        summary = import_documents(request=ImportRequest(queue_id="scored", source="files", files=stage(files, resources)))
        good, low, own, error = summary.document_ids
        assert summary.confirmed == 1 and sorted(summary.blocked) == [low, own, error]
        assert document_details(resources.catalog(), good)["status"] == "confirmed"
        assert summary.blocked[low] == ["automation: below the confidence threshold: issue_date (0.70 < 0.90)"]
        assert summary.blocked[own] == ["automation: below the confidence threshold: gross_total (0.95 < 0.96)"]
        assert summary.blocked[error] == ["workflow:read: gross total does not add up"]
        waiting = document_details(resources.catalog(), low)
        assert waiting["status"] == "to_review"
        assert [m["content"] for m in waiting["messages"] if m["type"] == "info" and m["source"] == "automation"] == [
            "not confirmed automatically: below the confidence threshold: issue_date (0.70 < 0.90); check before confirming"
        ]
        # The confirmed document keeps where its values were read.
        total = find_by_schema_id(document_details(resources.catalog(), good)["content"], "gross_total")[0]["content"]
        assert (total["page"], total["rir_confidence"], total["normalized_value"]) == (1, 0.97, "119")
