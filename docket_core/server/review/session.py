"""Who is looking at the review pages: sign-in sessions in a cookie, CSRF tokens, embedded-document scope.

A signed-in reviewer holds a `session` token (docket_core.auth) in an HttpOnly cookie; an embedded page
holds a `review` token scoped to one document, exchanged for the cookie when the embed URL is opened.
Every state-changing request must carry the CSRF token of its session (a form field or the
`X-CSRF-Token` header): it is an HMAC of the session token, so a page of another site, which cannot
read the cookie, cannot forge it. Before sign-in, the sign-in form is protected the same way by a
random cookie of its own (double submit).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response

from docket_core.auth import get_user, resolve_token
from docket_core.catalog import Catalog
from docket_core.errors import NotFoundError

__all__ = ["COOKIE", "LOGIN_COOKIE", "Viewer", "csrf_for", "login_csrf", "set_session_cookie", "viewer_of"]

COOKIE = "docket_review"
LOGIN_COOKIE = "docket_login_csrf"


@dataclass(frozen=True)
class Viewer:
    """The person behind a request: their name, and for an embedded page the one document they may see."""

    username: str
    token: str
    document_id: int | None = None  # embedded: only this document
    return_url: str | None = None

    @property
    def csrf(self) -> str:
        return csrf_for(self.token)

    def may_see(self, document_id: int) -> bool:
        return self.document_id is None or self.document_id == document_id


def csrf_for(token: str) -> str:
    return hmac.new(hashlib.sha256(token.encode()).digest(), b"docket-review-csrf", hashlib.sha256).hexdigest()


def viewer_of(request: Request, catalog: Catalog) -> Viewer | None:
    """The viewer whose session cookie this request carries, or None (not signed in, expired, revoked)."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    record = resolve_token(catalog, token, kinds={"session", "review"})
    if record is None:
        return None
    username = "embedded"
    if record.user_id is not None:
        try:
            username = get_user(catalog, record.user_id).username
        except NotFoundError:
            return None
    scope = record.scope or {}
    return Viewer(username, token, scope.get("document"), scope.get("return_url"))


def csrf_ok(request: Request, viewer: Viewer, submitted: str | None) -> bool:
    given = submitted or request.headers.get("x-csrf-token") or ""
    return hmac.compare_digest(given, viewer.csrf)


def login_csrf(request: Request) -> str:
    """The sign-in form's CSRF value: the one in its cookie, or a new one (set by the caller)."""
    return request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)


def secure_cookies(public_url: str | None) -> bool:
    return bool(public_url) and urlsplit(public_url).scheme == "https"


def set_session_cookie(response: Response, token: str, *, max_age: int, secure: bool, embedded: bool) -> None:
    # An embedded page lives in another site's iframe: there the cookie must be SameSite=None, which
    # browsers accept only with Secure (https). On plain http (one machine) Lax is what works.
    same_site = "none" if embedded and secure else "lax"
    response.set_cookie(COOKIE, token, max_age=max_age, httponly=True, secure=secure, samesite=same_site, path="/review")
