"""Resolving where state lives (blocks or settings) and which task runner batch work uses."""

from __future__ import annotations

from typing import Any, Literal

from prefect.context import FlowRunContext
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner
from prefect.utilities.annotations import BaseAnnotation

from docket_core.errors import InputError

from docket_core.resources import Resources
from docket_core.settings import DocketSettings, get_settings
from docket_core.settings.jobs import usable_cores
from tasks.process_pool import DocketProcessPool

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


def build_task_runner(settings: DocketSettings | None = None, work: Literal["cpu", "io"] = "cpu") -> TaskRunner:
    """The task runner that `DOCKET_TASK_RUNNER` names, for work that is CPU-bound or waits on I/O.

    `processes` (what `auto` means on a machine with more than one core): for CPU-bound work (ingests,
    jobs) a pool of `DOCKET_PROCESS_WORKERS` worker processes (one per core by default), each opening
    the catalog, the store and models once and keeping them for the flow run, for maps of at least
    `DOCKET_PROCESS_MIN_TASKS` shards or chunks (smaller ones run on threads); work that waits on I/O
    (queues, webhooks) gets threads. `threads` (`auto` on one core): a pool of `DOCKET_MAX_WORKERS`
    threads in the flow run's process. `dask`: the Dask scheduler at `DOCKET_DASK_ADDRESS`, or else a
    local cluster the flow run starts and stops, of `DOCKET_DASK_WORKERS` processes with one thread each.
    Tasks get only picklable arguments (ids, `Resources`, settings).
    """
    settings = settings or get_settings()
    runner = settings.batch_runner
    if runner == "threads" or (runner == "processes" and work == "io"):
        return ThreadPoolTaskRunner(max_workers=settings.max_workers)
    if runner == "processes":
        return DocketProcessPool(max_workers=settings.process_workers or usable_cores(), min_tasks=settings.process_min_tasks,
                                 threads=settings.max_workers)  # fmt: skip
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
    """`annotation(value)` (`quote`, `opaque`) on the thread and process runners; `value` itself on Dask.

    The annotations spare Prefect a walk through big arguments (every outcome of a shard, every node of
    a chunk's documents). prefect-dask hands a task a plain 1-tuple for an annotated argument instead
    (prefect-dask issue 43), and resolves futures by walking its arguments anyway, so there the value
    goes as it is. The process runner resolves futures and drops the annotations before it pickles
    the arguments, so they keep sparing the walk there.
    """
    context = FlowRunContext.get()
    annotated = context is None or isinstance(context.task_runner, (ThreadPoolTaskRunner, ProcessPoolTaskRunner))
    return annotation(value) if annotated else value
