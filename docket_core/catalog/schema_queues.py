"""The catalog's queue tables: queues, their extensions and per-queue `run_after`, documents with their
content and history, and exports. Defined on the shared `metadata`, so migrations and the comparison
test see them with the rest.

A document's captured data (`document_data`, one row per document) is its Rossum-style content tree
(`content`, JSON), the flat typed values derived from it (`field_values`, what exports read), and which
step or extension last set each datapoint (`sources`: keyed by schema_id for a plain field, by datapoint
id for a table cell), with its messages and automation blockers. Every status change and edit adds a `document_history` row in the same transaction.
"""

from __future__ import annotations

import sqlalchemy as sa

from docket_core.catalog.schema import UTC_TS, metadata

__all__ = [
    "document_data", "document_history", "documents", "extension_queues", "extensions", "exports", "queue_subscriptions",
    "queues",
]  # fmt: skip

queues = sa.Table(
    "queues",
    metadata,
    sa.Column("queue_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("workflow_id", sa.String(64), nullable=True),
    sa.Column("schema", sa.JSON, nullable=False),
    sa.Column("auto_confirm", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("export_to_review", sa.Boolean, nullable=False, server_default=sa.false()),
    # Confidence required fields need for automatic confirmation; null: DOCKET_DEFAULT_SCORE_THRESHOLD.
    sa.Column("default_score_threshold", sa.Float, nullable=True),
    sa.Column("source", sa.String(1024), nullable=False),
    sa.Column("created_at", UTC_TS, nullable=False),
    sa.Column("updated_at", UTC_TS, nullable=False),
)

extensions = sa.Table(
    "extensions",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("url", sa.Text, nullable=True),
    # The webhook signing secret; never printed, logged or sent to Prefect. Or the name of a Prefect
    # `Secret` block holding it, read when the extension runs.
    sa.Column("secret", sa.Text, nullable=True),
    sa.Column("secret_block", sa.String(128), nullable=True),
    sa.Column("function", sa.String(512), nullable=True),
    sa.Column("timeout_s", sa.Float, nullable=False),
    sa.Column("retries", sa.Integer, nullable=False, server_default="0"),
    sa.Column("events", sa.JSON, nullable=False),
    sa.Column("settings", sa.JSON, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("source", sa.String(1024), nullable=False),
    sa.Column("created_at", UTC_TS, nullable=False),
    sa.Column("updated_at", UTC_TS, nullable=False),
)

extension_queues = sa.Table(
    "extension_queues",
    metadata,
    sa.Column("extension_name", sa.String(64), sa.ForeignKey("extensions.name"), primary_key=True),
    sa.Column("queue_id", sa.String(64), sa.ForeignKey("queues.queue_id"), primary_key=True, index=True),
    # The names this extension runs after on this queue: the same extension may follow others elsewhere.
    sa.Column("run_after", sa.JSON, nullable=False),
)

exports = sa.Table(
    "exports",
    metadata,
    sa.Column("export_id", sa.String(128), primary_key=True),
    sa.Column("queue_id", sa.String(64), sa.ForeignKey("queues.queue_id"), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False),  # claimed | done
    sa.Column("partition_date", sa.String(10), nullable=False),
    sa.Column("documents_key", sa.String(1024), nullable=False),
    sa.Column("document_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("failed_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("filters", sa.JSON, nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("flow_run_id", sa.String(64), nullable=True),
    sa.Column("created_at", UTC_TS, nullable=False),
    sa.Column("finished_at", UTC_TS, nullable=True),
)

documents = sa.Table(
    "documents",
    metadata,
    sa.Column("document_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("queue_id", sa.String(64), sa.ForeignKey("queues.queue_id"), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("file_name", sa.String(1024), nullable=False),
    sa.Column("media_type", sa.String(128), nullable=True),
    sa.Column("sha256", sa.String(64), nullable=True),
    sa.Column("size", sa.BigInteger, nullable=True),
    # What made it: {"kind": "batch"|"job"|"upload"|"email", ...}; `import_key` makes imports idempotent.
    sa.Column("origin", sa.JSON, nullable=False),
    sa.Column("import_key", sa.String(1200), nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    # Bumped by every write of the content, so a slow extension run never overwrites a newer edit.
    sa.Column("revision", sa.Integer, nullable=False, server_default="0"),
    sa.Column("export_id", sa.String(128), sa.ForeignKey("exports.export_id"), nullable=True, index=True),
    sa.Column("created_at", UTC_TS, nullable=False),
    sa.Column("modified_at", UTC_TS, nullable=False),
    sa.Column("modified_by", sa.String(128), nullable=True),
    sa.Column("status_changed_at", UTC_TS, nullable=False),
    sa.Column("ready_at", UTC_TS, nullable=True),
    sa.Column("exported_at", UTC_TS, nullable=True),
    # Set once its `initialize` extensions ran: an import resumed after a crash runs them only where unset.
    sa.Column("initialized_at", UTC_TS, nullable=True),
    sa.UniqueConstraint("queue_id", "import_key", name="uq_documents_queue_import_key"),
    sa.Index("ix_documents_queue_status", "queue_id", "status"),
)

document_data = sa.Table(
    "document_data",
    metadata,
    # Apart from `documents`, so status changes (an export moves 100,000 at once) rewrite small rows.
    sa.Column("document_id", sa.Integer, sa.ForeignKey("documents.document_id"), primary_key=True),
    sa.Column("field_values", sa.JSON, nullable=False),
    sa.Column("sources", sa.JSON, nullable=False),
    sa.Column("messages", sa.JSON, nullable=False),
    sa.Column("automation_blockers", sa.JSON, nullable=False),
    sa.Column("doc_metadata", sa.JSON, nullable=False),
    # Last: SQLite reads a row's columns in order, so an export reading the values never touches it.
    sa.Column("content", sa.JSON, nullable=False),
)

document_history = sa.Table(
    "document_history",
    metadata,
    sa.Column("history_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("document_id", sa.Integer, sa.ForeignKey("documents.document_id"), nullable=False, index=True),
    sa.Column("action", sa.String(16), nullable=False),  # status | edit
    sa.Column("from_status", sa.String(16), nullable=True),
    sa.Column("to_status", sa.String(16), nullable=True),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("at", UTC_TS, nullable=False),
)

queue_subscriptions = sa.Table(
    "queue_subscriptions",
    metadata,
    # Who is told about a queue's documents: one row per (queue, endpoint), read by `change_status`
    # and `commit_export` in the transaction of the change, so the outbox row commits with it.
    sa.Column("queue_id", sa.String(64), sa.ForeignKey("queues.queue_id"), primary_key=True),
    sa.Column("endpoint_key", sa.String(64), primary_key=True),  # sha256 of the URL, as in the outbox
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("events", sa.JSON, nullable=False),  # ["status-changed", "exported"]
    sa.Column("statuses", sa.JSON, nullable=False),  # status-changed only for moves to these; [] = every move
    sa.Column("source", sa.String(1024), nullable=False),
    sa.Column("created_at", UTC_TS, nullable=False),
    sa.Column("updated_at", UTC_TS, nullable=False),
)
