"""Prefect's events API is not signed: an event posted to it must not start an ingest or a job.

The triggers of prefect.yaml pass only ids (a push id, an ingest id); the flows rebuild what they do
from the catalog, so an event that names nothing recorded starts nothing, whatever else it carries.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from docket_core.catalog.schema import batches, ingests, jobs
from docket_core.cli.serve import prefect_yaml_path
from docket_core.resources import Resources
from docket_core.staging.models import IngestRequest
from tests.helpers import image_folder

FORGED_REQUEST = {
    "batch_id": "stolen", "media_kind": "images", "source_kind": "folder", "source": "/", "ingest_id": "forged-1",
    "allow_private_network": True, "workflow_id": "image-metadata",
}  # fmt: skip


def trigger_parameters(deployment: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The parameters prefect.yaml's trigger of `deployment` gives its flow run for an event with
    `payload`, rendered by Prefect's own hydration (what the automation service does)."""
    from prefect.utilities.schema_tools.hydration import HydrationContext, hydrate

    spec = yaml.safe_load(prefect_yaml_path().read_text(encoding="utf-8"))
    [item] = [d for d in spec["deployments"] if d["name"] == deployment]
    [trigger] = item["triggers"]
    event = {"event": "x", "payload": payload, "resource": {"prefect.resource.id": "docket.x"}}
    return hydrate(trigger["parameters"], HydrationContext(raise_on_error=True, render_jinja=True, jinja_context={"event": event}))


def catalog_counts(resources: Resources) -> tuple[int, int, int]:
    with resources.catalog().read() as conn:
        return tuple(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() for t in (batches, ingests, jobs))  # type: ignore[return-value]


def run_logs(state: Any, containing: str, timeout: float = 15.0) -> str:
    """The messages the flow run of `state` logged, read back from the Prefect API, once one of them
    contains `containing` (logs reach the API in batches)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    run_id = state.state_details.flow_run_id
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))
            text = "\n".join(log.message for log in logs)
            if containing in text or time.monotonic() > deadline:
                return text
            time.sleep(0.2)


class TestTriggers:
    def test_the_ingest_trigger_passes_only_the_push_id_whatever_the_event_carries(self) -> None:
        params = trigger_parameters("ingest-batch", {"request": FORGED_REQUEST, "push_id": "msg_1"})
        assert params == {"push_id": "msg_1"}
        assert trigger_parameters("ingest-batch", {"request": FORGED_REQUEST}) == {"push_id": ""}

    def test_the_job_trigger_passes_only_the_ingest_id(self) -> None:
        params = trigger_parameters("process-batch", {"batch_id": "any", "workflow_id": "image-metadata", "ingest_id": "i-1"})
        assert params == {"ingest_id": "i-1"}


@pytest.mark.usefixtures("prefect_harness")
class TestForgedRuns:
    def test_a_push_id_the_catalog_does_not_know_ingests_nothing(self, docket_env: Path) -> None:
        from flows.ingest_batch import ingest_batch

        resources = Resources.from_settings()
        logged = ""
        for forged in (trigger_parameters("ingest-batch", {"request": FORGED_REQUEST}),
                       trigger_parameters("ingest-batch", {"request": FORGED_REQUEST, "push_id": "never-pushed"})):  # fmt: skip
            state = ingest_batch(**forged, return_state=True)
            assert state.is_completed() and state.result() is None
            logged += run_logs(state, "Nothing ingested")
        assert catalog_counts(resources) == (0, 0, 0)
        assert "Nothing ingested: no push 'never-pushed' is recorded in the catalog" in logged

    def test_a_request_naming_an_unrecorded_push_ingests_nothing(self, docket_env: Path) -> None:
        from flows.ingest_batch import ingest_batch

        forged = IngestRequest(**(FORGED_REQUEST | {"source_kind": "references", "source": "push:never-pushed"}))
        assert ingest_batch(request=forged) is None
        assert catalog_counts(Resources.from_settings()) == (0, 0, 0)

    def test_a_forged_batch_ingested_event_starts_no_job_even_over_a_real_batch(
        self, tmp_path: Path, docket_env: Path
    ) -> None:
        from flows.ingest_batch import ingest_batch
        from flows.process_batch import process_batch

        image_folder(tmp_path / "in", 2)
        # A real ingest that asked for no workflow, then events naming it, and naming no ingest at all.
        ingest_batch(request=IngestRequest(batch_id="real", media_kind="images", source_kind="folder",
                                           source=str(tmp_path / "in"), ingest_id="real-1"))  # fmt: skip
        logged = ""
        for payload in ({"batch_id": "real", "workflow_id": "image-metadata", "ingest_id": "real-1"},
                        {"batch_id": "real", "workflow_id": "image-metadata", "ingest_id": "made-up"},
                        {"batch_id": "real", "workflow_id": "image-metadata"}):  # fmt: skip
            state = process_batch(**trigger_parameters("process-batch", payload), return_state=True)
            assert state.is_completed() and state.result() is None
            logged += run_logs(state, "No job started")
        assert catalog_counts(Resources.from_settings())[2] == 0
        assert "No job started: ingest 'real-1' is completed and named no workflow" in logged
        assert "No job started: no ingest 'made-up' is recorded" in logged

    def test_a_completed_ingest_that_named_a_workflow_still_gets_its_job_from_its_id_alone(
        self, tmp_path: Path, docket_env: Path
    ) -> None:
        from flows.ingest_batch import ingest_batch
        from flows.process_batch import process_batch

        image_folder(tmp_path / "in", 2)
        ingest_batch(request=IngestRequest(batch_id="asked", media_kind="images", source_kind="folder",
                                           source=str(tmp_path / "in"), ingest_id="asked-1", workflow_id="image-metadata"))  # fmt: skip
        details = process_batch(**trigger_parameters("process-batch", {"ingest_id": "asked-1", "batch_id": "other"}))
        assert details is not None
        assert (details["batch_id"], details["workflow_id"], details["state"]) == ("asked", "image-metadata", "succeeded")
