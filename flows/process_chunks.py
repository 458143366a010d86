"""The `process_chunks` flow: more hands on one running job, wherever a Prefect worker runs it.

A job started with a fan-out of K (`DOCKET_JOB_FANOUT`, or `process_batch(..., fanout=K)`) starts K
runs of this flow's deployment and runs the same loop itself: lease the job's next free chunk,
process it, repeat; when no chunk is free, wait for those other workers hold until every chunk is
done. A chunk is leased to one worker at a time, and a dead worker's chunk is taken over once its
lease ends (`docket_core.jobs.leases`), so the job completes with every chunk processed and counted
once. The job's own run then exports the output; these runs only process.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from prefect import flow, get_run_logger
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.futures import PrefectFuture, as_completed
from prefect.runtime import flow_run

from docket_core.jobs.leases import outstanding
from docket_core.jobs.models import ChunkSummary
from docket_core.resources import Resources
from docket_core.settings import DocketSettings, get_settings
from tasks.jobs import check_failure_budget, process_next_chunk
from tasks.resources import build_task_runner, resolve_resources

__all__ = ["drain_job", "process_chunks", "start_helpers"]


@flow(name="process_chunks", task_runner=build_task_runner(), log_prints=False)
def process_chunks(
    job_id: str, workflow_id: str, store_block: str | None = None, catalog_block: str | None = None
) -> dict[str, int]:
    """Process a running job's chunks, one lease at a time, until none is left to do.

    Started by `process_batch` on other workers to spread a job; safe to start by hand as well (a
    chunk is never processed by two runs at once, and a finished job has nothing left to lease).

    Args:
        job_id: the running job.
        workflow_id: its workflow (`docket workflows list`).
        store_block: name of a `DocketStore` block; default from `DOCKET_*` settings.
        catalog_block: name of a `DocketCatalog` block; default from `DOCKET_*` settings.

    Returns:
        Chunks and files this run processed (`chunks`, `succeeded`, `failed`, and `lost` for chunks
        another worker took over).
    """
    return drain_job(job_id, workflow_id, resolve_resources(store_block, catalog_block), get_settings())


def drain_job(
    job_id: str,
    workflow_id: str,
    resources: Resources,
    settings: DocketSettings,
    on_chunk: Callable[[ChunkSummary], None] | None = None,
) -> dict[str, int]:
    """Keep `max_workers` chunk leases at work until the job has no chunk left to process or wait for."""
    logger = get_run_logger()
    poll = min(2.0, settings.lease_seconds / 4)
    counts: Counter[str] = Counter()

    def lease_one() -> PrefectFuture[ChunkSummary | None]:
        return process_next_chunk.submit(job_id, workflow_id, resources, settings)

    running = [lease_one() for _ in range(settings.max_workers)]
    while True:
        while running:
            future = next(as_completed(running))
            running.remove(future)
            summary = future.result()
            if summary is None:  # no free chunk now; this slot rests
                continue
            counts["chunks" if summary.status == "done" else summary.status] += 1
            counts["succeeded"] += summary.succeeded
            counts["failed"] += summary.failed
            if on_chunk is not None:
                on_chunk(summary)
            if summary.status == "done" and check_failure_budget(job_id, resources):
                logger.warning("Job %s exceeded its failure budget; chunks not started are skipped", job_id)
            running.append(lease_one())
        left = outstanding(resources.catalog(), job_id)
        if left.settled:
            break
        time.sleep(poll)  # other workers hold the rest: wait for them to finish, or for a lease to end
        running.append(lease_one())
    logger.info("Job %s: this run processed %d chunks (%d files succeeded, %d failed)",
                job_id, counts["chunks"], counts["succeeded"], counts["failed"])  # fmt: skip
    return {"chunks": counts["chunks"], "succeeded": counts["succeeded"], "failed": counts["failed"], "lost": counts["lost"]}


def start_helpers(
    job_id: str, workflow_id: str, count: int, settings: DocketSettings,
    store_block: str | None = None, catalog_block: str | None = None,
) -> list[str]:  # fmt: skip
    """Start `count` runs of the `process-chunks` deployment for the job (any worker of its pool takes
    them); the ids of the runs, none when that deployment does not exist."""
    logger = get_run_logger()
    parameters: dict[str, Any] = {"job_id": job_id, "workflow_id": workflow_id, "store_block": store_block,
                                  "catalog_block": catalog_block}  # fmt: skip
    started = []
    for n in range(count):
        try:
            run = run_deployment(
                settings.chunks_deployment, parameters=parameters, timeout=0, tags=["docket", "jobs"],
                flow_run_name=f"{job_id}-chunks-{n + 1}",
                # a retry of this flow run finds the runs it started instead of starting more
                idempotency_key=f"{flow_run.id}-{job_id}-chunks-{n + 1}" if flow_run.id else None,
            )  # fmt: skip
        except ObjectNotFound:
            logger.warning("Deployment %r not found (`prefect deploy --all` creates it): job %s runs in this flow "
                           "run alone", settings.chunks_deployment, job_id)  # fmt: skip
            break
        started.append(str(run.id))
    if started:
        logger.info("Job %s: started %d runs of %s to share its chunks", job_id, len(started), settings.chunks_deployment)
    return started
