"""Annotations and documents: read them, their content, change the content, move their status.

`GET /annotations` (filters `queue`, `status`, `id`, paginated), `GET /annotations/{id}`,
`GET /annotations/{id}/content`, `POST /annotations/{id}/content/operations` (Rossum's `replace`, `add`,
`remove`; answered with the new content), `POST /annotations/{id}/start|confirm|postpone|reject|delete`,
`GET /automation_blockers/{id}`, `GET /documents/{id}` and `GET /documents/{id}/content` (the file). Edits go through
`docket_core.queues.review.apply_edits`; confirmation through the `document_action` flow (the `confirm`
extensions, then `confirm_documents`), so an error message refuses it here as in the CLI (400, with
the messages).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from docket_core.errors import InputError, NotFoundError
from docket_core.queues.review import apply_edits, set_status
from docket_core.rossum.read import AnnotationQuery, annotation_one, annotations, document_one
from docket_core.server.rossum.common import Caller, api_error, caller, page_envelope, page_params, state

__all__ = ["router"]

router = APIRouter()


def _ints(text: str | None, what: str) -> list[int]:
    if not text:
        return []
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise api_error(400, f"{what} must be integers separated by commas, got {text!r}.") from None


def _statuses(text: str | None) -> list[str]:
    return [s.strip() for s in (text or "").split(",") if s.strip()]


def _one(request: Request, who: Caller, annotation_id: int, *, content: bool = False) -> dict[str, Any]:
    who.may_see(annotation_id)
    try:
        return annotation_one(state(request).context.resources.catalog(), state(request).urls, annotation_id, content=content)
    except NotFoundError:
        raise api_error(404, "Not found.") from None


@router.get("/annotations")
def list_annotations(request: Request, who: Caller = Depends(caller)) -> dict[str, Any]:
    page, size = page_params(request)
    ids = _ints(request.query_params.get("id"), "id")
    if who.token.kind == "hook":  # a hook token lists its own annotation, if it has one, and nothing else
        ids = [who.annotation] if who.annotation is not None and (not ids or who.annotation in ids) else [-1]
    query = AnnotationQuery(
        queue_numbers=_ints(request.query_params.get("queue"), "queue"), statuses=_statuses(request.query_params.get("status")),
        ids=ids, page=page, page_size=size,
    )  # fmt: skip
    sideload = {s.strip() for s in request.query_params.get("sideload", "").split(",") if s.strip()}
    try:
        found = annotations(state(request).context.resources.catalog(), state(request).urls, query, content="content" in sideload)
    except NotFoundError:
        raise api_error(404, "Not found.") from None
    # Rossum's sideloading: the related objects beside the results, each annotation keeping its link.
    results = [{**a, "content": f"{a['url']}/content"} for a in found.results]
    envelope = page_envelope(request, results, total=found.total, page=page, size=size)
    if "content" in sideload:
        wanted = {s for s in request.query_params.get("content.schema_id", "").split(",") if s}
        if wanted:  # only those datapoints, flat, as Rossum sideloads them
            from docket_core.extensions.content import iter_nodes

            envelope["content"] = [n for a in found.results for n in iter_nodes(a["content"]) if n.get("schema_id") in wanted]
        else:
            envelope["content"] = [section for a in found.results for section in a["content"]]
    if "documents" in sideload:
        envelope["documents"] = list(found.documents.values())
    return envelope


@router.get("/annotations/{annotation_id}")
def get_annotation(annotation_id: int, request: Request, who: Caller = Depends(caller)) -> dict[str, Any]:
    return _one(request, who, annotation_id)


@router.get("/annotations/{annotation_id}/content")
def get_content(annotation_id: int, request: Request, who: Caller = Depends(caller)) -> dict[str, Any]:
    content = _one(request, who, annotation_id, content=True)["content"]
    return {"content": content, "results": content}


@router.post("/annotations/{annotation_id}/content/operations")
async def operations(annotation_id: int, request: Request, who: Caller = Depends(caller)) -> dict[str, Any]:
    who.may_see(annotation_id)
    body = await request.json()
    ops = body.get("operations") if isinstance(body, dict) else None
    if not isinstance(ops, list) or not ops:
        raise api_error(400, "operations must be a non-empty list of replace, add or remove operations.")
    catalog = state(request).context.resources.catalog()
    try:
        await run_in_threadpool(apply_edits, catalog, annotation_id, operations=ops, actor=who.actor)
    except NotFoundError:
        raise api_error(404, "Not found.") from None
    except InputError as e:
        raise api_error(400, str(e)) from None
    return await run_in_threadpool(get_content, annotation_id, request, who)


def _move(request: Request, who: Caller, annotation_id: int, to: str, note: str | None = None) -> None:
    who.may_see(annotation_id)
    try:
        set_status(state(request).context.resources.catalog(), [annotation_id], to, actor=who.actor, note=note)
    except NotFoundError:
        raise api_error(404, "Not found.") from None
    except InputError as e:
        raise api_error(409, str(e)) from None


@router.post("/annotations/{annotation_id}/start")
def start(annotation_id: int, request: Request, who: Caller = Depends(caller)) -> dict[str, Any]:
    current = _one(request, who, annotation_id)
    if current["status"] != "reviewing":
        _move(request, who, annotation_id, "reviewing")
    return {"annotation": current["url"], "session_timeout": "01:00:00"}


@router.post("/annotations/{annotation_id}/postpone", status_code=204)
def postpone(annotation_id: int, request: Request, who: Caller = Depends(caller)) -> Response:
    _move(request, who, annotation_id, "postponed")
    return Response(status_code=204)


@router.post("/annotations/{annotation_id}/delete", status_code=204)
def delete(annotation_id: int, request: Request, who: Caller = Depends(caller)) -> Response:
    _move(request, who, annotation_id, "deleted")
    return Response(status_code=204)


@router.post("/annotations/{annotation_id}/reject")
async def reject(annotation_id: int, request: Request, who: Caller = Depends(caller)) -> dict[str, Any]:
    body = await request.body()
    note = None
    if body:
        import json

        try:
            data = json.loads(body)
        except json.JSONDecodeError:
            raise api_error(400, "JSON parse error.") from None
        note = data.get("note_content") if isinstance(data, dict) else None
    await run_in_threadpool(_move, request, who, annotation_id, "rejected", note)
    return {"status": "rejected", "note": None}


def _confirm(request: Request, who: Caller, annotation_id: int) -> None:
    from flows.document_action import document_action

    from docket_core.queues.review import require_status

    who.may_see(annotation_id)
    catalog = state(request).context.resources.catalog()
    try:
        require_status(catalog, [annotation_id], "confirmed")
    except NotFoundError:
        raise api_error(404, "Not found.") from None
    except InputError as e:
        raise api_error(409, str(e)) from None
    summary = document_action(action="confirm", document_ids=[annotation_id], actor=who.actor)
    refused = summary.refused.get(annotation_id)
    if refused:
        raise api_error(400, f"Annotation cannot be confirmed while error messages stand: {' | '.join(refused)}")


@router.post("/annotations/{annotation_id}/confirm", status_code=204)
async def confirm(annotation_id: int, request: Request, who: Caller = Depends(caller)) -> Response:
    await run_in_threadpool(_confirm, request, who, annotation_id)
    return Response(status_code=204)


@router.get("/automation_blockers/{annotation_id}")
def automation_blocker(annotation_id: int, request: Request, who: Caller = Depends(caller)) -> dict[str, Any]:
    """What keeps an annotation from automatic confirmation (the object its `automation_blocker` links)."""
    from docket_core.extensions.payload import automation_blocker_object
    from docket_core.queues.documents import load_documents

    who.may_see(annotation_id)
    with state(request).context.resources.catalog().read() as conn:
        rows = load_documents(conn, [annotation_id])
    if not rows:
        raise api_error(404, "Not found.")
    return automation_blocker_object(state(request).urls, annotation_id, list(rows[0].automation_blockers))


@router.get("/documents/{document_id}")
def get_document(document_id: int, request: Request, who: Caller = Depends(caller)) -> dict[str, Any]:
    who.may_see(document_id)
    try:
        return document_one(state(request).context.resources.catalog(), state(request).urls, document_id)[0]
    except NotFoundError:
        raise api_error(404, "Not found.") from None


@router.get("/documents/{document_id}/content")
def document_content(document_id: int, request: Request, who: Caller = Depends(caller)) -> Response:
    """The document's file, as it was uploaded (from the store, by its sha256)."""
    from docket_core.store import blob_key

    who.may_see(document_id)
    resources = state(request).context.resources
    try:
        shown, row = document_one(resources.catalog(), state(request).urls, document_id)
    except NotFoundError:
        raise api_error(404, "Not found.") from None
    if not row.sha256:
        raise api_error(404, "Not found.")
    data = resources.store().read_bytes(blob_key(row.sha256))
    name = (row.file_name or "document").replace('"', "")
    return Response(data, media_type=shown["mime_type"], headers={"Content-Disposition": f'inline; filename="{name}"'})
