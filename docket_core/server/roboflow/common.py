"""What every route of the Roboflow-style API shares: its context, the API key check, error bodies.

The client sends its key as the `api_key` query parameter on every call (never a header). A key is
a Docket token of kind `api-key` whose scope names its workspace (`docket api-keys create`); the
workspace in a path must be the key's. Errors answer with a JSON body the client prints as it is,
`{"error": {"type", "message"}}`; 401 for a missing or unknown key (the client then says "Request
unauthorised"), 403 for another workspace or a bad capability URL, 404, 400, 409, 413, and 503 for
"retry later" (which the client retries).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from docket_core.auth import resolve_token
from docket_core.errors import ConflictError, DocketError, InputError, NotFoundError
from docket_core.resources import Resources
from docket_core.roboflow.urls import SignedURLRefused, URLSigner
from docket_core.server.roboflow.launch import Launcher
from docket_core.settings import DocketSettings

__all__ = ["Refused", "RoboflowContext", "RoboflowRoute", "WorkspaceKey", "error_body", "page_size"]


@dataclass
class RoboflowContext:
    resources: Resources
    settings: DocketSettings
    launcher: Launcher
    signer: URLSigner = field(init=False)

    def __post_init__(self) -> None:
        self.signer = URLSigner.from_settings(self.settings)

    def base_url(self, request: Request) -> str:
        return (self.settings.roboflow_public_url or str(request.base_url)).rstrip("/")


@dataclass(frozen=True)
class WorkspaceKey:
    workspace: str
    token_id: int


class Refused(Exception):
    """Raised in a route to answer with `status` and an error body."""

    def __init__(self, status: int, message: str, kind: str = "RequestRefused") -> None:
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind


def error_body(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status)


def _answer(exc: Exception) -> JSONResponse:
    if isinstance(exc, Refused):
        return error_body(exc.status, exc.kind, exc.message)
    if isinstance(exc, RequestValidationError):
        reason = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return error_body(400, "InvalidRequest", reason)
    if isinstance(exc, SignedURLRefused):
        return error_body(403, "InvalidSignedURL", str(exc))
    if isinstance(exc, NotFoundError):
        return error_body(404, "NotFound", str(exc))
    if isinstance(exc, ConflictError):
        return error_body(409, "Conflict", str(exc))
    if isinstance(exc, InputError):
        return error_body(400, "InvalidRequest", str(exc))
    if isinstance(exc, DocketError):
        return error_body(503, "ServiceUnavailable", str(exc))
    return error_body(503, "ServiceUnavailable", f"the catalog or store is not reachable now ({type(exc).__name__}); retry later")


class RoboflowRoute(APIRoute):
    """A route whose Docket errors become the API's error bodies (only on this door's routes)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except (Refused, RequestValidationError, DocketError, sa.exc.SQLAlchemyError, OSError) as exc:
                return _answer(exc)

        return handler


def check_key(ctx: RoboflowContext, request: Request) -> WorkspaceKey:
    """The workspace of the request's `api_key`.

    Raises:
        Refused: 401 when the key is missing, unknown, revoked or expired.
    """
    key = request.query_params.get("api_key")
    if not key:
        raise Refused(401, "expected an api_key query parameter (a Docket API key: `docket api-keys create`), got none",
                      "Unauthorized")  # fmt: skip
    record = resolve_token(ctx.resources.catalog(), key, kinds={"api-key"})
    if record is None or not record.scope.get("workspace"):
        raise Refused(401, "this API key is not valid (unknown, revoked or expired); `docket api-keys list` shows the live ones",
                      "Unauthorized")  # fmt: skip
    return WorkspaceKey(workspace=str(record.scope["workspace"]), token_id=record.id)


def check_workspace(key: WorkspaceKey, workspace: str) -> None:
    if workspace != key.workspace:
        raise Refused(403, f"this API key belongs to workspace {key.workspace!r}, got a request for {workspace!r}", "Forbidden")


def page_size(ctx: RoboflowContext, value: int | None) -> int:
    if value is None:
        return ctx.settings.roboflow_page_size
    if not 1 <= value <= 1000:
        raise Refused(400, f"pageSize must be between 1 and 1000, got {value}", "InvalidRequest")
    return value
