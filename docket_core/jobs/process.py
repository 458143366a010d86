"""Processing one chunk of a job: each file through the workflow, results to one Parquet part.

The part is written under a key fixed by the chunk (`jobs/<job>/documents/part-00007.parquet`) and
appears whole or not at all; the chunk is then marked done in the catalog. A crash in between redoes
the chunk and overwrites the part with the same rows, so every file lands exactly once.

A chunk is processed under its lease (`docket_core.jobs.leases`): two workers, or two runs of one job,
never work on the same chunk at once, and a dead worker's chunk is taken over.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from docket_core import deadline
from docket_core.catalog import utcnow
from docket_core.catalog.schema import files, job_chunks, jobs
from docket_core.errors import DocketError, FileErrorType
from docket_core.jobs import leases
from docket_core.jobs.models import ChunkSummary
from docket_core.outputs import FileResult, PartWriter
from docket_core.progress import advance
from docket_core.redact import strip_local_paths
from docket_core.resources import Resources
from docket_core.settings import DocketSettings
from docket_core.store import local_blob
from docket_core.workflows.model import FileContext, Message
from docket_core.workflows.registry import Step, Workflow

__all__ = ["part_keys", "process_chunk", "process_next_chunk", "run_file"]

log = logging.getLogger(__name__)


def part_keys(job_id: str, seq: int) -> tuple[str, str]:
    return (f"jobs/{job_id}/documents/part-{seq:05d}.parquet", f"jobs/{job_id}/datapoints/part-{seq:05d}.parquet")


# Planning a workflow validates its DAG, about as costly as a small step; a workflow is frozen, so its
# levels are planned once per workflow object (keyed by id, dropped when the workflow is collected).
_levels: dict[int, tuple[weakref.ref[Workflow], list[list[Step]]]] = {}
_levels_lock = threading.Lock()


def _planned(workflow: Workflow) -> list[list[Step]]:
    key = id(workflow)
    hit = _levels.get(key)
    if hit is not None and hit[0]() is workflow:
        return hit[1]
    levels = workflow.levels()
    with _levels_lock:
        _levels[key] = (weakref.ref(workflow, lambda _, key=key: _levels.pop(key, None)), levels)
    return levels


def run_file(
    workflow: Workflow, path: Path, name: str, media_type: str | None, sha256: str | None, *, time_budget: float | None = None
) -> FileResult:
    """Run every step of `workflow` over one file, level by level; a step's error fails only this file.

    With `time_budget` (seconds, `DOCKET_FILE_TIME_BUDGET`), the file fails with `processing-timeout`
    once its steps have run that long: the steps' loops check the deadline (`docket_core.deadline`,
    which says why it is cooperative), and it is checked again after every step.
    """
    result = FileResult(file_name=name, media_type=media_type, sha256=sha256, status="succeeded")
    with deadline.time_budget(time_budget, f"file {name!r}"):
        for level in _planned(workflow):
            seen = dict(result.datapoints)  # a level sees what earlier levels produced, never its peers
            for step in level:
                failed = _run_step(step, result, FileContext(name=name, media_type=media_type or "", path=path, datapoints=seen))
                if failed is not None:
                    return failed
    return result


def _run_step(step: Step, result: FileResult, ctx: FileContext) -> FileResult | None:
    """Run one step into `result`; the failed result when it fails (or ran out of time), else None."""
    try:
        out = step.fn(ctx)
        deadline.check_deadline()  # a step may have swallowed the timeout, or have no loop that checks
    except deadline.ProcessingTimeout as exc:
        return _failed(result, FileErrorType.PROCESSING_TIMEOUT, f"step {step.name!r}: {exc}")
    except DocketError as exc:
        return _timed_out(step, result) or _failed(result, FileErrorType.INVALID_FILE_CONTENT, f"step {step.name!r}: {exc}")
    except Exception as exc:  # noqa: BLE001 - a bug in one step must not stop the batch; it is recorded
        return _timed_out(step, result) or _failed(
            result, FileErrorType.PROCESSING_ERROR, f"step {step.name!r} raised {type(exc).__name__}: {exc}"
        )
    for schema_id, value in out.datapoints.items():
        result.datapoints[schema_id] = value
        result.sources[schema_id] = step.name
    result.messages.extend(m if m.source else Message(m.type, m.content, m.schema_id, step.name) for m in out.messages)
    return None


def _timed_out(step: Step, result: FileResult) -> FileResult | None:
    """The timed-out result when the budget is spent (a step's own error may stand for the timeout)."""
    try:
        deadline.check_deadline()
    except deadline.ProcessingTimeout as exc:
        return _failed(result, FileErrorType.PROCESSING_TIMEOUT, f"step {step.name!r}: {exc}")
    return None


def _failed(result: FileResult, error_type: str, reason: str) -> FileResult:
    # A step's error often quotes the local copy it read (FFmpeg, Pillow): never a path in a reason.
    result.status, result.error_type, result.error_reason = "failed", str(error_type), strip_local_paths(reason)[:2000]
    result.datapoints, result.sources = {}, {}
    return result


@contextmanager
def _mapper(workers: int) -> Iterator[Callable[[Callable[[str], FileResult], Iterable[str]], Iterator[FileResult]]]:
    """`map` over files with `workers` threads, in order; one worker maps in the calling thread, saving
    a hand-off between threads per file (steps that hold the GIL gain nothing from a second thread)."""
    if workers == 1:
        yield map
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="docket-job") as pool:
        yield pool.map


