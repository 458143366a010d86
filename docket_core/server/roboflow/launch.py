"""How the API starts background work: an ingest announced with ids only, and a job.

`ServedLauncher` (in `docket serve`): an ingest goes out through the server's `emit` (the Prefect
event `docket.ingest.requested`, which triggers the served `ingest-batch` deployment, as a push does),
and a job becomes a flow run of the served `process-batch` deployment with the job's ids as
parameters. `InProcessLauncher` (the API mounted alone, no served deployments): the same flows the
CLI runs in its own process, each in a thread of this one.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from typing import Protocol

from docket_core.jobs.models import JobRequest
from docket_core.staging.models import IngestRequest

__all__ = ["InProcessLauncher", "Launcher", "ServedLauncher"]

JOB_DEPLOYMENT = "process_batch/process-batch"
_log = logging.getLogger(__name__)


class Launcher(Protocol):
    def ingest(self, request: IngestRequest) -> str | None:
        """Start the ingest of an announced request (`docket_core.pushes.announced`); an id of the start, or None."""

    def job(self, request: JobRequest) -> str | None:
        """Start (or resume) the registered job; an id of the start (a flow run id), or None."""

    def cancel(self, run_id: str) -> bool:
        """Cancel a start whose run is not running yet (an abort before it began); whether it was cancelled."""


class ServedLauncher:
    """Events and deployments of `docket serve` (or of workers on work pools)."""

    def __init__(self, emit: Callable[[IngestRequest], str | None], deployment: str = JOB_DEPLOYMENT) -> None:
        self.emit, self.deployment = emit, deployment

    def ingest(self, request: IngestRequest) -> str | None:
        return self.emit(request)

    def job(self, request: JobRequest) -> str | None:
        from prefect.client.orchestration import get_client

        parameters = {"job": request.model_dump(mode="json")}  # ids only: the caller left the URL in the job row
        with get_client(sync_client=True) as client:
            deployment = client.read_deployment_by_name(self.deployment)
            run = client.create_flow_run_from_deployment(deployment.id, parameters=parameters)
        return str(run.id)

    def cancel(self, run_id: str) -> bool:
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.objects import StateType
        from prefect.states import Cancelled

        with get_client(sync_client=True) as client:
            run = client.read_flow_run(uuid.UUID(run_id))
            # Only a run no worker has taken yet: one taken is about to start the job, which then sees the abort.
            if run.state is None or run.state.type != StateType.SCHEDULED:
                return False
            result = client.set_flow_run_state(run.id, Cancelled(message="aborted through the Roboflow API"), force=True)
        return result.status.value == "ACCEPT"


class InProcessLauncher:
    """The CLI's way: the flows in this process (Prefect's ephemeral API, or PREFECT_API_URL), one thread each."""

    def __init__(self) -> None:
        self.threads: list[threading.Thread] = []

    def _start(self, name: str, target: Callable[[], object]) -> str:
        def run() -> None:
            try:
                target()
            except Exception as exc:  # noqa: BLE001 - the flow recorded its failure in the catalog and in Prefect
                _log.warning("%s ended with %s: %s", name, type(exc).__name__, exc)

        thread = threading.Thread(target=run, name=name, daemon=True)
        self.threads = [t for t in self.threads if t.is_alive()] + [thread]
        thread.start()
        return f"{name}-{uuid.uuid4().hex[:8]}"

    def ingest(self, request: IngestRequest) -> str | None:
        from flows.ingest_batch import ingest_batch

        return self._start(f"docket-ingest-{request.ingest_id}", lambda: ingest_batch(request=request))

    def job(self, request: JobRequest) -> str | None:
        from flows.process_batch import process_batch

        return self._start(f"docket-job-{request.job_id}", lambda: process_batch(job=request))

    def cancel(self, run_id: str) -> bool:
        return False  # a thread cannot be stopped: the job's run sees the abort when it starts its chunks

    def join(self, timeout: float = 120.0) -> None:
        """Wait for the work started so far (tests, and a clean shutdown)."""
        for thread in list(self.threads):
            thread.join(timeout)
