"""Requests to extensions in Rossum's hook format (see tests/fixtures/rossum/), built from Docket's state.

An `annotation_content` request carries what Rossum's does, field for field: the envelope
(`request_id`, `timestamp`, `base_url`, `rossum_authorization_token`, `hook`, `settings`, `secrets`,
`action`, `event`), the annotation object with its content tree (each datapoint with its
`normalized_value`), the document object, `updated_datapoints`, and the related objects the extension's
`sideload` asks for (`schemas`, `queues`, `modifiers`, `emails`, `documents`, `automation_blockers`, and
the empty lists of what Docket has none of: `relations`, `pages`, `labels`...). URLs point under
`base_url` (`DOCKET_PUBLIC_BASE_URL`), where `docket serve` answers them with the Rossum-compatible API,
and the token opens that API for this one annotation. Beyond Rossum's keys, `docket` gives the Docket
queue id and its schema of fields. Secrets are never sent (`secrets` is empty).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from docket_core.catalog import utcnow
from docket_core.queues.models import QueueSpec
from docket_core.rossum.content import wire_content
from docket_core.rossum.objects import (
    Urls,
    annotation_object,
    document_object,
    email_object,
    queue_object,
    rossum_time,
    schema_object,
    user_object,
)

__all__ = ["HookContext", "annotation_request", "automation_blocker_object", "email_request", "queue_sideloads", "rossum_time"]

_EMPTY_SIDELOADS = ("related_emails", "relations", "child_relations", "suggested_edits", "assignees", "pages", "notes", "labels")


class HookContext(dict):
    """What requests about one queue share, read once per chunk: `queue_number`, `queue_created_at`,
    `queue_updated_at`, `counts` (documents by status) and `users` (the modifiers, by id, as dicts)."""


def _envelope(
    *, extension: str, settings: Mapping[str, Any], event: str, base_url: str, token: str | None
) -> dict[str, Any]:  # fmt: skip
    kind, _, action = event.partition(".")
    urls = Urls(base_url)
    request: dict[str, Any] = {
        "request_id": str(uuid.uuid4()),
        "timestamp": rossum_time(utcnow()),
        "base_url": urls.base,
        "rossum_authorization_token": token,
        "hook": f"{urls.api}/hooks/{extension}",
        "settings": dict(settings),
        "secrets": {},
        "action": action,
        "event": kind,
    }
    if token is None:
        del request["rossum_authorization_token"]  # as Rossum does for a hook without a token owner
    return request


class _User:
    def __init__(self, data: Mapping[str, Any]) -> None:
        self.__dict__.update(data)


def automation_blocker_object(urls: Urls, document_id: int, blockers: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Rossum's automation blocker object of a document: one `extension` entry per blocker an extension
    gave (per datapoint when it named one), each with its messages as `details.content`."""
    content = []
    for blocker in blockers:
        entry: dict[str, Any] = {"level": "datapoint" if blocker.get("id") is not None else "annotation", "type": "extension",
                                 "schema_id": blocker.get("schema_id"), "samples_truncated": False}  # fmt: skip
        if blocker.get("id") is not None:
            entry["samples"] = [{"datapoint_id": blocker["id"], "details": {"content": [blocker.get("content")]}}]
        else:
            entry["details"] = {"content": [blocker.get("content")]}
        content.append(entry)
    return {"id": document_id, "url": f"{urls.api}/automation_blockers/{document_id}", "annotation": urls.annotation(document_id),
            "content": content}  # fmt: skip


def queue_sideloads(base_url: str, queue: QueueSpec | None, context: Mapping[str, Any], sideload: Sequence[str]) -> dict[str, Any]:
    """The sideloads every request about one queue shares (`schemas`, `queues`), rendered once per chunk."""
    if queue is None:
        return {}
    urls, number, wanted = Urls(base_url), context.get("queue_number", 0), set(sideload)
    shared: dict[str, Any] = {}
    if "schemas" in wanted:
        shared["schemas"] = [schema_object(urls, queue, number, updated_at=context.get("queue_updated_at"))]
    if "queues" in wanted:
        shared["queues"] = [
            queue_object(urls, queue, number, counts=context.get("counts"), created_at=context.get("queue_created_at"),
                         updated_at=context.get("queue_updated_at"))  # fmt: skip
        ]
    return shared


