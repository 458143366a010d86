"""The push receiver: signed requests in, `docket.ingest.requested` events out (a FastAPI app).

`POST /v1/ingest` takes a references list (or a references URL), a batch id, and optionally a
workflow to run afterwards and a URL to notify. It answers at once (202) and leaves the work to the
`ingest_batch` deployment, which the event triggers. Each request must carry Standard Webhooks
headers signed with the receiver secret (`DOCKET_RECEIVER_SECRET`):

- missing or wrong signature, or a timestamp more than 5 minutes off: 401;
- a body that is not the JSON described in the OpenAPI document: 400 with the reason;
- a body over `DOCKET_RECEIVER_MAX_BODY_BYTES`: 413;
- the same `webhook-id` again (a sender's retry, even after a restart): 202 with `duplicate: true`
  and nothing else happens; the same id with another body: 409.

URLs in a push (the references URL, the notification URL) must point to the public internet unless
their host is listed in `DOCKET_ALLOWED_URL_HOSTS` on the server: a push can never open the private
network by itself. The request is recorded in the catalog with its URLs; the event carries only
`push:<webhook-id>` in their place (`docket_core.pushes`). The domain of this module knows no Prefect:
the caller passes `emit`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, Literal

import anyio
import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from docket_core.catalog import utcnow
from docket_core.catalog.schema_notifications import received_pushes
from docket_core.errors import DocketError, InputError, NotFoundError
from docket_core.pushes import announced
from docket_core.resources import Resources
from docket_core.safefetch.address import URLPolicy, check_url, resolve_checked
from docket_core.safefetch.errors import FetchError, UnsafeURL
from docket_core.settings import DocketSettings
from docket_core.settings.notify import NotifySettings
from docket_core.signing import SignatureError, secret_key, verify
from docket_core.staging.models import STORE_SOURCE, IngestRequest
from docket_core.workflows.registry import get_workflow, load_workflows

__all__ = ["EmitIngest", "IngestPush", "PushAccepted", "PushReference", "create_app", "push_ingest_id", "references_key"]

EmitIngest = Callable[[IngestRequest], "str | None"]
"""Announces an accepted ingest (in `docket serve`: the Prefect event `docket.ingest.requested`);
returns the event id, or None when it could not be announced."""


class PushReference(BaseModel):
    """One file to fetch: its name in the batch and its (often signed) URL."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="File name in the batch (a relative path).", min_length=1, max_length=1024)
    url: str = Field(description="http(s) URL to download the file from.", min_length=1)


class IngestPush(BaseModel):
    """The body of `POST /v1/ingest`: files to stage into a batch, and what to do after."""

    model_config = ConfigDict(extra="forbid")

    batch_id: str = Field(description="Batch to add the files to (created if new); ^[a-z0-9_-]{1,64}$.")
    media_kind: Literal["images", "documents", "videos"] = Field(default="images", description="What the files are.")
    references: list[PushReference] | None = Field(
        default=None, description="The files, inline. Give this or references_url.", min_length=1
    )
    references_url: str | None = Field(
        default=None, description="URL of a JSONL references file ({\"name\", \"url\"} per line), instead of a list."
    )
    ingest_id: str | None = Field(
        default=None, description="Idempotency key of the ingest; derived from webhook-id when empty."
    )
    workflow_id: str | None = Field(default=None, description="Workflow to run over the batch once ingested.")
    notifications_url: str | None = Field(default=None, description="Where to send the ingest and job notifications.")
    notification_category: Literal["ingest-status", "files-status"] | None = Field(
        default=None, description="ingest-status (default: one summary) or files-status (also per shard, per file)."
    )

    @model_validator(mode="after")
    def _one_source(self) -> IngestPush:
        if (self.references is None) == (self.references_url is None):
            raise ValueError("expected exactly one of references (a list) or references_url, got "
                             + ("both" if self.references is not None else "neither"))  # fmt: skip
        return self


class PushAccepted(BaseModel):
    """The answer to an accepted (or already accepted) push."""

    accepted: bool = True
    duplicate: bool = Field(description="True when this webhook-id was accepted before; nothing new happens.")
    webhook_id: str
    ingest_id: str
    batch_id: str
    event_id: str | None = Field(default=None, description="The Prefect event that starts the ingest.")


def push_ingest_id(webhook_id: str) -> str:
    """The ingest id of a push that names none: stable for a `webhook-id`, so retries ingest once."""
    return f"push-{hashlib.sha256(webhook_id.encode()).hexdigest()[:24]}"


