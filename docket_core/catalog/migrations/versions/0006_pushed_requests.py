"""pushed requests: the ingest request of each push, kept in the catalog instead of in Prefect

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 22:10:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("received_pushes") as batch:
        batch.add_column(sa.Column("request", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("received_pushes") as batch:
        batch.drop_column("request")
