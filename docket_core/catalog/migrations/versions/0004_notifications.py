"""notifications: outbox, delivery attempts, endpoints, received pushes

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-23 19:30:00.000000
Branch: notifications (off 0002; the catalog upgrades to every head)
"""

from alembic import op
import sqlalchemy as sa
import docket_core.catalog.schema


revision = "0004"
down_revision = "0002"
branch_labels = ("notifications",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_endpoints",
        sa.Column("endpoint_key", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failing_since", docket_core.catalog.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", docket_core.catalog.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", docket_core.catalog.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("disabled_at", docket_core.catalog.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("created_at", docket_core.catalog.schema.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("endpoint_key", name=op.f("pk_notification_endpoints")),
    )
    op.create_table(
        "received_pushes",
        sa.Column("webhook_id", sa.String(length=255), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=True),
        sa.Column("ingest_id", sa.String(length=128), nullable=True),
        sa.Column("event_id", sa.String(length=64), nullable=True),
        sa.Column("received_at", docket_core.catalog.schema.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("webhook_id", name=op.f("pk_received_pushes")),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("resource_key", sa.String(length=255), nullable=False),
        sa.Column("endpoint_key", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", docket_core.catalog.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_expires_at", docket_core.catalog.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", docket_core.catalog.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", docket_core.catalog.schema.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["endpoint_key"],
            ["notification_endpoints.endpoint_key"],
            name=op.f("fk_notifications_endpoint_key_notification_endpoints"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("event_id", name=op.f("uq_notifications_event_id")),
    )
    op.create_index("ix_notifications_due", "notifications", ["status", "next_attempt_at"], unique=False)
    op.create_index("ix_notifications_order", "notifications", ["endpoint_key", "resource_key", "id"], unique=False)
    op.create_table(
        "notification_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("started_at", docket_core.catalog.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["notifications.event_id"], name=op.f("fk_notification_attempts_event_id_notifications")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_attempts")),
    )
    op.create_index(
        op.f("ix_notification_attempts_event_id"), "notification_attempts", ["event_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_notification_attempts_event_id"), table_name="notification_attempts")
    op.drop_table("notification_attempts")
    op.drop_index("ix_notifications_order", table_name="notifications")
    op.drop_index("ix_notifications_due", table_name="notifications")
    op.drop_table("notifications")
    op.drop_table("received_pushes")
    op.drop_table("notification_endpoints")
