"""score thresholds: the confidence a queue's required fields need for automatic confirmation

Revision ID: 0007_score_thresholds
Revises: 0006
Create Date: 2026-12-04 18:45:00.000000

A field's own threshold lives in the queue's schema (JSON), so only the queue-wide one is a column.
"""

from alembic import op
import sqlalchemy as sa


revision = "0007_score_thresholds"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("queues") as batch:
        batch.add_column(sa.Column("default_score_threshold", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("queues") as batch:
        batch.drop_column("default_score_threshold")
