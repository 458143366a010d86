"""What every endpoint of the Rossum-compatible API shares: who is calling, error bodies, pagination.

Authentication is Rossum's: `Authorization: Bearer <key>` or `Authorization: Token <key>` with a key
from `POST /auth/login` (an `api` token of a Docket user) or the `rossum_authorization_token` of a hook
request (a `hook` token, which opens only its own annotation, its document, and the queues and schemas).
Errors answer as Rossum's API does, `{"detail": "..."}` with 400, 401, 403, 404, 405 or 409.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import HTTPException, Request

from docket_core.auth import TokenRecord, get_user, resolve_token
from docket_core.errors import NotFoundError
from docket_core.rossum.objects import Urls
from docket_core.server.app import ServerContext

__all__ = ["ApiState", "Caller", "MAX_PAGE_SIZE", "api_error", "caller", "page_envelope", "page_params", "state"]

MAX_PAGE_SIZE = 100
_EXPORT_MAX_PAGE_SIZE = 1000


@dataclass
class ApiState:
    """The door's state: Docket's context, where URLs point, and the threads imports and exports run on."""

    context: ServerContext
    urls: Urls
    background: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(max_workers=2, thread_name_prefix="rossum-api"))


@dataclass(frozen=True)
class Caller:
    """Who is calling: a user with an `api` token, or an extension with a `hook` token for one annotation."""

    token: TokenRecord
    username: str | None

    @property
    def actor(self) -> str:
        """How document histories record what this caller does."""
        if self.username:
            return f"user:{self.username}"
        return f"extension-token:{self.token.prefix}"

    @property
    def annotation(self) -> int | None:
        """The one annotation a hook token opens (None: a user's token, which opens every one)."""
        scoped = self.token.scope.get("annotation") if self.token.kind == "hook" else None
        return int(scoped) if scoped is not None else None

    def may_see(self, document_id: int) -> None:
        """Refuse (403) a hook token asking for another annotation than its own."""
        if self.token.kind == "hook" and self.annotation != document_id:
            raise api_error(403, "You do not have permission to perform this action.")

    def must_be_user(self) -> None:
        if self.token.kind != "api":
            raise api_error(403, "You do not have permission to perform this action.")


def api_error(status: int, detail: str) -> HTTPException:
    return HTTPException(status_code=status, detail=detail)


def state(request: Request) -> ApiState:
    return request.app.state.rossum


def _key(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() in ("bearer", "token") and value.strip():
        return value.strip()
    return None


def caller(request: Request) -> Caller:
    """The authenticated caller, or 401 as Rossum answers (`Authentication credentials were not provided.`)."""
    key = _key(request.headers.get("authorization"))
    if key is None:
        raise api_error(401, "Authentication credentials were not provided.")
    catalog = state(request).context.resources.catalog()
    record = resolve_token(catalog, key, kinds={"api", "hook"})
    if record is None:
        raise api_error(401, "Invalid token.")
    username = None
    if record.user_id is not None:
        try:
            username = get_user(catalog, record.user_id).username
        except NotFoundError:
            raise api_error(401, "Invalid token.") from None
    return Caller(record, username)


def page_params(request: Request, *, export: bool = False) -> tuple[int, int]:
    """`page` (from 1) and `page_size` (default 20, at most 100; 1000 for exports) of the query."""
    limit = _EXPORT_MAX_PAGE_SIZE if export else MAX_PAGE_SIZE
    try:
        page = int(request.query_params.get("page", "1"))
        size = int(request.query_params.get("page_size", "20"))
    except ValueError:
        raise api_error(400, "page and page_size must be integers.") from None
    if page < 1 or size < 1:
        raise api_error(404, "Invalid page.")
    return page, min(size, limit)


def page_envelope(request: Request, results: Sequence[Any], *, total: int, page: int, size: int) -> dict[str, Any]:
    """Rossum's paginated answer: `pagination {total, total_pages, next, previous}` and `results`."""
    pages = max(1, math.ceil(total / size)) if total else 1

    def link(number: int) -> str:
        query = dict(request.query_params)
        query["page"] = str(number)
        base = state(request).urls.base + request.url.path
        return f"{base}?{urlencode(query)}"

    return {
        "pagination": {
            "total": total,
            "total_pages": pages,
            "next": link(page + 1) if page < pages else None,
            "previous": link(page - 1) if page > 1 else None,
        },
        "results": list(results),
    }
