"""Processing one chunk of a job: each file through the workflow, results to one Parquet part.

The part is written under a key fixed by the chunk (`jobs/<job>/documents/part-00007.parquet`) and
appears whole or not at all; the chunk is then marked done in the catalog. A crash in between redoes
the chunk and overwrites the part with the same rows, so every file lands exactly once.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from docket_core.catalog import utcnow
from docket_core.catalog.schema import files, job_chunks, jobs
from docket_core.errors import DocketError, FileErrorType
from docket_core.jobs.models import ChunkSummary
from docket_core.outputs import FileResult, PartWriter
from docket_core.progress import advance
from docket_core.resources import Resources
from docket_core.settings import DocketSettings
from docket_core.store import Store, blob_key
from docket_core.workflows.model import FileContext, Message
from docket_core.workflows.registry import Workflow

__all__ = ["part_keys", "process_chunk", "run_file"]


def part_keys(job_id: str, seq: int) -> tuple[str, str]:
    return (f"jobs/{job_id}/documents/part-{seq:05d}.parquet", f"jobs/{job_id}/datapoints/part-{seq:05d}.parquet")


def run_file(workflow: Workflow, path: Path, name: str, media_type: str | None, sha256: str | None) -> FileResult:
    """Run every step of `workflow` over one file, level by level; a step's error fails only this file."""
    result = FileResult(file_name=name, media_type=media_type, sha256=sha256, status="succeeded")
    for level in workflow.levels():
        seen = dict(result.datapoints)  # a level sees what earlier levels produced, never its peers
        for step in level:
            try:
                out = step.fn(FileContext(name=name, media_type=media_type or "", path=path, datapoints=seen))
            except DocketError as exc:
                return _failed(result, FileErrorType.INVALID_FILE_CONTENT, f"step {step.name!r}: {exc}")
            except Exception as exc:  # noqa: BLE001 - a bug in one step must not stop the batch; it is recorded
                return _failed(result, FileErrorType.PROCESSING_ERROR, f"step {step.name!r} raised {type(exc).__name__}: {exc}")
            for schema_id, value in out.datapoints.items():
                result.datapoints[schema_id] = value
                result.sources[schema_id] = step.name
            result.messages.extend(m if m.source else Message(m.type, m.content, m.schema_id, step.name) for m in out.messages)
    return result


def _failed(result: FileResult, error_type: str, reason: str) -> FileResult:
    result.status, result.error_type, result.error_reason = "failed", str(error_type), reason[:2000]
    result.datapoints, result.sources = {}, {}
    return result


@contextmanager
def _local_copy(store: Store, sha256: str) -> Iterator[Path]:
    """A local path holding the blob: the stored file itself on a local store, else a temporary copy."""
    key = blob_key(sha256)
    if store.is_local:
        yield Path(store.path(key))
        return
    with tempfile.NamedTemporaryFile(prefix="docket-blob-") as tmp:
        with store.open(key) as src:
            while chunk := src.read(1024 * 1024):
                tmp.write(chunk)
        tmp.flush()
        yield Path(tmp.name)


def process_chunk(chunk_id: str, workflow: Workflow, resources: Resources, settings: DocketSettings) -> ChunkSummary:
    """Process a chunk unless it is done already or the job was asked to stop."""
    catalog, store = resources.catalog(), resources.store()
    with catalog.read() as conn:
        chunk = conn.execute(sa.select(job_chunks).where(job_chunks.c.chunk_id == chunk_id)).one()
        job = conn.execute(sa.select(jobs).where(jobs.c.job_id == chunk.job_id)).one()
        if chunk.status == "done":
            return ChunkSummary(chunk_id=chunk_id, status="done", succeeded=chunk.succeeded, failed=chunk.failed)
        if job.abort_requested:
            return ChunkSummary(chunk_id=chunk_id, status="skipped")
        rows = {
            r.name: r
            for r in conn.execute(
                sa.select(files.c.name, files.c.sha256, files.c.media_type).where(
                    files.c.batch_id == job.batch_id, files.c.name.in_(chunk.names)
                )
            )
        }

    def one(name: str) -> FileResult:
        try:
            row = rows.get(name)
            if row is None or row.sha256 is None:
                return FileResult(name, None, None, "failed", error_type=FileErrorType.PROCESSING_ERROR,
                                  error_reason=f"file {name!r} is no longer in batch {job.batch_id!r}")  # fmt: skip
            with _local_copy(store, row.sha256) as path:
                return run_file(workflow, path, name, row.media_type, row.sha256)
        finally:
            advance(job.job_id)

    docs_key, points_key = part_keys(job.job_id, chunk.seq)
    errors: Counter[str] = Counter()
    succeeded = failed = 0
    with ThreadPoolExecutor(max_workers=settings.file_workers, thread_name_prefix="docket-job") as pool:
        with PartWriter.open(store, docs_key, points_key, fields=workflow.fields, batch_id=job.batch_id, job_id=job.job_id) as writer:
            for result in pool.map(one, chunk.names):
                writer.add(result)
                if result.status == "succeeded":
                    succeeded += 1
                else:
                    failed += 1
                    errors[result.error_type or "unknown"] += 1

    with catalog.begin() as conn:
        current = conn.execute(sa.select(job_chunks.c.status).where(job_chunks.c.chunk_id == chunk_id)).scalar_one()
        if current != "done":  # a duplicate run of this chunk wrote the same part; count it once
            conn.execute(
                sa.update(job_chunks)
                .where(job_chunks.c.chunk_id == chunk_id)
                .values(status="done", succeeded=succeeded, failed=failed, errors=dict(errors),
                        docs_key=docs_key, points_key=points_key, finished_at=utcnow())  # fmt: skip
            )
    return ChunkSummary(chunk_id=chunk_id, status="done", succeeded=succeeded, failed=failed)
