"""queue subscriptions: who is notified of a queue's status changes and exports

Revision ID: 0005
Revises: 0003, 0004
Create Date: 2026-11-23 22:10:00.000000
Merges the queues and notifications branches: a subscription belongs to a queue and feeds the outbox.
"""

from alembic import op
import sqlalchemy as sa
import docket_core.catalog.schema


revision = "0005"
down_revision = ("0003", "0004")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "queue_subscriptions",
        sa.Column("queue_id", sa.String(length=64), nullable=False),
        sa.Column("endpoint_key", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("statuses", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=1024), nullable=False),
        sa.Column("created_at", docket_core.catalog.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", docket_core.catalog.schema.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["queue_id"], ["queues.queue_id"], name=op.f("fk_queue_subscriptions_queue_id_queues")),
        sa.PrimaryKeyConstraint("queue_id", "endpoint_key", name=op.f("pk_queue_subscriptions")),
    )


def downgrade() -> None:
    op.drop_table("queue_subscriptions")
