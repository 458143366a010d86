"""rossum: a stable integer id per queue for the Rossum-compatible API, and extensions' hook options

Revision ID: 0007_rossum
Revises: 0007_auth
Create Date: 2026-12-04 18:45:00.000000
"""

from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = "0007_rossum"
down_revision = "0007_auth"
branch_labels = None
depends_on = None

import docket_core.catalog.schema

UTC_TS = docket_core.catalog.schema.UTCDateTime(timezone=True)


def upgrade() -> None:
    numbers = op.create_table(
        "rossum_queue_ids",
        sa.Column("rossum_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("queue_id", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", UTC_TS, nullable=False),
    )
    op.create_table(
        "extension_hook_options",
        sa.Column("extension_name", sa.String(64), sa.ForeignKey("extensions.name", ondelete="CASCADE"), primary_key=True),
        sa.Column("sideload", sa.JSON, nullable=False),
        sa.Column("token_lifetime_s", sa.Integer, nullable=False),
        sa.Column("legacy_signature", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    # Queues that exist already get their numbers now, oldest first.
    existing = op.get_bind().execute(sa.text("SELECT queue_id FROM queues ORDER BY created_at, queue_id")).scalars().all()
    if existing:
        now = datetime.now(timezone.utc)
        op.bulk_insert(numbers, [{"queue_id": q, "created_at": now} for q in existing])


def downgrade() -> None:
    op.drop_table("extension_hook_options")
    op.drop_table("rossum_queue_ids")
