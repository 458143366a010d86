"""Routes: uploads (single images, upload URLs for tar shards and videos, their PUT targets),
references ingests, and the download target of file listings.

A single image is staged before the answer (Roboflow's simple upload). A shard or a video is PUT to
a signed, single-use, size-capped upload URL; the PUT spools the bytes and announces the ingest,
which a flow runs (`docket_core.roboflow.ingests`). References (inline or by URL) are announced
the same way. URLs the server would fetch or notify are checked first, as the push receiver does.
"""

from __future__ import annotations

import math
import shutil
import uuid
from pathlib import Path
from typing import Any, Optional

import anyio
import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, StreamingResponse

from docket_core.catalog.schema import batches, files, shards
from docket_core.errors import InputError, NotFoundError
from docket_core.names import check_id, normalize_name
from docket_core.roboflow import ingests, records
from docket_core.safefetch.address import URLPolicy, check_url, resolve_checked
from docket_core.safefetch.errors import FetchError, UnsafeURL
from docket_core.server.roboflow.common import Refused, RoboflowContext, RoboflowRoute, check_key, check_workspace
from docket_core.server.roboflow.staging import PREFIX, download_path
from docket_core.staging.models import IngestRequest
from docket_core.store import blob_key

__all__ = ["uploads_router"]

_MEDIA = {"image": "images", "shard": "images", "video": "videos"}


def _stream_limit(request: Request, limit: int) -> None:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise Refused(413, f"expected at most {limit} bytes, got Content-Length {length}", "PayloadTooLarge")


async def _spool(request: Request, dest: Path, limit: int) -> int:
    _stream_limit(request, limit)
    dest.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    try:
        async with await anyio.open_file(dest, "wb") as fh:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise Refused(413, f"expected at most {limit} bytes, got more", "PayloadTooLarge")
                await fh.write(chunk)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return size


