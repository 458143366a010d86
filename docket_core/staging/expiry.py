"""Expiry of staged data: batches older than DOCKET_STAGED_DATA_TTL_DAYS, deleted with their files.

Off by default (data is kept until deleted). Roboflow keeps staged data 7 days; with the setting, the
`cleanup_staged_data` flow deletes each expired batch: its files' rows and the bytes no other batch
holds, its ingests and shards, and the finished jobs that read it (a job's output batch expires on
its own clock). A batch that a pending or running job reads is left for the next run. The spool of
uploads (`DOCKET_HOME/spool/roboflow`) loses what its ingest has read.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from docket_core.catalog import Catalog, utcnow
from docket_core.catalog.schema import batches, files, ingests, job_chunks, jobs, shards
from docket_core.catalog.schema_roboflow import roboflow_batches, roboflow_uploads
from docket_core.resources import Resources
from docket_core.roboflow.ingests import spool_dir
from docket_core.settings import DocketSettings
from docket_core.store import blob_key

__all__ = ["DeletedBatch", "delete_batch", "expired_batches", "sweep_spool"]

_BUSY = ("pending", "running")


@dataclass(frozen=True)
class DeletedBatch:
    batch_id: str
    files: int
    blobs_removed: int
    jobs: int


def expired_batches(catalog: Catalog, ttl_days: int, *, now: datetime | None = None) -> list[str]:
    """Batches created more than `ttl_days` ago that no pending or running job reads, oldest first."""
    cutoff = (now or utcnow()) - timedelta(days=ttl_days)
    busy = sa.select(jobs.c.batch_id).where(jobs.c.state.in_(_BUSY))
    with catalog.read() as conn:
        return list(conn.execute(sa.select(batches.c.batch_id)
                                 .where(batches.c.created_at < cutoff, batches.c.batch_id.not_in(busy))
                                 .order_by(batches.c.created_at, batches.c.batch_id)).scalars())  # fmt: skip


def delete_batch(resources: Resources, batch_id: str) -> DeletedBatch:
    """Delete a batch, its files (and the bytes no other batch holds), ingests, shards and finished jobs."""
    catalog, store = resources.catalog(), resources.store()
    with catalog.begin() as conn:
        rows = conn.execute(sa.select(files.c.sha256, files.c.store_key).where(files.c.batch_id == batch_id)).all()
        job_ids = list(conn.execute(sa.select(jobs.c.job_id).where(jobs.c.batch_id == batch_id)).scalars())
        conn.execute(sa.delete(job_chunks).where(job_chunks.c.job_id.in_(job_ids)))
        conn.execute(sa.delete(jobs).where(jobs.c.job_id.in_(job_ids)))
        conn.execute(sa.delete(files).where(files.c.batch_id == batch_id))
        ingest_ids = sa.select(ingests.c.ingest_id).where(ingests.c.batch_id == batch_id)
        conn.execute(sa.delete(shards).where(shards.c.ingest_id.in_(ingest_ids)))
        conn.execute(sa.delete(ingests).where(ingests.c.batch_id == batch_id))
        conn.execute(sa.delete(roboflow_batches).where(roboflow_batches.c.batch_id == batch_id))
        conn.execute(sa.delete(batches).where(batches.c.batch_id == batch_id))
        shas = sorted({r.sha256 for r in rows if r.sha256 and not r.store_key})
        still = set()
        for start in range(0, len(shas), 500):
            chunk = shas[start : start + 500]
            still |= set(conn.execute(sa.select(files.c.sha256).where(files.c.sha256.in_(chunk))).scalars())
    removed = 0
    for key in [blob_key(sha) for sha in shas if sha not in still] + [r.store_key for r in rows if r.store_key]:
        if store.exists(key):
            store.delete(key)
            removed += 1
    return DeletedBatch(batch_id, len(rows), removed, len(job_ids))


def sweep_spool(resources: Resources, settings: DocketSettings) -> int:
    """Remove spooled uploads whose ingest has ended (completed or failed); returns how many."""
    spool = spool_dir(settings)
    if not spool.is_dir():
        return 0
    with resources.catalog().read() as conn:
        ended = dict(conn.execute(
            sa.select(roboflow_uploads.c.upload_id, roboflow_uploads.c.ingest_id)
            .join(ingests, ingests.c.ingest_id == roboflow_uploads.c.ingest_id)
            .where(ingests.c.status.in_(("completed", "failed")))).all())  # fmt: skip
    removed = 0
    for entry in spool.iterdir():
        upload_id = entry.name.removeprefix("rf-shard-").removeprefix("rf-video-").removesuffix(".tar")
        if upload_id in ended:
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed += 1
    return removed
