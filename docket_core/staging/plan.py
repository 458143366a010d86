"""Starting (or resuming) an ingest: the batch, the ingest row, and its shards, planned once.

Planning copies what the source is made of into the store first (a tar bundle, a references file),
so a resumed ingest, or a worker on another machine, reads exactly what the first run planned.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

from docket_core import archive, references
from docket_core.catalog import utcnow
from docket_core.catalog.schema import batches, ingests, shards
from docket_core.errors import ConflictError, InputError
from docket_core.names import normalize_name, shown_name
from docket_core.resources import Resources
from docket_core.safefetch.address import URLPolicy, check_url
from docket_core.safefetch.fetch import FetchJob, fetch_many
from docket_core.settings import DocketSettings
from docket_core.staging.models import STORE_SOURCE, IngestPlan, IngestRequest

__all__ = ["begin_ingest", "check_source", "new_ingest_id", "walk_folder"]


def new_ingest_id() -> str:
    return f"ing-{utcnow():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}"


def _ingest_dir(ingest_id: str) -> str:
    return f"ingests/{hashlib.sha256(ingest_id.encode()).hexdigest()[:24]}"


def _is_url(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


def walk_folder(root: Path) -> Iterator[str | tuple[str, str]]:
    """Relative names of the files below `root`, sorted, recursively; hidden files and folders skipped.

    A name Docket refuses (`normalize_name`: not UTF-8, control or format characters, a part over 255
    bytes) comes as `(shown_name, reason)` instead, so that file alone fails. Symlinked folders are
    not entered (they can loop); symlinked files are read like files.
    """
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel = Path(dirpath).relative_to(root)
        for filename in sorted(filenames):
            if filename.startswith("."):
                continue
            raw = (rel / filename).as_posix()
            try:
                yield normalize_name(raw)
            except InputError as exc:
                yield shown_name(raw), str(exc)


def _fingerprint(request: IngestRequest, source_identity: str) -> str:
    definition = {
        "batch_id": request.batch_id,
        "media_kind": request.media_kind,
        "source_kind": request.source_kind,
        "source": source_identity,
    }
    return hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()


def check_source(request: IngestRequest) -> str:
    """Fail early, before anything is written, with what was expected and what was got."""
    source = request.source
    if request.source_kind == "folder":
        path = Path(source).expanduser()
        if not path.exists():
            raise InputError(f"expected an existing folder of {request.media_kind}, got {source!r} (not found)")
        if not path.is_dir():
            raise InputError(f"expected a folder of {request.media_kind}, got {source!r} (a file)")
        return str(path.resolve())
    if request.source_kind == "archive":
        path = Path(source).expanduser()
        if not path.is_file():
            raise InputError(f"expected a tar bundle file, got {source!r} (not found)")
        return str(path.resolve())
    if _is_url(source):
        check_url(source, URLPolicy(allow_private_network=True))
        return references.redact_url(source).split("?", 1)[0]
    if source.startswith(STORE_SOURCE):
        return source  # checked when it is copied (`_stage_references`), where the store is at hand
    path = Path(source).expanduser()
    if not path.is_file():
        raise InputError(
            f"expected a references file (JSONL of {{\"name\", \"url\"}}) path or http(s) URL, got {source!r} (not found)"
        )
    try:
        with open(path, "rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise InputError(f"cannot read references file {source!r}: {exc.strerror}") from exc
    return str(path.resolve())


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _stage_references(request: IngestRequest, key: str, resources: Resources, settings: DocketSettings) -> None:
    store = resources.store()
    if request.source.startswith(STORE_SOURCE):
        held = request.source[len(STORE_SOURCE) :]
        if not store.exists(held):
            raise InputError(f"expected a references file in the store at {held!r}, got nothing there (is DOCKET_STORE_URL the receiver's?)")
        store.put_bytes(key, store.read_bytes(held))
        return
    if not _is_url(request.source):
        store.put_file(Path(request.source).expanduser(), key)
        return
    policy = URLPolicy.from_settings(settings, allow_private_network=request.allow_private_network)
    with tempfile.TemporaryDirectory(prefix="docket-refs-") as tmp:
        dest = Path(tmp) / "references.jsonl"
        [outcome] = fetch_many(
            [FetchJob(key="references", url=request.source, dest=dest, max_bytes=settings.max_references_bytes)],
            policy=policy,
            concurrency=1,
            timeout=settings.download_timeout,
            connect_timeout=settings.connect_timeout,
            max_redirects=settings.max_redirects,
        )
        if outcome.error is not None:
            raise InputError(f"cannot download the references file: {outcome.error}") from outcome.error
        store.put_file(dest, key)


def _shard_specs(
    request: IngestRequest, source_path: str, ingest_dir: str, resources: Resources, settings: DocketSettings
) -> Iterator[tuple[dict, int]]:
    size = settings.shard_size
    if request.source_kind == "folder":
        names: list[str] = []
        refused: list[tuple[str, str]] = []  # (shown name, reason): fail one by one when the shard runs
        for entry in walk_folder(Path(source_path)):
            (refused if isinstance(entry, tuple) else names).append(entry)  # type: ignore[arg-type]
            if len(names) + len(refused) == size:
                yield {"names": names, "refused": refused}, size
                names, refused = [], []
        if names or refused:
            yield {"names": names, "refused": refused}, len(names) + len(refused)
        return
    if request.source_kind == "archive":
        key = f"{ingest_dir}/bundle"
        members = archive.scan_archive(Path(source_path), max_members=settings.max_archive_members)
        resources.store().put_file(Path(source_path), key)
        for start in range(0, len(members), size):
            stop = min(start + size, len(members))
            yield {"bundle": key, "start": start, "stop": stop}, stop - start
        return
    key = f"{ingest_dir}/references.jsonl"
    _stage_references(request, key, resources, settings)
    with resources.store().open(key) as fh:
        for shard in references.plan_reference_shards(fh, size):
            spec = {"references": key, "start": shard.start, "end": shard.end, "first_line": shard.first_line}
            yield spec, shard.count


def _plan(conn: sa.Connection, request: IngestRequest, ingest_id: str, *, completed: bool = False) -> IngestPlan:
    rows = conn.execute(
        sa.select(shards.c.shard_id, shards.c.status, shards.c.item_count)
        .where(shards.c.ingest_id == ingest_id)
        .order_by(shards.c.seq)
    ).all()
    pending = [r for r in rows if r.status != "done"]
    return IngestPlan(
        ingest_id=ingest_id,
        batch_id=request.batch_id,
        pending_shards=[r.shard_id for r in pending],
        total_shards=len(rows),
        total_files=sum(r.item_count for r in rows),
        pending_files=sum(r.item_count for r in pending),
        already_completed=completed,
    )


def begin_ingest(request: IngestRequest, resources: Resources, settings: DocketSettings) -> IngestPlan:
    """Create the batch and the ingest if new, plan its shards once, and say which are still to do.

    Raises:
        InputError: the source is missing or unreadable, or the batch holds another kind of media.
        ConflictError: the ingest id was used before for a different request.
    """
    source_path = check_source(request)
    identity = source_path
    if request.source_kind == "archive":
        identity = f"sha256:{_sha256_file(Path(source_path))}"
    fingerprint = _fingerprint(request, identity)
    ingest_id = request.ingest_id or new_ingest_id()
    catalog = resources.catalog()
    now = utcnow()

    with catalog.begin() as conn:
        batch = conn.execute(sa.select(batches).where(batches.c.batch_id == request.batch_id)).first()
        if batch is None:
            conn.execute(sa.insert(batches).values(batch_id=request.batch_id, media_kind=request.media_kind, created_at=now))
        elif batch.media_kind != request.media_kind:
            raise InputError(
                f"batch {request.batch_id!r} holds {batch.media_kind}, got a request to add {request.media_kind}; "
                "use another batch id"
            )
        existing = conn.execute(sa.select(ingests).where(ingests.c.ingest_id == ingest_id)).first()
        if existing is not None:
            if existing.fingerprint != fingerprint:
                raise ConflictError(
                    f"ingest id {ingest_id!r} was used for another request (batch {existing.batch_id!r}, "
                    f"{existing.source_kind} {existing.source!r}); use a new ingest id"
                )
            if existing.planned_shards is not None:
                return _plan(conn, request, ingest_id, completed=existing.status == "completed")
        else:
            conn.execute(
                sa.insert(ingests).values(
                    ingest_id=ingest_id,
                    batch_id=request.batch_id,
                    source_kind=request.source_kind,
                    source=identity if request.source_kind == "references" else source_path,
                    fingerprint=fingerprint,
                    status="planning",
                    notifications_url=request.notifications_url,
                    notification_category=request.notification_category,
                    workflow_id=request.workflow_id,
                    created_at=now,
                )
            )

    # Enumerating the source can take a while (a big folder, a references download): no lock held.
    ingest_dir = _ingest_dir(ingest_id)
    rows = []
    for seq, (spec, count) in enumerate(_shard_specs(request, source_path, ingest_dir, resources, settings)):
        rows.append(
            {
                "shard_id": f"{ingest_id}/{seq:05d}",
                "ingest_id": ingest_id,
                "batch_id": request.batch_id,
                "seq": seq,
                "status": "pending",
                "spec": spec,
                "item_count": count,
            }
        )
    with catalog.begin() as conn:
        planned = conn.execute(sa.select(ingests.c.planned_shards).where(ingests.c.ingest_id == ingest_id)).scalar()
        if planned is None:  # a concurrent run of the same ingest may have planned it meanwhile
            conn.execute(sa.delete(shards).where(shards.c.ingest_id == ingest_id))
            for start in range(0, len(rows), 1000):
                conn.execute(sa.insert(shards), rows[start : start + 1000])
            conn.execute(
                sa.update(ingests)
                .where(ingests.c.ingest_id == ingest_id)
                .values(planned_shards=len(rows), status="running")
            )
        return _plan(conn, request, ingest_id)
