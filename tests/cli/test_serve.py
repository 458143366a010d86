"""`docket serve` reads prefect.yaml: its deployments, triggers and schedules, and the flow parameters
the triggers' templates render from a real event payload (checked with Prefect's server-side code)."""

from __future__ import annotations

import uuid

import pytest

from docket_core.cli.serve import load_deployments
from docket_core.staging.models import IngestRequest


@pytest.fixture(scope="module")
def deployments() -> dict[str, object]:
    return {d.name: d for d in load_deployments()}


def rendered(trigger: object, payload: dict) -> dict:
    from prefect.server.events.actions import RunDeployment
    from prefect.utilities.schema_tools.hydration import HydrationContext, hydrate

    parameters = trigger.parameters  # type: ignore[attr-defined]
    RunDeployment(source="selected", deployment_id=uuid.uuid4(), parameters=parameters)  # the server's own check
    return hydrate(parameters, HydrationContext(render_jinja=True, raise_on_error=True, jinja_context={"event": {"payload": payload}}))


class TestDeployments:
    def test_every_flow_is_a_deployment_found_by_module_path(self, deployments: dict) -> None:
        assert {"ingest-batch", "process-batch", "deliver-notifications"} <= set(deployments)
        assert deployments["ingest-batch"].entrypoint == "flows.ingest_batch.ingest_batch"
        assert all(d.work_pool_name is None for d in deployments.values())

    def test_delivery_runs_every_minute_and_when_notifications_are_queued(self, deployments: dict) -> None:
        deliver = deployments["deliver-notifications"]
        [schedule] = deliver.schedules
        assert schedule.schedule.interval.total_seconds() == 60
        [trigger] = deliver.triggers
        assert (trigger.expect, trigger.match.root) == ({"docket.notifications.queued"}, {"prefect.resource.id": "docket.*"})


class TestTriggers:
    def test_a_push_event_becomes_its_push_id_and_nothing_else(self, deployments: dict) -> None:
        [trigger] = deployments["ingest-batch"].triggers
        assert trigger.expect == {"docket.ingest.requested"}
        # Whatever else an event carries (Prefect's events API is not signed), only the push id passes.
        request = IngestRequest(batch_id="b1", media_kind="images", source_kind="folder", source="/", ingest_id="push-1",
                                allow_private_network=True, workflow_id="image-metadata")  # fmt: skip
        params = rendered(trigger, {"push_id": "msg_1", "batch_id": "b1", "request": request.model_dump(mode="json")})
        assert params == {"push_id": "msg_1"}

    def test_an_ingest_that_named_a_workflow_starts_its_job_by_the_ingest_id_alone(self, deployments: dict) -> None:
        [trigger] = deployments["process-batch"].triggers
        assert trigger.expect == {"docket.batch.ingested"}
        assert trigger.match.root == {"prefect.resource.id": "docket.batch.*", "docket.workflow-requested": "true"}
        payload = {"batch_id": "b1", "ingest_id": "push-1", "workflow_id": "image-metadata", "status": "completed", "ingested": 3}
        params = rendered(trigger, payload)
        assert params == {"ingest_id": "push-1"}