def uploads_router(ctx: RoboflowContext) -> APIRouter:
    router = APIRouter(route_class=RoboflowRoute, tags=["roboflow data staging"])
    catalog = ctx.resources.catalog
    policy = URLPolicy.from_settings(ctx.settings)

    def check_media(batch_id: str, media_kind: str) -> None:
        check_id(batch_id, "batch id")
        with catalog().read() as conn:
            held = conn.execute(sa.select(batches.c.media_kind).where(batches.c.batch_id == batch_id)).scalar()
        if held is not None and held != media_kind:
            raise InputError(f"batch {batch_id!r} holds {held}, got a request to add {media_kind}; use another batch id")

    def upload_url(request: Request, workspace: str, batch_id: str, kind: str, file_name: str | None,
                   display_name: str | None, max_bytes: int) -> dict[str, Any]:  # fmt: skip
        check_media(batch_id, _MEDIA[kind])
        records.remember_batch(catalog(), batch_id, workspace=workspace, display_name=display_name, batch_type="sharded-batch",
                               media_kind=_MEDIA[kind])
        upload_id = records.issue_upload(catalog(), batch_id=batch_id, workspace=workspace, kind=kind, file_name=file_name,
                                         max_bytes=max_bytes, ttl_seconds=ctx.settings.roboflow_url_ttl_seconds)  # fmt: skip
        path = f"uploads/{upload_id}"
        url = f"{ctx.base_url(request)}/data-staging/v1/{path}?{ctx.signer.query('PUT', path)}"
        return {"signedURLDetails": {"uploadURL": url, "extensionHeaders": {}}}

    @router.post(PREFIX + "/{batch_id}/upload/image", summary="Stage one image now (multipart, one part)")
    async def upload_image(request: Request, workspace: str, batch_id: str, fileName: Optional[str] = Query(None),  # noqa: N803
                           displayName: Optional[str] = Query(None)) -> dict[str, Any]:  # noqa: N803  # fmt: skip
        check_workspace(await anyio.to_thread.run_sync(check_key, ctx, request), workspace)
        limit = ctx.settings.max_image_bytes + 64 * 1024
        _stream_limit(request, limit)
        async with request.form(max_files=1, max_fields=0, max_part_size=limit) as form:
            uploads = [v for v in form.values() if hasattr(v, "read")]
            if len(uploads) != 1:
                raise Refused(400, f"expected one file part in the multipart body, got {len(uploads)}", "InvalidRequest")
            upload = uploads[0]
            data = await upload.read()
        name = fileName or upload.filename or ""
        if not name:
            raise Refused(400, "expected a fileName query parameter (or a filename in the part), got none", "InvalidRequest")

        def stage() -> dict[str, Any]:
            check_media(batch_id, "images")
            records.remember_batch(catalog(), batch_id, workspace=workspace, display_name=displayName, batch_type="simple-batch",
                                   media_kind="images")
            summary = ingests.stage_image(ctx.resources, ctx.settings, batch_id=batch_id, file_name=name, data=data)
            failed = failed_files(summary.ingest_id) if summary.failed else []
            return {"status": "ok", "ingestId": summary.ingest_id, "duplicated": summary.already_completed,
                    "ingested": summary.ingested, "duplicates": summary.duplicates, "failed": summary.failed,
                    "failedFiles": failed}  # fmt: skip

        return await anyio.to_thread.run_sync(stage)

    def failed_files(ingest_id: str) -> list[dict[str, Any]]:
        """Every failed file of an ingest, with its type and reason (as `list-ingest-details` shows them)."""
        with catalog().read() as conn:
            rows = conn.execute(sa.select(shards.c.failed_files).where(shards.c.ingest_id == ingest_id))
            return [f for r in rows for f in (r.failed_files or [])]

    @router.post(PREFIX + "/{batch_id}/upload/video", summary="An upload URL for one video")
    def upload_video(request: Request, workspace: str, batch_id: str, fileName: str = Query(...),  # noqa: N803
                     displayName: Optional[str] = Query(None)) -> dict[str, Any]:  # noqa: N803  # fmt: skip
        check_workspace(check_key(ctx, request), workspace)
        normalize_name(fileName)
        limit = min(ctx.settings.roboflow_max_upload_bytes, ctx.settings.max_video_bytes)
        return upload_url(request, workspace, batch_id, "video", fileName, displayName, limit)

    @router.post(PREFIX + "/{batch_id}/bulk-upload/image-files", summary="An upload URL for one tar shard of images")
    def upload_shard(request: Request, workspace: str, batch_id: str, displayName: Optional[str] = Query(None)) -> dict[str, Any]:  # noqa: N803
        check_workspace(check_key(ctx, request), workspace)
        return upload_url(request, workspace, batch_id, "shard", None, displayName, ctx.settings.roboflow_max_upload_bytes)

    @router.put("/data-staging/v1/uploads/{upload_id}", summary="Upload target (signed, single use); starts the ingest")
    async def put_upload(request: Request, upload_id: str, expires: Optional[str] = Query(None),
                         signature: Optional[str] = Query(None)) -> dict[str, Any]:  # fmt: skip
        ctx.signer.verify("PUT", f"uploads/{upload_id}", expires, signature)
        slot = await anyio.to_thread.run_sync(records.claim_upload, catalog(), upload_id)
        spool = ingests.spool_dir(ctx.settings)
        if slot.kind == "video":
            folder = spool / f"rf-video-{upload_id}"
            size = await _spool(request, folder / normalize_name(slot.file_name), slot.max_bytes)
        else:
            dest = spool / f"rf-shard-{upload_id}.tar"
            size = await _spool(request, dest, slot.max_bytes)

        def start() -> dict[str, Any]:
            if slot.kind == "video":
                req = ingests.video_request(upload_id=upload_id, batch_id=slot.batch_id, folder=folder)
            else:
                req = ingests.shard_request(upload_id=upload_id, batch_id=slot.batch_id, spooled=dest)
            if req.notifications_url:
                check_public(req.notifications_url, "notificationsURL")
            ingests.announce(catalog(), req, kind=f"roboflow-{slot.kind}", digest=ingests.request_digest(req.model_dump(mode="json")),
                             emit=ctx.launcher.ingest)  # fmt: skip
            records.finish_upload(catalog(), upload_id, size=size, ingest_id=req.ingest_id)
            return {"status": "accepted", "ingestId": req.ingest_id, "size": size}

        try:
            return await anyio.to_thread.run_sync(start)
        except BaseException:
            shutil.rmtree(spool / f"rf-video-{upload_id}", ignore_errors=True)
            (spool / f"rf-shard-{upload_id}.tar").unlink(missing_ok=True)
            raise

    def check_public(url: str, field: str) -> None:
        try:
            target = check_url(url, policy)
            anyio.from_thread.run(resolve_checked, target.host, target.port or (443 if target.scheme == "https" else 80), policy)
        except UnsafeURL as exc:
            raise Refused(400, f"{field}: {exc}", "UnsafeURL") from exc
        except FetchError:
            pass  # does not resolve now: checked again when used, so it cannot slip through

    async def references(request: Request, workspace: str, batch_id: str, display_name: str | None, media: str) -> dict[str, Any]:
        check_workspace(await anyio.to_thread.run_sync(check_key, ctx, request), workspace)
        try:
            body = await request.json()
        except ValueError as exc:
            raise Refused(400, f"expected a JSON object, got invalid JSON: {exc}", "InvalidRequest") from exc
        singular = "image" if media == "images" else "video"
        if not isinstance(body, dict):
            raise Refused(400, f"expected a JSON object, got {type(body).__name__}", "InvalidRequest")
        inline, url = body.get(f"{singular}References"), body.get(f"{singular}ReferencesURL")
        if (inline is None) == (url is None):
            raise Refused(400, f"expected exactly one of {singular}References (a list) or {singular}ReferencesURL", "InvalidRequest")
        if inline is not None and (not isinstance(inline, list) or not all(isinstance(r, dict) for r in inline)):
            raise Refused(400, f"expected {singular}References to be a list of {{\"name\", \"url\"}} objects", "InvalidRequest")
        notify = body.get("notificationsURL")
        for field_name, value in ((f"{singular}ReferencesURL", url), ("notificationsURL", notify)):
            if value is not None:
                if not isinstance(value, str):
                    raise Refused(400, f"expected {field_name} to be a string URL", "InvalidRequest")
                await anyio.to_thread.run_sync(check_public, value, field_name)
        ingest_id = body.get("ingestId") or f"rf-refs-{uuid.uuid4().hex[:16]}"

        def start() -> dict[str, Any]:
            check_media(batch_id, media)
            records.remember_batch(catalog(), batch_id, workspace=workspace, display_name=display_name, batch_type="sharded-batch",
                                   media_kind=media)
            req = ingests.references_request(ctx.resources, batch_id=batch_id, media_kind=media, ingest_id=ingest_id,
                                             references=inline, references_url=url, notifications_url=notify,
                                             categories=body.get("notificationCategories"))  # fmt: skip
            fresh = ingests.announce(catalog(), req, kind=f"roboflow-{singular}-references",
                                     digest=ingests.request_digest([batch_id, body]), emit=ctx.launcher.ingest)  # fmt: skip
            shard_ids = None
            if inline is not None:
                shard_ids = [f"{ingest_id}/{seq:05d}" for seq in range(math.ceil(len(inline) / ctx.settings.shard_size))]
            return {"ingestId": ingest_id, "shardIds": shard_ids, "duplicated": not fresh}

        try:
            IngestRequest(batch_id=batch_id, media_kind=media, source_kind="references", source="-", ingest_id=ingest_id)  # type: ignore[arg-type]
        except ValueError as exc:
            raise Refused(400, str(exc), "InvalidRequest") from exc
        return await anyio.to_thread.run_sync(start)

    @router.post(PREFIX + "/{batch_id}/bulk-upload/image-references", summary="Ingest images from references (inline or a URL)")
    async def image_references(request: Request, workspace: str, batch_id: str, displayName: Optional[str] = Query(None)) -> dict[str, Any]:  # noqa: N803
        answer = await references(request, workspace, batch_id, displayName, "images")
        return answer

    @router.post(PREFIX + "/{batch_id}/bulk-upload/video-references", summary="Ingest videos from references (inline or a URL)")
    async def video_references(request: Request, workspace: str, batch_id: str, displayName: Optional[str] = Query(None)) -> dict[str, Any]:  # noqa: N803
        answer = await references(request, workspace, batch_id, displayName, "videos")
        return {"ingestId": answer["ingestId"], "duplicated": answer["duplicated"]}

    @router.get("/data-staging/v1/downloads/{batch_id}/{name:path}", summary="Download target of a listed file (signed)")
    def download(batch_id: str, name: str, expires: Optional[str] = Query(None), signature: Optional[str] = Query(None)) -> Any:
        ctx.signer.verify("GET", download_path(batch_id, name), expires, signature)
        with catalog().read() as conn:
            row = conn.execute(sa.select(files.c.store_key, files.c.sha256, files.c.media_type)
                               .where(files.c.batch_id == batch_id, files.c.name == name, files.c.status == "ingested")).first()  # fmt: skip
        if row is None:
            raise NotFoundError(f"batch {batch_id!r} has no file {name!r} (any more)")
        store = ctx.resources.store()
        key = row.store_key or blob_key(row.sha256)
        media = row.media_type or "application/octet-stream"
        if store.is_local:
            return FileResponse(store.path(key), media_type=media)

        def chunks() -> Any:
            with store.open(key) as fh:
                while chunk := fh.read(1024 * 1024):
                    yield chunk

        return StreamingResponse(chunks(), media_type=media)

    return router