def process_chunk(chunk_id: str, workflow: Workflow, resources: Resources, settings: DocketSettings) -> ChunkSummary:
    """Process a chunk unless it is done already or the job was asked to stop.

    A duplicate call (a second run of the job, a task Dask ran twice) waits while another live worker
    holds the chunk and returns the chunk as that worker finished it; a dead holder's chunk is taken over.
    """
    catalog = resources.catalog()
    while True:
        with catalog.read() as conn:
            chunk = conn.execute(sa.select(job_chunks).where(job_chunks.c.chunk_id == chunk_id)).one()
            abort = conn.execute(sa.select(jobs.c.abort_requested).where(jobs.c.job_id == chunk.job_id)).scalar_one()
        if chunk.status == "done":
            return ChunkSummary(chunk_id=chunk_id, status="done", succeeded=chunk.succeeded, failed=chunk.failed)
        if abort:
            return ChunkSummary(chunk_id=chunk_id, status="skipped")
        lease = leases.acquire(catalog, chunk_id, settings.lease_seconds)
        if lease is not None:
            summary = _process_leased(lease, workflow, resources, settings)
            if summary.status != "lost":
                return summary
        # done by another worker meanwhile, or overtaken: read how the chunk stands now


def process_next_chunk(job_id: str, workflow: Workflow, resources: Resources, settings: DocketSettings) -> ChunkSummary | None:
    """Lease the job's next free chunk and process it; None when no chunk is free now.

    The summary's status is `done`, `skipped` (the job is stopping) or `lost` (this worker stalled past
    its lease and another took the chunk over; that one finishes it).
    """
    lease = leases.claim_next(resources.catalog(), job_id, settings.lease_seconds)
    return None if lease is None else _process_leased(lease, workflow, resources, settings)


def _process_leased(lease: leases.Lease, workflow: Workflow, resources: Resources, settings: DocketSettings) -> ChunkSummary:
    catalog = resources.catalog()
    try:
        with leases.Heartbeat(catalog, lease) as heartbeat:
            return _process(lease, heartbeat, workflow, resources, settings)
    except leases.LeaseLostError as exc:
        log.warning("%s", exc)
        return ChunkSummary(chunk_id=lease.chunk_id, status="lost")
    except BaseException:
        try:
            leases.release(catalog, lease)  # let a retry, or another worker, take the chunk at once
        except sa.exc.SQLAlchemyError as exc:  # the lease then ends on its own after lease_seconds
            log.warning("could not release the lease of chunk %s: %s", lease.chunk_id, exc)
        raise


def _process(lease: leases.Lease, heartbeat: leases.Heartbeat, workflow: Workflow, resources: Resources, settings: DocketSettings) -> ChunkSummary:
    catalog, store, chunk_id = resources.catalog(), resources.store(), lease.chunk_id
    with catalog.read() as conn:
        chunk = conn.execute(sa.select(job_chunks).where(job_chunks.c.chunk_id == chunk_id)).one()
        job = conn.execute(sa.select(jobs).where(jobs.c.job_id == chunk.job_id)).one()
        rows = {
            r.name: r
            for r in conn.execute(
                sa.select(files.c.name, files.c.sha256, files.c.media_type).where(
                    files.c.batch_id == job.batch_id, files.c.name.in_(chunk.names)
                )
            )
        }
    if job.abort_requested:
        leases.release(catalog, lease)
        return ChunkSummary(chunk_id=chunk_id, status="skipped")

    def one(name: str) -> FileResult:
        try:
            row = rows.get(name)
            if row is None or row.sha256 is None:
                return FileResult(name, None, None, "failed", error_type=FileErrorType.PROCESSING_ERROR,
                                  error_reason=f"file {name!r} is no longer in batch {job.batch_id!r}")  # fmt: skip
            with local_blob(store, row.sha256) as path:
                return run_file(workflow, path, name, row.media_type, row.sha256, time_budget=settings.file_time_budget)
        finally:
            advance(job.job_id)

    docs_key, points_key = part_keys(job.job_id, chunk.seq)
    errors: Counter[str] = Counter()
    succeeded = failed = 0
    with _mapper(settings.file_workers) as mapped:
        with PartWriter.open(store, docs_key, points_key, fields=workflow.fields, batch_id=job.batch_id, job_id=job.job_id) as writer:
            for result in mapped(one, chunk.names):
                heartbeat.check()
                writer.add(result)
                if result.status == "succeeded":
                    succeeded += 1
                else:
                    failed += 1
                    errors[result.error_type or "unknown"] += 1
            # The fence: the part is written (on leaving this block) only by a holder whose lease has
            # just been extended by a whole period; a holder that lost it raises and writes nothing.
            heartbeat.check()
            if not leases.renew(catalog, lease):
                raise leases.LeaseLostError(f"chunk {chunk_id} was taken over by another worker before its part was written")

    with catalog.begin() as conn:  # done, and counted, once: only by the lease holder
        if not leases.complete(conn, lease, succeeded=succeeded, failed=failed, errors=dict(errors),
                               docs_key=docs_key, points_key=points_key, finished_at=utcnow()):  # fmt: skip
            return ChunkSummary(chunk_id=chunk_id, status="lost")
    return ChunkSummary(chunk_id=chunk_id, status="done", succeeded=succeeded, failed=failed)
