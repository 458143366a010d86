"""Routes: workspace discovery and the data-staging reads (batches, count, parts, content, shards)."""

from __future__ import annotations

from typing import Any, Optional
from urllib.parse import quote

from fastapi import APIRouter, Query, Request

from docket_core.roboflow import views
from docket_core.server.roboflow.common import RoboflowContext, RoboflowRoute, check_key, check_workspace, page_size

__all__ = ["download_path", "staging_router"]

PREFIX = "/data-staging/v1/external/{workspace}/batches"


def download_path(batch_id: str, name: str) -> str:
    """The path a download URL signs (and the route below `/data-staging/v1/` serves)."""
    return f"downloads/{batch_id}/{name}"


def signer_for(ctx: RoboflowContext, request: Request) -> views.Signer:
    store = ctx.resources.store()
    protocol = store.fs.protocol if isinstance(store.fs.protocol, str) else store.fs.protocol[0]
    base = ctx.base_url(request)

    def sign(batch_id: str, name: str, key: str) -> str:
        if protocol in ("s3", "s3a"):  # the store's own presigned URL: the bytes never pass through Docket
            return store.fs.sign(store.path(key), expiration=ctx.settings.roboflow_url_ttl_seconds)
        path = download_path(batch_id, name)
        return f"{base}/data-staging/v1/{quote(path)}?{ctx.signer.query('GET', path)}"

    return sign


def staging_router(ctx: RoboflowContext) -> APIRouter:
    router = APIRouter(route_class=RoboflowRoute, tags=["roboflow data staging"])
    catalog = ctx.resources.catalog

    @router.get("/", summary="Workspace of the API key (the Roboflow client's first call)")
    def workspace(request: Request) -> dict[str, Any]:
        key = check_key(ctx, request)
        return {"workspace": key.workspace, "service": "docket", "api": "roboflow-batch-v1"}

    @router.get(PREFIX, summary="List batches")
    def list_batches(request: Request, workspace: str, pageSize: Optional[int] = Query(None),  # noqa: N803 - wire names
                     nextPageToken: Optional[str] = Query(None)) -> dict[str, Any]:  # noqa: N803  # fmt: skip
        check_workspace(check_key(ctx, request), workspace)
        return views.list_batches_page(catalog(), page_size=page_size(ctx, pageSize), token=nextPageToken,
                                       ttl_days=ctx.settings.staged_data_ttl_days)  # fmt: skip

    @router.get(PREFIX + "/{batch_id}", summary="Batch details")
    def batch(request: Request, workspace: str, batch_id: str) -> dict[str, Any]:
        check_workspace(check_key(ctx, request), workspace)
        return {"batch": views.batch_metadata(catalog(), batch_id, ttl_days=ctx.settings.staged_data_ttl_days)}

    @router.get(PREFIX + "/{batch_id}/count", summary="Files in a batch (or in one part of a job's output)")
    def count(request: Request, workspace: str, batch_id: str, partName: Optional[str] = Query(None)) -> dict[str, Any]:  # noqa: N803
        check_workspace(check_key(ctx, request), workspace)
        return views.batch_count(catalog(), batch_id, part_name=partName)

    @router.get(PREFIX + "/{batch_id}/parts", summary="Parts of a multipart batch (a job's output)")
    def parts(request: Request, workspace: str, batch_id: str) -> dict[str, Any]:
        check_workspace(check_key(ctx, request), workspace)
        return views.batch_parts(catalog(), batch_id)

    @router.get(PREFIX + "/{batch_id}/list", summary="A page of a batch's files, with download URLs")
    def content(request: Request, workspace: str, batch_id: str, partName: Optional[str] = Query(None),  # noqa: N803
                pageSize: Optional[int] = Query(None), nextPageToken: Optional[str] = Query(None)) -> dict[str, Any]:  # noqa: N803  # fmt: skip
        check_workspace(check_key(ctx, request), workspace)
        return views.file_page(catalog(), batch_id, part_name=partName, page_size=page_size(ctx, pageSize),
                               token=nextPageToken, sign=signer_for(ctx, request))  # fmt: skip

    @router.get(PREFIX + "/{batch_id}/shards", summary="A page of a batch's shards with their ingest status")
    def shards(request: Request, workspace: str, batch_id: str, pageSize: Optional[int] = Query(None),  # noqa: N803
               nextPageToken: Optional[str] = Query(None)) -> dict[str, Any]:  # noqa: N803  # fmt: skip
        check_workspace(check_key(ctx, request), workspace)
        return views.shard_page(catalog(), batch_id, page_size=page_size(ctx, pageSize), token=nextPageToken)

    return router