def annotation_request(
    *,
    extension: str,
    settings: Mapping[str, Any],
    event: str,
    base_url: str,
    document: Mapping[str, Any],
    content: list[dict[str, Any]],
    updated_datapoints: Iterable[int],
    queue_schema: list[dict[str, Any]],
    queue: QueueSpec | None = None,
    context: Mapping[str, Any] | None = None,
    sideload: Sequence[str] = (),
    token: str | None = None,
    shared: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An `annotation_content` request for one document.

    Args:
        extension: the extension's name (its `hook` URL ends with it).
        settings: the extension's settings, sent as they are.
        event: e.g. `annotation_content.initialize` (or `annotation_content.user_update`).
        base_url: where the URLs point.
        document: the document's facts (`docket_core.rossum.objects.DOCUMENT_FACTS`).
        content: the content tree as merged so far (stored form; the request shows it as Rossum does).
        updated_datapoints: ids changed before this extension (the edit, then its predecessors).
        queue_schema: the queue's fields (JSON), under `docket.schema`.
        queue: the queue, for the schema and queue objects and the normalized values.
        context: what the chunk's requests share (`HookContext`).
        sideload: the related objects to include (`ExtensionSpec.sideload`).
        token: the `rossum_authorization_token` for this annotation, if the extension gets one.
        shared: `queue_sideloads` of the chunk, when the caller rendered them once for all its requests.
    """
    context = context or {}
    urls = Urls(base_url)
    doc_id, queue_id = document["document_id"], document["queue_id"]
    facts = {"queue_number": context.get("queue_number", 0), **document}
    request = _envelope(extension=extension, settings=settings, event=event, base_url=base_url, token=token)
    blockers = list(document.get("automation_blockers") or [])
    annotation = annotation_object(urls, facts, content=wire_content(urls, doc_id, queue, content), automation_blocker=bool(blockers))
    request["annotation"] = annotation
    request["document"] = document_object(urls, facts, with_annotations=False)
    request["updated_datapoints"] = sorted(updated_datapoints)
    number = facts["queue_number"]
    wanted = set(sideload)
    request.update(shared if shared is not None else queue_sideloads(base_url, queue, context, sideload))
    if "modifiers" in wanted:
        user = (context.get("users") or {}).get(document.get("modified_by_user"))
        request["modifiers"] = [user_object(urls, _User(user))] if user else []
    if "emails" in wanted:
        email = document.get("email")
        request["emails"] = (
            [email_object(urls, document["email_id"], queue_number=number, headers=email or {}, document_ids=[doc_id])]
            if document.get("email_id") else []
        )  # fmt: skip
    if "documents" in wanted:
        request["documents"] = [document_object(urls, facts)]
    if "automation_blockers" in wanted:
        request["automation_blockers"] = [automation_blocker_object(urls, doc_id, blockers)] if blockers else []
    for name in _EMPTY_SIDELOADS:
        if name in wanted:
            request[name] = []
    request["docket"] = {"queue_id": queue_id, "document_id": doc_id, "schema": queue_schema}
    return request


def email_request(
    *,
    extension: str,
    settings: Mapping[str, Any],
    base_url: str,
    queue_id: str,
    email_id: str,
    files: list[dict[str, Any]],
    headers: Mapping[str, str],
    body: Mapping[str, str | None],
    queue_number: int | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    """An `email.received` request: the e-mail's files (as kept so far), headers and body."""
    urls = Urls(base_url)
    request = _envelope(extension=extension, settings=settings, event="email.received", base_url=base_url, token=token)
    request["email"] = urls.of("emails", email_id)
    request["queue"] = urls.queue(queue_number) if queue_number is not None else f"{urls.api}/queues/{queue_id}"
    request["files"] = files
    request["headers"] = dict(headers)
    request["body"] = dict(body)
    request["docket"] = {"queue_id": queue_id, "email_id": email_id}
    return request
