"""What the review page does, as JSON calls: save, confirm, reject, postpone, keep or let go of the lock.

Each call carries the session's CSRF token (`X-CSRF-Token`) and runs the same `document_action` flow
the CLI runs (so the `updated` and `confirm` extensions fire, and the run is in the Prefect UI); the
answer is the document as it now stands, so the page shows extensions' messages and changes without
a reload. A save carries the revision it was made on: a stale save is refused (409) with a message.
A decision made here also resumes a `review_document` flow run that waits for this document.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from docket_core.errors import ConflictError, DocketError, InputError, NotFoundError
from docket_core.queues.documents import document_details
from docket_core.queues.locks import LockHeld, refresh_lock, release_lock
from docket_core.queues.registry import get_queue
from docket_core.queues.review import confirmation_blockers
from docket_core.server.review.common import Review, headers, safe_return_url
from docket_core.server.review.session import Viewer, csrf_ok
from docket_core.server.review.view import CellView, TableView, document_view

__all__ = ["build_actions", "document_state"]

_log = logging.getLogger("docket.review")


class SaveBody(BaseModel):
    revision: int = Field(description="The document revision the page showed when the edit was made.")
    changes: dict[str, str] = Field(default_factory=dict, description="New text by datapoint id (`\"12\"`).")
    add_rows: list[int] = Field(default_factory=list, description="Multivalue ids to add an empty row to.")
    remove_rows: list[int] = Field(default_factory=list, description="Row (tuple) ids to remove.")


class LinkBody(BaseModel):
    document_id: int = Field(description="The document the link opens.")
    return_url: str | None = Field(default=None, description="Where the page goes when the reviewer is done.")
    minutes: float | None = Field(default=None, gt=0, le=24 * 60, description="How long the link works.")


class NoteBody(BaseModel):
    note: str = Field(default="", max_length=2000, description="Why (kept in the document's history).")


def document_state(review: Review, document_id: int) -> dict[str, Any]:
    """The document as the page shows it: status, revision, every cell's value and messages, general messages."""
    details = document_details(review.catalog, document_id)
    with review.catalog.read() as conn:
        queue = get_queue(conn, details["queue_id"])
    fields, general = document_view(queue, details["content"], details["messages"],
                                    default_threshold=getattr(review.settings, "default_score_threshold", None))  # fmt: skip
    cells: list[CellView] = []
    for item in fields:
        cells.extend(c for _, row in item.rows for c in row) if isinstance(item, TableView) else cells.append(item)
    errors = [m for m in details["messages"] if m.get("type") == "error"]
    return {
        "document_id": document_id, "status": details["status"], "revision": details["revision"],
        "cells": {str(c.datapoint_id): {"value": c.value, "options": c.options, "messages": [m.__dict__ for m in c.messages]}
                  for c in cells},
        "messages": [m.__dict__ for m in general],
        "errors": [m.get("content") for m in errors],
    }  # fmt: skip


def _resume_waiting_review(document_id: int, decision: str, note: str) -> None:
    """If a `review_document` flow run is paused for this document, let it go on with this decision.

    The decision is made and recorded already; a Prefect API that cannot be reached now only leaves
    such a run waiting (until its timeout), so it is logged, not turned into a failed answer.
    """
    import httpx

    from flows.review_document import resume_waiting_review

    try:
        resume_waiting_review(document_id, decision, note)
    except (httpx.HTTPError, OSError, RuntimeError) as exc:
        _log.warning("document %d: could not resume a review run waiting for it (%s)", document_id, type(exc).__name__)


