"""What the review pages and actions share: templates, the viewer check, security headers, links."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from docket_core.server.review.session import Viewer, viewer_of

__all__ = ["Review", "headers", "safe_return_url"]

_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; base-uri 'none'"


def headers(response: Response, *, frame_origins: list[str] | None = None) -> Response:
    """Security headers on every page: no framing except by the allowed origins of an embedded page."""
    ancestors = " ".join(frame_origins) if frame_origins else "'none'"
    response.headers["Content-Security-Policy"] = f"{_CSP}; frame-ancestors {ancestors}"
    if not frame_origins:
        response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


def safe_return_url(url: str | None, allowed_origins: list[str]) -> str | None:
    """A return URL only to an allowed origin (else an embed URL would be an open redirect)."""
    if not url:
        return None
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    return url if parts.scheme in ("http", "https") and origin in allowed_origins else None


class Review:
    """Per-app state of the review door: the context, the template environment."""

    def __init__(self, context: Any) -> None:
        from docket_core.server.review import TEMPLATES

        self.context = context
        self.settings = context.settings
        self.env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))

    @property
    def catalog(self):  # noqa: ANN201
        return self.context.resources.catalog()

    def viewer(self, request: Request) -> Viewer | None:
        return viewer_of(request, self.catalog)

    def frame_origins(self, viewer: Viewer | None) -> list[str] | None:
        return list(self.settings.review_frame_origins) if viewer is not None and viewer.document_id is not None else None

    def page(self, template: str, request: Request, viewer: Viewer | None, http_status: int = 200, **values: Any) -> HTMLResponse:
        """`template` rendered with `values` (a template may have its own `status`, the queue page's filter)."""
        html = self.env.get_template(template).render(viewer=viewer, request=request, **values)
        return headers(HTMLResponse(html, status_code=http_status), frame_origins=self.frame_origins(viewer))  # type: ignore[return-value]

    def require(self, request: Request, document_id: int | None = None) -> Viewer:
        """The signed-in viewer (allowed to see `document_id`), or an HTTP error: 401 for JSON, a redirect for pages."""
        viewer = self.viewer(request)
        wants_json = "application/json" in request.headers.get("accept", "") or request.url.path.startswith("/review/api/")
        if viewer is None:
            if wants_json:
                raise HTTPException(401, "sign in first")
            raise HTTPException(303, headers={"Location": f"/review/login?next={quote(request.url.path)}"})
        if document_id is not None and not viewer.may_see(document_id):
            raise HTTPException(403, f"this page may show document {viewer.document_id} only")
        if viewer.document_id is not None and document_id is None:
            raise HTTPException(403, f"this page may show document {viewer.document_id} only")
        return viewer


def redirect(url: str) -> RedirectResponse:
    return headers(RedirectResponse(url, status_code=303))  # type: ignore[return-value]


def counts_row(counts: Mapping[str, int], statuses: tuple[str, ...]) -> list[int]:
    return [int(counts.get(s, 0)) for s in statuses]
