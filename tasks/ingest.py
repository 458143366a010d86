"""Ingest stages as Prefect tasks: plan shards, stage and record a shard, summarise."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from docket_core.resources import Resources
from tasks.retry import retry_unless_bad_input
from docket_core.settings import DocketSettings
from docket_core.staging.ingest import ingest_shard as _ingest_shard
from docket_core.staging.models import IngestPlan, IngestRequest, IngestSummary, ShardSummary
from docket_core.staging.plan import begin_ingest
from docket_core.staging.record import finish_ingest, record_shard as _record_shard

__all__ = ["plan_shards", "stage_shard", "summarise_ingest"]


@task(name="plan-shards", cache_policy=NO_CACHE, retry_condition_fn=retry_unless_bad_input, retries=2, retry_delay_seconds=2)
def plan_shards(request: IngestRequest, resources: Resources, settings: DocketSettings) -> IngestPlan:
    """Create the batch and ingest (or find them) and plan the shards once."""
    return begin_ingest(request, resources, settings)


@task(name="stage-shard", cache_policy=NO_CACHE, retry_condition_fn=retry_unless_bad_input, retries=3, retry_delay_seconds=2, task_run_name="stage-{shard_id}")
def stage_shard(shard_id: str, resources: Resources, settings: DocketSettings, allow_private_network: bool = False) -> ShardSummary:
    """Copy or download, validate, hash and store every file of one shard, then commit the shard's
    files and summary in a single catalog transaction.

    One task run per shard, not one to stage and one to record: each task run costs Prefect API calls
    and three state events, which the Prefect server records on the same cores, and the shard's
    outcomes (one per file) never travel through Prefect. A retry stages the shard again: blobs
    already stored are found and not written twice, and a shard recorded already is not recorded again.
    """
    outcomes = _ingest_shard(shard_id, resources, settings, allow_private_network=allow_private_network)
    return _record_shard(resources.catalog(), shard_id, outcomes)


@task(name="summarise-ingest", cache_policy=NO_CACHE, retry_condition_fn=retry_unless_bad_input, retries=2, retry_delay_seconds=2)
def summarise_ingest(ingest_id: str, resources: Resources, flow_run_id: str | None = None) -> IngestSummary:
    """Total the shards and close the ingest when every shard is done."""
    return finish_ingest(resources.catalog(), ingest_id, flow_run_id=flow_run_id)
