"""Ingesting one shard: get each file's bytes to a local path, validate, hash, store atomically.

Nothing here writes the catalog: the outcomes go to `record.record_shard`, which commits a shard's
files in one transaction. A crash before that commit leaves only content-addressed blobs behind,
which the re-run finds and reuses.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import sqlalchemy as sa

from docket_core import archive, references
from docket_core.catalog.schema import batches, ingests, shards
from docket_core.errors import FileErrorType
from docket_core.media.inspect import inspect_file
from docket_core.media.types import BatchKind, FileRejected
from docket_core.names import shown_name
from docket_core.progress import advance
from docket_core.redact import strip_local_paths
from docket_core.resources import Resources
from docket_core.safefetch.address import URLPolicy
from docket_core.safefetch.fetch import FetchJob, FetchOutcome, fetch_each
from docket_core.settings import DocketSettings
from docket_core.staging.models import FileOutcome
from docket_core.store import Store, blob_key

__all__ = ["ingest_shard", "stage_file"]

_SMALL = 16 * 1024 * 1024  # files up to this size are read once into memory; larger ones stream
_SPOOL_BYTES = 1024 * 1024  # downloads announced up to this size are staged from memory, never written to disk
_ITEMS_PER_HANDOFF = 16


def stage_file(
    path: Path,
    name: str,
    *,
    batch_kind: BatchKind,
    settings: DocketSettings,
    store: Store,
    data: bytes | None = None,
) -> FileOutcome:
    """Validate one local file and store its bytes under their sha256 (once, atomically).

    `data`, when given, is the file's content already in memory (a small download), and `path` is
    not read; never pass it for videos, which FFmpeg decodes from `path`.
    """
    if data is None:
        # A small file is read once: validated, hashed and stored from the same bytes.
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            data = fh.read() if size <= _SMALL else None
    if data is not None:
        size = len(data)
    try:
        media_type = inspect_file(
            path, batch_kind=batch_kind, settings=settings, declared_size=size, name=name, data=data
        )
    except FileRejected as rejected:
        return FileOutcome(name=name, status="failed", error_type=rejected.error_type, reason=rejected.reason, size=size)
    if data is not None:
        sha = hashlib.sha256(data).hexdigest()
    else:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1024 * 1024), b""):
                digest.update(chunk)
        sha = digest.hexdigest()
    key = blob_key(sha)
    if not store.exists(key):
        if data is not None:
            store.put_bytes(key, data)
        else:
            store.put_file(path, key)
    return FileOutcome(name=name, status="ingested", sha256=sha, size=size, media_type=media_type)


def _failed(name: str, error_type: str, reason: str, *, named: bool = True) -> FileOutcome:
    return FileOutcome(name=name, status="failed", error_type=error_type, reason=reason, named=named)


def _parallel(items: Iterable, work: Callable, settings: DocketSettings, ingest_id: str) -> list[FileOutcome]:
    items = list(items)
    # Hand items to the threads a few at a time: one future per small file costs thread wake-ups
    # (and GIL hand-overs) comparable to staging the file itself.
    size = max(1, min(_ITEMS_PER_HANDOFF, len(items) // (settings.file_workers * 4)))
    chunks = [items[start : start + size] for start in range(0, len(items), size)]

    def run(chunk: list) -> list[FileOutcome]:
        outcomes = []
        for item in chunk:
            try:
                outcomes.append(work(item))
            finally:
                advance(ingest_id)
        return outcomes

    with ThreadPoolExecutor(max_workers=settings.file_workers, thread_name_prefix="docket-stage") as pool:
        return [outcome for chunk in pool.map(run, chunks) for outcome in chunk]


def _folder(spec: dict, root: Path, kind: BatchKind, settings: DocketSettings, store: Store, ingest_id: str) -> list[FileOutcome]:
    def work(name: str) -> FileOutcome:
        path = root / name
        try:
            return stage_file(path, name, batch_kind=kind, settings=settings, store=store)
        except OSError as exc:
            # Reasons go out in listings and notifications: never the local path an OS error quotes.
            return _failed(name, FileErrorType.INVALID_FILE_CONTENT, strip_local_paths(f"cannot read file: {exc.strerror or exc}"))

    refused = []
    for shown, reason in spec.get("refused", []):  # names that cannot be a file of the batch
        refused.append(_failed(shown, FileErrorType.INVALID_FILE_NAME, reason, named=False))
        advance(ingest_id)
    return refused + _parallel(spec["names"], work, settings, ingest_id)


def _archive(spec: dict, kind: BatchKind, settings: DocketSettings, store: Store, ingest_id: str) -> list[FileOutcome]:
    outcomes: list[FileOutcome] = []
    with tempfile.TemporaryDirectory(prefix="docket-bundle-") as tmp:
        bundle = Path(tmp) / "bundle.tar"
        with store.open(spec["bundle"]) as src, open(bundle, "wb") as dst:
            while chunk := src.read(1024 * 1024):
                dst.write(chunk)
        cap = _max_download(kind, settings)
        entries = archive.scan_archive(bundle, max_members=settings.max_archive_members, max_member_bytes=cap)
        entries = entries[spec["start"] : spec["stop"]]
        members = [e for e in entries if isinstance(e, archive.Member)]
        for entry in entries:
            if isinstance(entry, archive.RejectedMember):
                outcomes.append(_rejected_member(entry))
                advance(ingest_id)
        workdir = Path(tmp) / "members"
        workdir.mkdir()
        for member, got in archive.iter_extracted(bundle, members, workdir, max_bytes=cap):
            if isinstance(got, archive.RejectedMember):
                outcomes.append(_rejected_member(got))
            else:
                outcomes.append(stage_file(got, member.name, batch_kind=kind, settings=settings, store=store))
            advance(ingest_id)
    return outcomes


def _rejected_member(entry: archive.RejectedMember) -> FileOutcome:
    if entry.name is not None:  # a valid name (refused for its size): recorded under it
        return _failed(entry.name, entry.error_type, entry.reason)
    return _failed(shown_name(entry.tar_name), entry.error_type, entry.reason, named=False)


def _max_download(kind: BatchKind, settings: DocketSettings) -> int:
    if kind == "images":
        return settings.max_image_bytes
    if kind == "videos":
        return settings.max_video_bytes
    return max(settings.max_document_bytes, settings.max_image_bytes)


def _references(
    spec: dict, kind: BatchKind, settings: DocketSettings, store: Store, ingest_id: str, allow_private: bool
) -> list[FileOutcome]:
    policy = URLPolicy.from_settings(settings, allow_private_network=allow_private)
    shard = references.ReferenceShard(start=spec["start"], end=spec["end"], first_line=spec["first_line"], count=0)
    with store.open(spec["references"]) as fh:
        items = list(references.read_reference_shard(fh, shard))  # at most shard_size lines
    # Small bodies stay in memory (videos always go to a file: FFmpeg reads a path).
    spool = 0 if kind == "videos" else _SPOOL_BYTES
    outcomes: list[FileOutcome | None] = []
    jobs: list[FetchJob] = []
    slots: dict[str, tuple[int, references.Reference]] = {}
    with tempfile.TemporaryDirectory(prefix="docket-dl-") as tmp:
        for item in items:
            if isinstance(item, references.BadLine):
                bad = _failed(f"line {item.line}", item.error_type, item.reason, named=False)
                outcomes.append(bad)
                advance(ingest_id)
                continue
            key = str(item.line)
            slots[key] = (len(outcomes), item)
            outcomes.append(None)
            dest, cap = Path(tmp) / key, _max_download(kind, settings)
            jobs.append(FetchJob(key=key, url=item.url, dest=dest, max_bytes=cap, spool_bytes=spool))

        def stage(job: FetchJob, result: FetchOutcome) -> None:
            slot, ref = slots[job.key]
            try:
                if result.error is not None:
                    outcomes[slot] = _failed(ref.name, result.error.error_type, strip_local_paths(str(result.error)))
                else:
                    outcomes[slot] = stage_file(
                        job.dest, ref.name, batch_kind=kind, settings=settings, store=store, data=result.data
                    )
            finally:
                if result.error is None and result.data is None:  # the body went to a file
                    job.dest.unlink(missing_ok=True)
                advance(ingest_id)

        # Each file is staged as soon as it is in, while the next ones download; a download slot is
        # held until its file is staged, so at most `download_concurrency` files wait at once.
        with ThreadPoolExecutor(max_workers=settings.file_workers, thread_name_prefix="docket-stage") as pool:
            fetch_each(
                jobs,
                stage,
                executor=pool,
                policy=policy,
                concurrency=settings.download_concurrency,
                timeout=settings.download_timeout,
                connect_timeout=settings.connect_timeout,
                max_redirects=settings.max_redirects,
            )
    return outcomes  # type: ignore[return-value] - every slot was filled


def ingest_shard(
    shard_id: str, resources: Resources, settings: DocketSettings, *, allow_private_network: bool = False
) -> list[FileOutcome] | None:
    """Stage every file of a shard; None when the shard was already recorded by an earlier run."""
    catalog = resources.catalog()
    with catalog.read() as conn:
        row = conn.execute(
            sa.select(shards.c.spec, shards.c.status, ingests.c.source, ingests.c.ingest_id, ingests.c.batch_id)
            .join(ingests, ingests.c.ingest_id == shards.c.ingest_id)
            .where(shards.c.shard_id == shard_id)
        ).one()
        kind = conn.execute(sa.select(batches.c.media_kind).where(batches.c.batch_id == row.batch_id)).scalar_one()
    if row.status == "done":
        return None
    store = resources.store()
    spec = row.spec
    if "names" in spec:
        return _folder(spec, Path(row.source), kind, settings, store, row.ingest_id)
    if "bundle" in spec:
        return _archive(spec, kind, settings, store, row.ingest_id)
    return _references(spec, kind, settings, store, row.ingest_id, allow_private_network)
