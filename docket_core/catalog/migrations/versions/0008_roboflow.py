"""roboflow: display names and types of API batches, job definitions and overrides, upload URLs

Revision ID: 0008_roboflow
Revises: 0007_auth
Create Date: 2026-12-04 18:45:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = "0008_roboflow"
down_revision = "0007_auth"
branch_labels = None
depends_on = None

import docket_core.catalog.schema

UTC_TS = docket_core.catalog.schema.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "roboflow_batches",
        sa.Column("batch_id", sa.String(64), primary_key=True),
        sa.Column("workspace", sa.String(128), nullable=False),
        sa.Column("display_name", sa.String(256), nullable=False),
        sa.Column("media_kind", sa.String(16), nullable=False),
        sa.Column("batch_type", sa.String(32), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
    )
    op.create_table(
        "roboflow_jobs",
        sa.Column("job_id", sa.String(64), primary_key=True),
        sa.Column("workspace", sa.String(128), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("overrides", sa.JSON, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
    )
    op.create_table(
        "roboflow_uploads",
        sa.Column("upload_id", sa.String(64), primary_key=True),
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("workspace", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("file_name", sa.String(1024), nullable=True),
        sa.Column("max_bytes", sa.BigInteger, nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("expires_at", UTC_TS, nullable=False),
        sa.Column("used_at", UTC_TS, nullable=True),
        sa.Column("size", sa.BigInteger, nullable=True),
        sa.Column("ingest_id", sa.String(128), nullable=True),
    )
    op.create_index("ix_roboflow_uploads_batch_id", "roboflow_uploads", ["batch_id"])


def downgrade() -> None:
    op.drop_index("ix_roboflow_uploads_batch_id", table_name="roboflow_uploads")
    op.drop_table("roboflow_uploads")
    op.drop_table("roboflow_jobs")
    op.drop_table("roboflow_batches")
