"""The review pages: sign-in, queues, a queue's documents, a document beside its fields, page images."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import Response

from docket_core.auth import authenticate, issue_token, resolve_token, revoke_token
from docket_core.errors import DocketError, NotFoundError
from docket_core.queues.documents import document_details
from docket_core.queues.models import STATUSES
from docket_core.queues.locks import LockHeld, acquire_lock
from docket_core.queues.registry import get_queue, list_queues
from docket_core.queues.search import next_for_review, search_documents
from docket_core.server.review.common import Review, headers, redirect, safe_return_url
from docket_core.server.review.render import page_count, page_image
from docket_core.server.review.session import (
    COOKIE,
    LOGIN_COOKIE,
    csrf_ok,
    login_csrf,
    secure_cookies,
    set_session_cookie,
)
from docket_core.server.review.view import document_view
from docket_core.store import local_blob

__all__ = ["build_pages"]

SHOWN_STATUSES = ("to_review", "reviewing", "postponed", "confirmed", "rejected", "exported", "failed_export", "importing",
                  "failed_import")  # fmt: skip
PAGE_SIZE = 50


def _local_next(url: str | None) -> str:
    """Only a path of this site after sign-in (never another host)."""
    return url if url and url.startswith("/review") and not url.startswith("//") else "/review/"


def build_pages(context) -> APIRouter:  # noqa: ANN001, C901 - one router, one closure per page
    review = Review(context)
    router = APIRouter(prefix="/review", include_in_schema=False)

    @router.get("/login")
    def login_form(request: Request, next: str = "/review/", failed: bool = False) -> Response:
        token = login_csrf(request)
        response = review.page("login.html", request, None, http_status=401 if failed else 200, csrf=token,
                               next=_local_next(next), failed=failed)  # fmt: skip
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", path="/review",
                            secure=secure_cookies(review.settings.public_base_url))  # fmt: skip
        return response

    @router.post("/login")
    def login(request: Request, username: str = Form(...), password: str = Form(...), csrf: str = Form(...),
              next: str = Form("/review/")) -> Response:  # fmt: skip
        expected = request.cookies.get(LOGIN_COOKIE)
        if not expected or csrf != expected:
            raise HTTPException(403, "the sign-in form expired; open the sign-in page again")
        user = authenticate(review.catalog, username, password)
        if user is None:
            return redirect(f"/review/login?failed=1&next={quote(_local_next(next))}")
        hours = review.settings.review_session_hours
        issued = issue_token(review.catalog, "session", user_id=user.id, ttl=timedelta(hours=hours), label="review page")
        response = redirect(_local_next(next))
        set_session_cookie(response, issued.token, max_age=int(hours * 3600), secure=secure_cookies(review.settings.public_base_url),
                           embedded=False)  # fmt: skip
        response.delete_cookie(LOGIN_COOKIE, path="/review")
        return response

    @router.post("/logout")
    def logout(request: Request, csrf: str = Form(...)) -> Response:
        viewer = review.viewer(request)
        if viewer is not None and csrf_ok(request, viewer, csrf):
            revoke_token(review.catalog, token=viewer.token)
        response = redirect("/review/login")
        response.delete_cookie(COOKIE, path="/review")
        return response

    @router.get("/")
    def queues_page(request: Request) -> Response:
        viewer = review.require(request)
        queues = list_queues(review.catalog)
        return review.page("queues.html", request, viewer, queues=queues, statuses=SHOWN_STATUSES)

    @router.get("/queues/{queue_id}")
    def queue_page(request: Request, queue_id: str, status: str = "", q: str = "", page: int = Query(1, ge=1)) -> Response:
        viewer = review.require(request)
        with review.catalog.read() as conn:
            try:
                queue = get_queue(conn, queue_id)
            except NotFoundError as exc:
                raise HTTPException(404, str(exc)) from exc
        statuses = [status] if status in STATUSES else []
        found = search_documents(review.catalog, queue_id, status=statuses, text=q, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        pages = max(1, -(-found.total // PAGE_SIZE))
        return review.page("queue.html", request, viewer, queue=queue, found=found, status=status, q=q, page=page, pages=pages,
                           statuses=SHOWN_STATUSES)  # fmt: skip

    @router.get("/queues/{queue_id}/next")
    def next_document(request: Request, queue_id: str, after: int | None = None) -> Response:
        viewer = review.require(request)
        found = next_for_review(review.catalog, queue_id, holder=viewer.username, after=after)
        return redirect(f"/review/documents/{found}" if found is not None else f"/review/queues/{quote(queue_id)}?done=1")

    @router.get("/documents/{document_id}")
    def document_page(request: Request, document_id: int) -> Response:
        viewer = review.require(request, document_id)
        catalog = review.catalog
        held_by = None
        try:
            acquire_lock(catalog, document_id, viewer.username, ttl=timedelta(seconds=review.settings.review_lock_seconds))
        except LockHeld as exc:
            held_by = exc.lock
        except NotFoundError as exc:
            raise HTTPException(404, str(exc)) from exc
        details = document_details(catalog, document_id)
        with catalog.read() as conn:
            queue = get_queue(conn, details["queue_id"])
        fields, general = document_view(queue, details["content"], details["messages"],
                                        default_threshold=getattr(review.settings, "default_score_threshold", None))  # fmt: skip
        try:
            with local_blob(context.resources.store(), details["sha256"]) as path:
                pages = page_count(Path(path), details["media_type"] or "")
        except (DocketError, OSError, ValueError):
            pages = 0
        return review.page("document.html", request, viewer, doc=details, queue=queue, fields=fields, general=general,
                           pages=range(1, pages + 1), held_by=held_by, return_url=viewer.return_url,
                           lock_seconds=review.settings.review_lock_seconds)  # fmt: skip

    @router.get("/documents/{document_id}/pages/{page}.jpg")
    def page_jpeg(request: Request, document_id: int, page: int) -> Response:
        review.require(request, document_id)
        details = document_details(review.catalog, document_id)
        cache = Path(review.settings.home).resolve() / "cache" / "review-pages"
        try:
            with local_blob(context.resources.store(), details["sha256"]) as path:
                data = page_image(Path(path), details["media_type"] or "", details["sha256"], page,
                                  dpi=review.settings.review_page_dpi, cache=cache)  # fmt: skip
        except NotFoundError as exc:
            raise HTTPException(404, str(exc)) from exc
        except (DocketError, OSError, ValueError) as exc:
            raise HTTPException(422, f"this document's page cannot be shown ({type(exc).__name__})") from exc
        response = Response(data, media_type="image/jpeg")
        headers(response)
        response.headers["Cache-Control"] = "private, max-age=3600"  # the bytes of a sha256 never change
        return response

    @router.get("/embed")
    def embed(request: Request, token: str) -> Response:
        """Open one document's page from another application: the URL's token becomes this browser's session."""
        record = resolve_token(review.catalog, token, kinds={"review"})
        if record is None or "document" not in record.scope:
            return review.page("message.html", request, None, http_status=401, title="Link expired",
                               text="This review link is not valid (any more). Ask the application that sent you here for a new one.")  # fmt: skip
        document_id = int(record.scope["document"])
        response = redirect(f"/review/documents/{document_id}")
        secure = secure_cookies(review.settings.public_base_url)
        set_session_cookie(response, token, max_age=int(review.settings.review_embed_minutes * 60), secure=secure, embedded=True)
        headers(response, frame_origins=list(review.settings.review_frame_origins))
        return response

    @router.get("/leave/{document_id}")
    def leave(request: Request, document_id: int) -> Response:
        """Where "back" goes: the return URL of an embedded page, else the queue's list."""
        viewer = review.require(request, document_id)
        if viewer.document_id is not None:
            url = safe_return_url(viewer.return_url, list(review.settings.review_frame_origins))
            return redirect(url) if url else review.page("message.html", request, viewer, title="Done",
                                                         text="You can close this page.")  # fmt: skip
        queue_id = document_details(review.catalog, document_id)["queue_id"]
        return redirect(f"/review/queues/{quote(queue_id)}")

    return router