def build_actions(context) -> APIRouter:  # noqa: ANN001, C901
    review = Review(context)
    router = APIRouter(prefix="/review/api", include_in_schema=False)

    def checked(request: Request, document_id: int) -> Viewer:
        viewer = review.require(request, document_id)
        if not csrf_ok(request, viewer, None):
            raise HTTPException(403, "this request lacks the page's CSRF token; reload the page")
        return viewer

    def answer(body: dict[str, Any], status: int = 200) -> JSONResponse:
        return headers(JSONResponse(body, status_code=status))  # type: ignore[return-value]

    def run(action: str, document_id: int, viewer: Viewer, **kwargs: Any) -> Any:
        from docket_core.cli.prefect_server import attach_prefect
        from flows.document_action import document_action

        attach_prefect()
        return document_action(action=action, document_ids=[document_id], actor=viewer.username, **kwargs)

    def next_url(viewer: Viewer, document_id: int, queue_id: str) -> str:
        if viewer.document_id is not None:
            return safe_return_url(viewer.return_url, list(review.settings.review_frame_origins)) or f"/review/leave/{document_id}"
        return f"/review/queues/{quote(queue_id)}/next?after={document_id}"

    @router.post("/documents/{document_id}/save")
    def save(request: Request, document_id: int, body: SaveBody) -> JSONResponse:
        viewer = checked(request, document_id)
        changes = {f"#{dp}": text for dp, text in body.changes.items()}
        operations: list[dict[str, Any]] = [{"op": "remove", "id": row} for row in body.remove_rows]
        if body.add_rows:
            details = document_details(review.catalog, document_id)
            with review.catalog.read() as conn:
                queue = get_queue(conn, details["queue_id"])
            for multivalue in body.add_rows:
                table = next((t for t in queue.tables() if _has_node(details["content"], t.id, multivalue)), None)
                if table is None:
                    return answer({"detail": f"datapoint {multivalue} is not a table of this document"}, 422)
                operations.append({"op": "add", "id": multivalue,
                                   "value": [{"schema_id": c.id, "content": {"value": ""}} for c in table.columns]})  # fmt: skip
        if not changes and not operations:
            return answer(document_state(review, document_id) | {"saved": False})
        try:
            run("edit", document_id, viewer, changes=changes, operations=operations, revision=body.revision)
        except ConflictError as exc:
            return answer({"detail": str(exc), "stale": True}, 409)
        except (InputError, NotFoundError) as exc:
            return answer({"detail": str(exc)}, 422)
        return answer(document_state(review, document_id) | {"saved": True})

    @router.post("/documents/{document_id}/confirm")
    def confirm(request: Request, document_id: int) -> JSONResponse:
        viewer = checked(request, document_id)
        with review.catalog.read() as conn:  # the domain's one rule; saves starting a flow run to hear it
            blocked = confirmation_blockers(conn, [document_id]).get(document_id)
        if blocked:
            return answer(document_state(review, document_id) | {"confirmed": False, "detail": "fix the errors first: " + "; ".join(blocked)}, 409)
        try:
            summary = run("confirm", document_id, viewer)
        except (DocketError, ValueError) as exc:
            return answer(document_state(review, document_id) | {"confirmed": False, "detail": str(exc)}, 409)
        state = document_state(review, document_id)
        if document_id in summary.refused or state["status"] != "confirmed":
            reasons = summary.refused.get(document_id) or state["errors"] or [f"the document is {state['status']}"]
            return answer(state | {"confirmed": False, "detail": "fix the errors first: " + "; ".join(reasons)}, 409)
        release_lock(review.catalog, document_id, viewer.username)
        _resume_waiting_review(document_id, "confirm", "")
        queue_id = document_details(review.catalog, document_id)["queue_id"]
        return answer(state | {"confirmed": True, "next_url": next_url(viewer, document_id, queue_id)})

    def decide(request: Request, document_id: int, body: NoteBody, action: str) -> JSONResponse:
        viewer = checked(request, document_id)
        try:
            run(action, document_id, viewer, note=body.note or None)
        except (DocketError, ValueError) as exc:
            return answer({"detail": str(exc)}, 409)
        release_lock(review.catalog, document_id, viewer.username)
        _resume_waiting_review(document_id, action, body.note)
        queue_id = document_details(review.catalog, document_id)["queue_id"]
        return answer(document_state(review, document_id) | {"next_url": next_url(viewer, document_id, queue_id)})

    @router.post("/documents/{document_id}/reject")
    def reject(request: Request, document_id: int, body: NoteBody) -> JSONResponse:
        return decide(request, document_id, body, "reject")

    @router.post("/documents/{document_id}/postpone")
    def postpone(request: Request, document_id: int, body: NoteBody) -> JSONResponse:
        return decide(request, document_id, body, "postpone")

    @router.post("/documents/{document_id}/lock")
    def keep_lock(request: Request, document_id: int) -> JSONResponse:
        viewer = checked(request, document_id)
        try:
            lock = refresh_lock(review.catalog, document_id, viewer.username, ttl=timedelta(seconds=review.settings.review_lock_seconds))
        except LockHeld as exc:
            return answer({"held": False, "detail": str(exc)}, 409)
        return answer({"held": True, "expires_at": lock.expires_at.isoformat()})

    @router.post("/documents/{document_id}/release")
    def release(request: Request, document_id: int) -> JSONResponse:
        viewer = checked(request, document_id)
        release_lock(review.catalog, document_id, viewer.username)
        return answer({"released": True})

    @router.post("/review-urls", include_in_schema=True, summary="A URL opening one document's review page (embedded mode)")
    def make_link(request: Request, body: LinkBody) -> JSONResponse:
        """For another application: authenticate with a user's API token (`Authorization: Bearer ...`)."""
        from docket_core.auth import resolve_token
        from docket_core.queues.review_links import review_link

        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() not in ("bearer", "token") or resolve_token(review.catalog, token.strip(), kinds={"api"}) is None:
            return answer({"detail": "expected Authorization: Bearer <API token of a Docket user>"}, 401)
        settings = review.settings
        base = settings.public_base_url
        ttl = timedelta(minutes=body.minutes or settings.review_embed_minutes)
        try:
            url = review_link(review.catalog, body.document_id, base_url=base, ttl=ttl, return_url=body.return_url,
                              allowed_origins=settings.review_frame_origins)  # fmt: skip
        except NotFoundError as exc:
            return answer({"detail": str(exc)}, 404)
        except InputError as exc:
            return answer({"detail": str(exc)}, 400)
        return answer({"document_id": body.document_id, "url": url, "expires_in_s": int(ttl.total_seconds())}, 201)

    return router


def _has_node(content: list[dict[str, Any]], schema_id: str, node_id: int) -> bool:
    from docket_core.extensions.content import find_by_schema_id

    return any(int(n["id"]) == node_id for n in find_by_schema_id(content, schema_id))