class _Rejected(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


def _reason(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors())


async def _read_body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise _Rejected(413, f"expected a body of at most {limit} bytes, got Content-Length {length}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _Rejected(413, f"expected a body of at most {limit} bytes, got more")
    return bytes(body)


class _Receiver:
    def __init__(self, resources: Resources, settings: NotifySettings, docket_settings: DocketSettings, emit: EmitIngest) -> None:
        self.resources, self.settings, self.docket_settings, self.emit = resources, settings, docket_settings, emit
        self.key = secret_key(settings.push_secret())
        self.policy = URLPolicy.from_settings(docket_settings)
        self.limiter = anyio.CapacityLimiter(8)  # threads for catalog writes; requests beyond wait

    def parse(self, body: bytes) -> IngestPush:
        try:
            data = json.loads(body)
        except RecursionError as exc:
            raise _Rejected(400, "expected a JSON object, got JSON nested too deeply") from exc
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, or an integer too long to convert
            raise _Rejected(400, f"expected a JSON object, got invalid JSON: {exc}") from exc
        try:
            push = IngestPush.model_validate(data)
            IngestRequest(batch_id=push.batch_id, media_kind=push.media_kind, source_kind="references", source="-",
                          ingest_id=push.ingest_id)  # fmt: skip
        except ValidationError as exc:
            raise _Rejected(400, _reason(exc)) from exc
        if push.workflow_id is not None:
            try:
                workflow = get_workflow(push.workflow_id, load_workflows(self.docket_settings.workflow_paths,
                                                                         self.docket_settings.workflow_modules))  # fmt: skip
            except NotFoundError as exc:
                raise _Rejected(400, str(exc)) from exc
            if push.media_kind not in workflow.media_kinds:
                raise _Rejected(400, f"workflow {push.workflow_id!r} processes {', '.join(sorted(workflow.media_kinds))}, "
                                     f"got media_kind {push.media_kind!r}")  # fmt: skip
        return push

    async def check_urls(self, push: IngestPush) -> None:
        for field, url in (("references_url", push.references_url), ("notifications_url", push.notifications_url)):
            if url is None:
                continue
            try:
                target = check_url(url, self.policy)
                await resolve_checked(target.host, target.port or (443 if target.scheme == "https" else 80), self.policy)
            except UnsafeURL as exc:
                raise _Rejected(400, f"{field}: {exc}") from exc
            except FetchError:
                pass  # the name does not resolve now: checked again when the URL is used, so it cannot slip through

    def _references_file(self, ingest_id: str, push: IngestPush) -> str:
        """The push's inline references as a JSONL file in the store, which every worker shares."""
        key = references_key(ingest_id)
        lines = (json.dumps({"name": ref.name, "url": ref.url}, ensure_ascii=False) + "\n" for ref in push.references or [])
        self.resources.store().put_bytes(key, "".join(lines).encode("utf-8"))
        return f"{STORE_SOURCE}{key}"

    def accept(self, webhook_id: str, body: bytes, push: IngestPush) -> PushAccepted:
        digest = hashlib.sha256(body).hexdigest()
        ingest_id = push.ingest_id or push_ingest_id(webhook_id)
        catalog = self.resources.catalog()
        try:
            with catalog.begin() as conn:
                seen = conn.execute(sa.select(received_pushes).where(received_pushes.c.webhook_id == webhook_id)).first()
                if seen is not None:
                    return self._duplicate(seen, digest)
                source = push.references_url or self._references_file(ingest_id, push)
                request = IngestRequest(
                    batch_id=push.batch_id, media_kind=push.media_kind, source_kind="references", source=source,
                    ingest_id=ingest_id, allow_private_network=False, notifications_url=push.notifications_url,
                    notification_category=push.notification_category or ("ingest-status" if push.notifications_url else None),
                    workflow_id=push.workflow_id,
                )  # fmt: skip
                conn.execute(
                    sa.insert(received_pushes).values(
                        webhook_id=webhook_id, body_sha256=digest, kind="ingest", batch_id=push.batch_id,
                        ingest_id=ingest_id, received_at=utcnow(), request=request.model_dump(mode="json"),
                    )  # fmt: skip
                )
                # Announced inside the transaction: if it fails, the push is not recorded and a retry works.
                # The event names the push, not its URLs (`docket_core.pushes`).
                try:
                    event_id = self.emit(announced(request, webhook_id))
                except Exception as exc:  # noqa: BLE001 - whatever the announcer raises, the sender should retry
                    raise _Rejected(503, f"cannot announce the ingest ({type(exc).__name__}); retry later") from exc
                if event_id is None:
                    raise _Rejected(503, "cannot announce the ingest: Prefect events are off (is PREFECT_API_URL set?); retry later")
                conn.execute(
                    sa.update(received_pushes).where(received_pushes.c.webhook_id == webhook_id).values(event_id=event_id)
                )
        except sa.exc.IntegrityError:  # the same push arrived twice at once: the other one won
            with catalog.read() as conn:
                seen = conn.execute(sa.select(received_pushes).where(received_pushes.c.webhook_id == webhook_id)).one()
            return self._duplicate(seen, digest)
        return PushAccepted(duplicate=False, webhook_id=webhook_id, ingest_id=ingest_id, batch_id=push.batch_id, event_id=event_id)

    @staticmethod
    def _duplicate(seen: sa.Row, digest: str) -> PushAccepted:
        if seen.body_sha256 != digest:
            raise _Rejected(409, f"webhook-id {seen.webhook_id!r} was used before for another body; use a new webhook-id")
        return PushAccepted(duplicate=True, webhook_id=seen.webhook_id, ingest_id=seen.ingest_id or "",
                            batch_id=seen.batch_id or "", event_id=seen.event_id)  # fmt: skip

    async def handle_ingest(self, request: Request) -> PushAccepted:
        body = await _read_body(request, self.settings.receiver_max_body_bytes)
        try:
            webhook_id = verify(self.key, request.headers, body, tolerance=self.settings.receiver_tolerance_seconds)
        except SignatureError as exc:
            raise _Rejected(401, str(exc)) from exc
        if len(webhook_id) > 255:
            raise _Rejected(400, f"expected a webhook-id of at most 255 characters, got {len(webhook_id)}")
        push = await anyio.to_thread.run_sync(self.parse, body, limiter=self.limiter)
        await self.check_urls(push)
        return await anyio.to_thread.run_sync(self.accept, webhook_id, body, push, limiter=self.limiter)

    def health(self) -> dict[str, Any]:
        with self.resources.catalog().read() as conn:
            conn.execute(sa.select(sa.literal(1)))
        return {"status": "ok"}


_HEADERS = [
    {"name": name, "in": "header", "required": True, "schema": {"type": "string"}, "description": text}
    for name, text in (
        ("webhook-id", "Unique message id; a retry sends the same id (deduplicated)."),
        ("webhook-timestamp", "Unix seconds when signed; more than 5 minutes off is refused."),
        ("webhook-signature", "v1,<base64 HMAC-SHA256 of '{id}.{timestamp}.{body}'> under the receiver secret."),
    )
]
_ERROR = {"content": {"application/json": {"schema": {"type": "object", "properties": {"detail": {"type": "string"}}}}}}


def create_app(
    *,
    resources: Resources,
    settings: NotifySettings,
    docket_settings: DocketSettings,
    emit: EmitIngest,
) -> FastAPI:
    """The receiver as an ASGI app (serve it with uvicorn; test it with `httpx.ASGITransport`)."""
    receiver = _Receiver(resources, settings, docket_settings, emit)
    app = FastAPI(
        title="Docket push receiver",
        version="1",
        description="Signed (Standard Webhooks) requests that start work in Docket. See docs/push.md.",
    )
    schema = IngestPush.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.pop("$defs", {})

    @app.post(
        "/v1/ingest",
        status_code=202,
        response_model=PushAccepted,
        summary="Ingest files into a batch (then optionally run a workflow and notify)",
        responses={400: {"description": "Malformed body", **_ERROR}, 401: {"description": "Bad signature", **_ERROR},
                   409: {"description": "webhook-id reused", **_ERROR}, 413: {"description": "Body too large", **_ERROR},
                   503: {"description": "Cannot start work now; retry", **_ERROR}},  # fmt: skip
        openapi_extra={
            "parameters": _HEADERS,
            "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
        },
    )
    async def ingest(request: Request) -> Any:
        try:
            return await receiver.handle_ingest(request)
        except _Rejected as exc:
            return JSONResponse({"detail": exc.detail}, status_code=exc.status)
        except (InputError, ValidationError) as exc:
            return JSONResponse({"detail": str(exc)}, status_code=400)
        except (DocketError, sa.exc.SQLAlchemyError, OSError) as exc:
            return JSONResponse({"detail": f"cannot accept the push now ({type(exc).__name__}); retry later"}, status_code=503)

    @app.get("/healthz", summary="Liveness and catalog reachability")
    async def healthz() -> Any:
        try:
            return await anyio.to_thread.run_sync(receiver.health, limiter=receiver.limiter)
        except sa.exc.SQLAlchemyError as exc:
            return JSONResponse({"status": "unavailable", "detail": type(exc).__name__}, status_code=503)

    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = default_openapi()
            spec.setdefault("components", {}).setdefault("schemas", {}).update(components)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def references_key(ingest_id: str) -> str:
    """Where a push's inline references are kept in the store."""
    return f"pushes/{hashlib.sha256(ingest_id.encode()).hexdigest()[:32]}.jsonl"
