"""Roboflow's batch API (data staging and batch processing, v1) on Docket: the door `roboflow`.

The unchanged `inference rf-cloud ...` CLI (inference-cli 1.8.3) works against `docket serve` with
`API_BASE_URL=http://host:port` and a Docket API key (`docket api-keys create --workspace NAME`).
The routes are thin over Docket's domain (`docket_core.staging`, `docket_core.jobs`,
`docket_core.roboflow`); the wire contract is `reference/roboflow/inference_cli_contract.md`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from fastapi import FastAPI

from docket_core.server.roboflow.common import RoboflowContext
from docket_core.server.roboflow.jobs import jobs_router
from docket_core.server.roboflow.launch import InProcessLauncher, Launcher, ServedLauncher
from docket_core.server.roboflow.staging import staging_router
from docket_core.server.roboflow.uploads import uploads_router

if TYPE_CHECKING:
    from docket_core.server.app import ServerContext

__all__ = ["create_app", "mount", "routers_on"]


def routers_on(app: FastAPI, context: RoboflowContext) -> None:
    app.include_router(staging_router(context))
    app.include_router(uploads_router(context))
    app.include_router(jobs_router(context))


def mount(app: FastAPI, ctx: ServerContext) -> None:
    """The door: the API on `docket serve`'s app. Work starts through the served deployments when a
    Prefect API is configured (as `docket serve` does), else in this process as the CLI would."""
    launcher: Launcher = ServedLauncher(ctx.emit) if os.environ.get("PREFECT_API_URL") else InProcessLauncher()
    routers_on(app, RoboflowContext(ctx.resources, ctx.settings, launcher))


def create_app(context: RoboflowContext) -> FastAPI:
    """The API alone, as an ASGI app (serve it with uvicorn; test it with `httpx.ASGITransport`)."""
    app = FastAPI(title="Docket: Roboflow batch API", version="1",
                  description="Roboflow's data-staging and batch-processing v1 routes on Docket. See the README, "
                  "'Coming from Roboflow'.")  # fmt: skip
    routers_on(app, context)
    return app
