"""Expiry of staged data as Prefect tasks: find expired batches, delete one, sweep the upload spool."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from docket_core.resources import Resources
from docket_core.settings import DocketSettings
from docket_core.staging.expiry import DeletedBatch, delete_batch as _delete_batch, expired_batches, sweep_spool as _sweep_spool

__all__ = ["delete_batch", "find_expired", "sweep_spool"]


@task(name="find-expired-batches", cache_policy=NO_CACHE)
def find_expired(resources: Resources, ttl_days: int) -> list[str]:
    """Batches older than `ttl_days` that no unfinished job reads."""
    return expired_batches(resources.catalog(), ttl_days)


@task(name="delete-batch", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5, task_run_name="delete-{batch_id}")
def delete_batch(batch_id: str, resources: Resources) -> DeletedBatch:
    """One batch with its files, bytes no other batch holds, ingests, shards and finished jobs."""
    return _delete_batch(resources, batch_id)


@task(name="sweep-upload-spool", cache_policy=NO_CACHE)
def sweep_spool(resources: Resources, settings: DocketSettings) -> int:
    """Spooled uploads whose ingest has ended."""
    return _sweep_spool(resources, settings)
