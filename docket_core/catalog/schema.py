"""The catalog's tables, as SQLAlchemy Core metadata. Alembic migrations must match it (a test checks)."""

from __future__ import annotations

from datetime import timezone

import sqlalchemy as sa

__all__ = ["UTCDateTime", "metadata", "batches", "ingests", "shards", "files", "jobs", "job_chunks"]

# Named constraints, so migrations are identical on SQLite and PostgreSQL.
metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)



class UTCDateTime(sa.TypeDecorator):
    """Timestamps stored as UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # noqa: ANN001, ANN201 - SQLAlchemy's signature
        if value is not None and value.tzinfo is None:
            raise ValueError(f"catalog timestamps must be timezone-aware, got naive {value!r}")
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value, dialect):  # noqa: ANN001, ANN201
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


UTC_TS = UTCDateTime()

batches = sa.Table(
    "batches",
    metadata,
    sa.Column("batch_id", sa.String(64), primary_key=True),
    sa.Column("media_kind", sa.String(16), nullable=False),
    sa.Column("created_at", UTC_TS, nullable=False),
    sa.Column("source_job_id", sa.String(64), nullable=True),
)

ingests = sa.Table(
    "ingests",
    metadata,
    sa.Column("ingest_id", sa.String(128), primary_key=True),
    sa.Column("batch_id", sa.String(64), sa.ForeignKey("batches.batch_id"), nullable=False, index=True),
    sa.Column("source_kind", sa.String(16), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("planned_shards", sa.Integer, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("notifications_url", sa.Text, nullable=True),
    sa.Column("notification_category", sa.String(32), nullable=True),
    sa.Column("workflow_id", sa.String(64), nullable=True),
    sa.Column("flow_run_id", sa.String(64), nullable=True),
    sa.Column("created_at", UTC_TS, nullable=False),
    sa.Column("finished_at", UTC_TS, nullable=True),
)

shards = sa.Table(
    "shards",
    metadata,
    sa.Column("shard_id", sa.String(160), primary_key=True),
    sa.Column("ingest_id", sa.String(128), sa.ForeignKey("ingests.ingest_id"), nullable=False),
    sa.Column("batch_id", sa.String(64), nullable=False, index=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("item_count", sa.Integer, nullable=False),
    sa.Column("ingested_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("failed_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("duplicate_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("failed_files", sa.JSON, nullable=True),
    sa.Column("finished_at", UTC_TS, nullable=True),
    sa.UniqueConstraint("ingest_id", "seq", name="uq_shards_ingest_seq"),
)

files = sa.Table(
    "files",
    metadata,
    sa.Column("batch_id", sa.String(64), sa.ForeignKey("batches.batch_id"), primary_key=True),
    sa.Column("name", sa.String(1024), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("error_type", sa.String(64), nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("sha256", sa.String(64), nullable=True),
    sa.Column("size", sa.BigInteger, nullable=True),
    sa.Column("media_type", sa.String(128), nullable=True),
    sa.Column("ingest_id", sa.String(128), nullable=False),
    sa.Column("shard_id", sa.String(160), nullable=False),
    sa.Column("created_at", UTC_TS, nullable=False),
    sa.Column("updated_at", UTC_TS, nullable=False),
    # Where the bytes are when they are not content-addressed (job outputs: Parquet parts).
    sa.Column("store_key", sa.String(1024), nullable=True),
)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("job_id", sa.String(64), primary_key=True),
    sa.Column("batch_id", sa.String(64), sa.ForeignKey("batches.batch_id"), nullable=False, index=True),
    sa.Column("workflow_id", sa.String(64), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("stage", sa.String(16), nullable=False),
    sa.Column("output_batch_id", sa.String(64), nullable=False),
    sa.Column("max_failure_rate", sa.Float, nullable=True),
    sa.Column("notifications_url", sa.Text, nullable=True),
    sa.Column("flow_run_id", sa.String(64), nullable=True),
    sa.Column("files_total", sa.Integer, nullable=False, server_default="0"),
    sa.Column("abort_requested", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", UTC_TS, nullable=False),
    sa.Column("started_at", UTC_TS, nullable=True),
    sa.Column("finished_at", UTC_TS, nullable=True),
)

job_chunks = sa.Table(
    "job_chunks",
    metadata,
    sa.Column("chunk_id", sa.String(96), primary_key=True),
    sa.Column("job_id", sa.String(64), sa.ForeignKey("jobs.job_id"), nullable=False, index=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("names", sa.JSON, nullable=False),
    sa.Column("file_count", sa.Integer, nullable=False),
    sa.Column("succeeded", sa.Integer, nullable=False, server_default="0"),
    sa.Column("failed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("errors", sa.JSON, nullable=True),
    sa.Column("docs_key", sa.String(512), nullable=True),
    sa.Column("points_key", sa.String(512), nullable=True),
    sa.Column("lease_owner", sa.String(128), nullable=True),
    sa.Column("lease_expires_at", UTC_TS, nullable=True),
    sa.Column("finished_at", UTC_TS, nullable=True),
    sa.UniqueConstraint("job_id", "seq", name="uq_job_chunks_job_seq"),
)
