"""The Rossum-compatible REST API of `docket serve`, under `/api/v1` (door `rossum`).

Enough of Rossum's API for its own clients (`rossum-api`, the `rossum` command line) to log in, upload
into a queue, poll the annotation and export, and for extensions to call back with the
`rossum_authorization_token` of their request: annotations and their content (and operations on it),
documents and their files, queues, schemas, users. Field names, status codes, pagination and error
bodies follow Rossum's API reference; each endpoint is a thin layer over the queue domain.

Ids: a document's `document_id` is its annotation id and its document id; a queue's integer id (and
its schema's) is the number `docket_core.rossum.ids` keeps for it.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from docket_core.rossum.objects import Urls
from docket_core.server.app import ServerContext
from docket_core.server.rossum import accounts, documents, queues
from docket_core.server.rossum.common import ApiState

__all__ = ["PREFIX", "build_api", "mount"]

PREFIX = "/api/v1"


def build_api(context: ServerContext) -> FastAPI:
    """The API as an app of its own (mounted under `/api/v1`), with Rossum's error bodies."""
    api = FastAPI(title="Docket: Rossum-compatible API", docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    api.state.rossum = ApiState(context=context, urls=Urls(context.settings.public_base_url))
    for module in (accounts, documents, queues):
        api.include_router(module.router)

    @api.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if exc.status_code != 405 else f'Method "{request.method}" not allowed.'
        headers = {"WWW-Authenticate": 'Bearer realm="api"'} if exc.status_code == 401 else None
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=headers)

    @api.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        fields: dict[str, list[str]] = {}
        for error in exc.errors():
            fields.setdefault(str(error["loc"][-1]), []).append(error["msg"])
        return JSONResponse(fields, status_code=400)

    return api


def mount(app: FastAPI, context: ServerContext) -> None:
    """Serve the API under `/api/v1` of `docket serve`'s app."""
    app.mount(PREFIX, build_api(context))
