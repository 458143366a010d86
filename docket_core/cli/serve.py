"""`docket serve` (every deployment of prefect.yaml, with its triggers and schedules, plus the push
receiver, in one process) and `docket receiver` (the receiver alone)."""

from __future__ import annotations

import asyncio
import importlib
import os
import threading
import time
from pathlib import Path
from typing import Any, Optional

import typer
import yaml

from docket_core.cli.output import fail, guarded, stderr, stdout
from docket_core.errors import InputError
from docket_core.staging.models import IngestRequest

__all__ = ["emit_ingest_requested", "load_deployments", "prefect_yaml_path", "receiver", "serve"]

def prefect_yaml_path() -> Path:
    """The prefect.yaml next to the `flows` package (the repository root), or `DOCKET_PREFECT_YAML`."""
    if os.environ.get("DOCKET_PREFECT_YAML"):
        return Path(os.environ["DOCKET_PREFECT_YAML"])
    import flows

    return Path(flows.__file__).resolve().parents[1] / "prefect.yaml"


def _schedule_args(specs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    intervals, crons = [], []
    for spec in specs:
        if "interval" in spec:
            intervals.append(float(spec["interval"]))
        elif "cron" in spec:
            crons.append(str(spec["cron"]))
        else:
            raise InputError(f"deployment {name!r}: expected schedules with interval or cron, got {sorted(spec)}")
    return {"interval": intervals or None, "cron": crons or None}


def load_deployments(path: Path | None = None) -> list[Any]:
    """The deployments declared in prefect.yaml as Prefect `RunnerDeployment`s, ready for `serve()`.

    Entrypoints become module paths (`flows/ingest_batch.py:ingest_batch` -> `flows.ingest_batch`),
    so the runner finds them from any working directory; work pools are dropped (serve needs none).
    """
    from prefect.events import DeploymentTriggerTypes
    from prefect.types.entrypoint import EntrypointType
    from pydantic import TypeAdapter

    path = path or prefect_yaml_path()
    if not path.is_file():
        raise InputError(f"expected Docket's prefect.yaml at {path}, found none; set DOCKET_PREFECT_YAML")
    spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    adapter: TypeAdapter[Any] = TypeAdapter(DeploymentTriggerTypes)
    deployments = []
    for item in spec.get("deployments") or []:
        name, entrypoint = item["name"], item["entrypoint"]
        file_part, _, attr = entrypoint.partition(":")
        module = importlib.import_module(file_part.removesuffix(".py").replace("/", "."))
        flow = getattr(module, attr)
        triggers = [
            adapter.validate_python({"name": f"{name}__automation_{i}", **t})
            for i, t in enumerate(item.get("triggers") or [], start=1)
        ]
        deployments.append(
            flow.to_deployment(
                name=name,
                description=item.get("description"),
                tags=item.get("tags"),
                parameters=item.get("parameters"),
                triggers=triggers,
                entrypoint_type=EntrypointType.MODULE_PATH,
                **_schedule_args(item.get("schedules") or [], name),
            )
        )
    return deployments


def emit_ingest_requested(request: IngestRequest) -> str | None:
    """Announce an accepted push as the Prefect event `docket.ingest.requested`.

    `request` is the receiver's `announced` request. The payload names the push (`push_id`), which is
    all the `ingest-batch` trigger passes on; the batch, ingest and workflow ids are there to be read in
    the UI. The flow rebuilds the request from the catalog, so a forged event starts nothing.
    """
    from prefect.events import emit_event

    from docket_core.pushes import push_id_of

    push_id = push_id_of(request)
    if push_id is None:
        raise InputError(f"expected a request announced by the receiver (source push:<id>), got source kind {request.source_kind!r}")
    event = emit_event(
        event="docket.ingest.requested",
        resource={"prefect.resource.id": f"docket.ingest.{request.ingest_id}"},
        related=[{"prefect.resource.id": f"docket.batch.{request.batch_id}", "prefect.resource.role": "batch"}],
        payload={"push_id": push_id, "batch_id": request.batch_id, "ingest_id": request.ingest_id,
                 "workflow_id": request.workflow_id},  # fmt: skip
    )
    return str(event.id) if event is not None else None


class _ReceiverThread:
    """The receiver's uvicorn server in a thread of its own (the main thread runs Prefect's runner)."""

    def __init__(self, host: str, port: int) -> None:
        import uvicorn

        from docket_core.resources import Resources
        from docket_core.server.app import ServerContext, build_app
        from docket_core.settings import get_settings

        settings = get_settings()
        app = build_app(ServerContext(Resources.from_settings(settings), settings, emit_ingest_requested))
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off"))
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign] - the main thread owns signals
        self.thread = threading.Thread(target=self.server.run, name="docket-receiver", daemon=True)

    def start(self, timeout: float = 30.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the push receiver did not start (is the port free?)")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


_HOST = typer.Option("127.0.0.1", "--host", help="Address the receiver (and an embedded Prefect server) listen on.")
_PORT = typer.Option(None, "--port", "-p", help="Receiver port (default DOCKET_RECEIVER_PORT, 8787).")


@guarded
def serve(
    host: str = _HOST,
    port: Optional[int] = _PORT,
    prefect_port: Optional[int] = typer.Option(None, "--prefect-port", help="Port of the local Prefect server when one is started (default DOCKET_PREFECT_PORT, 4200)."),
    limit: int = typer.Option(8, "--limit", min=1, help="Flow runs executed at once."),
) -> None:
    """Run Docket hands-off: every deployment with its triggers and schedules, plus the HTTP server: the push
    receiver (/v1/ingest), the Rossum-compatible API (/api/v1), Roboflow's batch API (/data-staging/v1,
    /batch-processing/v1) and the review pages (/review). Set DOCKET_PUBLIC_BASE_URL to the address others
    reach it at; add users with `docket users create` and Roboflow-style keys with `docket api-keys create`.

    The deployments are those of prefect.yaml, served in this process (no work pool). Without
    PREFECT_API_URL it uses Docket's local Prefect server (the one every `docket` command shares,
    `docket server status`), starting it if need be; that server listens on loopback whatever --host
    says, unless PREFECT_SERVER_API_AUTH_STRING is set. Stop with Ctrl-C.

    Example: DOCKET_RECEIVER_SECRET=whsec_... docket serve --port 8787
    """
    from docket_core.cli.prefect_server import LOOPBACK, ensure_server, listen_host, stop_server
    from docket_core.settings import get_settings

    settings = get_settings()
    port = settings.receiver_port if port is None else port
    started = False
    if not os.environ.get("PREFECT_API_URL"):
        if listen_host(host) != host:
            stderr.print(f"The Prefect API stays on {LOOPBACK}: it has no authentication unless "
                         "PREFECT_SERVER_API_AUTH_STRING is set (Docket's own doors listen on --host).", markup=False)  # fmt: skip
        stderr.print("Attaching to Docket's local Prefect server (starting it if need be)...", markup=False)
        state, started = ensure_server(settings, host=host, port=prefect_port)
        os.environ["PREFECT_API_URL"] = state.api_url  # before Prefect is imported: its settings read the environment
    api = os.environ["PREFECT_API_URL"]
    receiver_thread: _ReceiverThread | None = None
    try:
        from prefect.exceptions import TerminationSignal
        from prefect.runner import Runner

        deployments = load_deployments()
        runner = Runner(name="docket-serve", limit=limit, pause_on_shutdown=True)
        for deployment in deployments:
            runner.add_deployment(deployment)  # registered with its triggers before any push is accepted
        stdout.print(f"Prefect UI: {api.removesuffix('/api')}  (API {api})", markup=False, highlight=False)
        stdout.print("Deployments: " + ", ".join(f"{d.flow_name}/{d.name}" for d in deployments), markup=False)
        receiver_thread = _ReceiverThread(host, port)
        receiver_thread.start()
        stdout.print(f"Push receiver: http://{host}:{port}/v1/ingest  (OpenAPI: http://{host}:{port}/docs)", markup=False)
        stdout.print(f"Rossum-compatible API: http://{host}:{port}/api/v1  (base_url in hook requests: {settings.public_base_url})", markup=False)
        stdout.print(f"Roboflow batch API: http://{host}:{port}  (API_BASE_URL for inference rf-cloud); review pages: http://{host}:{port}/review/", markup=False)
        try:
            asyncio.run(runner.start())
        except (KeyboardInterrupt, TerminationSignal):
            stderr.print("Stopping...")
    finally:
        if receiver_thread is not None:
            receiver_thread.stop()
        if started:  # a server this command started goes with it; one that was running stays
            stop_server(settings)


@guarded
def receiver(host: str = _HOST, port: Optional[int] = _PORT) -> None:
    """Run only the push receiver: POST /v1/ingest, GET /healthz, the OpenAPI document at /docs.

    Each accepted push becomes the Prefect event `docket.ingest.requested` on PREFECT_API_URL, for
    deployments served elsewhere (`prefect deploy --all` and a worker).

    Example: PREFECT_API_URL=http://127.0.0.1:4200/api docket receiver --port 8787
    """
    import uvicorn

    from docket_core.resources import Resources
    from docket_core.server.receiver import create_app
    from docket_core.settings import get_settings

    if not os.environ.get("PREFECT_API_URL"):
        fail("docket receiver needs PREFECT_API_URL (a running Prefect server) to announce pushes; or run `docket serve`")
    settings = get_settings()
    app = create_app(resources=Resources.from_settings(settings), settings=settings, docket_settings=settings,
                     emit=emit_ingest_requested)  # fmt: skip
    port = settings.receiver_port if port is None else port
    stdout.print(f"Push receiver: http://{host}:{port}/v1/ingest  (OpenAPI: http://{host}:{port}/docs)")
    uvicorn.run(app, host=host, port=port, log_level="warning", lifespan="off")
