"""Catalog table of Rossum compatibility: the integer id each queue has in the Rossum-compatible API.

Docket names queues with strings (`invoices`); Rossum's API, its clients and its extensions address
queues and schemas by integer ids inside URLs (`/api/v1/queues/8236`). Each queue gets one integer the
first time anything Rossum-shaped mentions it, kept here forever (never reused, even if the queue is
deleted and created again under the same name it keeps its number). A queue's schema has the same id.
Documents keep their own integer `document_id`, which is both the annotation id and the document id.

`extension_hook_options` keeps, per extension, what Rossum's hook object says beside its URL: which
related objects to sideload, how long its callback token lives, whether to sign with the legacy SHA-1
header. An extension without a row has the defaults.
"""

from __future__ import annotations

import sqlalchemy as sa

from docket_core.catalog.schema import UTC_TS, metadata

__all__ = ["extension_hook_options", "rossum_queue_ids"]

rossum_queue_ids = sa.Table(
    "rossum_queue_ids",
    metadata,
    sa.Column("rossum_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("queue_id", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UTC_TS, nullable=False),
)

extension_hook_options = sa.Table(
    "extension_hook_options",
    metadata,
    sa.Column("extension_name", sa.String(64), sa.ForeignKey("extensions.name", ondelete="CASCADE"), primary_key=True),
    sa.Column("sideload", sa.JSON, nullable=False),
    sa.Column("token_lifetime_s", sa.Integer, nullable=False),
    sa.Column("legacy_signature", sa.Boolean, nullable=False, server_default=sa.false()),
)
