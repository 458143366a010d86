"""The `cleanup_staged_data` flow: sweep the upload spool -> find expired batches -> delete each."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from docket_core.settings import get_settings
from tasks.cleanup import delete_batch, find_expired, sweep_spool
from tasks.resources import resolve_resources

__all__ = ["cleanup_staged_data"]


@flow(name="cleanup_staged_data", log_prints=False)
def cleanup_staged_data(store_block: str | None = None, catalog_block: str | None = None) -> dict[str, Any]:
    """Delete staged batches older than DOCKET_STAGED_DATA_TTL_DAYS (off when unset: data is kept).

    Uploaded shards and videos whose ingest has ended leave the spool either way.

    Args:
        store_block: name of a `DocketStore` block; default from `DOCKET_*` settings.
        catalog_block: name of a `DocketCatalog` block; default from `DOCKET_*` settings.
    """
    logger = get_run_logger()
    settings = get_settings()
    resources = resolve_resources(store_block, catalog_block)
    swept = sweep_spool(resources, settings)
    if settings.staged_data_ttl_days is None:
        logger.info("Staged data is kept until deleted (DOCKET_STAGED_DATA_TTL_DAYS unset); %d spooled uploads removed", swept)
        return {"expiry": None, "deleted": [], "spool_removed": swept}
    deleted = [delete_batch(batch_id, resources) for batch_id in find_expired(resources, settings.staged_data_ttl_days)]
    rows = "\n".join(f"| {d.batch_id} | {d.files} | {d.blobs_removed} | {d.jobs} |" for d in deleted) or "| none | 0 | 0 | 0 |"
    create_markdown_artifact(
        key="cleanup-staged-data",
        markdown=f"# Staged data older than {settings.staged_data_ttl_days} days\n\n| batch | files | objects removed | jobs |\n"
        f"|---|---|---|---|\n{rows}\n\n{swept} spooled uploads removed.",
        description="Expired batches deleted",
    )
    logger.info("Deleted %d expired batches; %d spooled uploads removed", len(deleted), swept)
    return {"expiry": settings.staged_data_ttl_days, "deleted": [d.batch_id for d in deleted], "spool_removed": swept}
