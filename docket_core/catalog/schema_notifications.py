"""Catalog tables of push: the notification outbox, its delivery attempts, endpoints, received pushes.

They live on the catalog's one `metadata`, so `TestMigrations` compares them with migrations 0004 and 0006.
"""

from __future__ import annotations

import sqlalchemy as sa

from docket_core.catalog.schema import UTC_TS, metadata

__all__ = ["notification_attempts", "notification_endpoints", "notifications", "received_pushes"]

notification_endpoints = sa.Table(
    "notification_endpoints",
    metadata,
    # sha256 of the URL: URLs may be long and hold tokens, the key never shows them.
    sa.Column("endpoint_key", sa.String(64), primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("failing_since", UTC_TS, nullable=True),
    sa.Column("last_success_at", UTC_TS, nullable=True),
    sa.Column("last_failure_at", UTC_TS, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("disabled_at", UTC_TS, nullable=True),
    sa.Column("disabled_reason", sa.Text, nullable=True),
    sa.Column("created_at", UTC_TS, nullable=False),
)

notifications = sa.Table(
    "notifications",
    metadata,
    # The outbox order: per (endpoint, resource), notifications are sent in `id` order.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(64), nullable=False, unique=True),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("resource_key", sa.String(255), nullable=False),
    sa.Column(
        "endpoint_key", sa.String(64), sa.ForeignKey("notification_endpoints.endpoint_key"), nullable=False
    ),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTC_TS, nullable=False),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_expires_at", UTC_TS, nullable=True),
    sa.Column("last_status_code", sa.Integer, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", UTC_TS, nullable=False),
    sa.Column("finished_at", UTC_TS, nullable=True),
    sa.Index("ix_notifications_due", "status", "next_attempt_at"),
    sa.Index("ix_notifications_order", "endpoint_key", "resource_key", "id"),
)

notification_attempts = sa.Table(
    "notification_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(64), sa.ForeignKey("notifications.event_id"), nullable=False, index=True),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("started_at", UTC_TS, nullable=False),
    sa.Column("duration_ms", sa.Integer, nullable=True),
    sa.Column("status_code", sa.Integer, nullable=True),
    # delivered | retry | failed (no more attempts) | interrupted (the delivery run died mid-way)
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("error", sa.Text, nullable=True),
)

received_pushes = sa.Table(
    "received_pushes",
    metadata,
    # Standard Webhooks `webhook-id`: the same id again is a retry of the same push.
    sa.Column("webhook_id", sa.String(255), primary_key=True),
    sa.Column("body_sha256", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("batch_id", sa.String(64), nullable=True),
    sa.Column("ingest_id", sa.String(128), nullable=True),
    sa.Column("event_id", sa.String(64), nullable=True),
    sa.Column("received_at", UTC_TS, nullable=False),
    # The ingest request as accepted, with its URLs: the event and the flow run's parameters carry
    # only `push:<webhook-id>`, so signed query strings never reach Prefect (`docket_core.pushes`).
    sa.Column("request", sa.JSON, nullable=True),
)
