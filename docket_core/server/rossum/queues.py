"""Queues, schemas, uploading into a queue and exporting from it.

`GET /queues`, `GET /queues/{id}`, `GET /schemas`, `GET /schemas/{id}`: a queue's integer id is its
number (`docket_core.rossum.ids`), its schema has the same one.

`POST /queues/{id}/upload` (and `/upload/{filename}`): the file as multipart `content` (several allowed)
or as the body; `values` and `metadata` as in Rossum (the metadata becomes the annotation's). It goes the way `docket documents upload` goes: each file is
validated and stored (`stage_file`), the documents are registered at once (`register_import`, so the
answer can name their annotations, `importing`), then the `import_documents` flow captures them and
runs the queue's extensions in the background; poll `GET /annotations/{id}` for the status.

`GET|POST /queues/{id}/export?format=json|csv|xml`: the annotations the filters select (`status`, `id`,
`page`, `page_size`); with `POST ... to_status=exporting|exported`, the selected documents ready for
export are exported first by the `export_queue` flow (exactly once, as `docket queues export` does).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from docket_core.errors import InputError, NotFoundError
from docket_core.rossum.export import export_csv, export_json_results, export_xml
from docket_core.rossum.ids import queue_for_number
from docket_core.rossum.read import AnnotationQuery, annotations, queue_one, queues_all, schema_one
from docket_core.server.rossum.common import Caller, api_error, caller, page_envelope, page_params, state

__all__ = ["router"]

router = APIRouter()


def _queue_id(request: Request, number: int) -> str:
    try:
        return queue_for_number(state(request).context.resources.catalog(), number)
    except NotFoundError:
        raise api_error(404, "Not found.") from None


@router.get("/queues")
def list_queues(request: Request, who: Caller = Depends(caller)) -> dict[str, Any]:
    page, size = page_params(request)
    everything = queues_all(state(request).context.resources.catalog(), state(request).urls)
    return page_envelope(request, everything[(page - 1) * size : page * size], total=len(everything), page=page, size=size)


@router.get("/queues/{number}")
def get_queue(number: int, request: Request, who: Caller = Depends(caller)) -> dict[str, Any]:
    _queue_id(request, number)
    return queue_one(state(request).context.resources.catalog(), state(request).urls, number)


@router.get("/schemas")
def list_schemas(request: Request, who: Caller = Depends(caller)) -> dict[str, Any]:
    page, size = page_params(request)
    catalog, urls = state(request).context.resources.catalog(), state(request).urls
    everything = [schema_one(catalog, urls, q["id"]) for q in queues_all(catalog, urls)]
    return page_envelope(request, everything[(page - 1) * size : page * size], total=len(everything), page=page, size=size)


@router.get("/schemas/{number}")
def get_schema(number: int, request: Request, who: Caller = Depends(caller)) -> dict[str, Any]:
    _queue_id(request, number)
    return schema_one(state(request).context.resources.catalog(), state(request).urls, number)


async def _files(request: Request, filename: str | None) -> tuple[list[tuple[str, bytes]], dict[str, dict[str, Any]]]:
    kind = request.headers.get("content-type", "")
    if kind.startswith("multipart/form-data"):
        import json

        async with request.form() as form:  # closes the spooled upload files when done
            files = [(f.filename or "document", await f.read()) for f in form.getlist("content") if isinstance(f, UploadFile)]
            texts = {}
            for key in ("values", "metadata"):
                raw = form.get(key)
                texts[key] = (await raw.read()).decode() if isinstance(raw, UploadFile) else raw
        parsed: dict[str, dict[str, Any]] = {}
        for key, text in texts.items():
            try:
                value = json.loads(text) if text else {}
            except json.JSONDecodeError:
                raise api_error(400, "Value must be valid JSON.") from None
            parsed[key] = value if isinstance(value, dict) else {}
        return files, parsed
    name = filename
    disposition = request.headers.get("content-disposition", "")
    if name is None and "filename*=" in disposition:
        name = unquote(disposition.split("filename*=", 1)[1].split("''", 1)[-1].strip('"; '))
    elif name is None and "filename=" in disposition:
        name = disposition.split("filename=", 1)[1].strip('"; ')
    body = await request.body()
    return ([(name or "document", body)] if body else []), {}


def _import(request: Request, queue_id: str, files: list[tuple[str, bytes]], extra: dict[str, dict[str, Any]], actor: str) -> list[int]:
    """Stage and register the files as `docket documents upload` does; capture runs in the background."""
    from flows.import_documents import import_documents

    from docket_core.queues.importing import ImportRequest, StagedFile, register_import
    from docket_core.staging.ingest import stage_file

    api = state(request)
    resources, settings = api.context.resources, api.context.settings
    staged = []
    with tempfile.TemporaryDirectory(prefix="docket-upload-") as tmp:
        for index, (name, data) in enumerate(files):
            path = Path(tmp) / f"{index}-{Path(name).name or 'document'}"
            path.write_bytes(data)
            outcome = stage_file(path, Path(name).name, batch_kind="documents", settings=settings, store=resources.store())
            if outcome.status != "ingested" or not outcome.sha256:
                raise api_error(400, f"{name}: {outcome.error_type}: {outcome.reason}")
            staged.append(StagedFile(name=Path(name).name, sha256=outcome.sha256, media_type=outcome.media_type, size=outcome.size,
                                     values={k: str(v) for k, v in extra.get("values", {}).items()},
                                     metadata=extra.get("metadata", {})))  # fmt: skip
    job = ImportRequest(queue_id=queue_id, source="files", files=staged, actor=actor)
    try:
        plan = register_import(job, resources, settings)
    except InputError as e:
        raise api_error(400, str(e)) from None
    api.background.submit(import_documents, request=job)
    return plan.document_ids


@router.post("/queues/{number}/upload")
@router.post("/queues/{number}/upload/{filename}")
async def upload(number: int, request: Request, filename: str | None = None, who: Caller = Depends(caller)) -> JSONResponse:
    who.must_be_user()
    queue_id = _queue_id(request, number)
    files, extra = await _files(request, filename)
    if not files:
        raise api_error(400, "No file was submitted (send it as multipart field content, or as the body).")
    ids = await run_in_threadpool(_import, request, queue_id, files, extra, who.actor)
    urls = state(request).urls
    results = [{"annotation": urls.annotation(i), "document": urls.document(i)} for i in ids]
    return JSONResponse({"results": results, **results[0]}, status_code=201)


def _export(request: Request, number: int, who: Caller) -> Response:
    from flows.export_queue import export_queue

    who.must_be_user()
    queue_id = _queue_id(request, number)
    query = request.query_params
    fmt = (query.get("format") or "").lower() or {"text/csv": "csv", "application/xml": "xml"}.get(request.headers.get("accept", ""), "json")
    if fmt not in ("json", "csv", "xml"):
        raise api_error(400, f"format must be json, csv or xml, got {fmt!r}.")
    statuses = [s for s in (query.get("status") or "").split(",") if s]
    try:
        ids = [int(i) for i in (query.get("id") or "").split(",") if i]
    except ValueError:
        raise api_error(400, "id must be integers separated by commas.") from None
    to_status = query.get("to_status")
    catalog = state(request).context.resources.catalog()
    if to_status is not None:
        if request.method != "POST":
            raise api_error(400, "to_status is only valid with POST.")
        if to_status not in ("exporting", "exported"):
            raise api_error(400, f"to_status must be exporting or exported, got {to_status!r}.")
        try:
            summary = export_queue(queue_id=queue_id, statuses=statuses or None, document_ids=ids or None, actor=who.actor)
        except ValueError as e:
            raise api_error(400, str(e)) from None
        ids = sorted({d for e in summary.exports for d in _exported_ids(catalog, e["export_id"])})
        statuses = []
        if not ids:
            return JSONResponse(page_envelope(request, [], total=0, page=1, size=20))
    page, size = page_params(request, export=True)
    found = annotations(catalog, state(request).urls, AnnotationQuery([number], statuses, ids, page, size, exclude_deleted=True), content=True)
    names = {r.document_id: r.file_name for r in found.rows}
    shown = [{**a, "_file_name": names[a["id"]]} for a in found.results]
    queue_of = {r.document_id: r.queue_id for r in found.rows}
    if fmt == "csv":
        split = lambda key: [c for c in (query.get(key) or "").split(",") if c]  # noqa: E731
        text = export_csv(shown, found.queues.get(queue_id) or _spec(catalog, queue_id), columns=split("columns"),
                          prepend=split("prepend_columns"), append=split("append_columns"), delimiter=query.get("delimiter") or ",")  # fmt: skip
        return Response(text, media_type="text/csv; charset=utf-8")
    results = export_json_results(shown, found.queues, queue_of, found.documents)
    envelope = page_envelope(request, results, total=found.total, page=page, size=size)
    if fmt == "xml":
        return Response(export_xml(results, envelope["pagination"]), media_type="application/xml; charset=utf-8")
    return JSONResponse(envelope)


def _spec(catalog: Any, queue_id: str) -> Any:
    from docket_core.queues.registry import get_queue as read_queue

    with catalog.read() as conn:
        return read_queue(conn, queue_id)


def _exported_ids(catalog: Any, export_id: str) -> list[int]:
    import sqlalchemy as sa

    from docket_core.catalog.schema_queues import documents

    with catalog.read() as conn:
        return list(conn.execute(sa.select(documents.c.document_id).where(documents.c.export_id == export_id)).scalars())


@router.api_route("/queues/{number}/export", methods=["GET", "POST"])
async def export(number: int, request: Request, who: Caller = Depends(caller)) -> Response:
    return await run_in_threadpool(_export, request, number, who)
