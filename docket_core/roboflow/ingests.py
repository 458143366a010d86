"""Ingests the API starts: single images (staged at once), tar shards and videos (after their PUT),
and references lists (inline or by URL).

Every one is an ordinary Docket ingest (`IngestRequest`, the same domain functions and flow the CLI
runs). Those that run in the background are recorded like a push (`received_pushes`, webhook id
`roboflow:<ingest-id>`) and announced with ids only (`docket_core.pushes.announced`): the flow reads
the URLs (references, notifications) back from the catalog, so they never reach Prefect.
Uploaded bytes wait in a spool folder under DOCKET_HOME until their ingest has read them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from docket_core.catalog import Catalog, utcnow
from docket_core.catalog.schema import ingests
from docket_core.catalog.schema_notifications import received_pushes
from docket_core.errors import ConflictError, DocketError, InputError
from docket_core.names import normalize_name
from docket_core.pushes import announced
from docket_core.resources import Resources
from docket_core.settings import DocketSettings
from docket_core.staging.ingest import ingest_shard
from docket_core.staging.models import STORE_SOURCE, IngestRequest, IngestSummary
from docket_core.staging.plan import begin_ingest
from docket_core.staging.record import finish_ingest, record_shard

__all__ = [
    "NOTIFICATION_CONFIG",
    "PUSH_PREFIX",
    "announce",
    "references_request",
    "request_digest",
    "shard_request",
    "spool_dir",
    "stage_image",
    "video_request",
]

NOTIFICATION_CONFIG = "notification_config.json"
PUSH_PREFIX = "roboflow:"
Announcer = Callable[[IngestRequest], "str | None"]


def spool_dir(settings: DocketSettings) -> Path:
    """Where uploaded bytes wait for their ingest (on the serving machine)."""
    return (settings.home / "spool" / "roboflow").resolve()


def _digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()


def stage_image(resources: Resources, settings: DocketSettings, *, batch_id: str, file_name: str, data: bytes) -> IngestSummary:
    """Stage one uploaded image now (Roboflow's simple upload), through the ingest's domain functions.

    The ingest id derives from the batch, name and bytes, so the client's retry stages nothing twice.
    """
    name = normalize_name(file_name)
    ingest_id = f"rf-image-{_digest(batch_id, name, hashlib.sha256(data).hexdigest())[:32]}"
    folder = spool_dir(settings) / ingest_id
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    try:
        request = IngestRequest(batch_id=batch_id, media_kind="images", source_kind="folder", source=str(folder), ingest_id=ingest_id)
        plan = begin_ingest(request, resources, settings)
        catalog = resources.catalog()
        for shard_id in plan.pending_shards:
            record_shard(catalog, shard_id, ingest_shard(shard_id, resources, settings))
        summary = finish_ingest(catalog, ingest_id)
        summary.already_completed = plan.already_completed
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return summary


def _notification_config(tar: tarfile.TarFile) -> tuple[dict[str, Any] | None, bool]:
    for member in tar.getmembers():
        if member.name.lstrip("./") == NOTIFICATION_CONFIG and member.isfile():
            fh = tar.extractfile(member)
            try:
                config = json.loads(fh.read(64 * 1024)) if fh is not None else None
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise InputError(f"expected {NOTIFICATION_CONFIG} in the shard to be JSON, got: {exc}") from exc
            if not isinstance(config, dict):
                raise InputError(f"expected {NOTIFICATION_CONFIG} to hold a JSON object, got {type(config).__name__}")
            return config, True
    return None, False


def _without_config(src: Path, dest: Path) -> None:
    """Copy the tar without its notification_config.json (every other entry as it is, checked later)."""
    with tarfile.open(src, "r:*") as tar, tarfile.open(dest, "w") as out:
        for member in tar:
            if member.name.lstrip("./") == NOTIFICATION_CONFIG:
                continue
            out.addfile(member, tar.extractfile(member) if member.isfile() else None)


def shard_request(*, upload_id: str, batch_id: str, spooled: Path) -> IngestRequest:
    """The ingest of one uploaded tar shard; `notification_config.json` in it names the ingest id and
    the webhook to notify (Roboflow's only way to pass them for local uploads).

    Raises:
        InputError: the body is not a readable tar, or its notification config is malformed.
    """
    try:
        with tarfile.open(spooled, "r:*") as tar:
            config, found = _notification_config(tar)
        if found:
            stripped = spooled.with_suffix(".stripped.tar")
            _without_config(spooled, stripped)
            stripped.replace(spooled)
    except tarfile.TarError as exc:
        raise InputError(f"expected the upload to be a tar archive of images, got an unreadable one: {exc}") from exc
    config = config or {}
    client_id = config.get("ingestId")
    # One client ingest id covers every shard of a command: each shard is a Docket ingest of its own.
    ingest_id = f"{str(client_id)[:90]}-{upload_id[:12].lower()}" if client_id else f"rf-shard-{upload_id}"
    url = config.get("notificationsURL")
    return IngestRequest(batch_id=batch_id, media_kind="images", source_kind="archive", source=str(spooled),
                         ingest_id=ingest_id.replace("/", "_"), notifications_url=url or None,
                         notification_category=_category(config.get("notificationCategories")) if url else None)  # fmt: skip


def video_request(*, upload_id: str, batch_id: str, folder: Path) -> IngestRequest:
    """The ingest of one uploaded video (a folder holding just it)."""
    return IngestRequest(batch_id=batch_id, media_kind="videos", source_kind="folder", source=str(folder),
                         ingest_id=f"rf-video-{upload_id}")  # fmt: skip


def _category(categories: Any) -> str:
    return "files-status" if isinstance(categories, list) and "files-status" in categories else "ingest-status"


def references_request(
    resources: Resources, *, batch_id: str, media_kind: str, ingest_id: str, references: list[dict[str, Any]] | None,
    references_url: str | None, notifications_url: str | None, categories: list[str] | None,
) -> IngestRequest:  # fmt: skip
    """The ingest of a references list: inline (kept in the store as JSONL, like a push's) or by URL."""
    if references is not None:
        key = f"pushes/{_digest('roboflow', ingest_id)[:32]}.jsonl"
        lines = (json.dumps({"name": r.get("name"), "url": r.get("url")}, ensure_ascii=False) + "\n" for r in references)
        resources.store().put_bytes(key, "".join(lines).encode("utf-8"))
        source = f"{STORE_SOURCE}{key}"
    elif references_url:
        source = references_url
    else:
        raise InputError("expected a list of references or a references URL, got neither")
    return IngestRequest(batch_id=batch_id, media_kind=media_kind, source_kind="references", source=source,  # type: ignore[arg-type]
                         ingest_id=ingest_id, notifications_url=notifications_url,
                         notification_category=_category(categories) if notifications_url else None)  # fmt: skip


def announce(catalog: Catalog, request: IngestRequest, *, kind: str, digest: str, emit: Announcer) -> bool:
    """Record the request (with its URLs) and announce it with ids only; False when it was announced before.

    Raises:
        ConflictError: the ingest id was used before for another request.
        DocketError: the announcement could not be made (nothing is recorded then; retry).
    """
    webhook_id = f"{PUSH_PREFIX}{request.ingest_id}"
    with catalog.begin() as conn:
        seen = conn.execute(sa.select(received_pushes.c.body_sha256).where(received_pushes.c.webhook_id == webhook_id)).first()
        if seen is not None:
            if seen.body_sha256 != digest:
                raise ConflictError(f"ingest id {request.ingest_id!r} was used for another request; use a new ingest id")
            return False
        if conn.execute(sa.select(ingests.c.ingest_id).where(ingests.c.ingest_id == request.ingest_id)).first() is not None:
            raise ConflictError(f"ingest id {request.ingest_id!r} was used before (`docket staging list-ingest-details`); use a new one")
        conn.execute(sa.insert(received_pushes).values(
            webhook_id=webhook_id, body_sha256=digest, kind=kind, batch_id=request.batch_id, ingest_id=request.ingest_id,
            received_at=utcnow(), request=request.model_dump(mode="json")))  # fmt: skip
        try:
            event_id = emit(announced(request, webhook_id))
        except Exception as exc:  # noqa: BLE001 - whatever the announcer raises, the client should retry
            raise DocketError(f"cannot start the ingest ({type(exc).__name__}: {exc}); retry later") from exc
        if event_id is None:
            raise DocketError("cannot start the ingest: Prefect events are off (is PREFECT_API_URL set?); retry later")
        conn.execute(sa.update(received_pushes).where(received_pushes.c.webhook_id == webhook_id).values(event_id=event_id))
    return True


def request_digest(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
