"""Ending a job: batch steps, the output batch, and the final state; and stopping one early."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator, Mapping
from itertools import islice
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from docket_core.catalog import Catalog, utcnow
from docket_core.catalog.schema import files, job_chunks, jobs
from docket_core.errors import NotFoundError
from docket_core.notifications.subscriptions import notify_job_finished
from docket_core.outputs import DATAPOINTS, FileResult, datapoint_rows
from docket_core.predictions import predictions_key
from docket_core.resources import Resources
from docket_core.workflows.registry import Workflow

__all__ = ["failure_budget_exceeded", "finish_job", "request_abort"]

PARQUET = "application/vnd.apache.parquet"
_BATCH_ROWS = 16_384  # datapoint rows of a batch step built and written at a time


def _totals(conn: sa.Connection, job_id: str) -> tuple[int, int, int, int, Counter[str]]:
    rows = conn.execute(sa.select(job_chunks).where(job_chunks.c.job_id == job_id)).all()
    errors: Counter[str] = Counter()
    for r in rows:
        errors.update(r.errors or {})
    done = sum(1 for r in rows if r.status == "done")
    return len(rows), done, sum(r.succeeded for r in rows), sum(r.failed for r in rows), errors


def failure_budget_exceeded(catalog: Catalog, job_id: str) -> str | None:
    """The reason to stop, once more than `max_failure_rate` of the job's files failed."""
    with catalog.read() as conn:
        job = conn.execute(sa.select(jobs).where(jobs.c.job_id == job_id)).one()
        if job.max_failure_rate is None or not job.files_total:
            return None
        _, _, _, failed, _ = _totals(conn, job_id)
    if failed / job.files_total > job.max_failure_rate:
        return (
            f"{failed} of {job.files_total} files failed ({failed / job.files_total:.0%}), more than the "
            f"allowed {job.max_failure_rate:.0%} (--max-failure-rate)"
        )
    return None


def request_abort(catalog: Catalog, job_id: str, reason: str | None = None) -> str:
    """Ask a job to stop: chunks not yet started are skipped; a pending job ends `aborted` at once."""
    with catalog.begin() as conn:
        job = conn.execute(sa.select(jobs).where(jobs.c.job_id == job_id)).first()
        if job is None:
            raise NotFoundError(f"no job {job_id!r}; `docket jobs list` shows the jobs there are")
        if job.state in ("succeeded", "failed", "aborted"):
            return job.state
        values: dict[str, Any] = {"abort_requested": True}
        if reason:
            values["error"] = reason
        if job.state == "pending":
            values.update(state="failed" if reason else "aborted", finished_at=utcnow())
        conn.execute(sa.update(jobs).where(jobs.c.job_id == job_id).values(**values))
        if job.state == "pending":
            notify_job_finished(conn, job_id)
        return values.get("state", job.state)


def _slices(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    """`rows` in lists of at most `size`; always at least one list, so a step without rows still
    writes its (empty) table."""
    part = list(islice(rows, size))
    yield part
    while len(part) == size and (part := list(islice(rows, size))):
        yield part


def _documents(store: Any, keys: list[str], fields: Mapping[str, str]) -> Iterator[tuple[str, dict[str, Any]]]:
    columns = ["file_name", "status", *[f for f, kind in fields.items() if kind != "rows"]]
    for key in keys:
        with store.open(key) as fh:
            for batch in pq.ParquetFile(fh).iter_batches(columns=columns, batch_size=4096):
                for row in batch.to_pylist():
                    if row.pop("status") == "succeeded":
                        yield row.pop("file_name"), row


def _register(conn: sa.Connection, store: Any, output_batch: str, job_id: str, keys: list[str]) -> None:
    now = utcnow()
    prefix = f"jobs/{job_id}/"
    rows = []
    for key in keys:
        data = store.read_bytes(key)
        media_type = PARQUET if key.endswith(".parquet") else "image/jpeg"
        rows.append(
            {"batch_id": output_batch, "name": key[len(prefix):], "status": "ingested", "sha256": hashlib.sha256(data).hexdigest(),
             "size": len(data), "media_type": media_type, "ingest_id": job_id, "shard_id": job_id, "store_key": key,
             "created_at": now, "updated_at": now}  # fmt: skip
        )
    conn.execute(sa.delete(files).where(files.c.batch_id == output_batch))
    if rows:
        conn.execute(sa.insert(files), rows)


def finish_job(job_id: str, workflow: Workflow, resources: Resources) -> dict[str, Any]:
    """Run the batch steps, publish the output batch, and set the final state; `notified` says whether
    the job's subscriber (its `notifications_url`, kept across restarts) got a notification queued."""
    catalog, store = resources.catalog(), resources.store()
    with catalog.read() as conn:
        job = conn.execute(sa.select(jobs).where(jobs.c.job_id == job_id)).one()
        chunks = conn.execute(
            sa.select(job_chunks.c.docs_key, job_chunks.c.points_key, job_chunks.c.status, job_chunks.c.seq)
            .where(job_chunks.c.job_id == job_id)
            .order_by(job_chunks.c.seq)
        ).all()
    budget = failure_budget_exceeded(catalog, job_id)
    if budget or not all(c.status == "done" for c in chunks):
        if budget:
            state, error = "failed", budget
        elif job.abort_requested and not job.error:
            state, error = "aborted", "stopped on request (docket jobs abort-job)"
        else:
            state, error = "failed", job.error or "some chunks did not finish; run docket jobs restart-job"
        with catalog.begin() as conn:
            conn.execute(sa.update(jobs).where(jobs.c.job_id == job_id).values(state=state, error=error, finished_at=utcnow()))
            notified = notify_job_finished(conn, job_id) is not None
        return {"state": state, "error": error, "notified": notified}

    with catalog.begin() as conn:
        conn.execute(sa.update(jobs).where(jobs.c.job_id == job_id).values(stage="export"))
    keys = [k for c in chunks for k in (c.docs_key, c.points_key)]
    if workflow.predicts:  # model steps: a predictions part per chunk, and the annotated images
        keys += [predictions_key(job_id, c.seq) for c in chunks]
        keys += store.list(f"jobs/{job_id}/images")
    if workflow.batch_steps:
        batch_key = f"jobs/{job_id}/datapoints/part-batch.parquet"
        with store.writer(batch_key) as fh, pq.ParquetWriter(fh, DATAPOINTS, compression="zstd") as writer:
            for batch_step in workflow.batch_steps:
                extra = batch_step(_documents(store, [c.docs_key for c in chunks], workflow.fields))
                source = f"batch:{getattr(batch_step, '__name__', 'step')}"
                rows = (
                    row
                    for name, datapoints in sorted(extra.items())
                    for row in datapoint_rows(job.batch_id, job_id, FileResult(name, None, None, "succeeded", datapoints,
                                                                               {k: source for k in datapoints}))  # fmt: skip
                )
                for part in _slices(rows, _BATCH_ROWS):  # a row group at a time: 100,000 files are 100,000 dicts
                    writer.write_table(pa.Table.from_pylist(part, schema=DATAPOINTS))
        keys.append(batch_key)
    with catalog.begin() as conn:
        _register(conn, store, job.output_batch_id, job_id, keys)
        conn.execute(
            sa.update(jobs).where(jobs.c.job_id == job_id).values(state="succeeded", stage="done", finished_at=utcnow(), error=None)
        )
        notified = notify_job_finished(conn, job_id) is not None
    return {"state": "succeeded", "error": None, "notified": notified}
