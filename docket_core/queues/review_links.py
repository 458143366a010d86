"""Embedded review links: a URL that opens one document's review page, for another application's iframe.

The link carries a short-lived `review` token (docket_core.auth) scoped to that document and to the
URL the reviewer goes back to when done; whoever holds the link can review that one document until the
token expires, and nothing else. Make links for people who should review, just before they do.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode, urlsplit

import sqlalchemy as sa

from docket_core.auth import issue_token
from docket_core.catalog import Catalog
from docket_core.catalog.schema_queues import documents
from docket_core.errors import InputError, NotFoundError

__all__ = ["review_link"]


def review_link(catalog: Catalog, document_id: int, *, base_url: str, ttl: timedelta, return_url: str | None = None,
                allowed_origins: list[str] | tuple[str, ...] = ()) -> str:  # fmt: skip
    """A URL opening `document_id`'s review page, valid for `ttl`.

    Raises:
        NotFoundError: no such document.
        InputError: `return_url` is not on one of `allowed_origins` (the origins allowed to embed the page).
    """
    with catalog.read() as conn:
        if conn.execute(sa.select(documents.c.document_id).where(documents.c.document_id == document_id)).first() is None:
            raise NotFoundError(f"no document {document_id}; `docket documents list --queue Q` shows the documents there are")
    if return_url is not None:
        parts = urlsplit(return_url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if parts.scheme not in ("http", "https") or origin not in allowed_origins:
            raise InputError(f"the return URL must be on an origin of DOCKET_REVIEW_FRAME_ORIGINS "
                             f"({', '.join(allowed_origins) or 'none set'}), got {origin}")  # fmt: skip
    scope = {"document": document_id, **({"return_url": return_url} if return_url else {})}
    issued = issue_token(catalog, "review", scope=scope, ttl=ttl, label=f"review link for document {document_id}")
    return f"{base_url.rstrip('/')}/review/embed?{urlencode({'token': issued.token})}"
