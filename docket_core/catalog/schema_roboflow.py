"""Catalog tables of the Roboflow-style batch API (`docket_core.server.roboflow`).

What the API needs beyond Docket's own batches and jobs: a batch's display name and how it was
staged (`simple-batch` by single uploads, `sharded-batch` by tar shards and references), a job's
definition as the client sent it (its name, the knobs Docket records without applying, the
restart overrides), and the upload URLs handed out (single use, size capped, expiring).
They live on the catalog's one `metadata`, so `TestMigrations` compares them with 0008_roboflow.
"""

from __future__ import annotations

import sqlalchemy as sa

from docket_core.catalog.schema import UTC_TS, metadata

__all__ = ["roboflow_batches", "roboflow_jobs", "roboflow_uploads"]

roboflow_batches = sa.Table(
    "roboflow_batches",
    metadata,
    sa.Column("batch_id", sa.String(64), primary_key=True),
    sa.Column("workspace", sa.String(128), nullable=False),
    sa.Column("display_name", sa.String(256), nullable=False),
    sa.Column("media_kind", sa.String(16), nullable=False),
    sa.Column("batch_type", sa.String(32), nullable=False),  # simple-batch | sharded-batch
    sa.Column("created_at", UTC_TS, nullable=False),
)

roboflow_jobs = sa.Table(
    "roboflow_jobs",
    metadata,
    sa.Column("job_id", sa.String(64), primary_key=True),
    sa.Column("workspace", sa.String(128), nullable=False),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("definition", sa.JSON, nullable=False),  # the job body as received (notificationsURL removed)
    sa.Column("overrides", sa.JSON, nullable=False),  # restart parameter overrides, in order
    sa.Column("run_id", sa.String(64), nullable=True),  # the flow run last started for it
    sa.Column("created_at", UTC_TS, nullable=False),
    sa.Column("updated_at", UTC_TS, nullable=False),
)

roboflow_uploads = sa.Table(
    "roboflow_uploads",
    metadata,
    sa.Column("upload_id", sa.String(64), primary_key=True),
    sa.Column("batch_id", sa.String(64), nullable=False, index=True),
    sa.Column("workspace", sa.String(128), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # shard | video
    sa.Column("file_name", sa.String(1024), nullable=True),
    sa.Column("max_bytes", sa.BigInteger, nullable=False),
    sa.Column("created_at", UTC_TS, nullable=False),
    sa.Column("expires_at", UTC_TS, nullable=False),
    sa.Column("used_at", UTC_TS, nullable=True),
    sa.Column("size", sa.BigInteger, nullable=True),
    sa.Column("ingest_id", sa.String(128), nullable=True),
)
