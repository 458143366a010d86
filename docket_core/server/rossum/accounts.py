"""Logging in and out, the users, and the one organization: `/auth/login`, `/auth/logout`, `/auth/user`,
`/users`, `/organizations`.

`POST /auth/login` takes `username` and `password` as JSON or as a form (Rossum's clients send both
ways) and answers `{"key": ..., "domain": null}`; the key is an `api` token lasting
`DOCKET_API_TOKEN_LIFETIME_S` (or `max_token_lifetime_s`, if shorter). Wrong credentials: 401.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool

from docket_core.auth import authenticate, get_user, issue_token, list_users, revoke_token
from docket_core.errors import NotFoundError
from docket_core.rossum.ids import queue_numbers
from docket_core.rossum.objects import organization_object, user_object
from docket_core.server.rossum.common import Caller, api_error, caller, page_envelope, page_params, state

__all__ = ["router"]

router = APIRouter()


async def _credentials(request: Request) -> dict[str, Any]:
    kind = request.headers.get("content-type", "")
    if kind.startswith("application/json"):
        try:
            data = json.loads(await request.body() or b"{}")
        except json.JSONDecodeError:
            raise api_error(400, "JSON parse error.") from None
        return data if isinstance(data, dict) else {}
    async with request.form() as form:
        return {k: v for k, v in form.items() if isinstance(v, str)}


@router.post("/auth/login")
async def login(request: Request) -> dict[str, Any]:
    data = await _credentials(request)
    username, password = data.get("username"), data.get("password")
    missing = {k: ["This field is required."] for k in ("username", "password") if not data.get(k)}
    if missing:
        from fastapi.responses import JSONResponse

        return JSONResponse(missing, status_code=400)  # type: ignore[return-value]
    api = state(request)
    catalog = api.context.resources.catalog()
    user = await run_in_threadpool(authenticate, catalog, str(username), str(password))
    if user is None:
        raise api_error(401, "Unable to log in with provided credentials.")
    lifetime = api.context.settings.api_token_lifetime_s
    asked = data.get("max_token_lifetime_s")
    if asked is not None:
        try:
            lifetime = max(1, min(lifetime, int(asked)))
        except (TypeError, ValueError):
            raise api_error(400, "max_token_lifetime_s must be an integer.") from None
    issued = await run_in_threadpool(
        lambda: issue_token(catalog, "api", user_id=user.id, ttl=timedelta(seconds=lifetime), label="rossum login")
    )
    return {"key": issued.token, "domain": None}


@router.post("/auth/logout")
def logout(request: Request, who: Caller = Depends(caller)) -> dict[str, Any]:
    key = request.headers["authorization"].split(" ", 1)[1].strip()
    revoke_token(state(request).context.resources.catalog(), token=key)
    return {"detail": "Successfully logged out."}


def _user(request: Request, user_id: int) -> dict[str, Any]:
    catalog = state(request).context.resources.catalog()
    try:
        user = get_user(catalog, user_id)
    except NotFoundError:
        raise api_error(404, "Not found.") from None
    return user_object(state(request).urls, user, queue_numbers=sorted(queue_numbers(catalog).values()))


@router.get("/auth/user")
def current_user(request: Request, who: Caller = Depends(caller)) -> dict[str, Any]:
    if who.token.user_id is None:
        raise api_error(404, "Not found.")
    return _user(request, who.token.user_id)


@router.get("/users")
def users(request: Request, who: Caller = Depends(caller)) -> dict[str, Any]:
    who.must_be_user()
    page, size = page_params(request)
    catalog = state(request).context.resources.catalog()
    numbers = sorted(queue_numbers(catalog).values())
    everyone = [user_object(state(request).urls, u, queue_numbers=numbers) for u in list_users(catalog)]
    return page_envelope(request, everyone[(page - 1) * size : page * size], total=len(everyone), page=page, size=size)


@router.get("/users/{user_id}")
def user(user_id: int, request: Request, who: Caller = Depends(caller)) -> dict[str, Any]:
    return _user(request, user_id)


@router.get("/organizations")
def organizations(request: Request, who: Caller = Depends(caller)) -> dict[str, Any]:
    return page_envelope(request, [organization_object(state(request).urls)], total=1, page=1, size=20)


@router.get("/organizations/{organization_id}")
def organization(organization_id: int, request: Request, who: Caller = Depends(caller)) -> dict[str, Any]:
    if organization_id != 1:
        raise api_error(404, "Not found.")
    return organization_object(state(request).urls)
