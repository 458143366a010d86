"""Resolving where state lives (blocks or settings) and which task runner batch work uses."""

from __future__ import annotations

from typing import Any

from prefect.context import FlowRunContext
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner
from prefect.utilities.annotations import BaseAnnotation

from docket_core.errors import InputError

from docket_core.resources import Resources
from docket_core.settings import DocketSettings, get_settings

__all__ = ["build_task_runner", "passed_as_is", "resolve_resources"]


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


def build_task_runner(settings: DocketSettings | None = None) -> TaskRunner:
    """The task runner that `DOCKET_TASK_RUNNER` names.

    `threads`: a pool of `DOCKET_MAX_WORKERS` threads in the flow run's process. `dask`: the Dask
    scheduler at `DOCKET_DASK_ADDRESS`, or else a local cluster the flow run starts and stops, of
    `DOCKET_DASK_WORKERS` processes with one thread each (CPU-bound steps hold the GIL, so processes,
    not threads, use the cores). Tasks get only picklable arguments (ids, `Resources`, settings).
    """
    settings = settings or get_settings()
    if settings.task_runner == "threads":
        return ThreadPoolTaskRunner(max_workers=settings.max_workers)
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as exc:
        raise InputError("DOCKET_TASK_RUNNER=dask needs prefect-dask and distributed: pip install 'docket[scale]'") from exc
    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    return DaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={"n_workers": settings.dask_workers, "processes": True, "threads_per_worker": 1,
                        "dashboard_address": None, "host": "127.0.0.1"},  # fmt: skip
    )


def passed_as_is(value: Any, annotation: type[BaseAnnotation[Any]]) -> Any:
    """`annotation(value)` (`quote`, `opaque`) on the thread runner; `value` itself on Dask.

    The annotations spare Prefect a walk through big arguments (every outcome of a shard, every node of
    a chunk's documents). prefect-dask hands a task a plain 1-tuple for an annotated argument instead
    (prefect-dask issue 43), and resolves futures by walking its arguments anyway, so there the value
    goes as it is.
    """
    context = FlowRunContext.get()
    on_threads = context is None or isinstance(context.task_runner, ThreadPoolTaskRunner)
    return annotation(value) if on_threads else value
