"""Processing one chunk of a job: each file through the workflow, results to one Parquet part.

The part is written under a key fixed by the chunk (`jobs/<job>/documents/part-00007.parquet`) and
appears whole or not at all; the chunk is then marked done in the catalog. A crash in between redoes
the chunk and overwrites the part with the same rows, so every file lands exactly once.

A workflow with a chunk step (a model step, `Step.chunk_fn`) runs the chunk level by level instead of
file by file: a chunk step is called once with every file still standing, a per-file step over each
of them; a file that fails a step drops out of later steps and alone. Model steps' predictions go to
a third part (`jobs/<job>/predictions/part-00007.parquet`) and annotated images beside it.

A chunk is processed under its lease (`docket_core.jobs.leases`): two workers, or two runs of one job,
never work on the same chunk at once, and a dead worker's chunk is taken over.
"""

from __future__ import annotations

import functools
import logging
import threading
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from docket_core import deadline
from docket_core.catalog import utcnow
from docket_core.catalog.schema import files, job_chunks, jobs
from docket_core.errors import DocketError, FileErrorType
from docket_core.jobs import leases
from docket_core.jobs.models import ChunkSummary
from docket_core.outputs import FileResult, PartWriter
from docket_core.predictions import PredictionWriter, image_key, predictions_key
from docket_core.progress import advance
from docket_core.redact import strip_local_paths
from docket_core.resources import Resources
from docket_core.settings import DocketSettings
from docket_core.store import local_blob
from docket_core.workflows.model import FileContext, Message, StepOutput
from docket_core.workflows.model import Step
from docket_core.workflows.registry import Workflow

__all__ = ["ChunkFile", "part_keys", "process_chunk", "process_next_chunk", "run_chunk", "run_file"]

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
                out = _call(step.fn, FileContext(name=name, media_type=media_type or "", path=path, datapoints=seen))
                if not _apply(result, step, out):
                    return result
    return result


ChunkFile = tuple[str, Path, str | None, str | None]
"""A file of a chunk: name, local path, media type, sha256."""


def run_chunk(
    workflow: Workflow, chunk: Sequence[ChunkFile], mapper: Callable[..., Iterator[StepOutput | Exception]] = map,
    *, time_budget: float | None = None,
) -> list[FileResult]:  # fmt: skip
    """Run `workflow` over a chunk's files level by level: a chunk step once over every file still
    standing, a per-file step over each (through `mapper`). A file failing a step fails alone.

    `time_budget` bounds each per-file step call (a chunk step's batch is bounded by its own work).

    Raises:
        DocketError: A chunk step cannot run at all (its model cannot be loaded): no file is processed.
    """
    results = [FileResult(file_name=n, media_type=m, sha256=h, status="succeeded") for n, _, m, h in chunk]
    for level in _planned(workflow):
        alive = [i for i, r in enumerate(results) if r.status == "succeeded"]
        seen = {i: dict(results[i].datapoints) for i in alive}
        for step in level:
            alive = [i for i in alive if results[i].status == "succeeded"]
            ctxs = [FileContext(name=chunk[i][0], media_type=chunk[i][2] or "", path=chunk[i][1], datapoints=seen[i]) for i in alive]
            if step.chunk_fn is not None:
                outcomes = step.chunk_fn(ctxs)
                if len(outcomes) != len(ctxs):
                    raise DocketError(f"chunk step {step.name!r} returned {len(outcomes)} outcomes for {len(ctxs)} files")
            else:
                outcomes = list(mapper(functools.partial(_budgeted, step.fn, time_budget), ctxs))
            for i, out in zip(alive, outcomes):
                _apply(results[i], step, out)
    return results


def _call(fn: Callable[[FileContext], StepOutput], ctx: FileContext) -> StepOutput | Exception:
    """The step's output, or the exception it raised (recorded as this file's failure by `_apply`)."""
    try:
        out = fn(ctx)
        deadline.check_deadline()  # a step may have swallowed the timeout, or have no loop that checks
        return out
    except Exception as exc:  # noqa: BLE001 - a bug in one step must not stop the batch; it is recorded
        if not isinstance(exc, deadline.ProcessingTimeout):
            try:
                deadline.check_deadline()  # a step's own error may stand for the spent budget
            except deadline.ProcessingTimeout as timeout:
                return timeout
        return exc


def _budgeted(fn: Callable[[FileContext], StepOutput], seconds: float | None, ctx: FileContext) -> StepOutput | Exception:
    with deadline.time_budget(seconds, f"file {ctx.name!r}"):
        return _call(fn, ctx)


