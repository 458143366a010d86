"""Catalog table of review: who holds a document open in the review page, until when.

A row exists while someone reviews the document; it is refreshed by the page and expires when not
refreshed, so a closed browser does not keep a document away from others for long.
"""

from __future__ import annotations

import sqlalchemy as sa

from docket_core.catalog.schema import UTC_TS, metadata

__all__ = ["review_locks"]

review_locks = sa.Table(
    "review_locks",
    metadata,
    sa.Column("document_id", sa.Integer, sa.ForeignKey("documents.document_id", ondelete="CASCADE"), primary_key=True),
    sa.Column("holder", sa.String(150), nullable=False),
    sa.Column("acquired_at", UTC_TS, nullable=False),
    sa.Column("expires_at", UTC_TS, nullable=False),
)
