"""review locks: who holds a document open in the review page, until when

Revision ID: 0007_review_locks
Revises: 0006
Create Date: 2026-12-04 18:50:00.000000
"""

from alembic import op
import sqlalchemy as sa

import docket_core.catalog.schema


revision = "0007_review_locks"
down_revision = "0006"
branch_labels = None
depends_on = None

UTC_TS = docket_core.catalog.schema.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "review_locks",
        sa.Column("document_id", sa.Integer, sa.ForeignKey("documents.document_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("holder", sa.String(150), nullable=False),
        sa.Column("acquired_at", UTC_TS, nullable=False),
        sa.Column("expires_at", UTC_TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("review_locks")