def _apply(result: FileResult, step: Step, out: StepOutput | Exception) -> bool:
    """Record a step's outcome for one file; False when it failed the file."""
    if isinstance(out, deadline.ProcessingTimeout):
        _failed(result, FileErrorType.PROCESSING_TIMEOUT, f"step {step.name!r}: {out}")
        return False
    if isinstance(out, DocketError):
        _failed(result, FileErrorType.INVALID_FILE_CONTENT, f"step {step.name!r}: {out}")
        return False
    if isinstance(out, Exception):
        _failed(result, FileErrorType.PROCESSING_ERROR, f"step {step.name!r} raised {type(out).__name__}: {out}")
        return False
    for schema_id, value in out.datapoints.items():
        result.datapoints[schema_id] = value
        result.sources[schema_id] = step.name
        evidence = out.evidence.get(schema_id)
        if evidence is not None:
            result.evidence[schema_id] = evidence
        else:  # a later step's value: where an earlier one read its own value no longer applies
            result.evidence.pop(schema_id, None)
    result.messages.extend(m if m.source else Message(m.type, m.content, m.schema_id, step.name) for m in out.messages)
    if out.predictions or step.predicts:
        result.predictions[step.name] = list(out.predictions)
    for suffix, data in out.images.items():
        result.images[(step.name, suffix)] = data
    return True


def _missing(name: str, batch_id: str) -> FileResult:
    return FileResult(name, None, None, "failed", error_type=FileErrorType.PROCESSING_ERROR,
                      error_reason=f"file {name!r} is no longer in batch {batch_id!r}")  # fmt: skip


def _failed(result: FileResult, error_type: str, reason: str) -> FileResult:
    # A step's error often quotes the local copy it read (FFmpeg, Pillow): never a path in a reason.
    result.status, result.error_type, result.error_reason = "failed", str(error_type), strip_local_paths(reason)[:2000]
    result.datapoints, result.sources, result.evidence, result.predictions, result.images = {}, {}, {}, {}, {}
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
                return _missing(name, job.batch_id)
            with local_blob(store, row.sha256) as path:
                return run_file(workflow, path, name, row.media_type, row.sha256, time_budget=settings.file_time_budget)
        finally:
            advance(job.job_id)

    def whole_chunk(mapped: Callable[..., Iterator[Any]]) -> Iterator[FileResult]:
        names = [n for n in chunk.names if n in rows and rows[n].sha256 is not None]
        with ExitStack() as blobs:  # every file of the chunk at hand at once (copied by the file threads from a remote store)
            paths = list(mapped(lambda n: blobs.enter_context(local_blob(store, rows[n].sha256)), names))
            present = [(n, path, rows[n].media_type, rows[n].sha256) for n, path in zip(names, paths)]
            done = {r.file_name: r for r in run_chunk(workflow, present, mapped, time_budget=settings.file_time_budget)}
        for name in chunk.names:
            advance(job.job_id)
            yield done.get(name) or _missing(name, job.batch_id)

    docs_key, points_key = part_keys(job.job_id, chunk.seq)
    errors: Counter[str] = Counter()
    succeeded = failed = 0
    with _mapper(settings.file_workers) as mapped:
        with ExitStack() as parts:
            writer = parts.enter_context(
                PartWriter.open(store, docs_key, points_key, fields=workflow.fields, batch_id=job.batch_id, job_id=job.job_id)
            )
            predictions = parts.enter_context(
                PredictionWriter.open(store, predictions_key(job.job_id, chunk.seq), batch_id=job.batch_id, job_id=job.job_id)
                if workflow.predicts else nullcontext()
            )
            for result in whole_chunk(mapped) if workflow.chunked else mapped(one, chunk.names):
                heartbeat.check()
                writer.add(result)
                if predictions is not None:
                    for step_name, found in result.predictions.items():
                        predictions.add(result.file_name, step_name, found)
                for (step_name, suffix), data in result.images.items():
                    store.put_bytes(image_key(job.job_id, step_name, result.file_name, suffix), data)
                if result.status == "succeeded":
                    succeeded += 1
                else:
                    failed += 1
                    errors[result.error_type or "unknown"] += 1
            # The fence: the parts are written (on leaving this block) only by a holder whose lease has
            # just been extended by a whole period; a holder that lost it raises and writes nothing.
            heartbeat.check()
            if not leases.renew(catalog, lease):
                raise leases.LeaseLostError(f"chunk {chunk_id} was taken over by another worker before its part was written")

    with catalog.begin() as conn:  # done, and counted, once: only by the lease holder
        if not leases.complete(conn, lease, succeeded=succeeded, failed=failed, errors=dict(errors),
                               docs_key=docs_key, points_key=points_key, finished_at=utcnow()):  # fmt: skip
            return ChunkSummary(chunk_id=chunk_id, status="lost")
    return ChunkSummary(chunk_id=chunk_id, status="done", succeeded=succeeded, failed=failed)
