"""Resolving where state lives (blocks or settings) and which task runner batch work uses."""

from __future__ import annotations

from prefect.task_runners import ThreadPoolTaskRunner

from docket_core.resources import Resources
from docket_core.settings import DocketSettings, get_settings

__all__ = ["build_task_runner", "resolve_resources"]


def resolve_resources(store_block: str | None = None, catalog_block: str | None = None) -> Resources:
    """Blocks by name when given (for deployments on shared infrastructure), else `DOCKET_*` settings."""
    resources = Resources.from_settings()
    if store_block:
        from blocks import DocketStore

        block = DocketStore.load(store_block)
        resources = resources.model_copy(update={"store_url": block.url, "storage_options": block.options()})
    if catalog_block:
        from blocks import DocketCatalog

        resources = resources.model_copy(update={"catalog_url": DocketCatalog.load(catalog_block).url})
    return resources


def build_task_runner(settings: DocketSettings | None = None) -> ThreadPoolTaskRunner:
    """The task runner that `DOCKET_TASK_RUNNER` names, sized by `DOCKET_MAX_WORKERS`."""
    settings = settings or get_settings()
    return ThreadPoolTaskRunner(max_workers=settings.max_workers)
