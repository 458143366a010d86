"""Docket's state as the objects of Rossum's API reference: annotation, document, queue, schema, user,
e-mail, organization; one renderer each, shared by hook payloads and the REST API.

Every documented field is there. Where Docket has no such thing the value is what Rossum itself gives
when it has none (`null`, `[]`, `false`), never invented data: there are no pages, workspaces, inboxes,
labels, relations or assignees in Docket. One organization (id 1) stands for the Docket installation.

A Docket document is both Rossum's annotation and its document: both ids are `document_id`. A queue's
number (`docket_core.rossum.ids`) is its id and its schema's id. The document's facts come as a plain
mapping (`DocumentFacts` lists the keys), so the renderers need no catalog.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from docket_core.queues.models import BASIC_SECTION, FieldSpec, QueueSpec, section_id

__all__ = [
    "DOCUMENT_FACTS",
    "ORGANIZATION_ID",
    "Urls",
    "annotation_object",
    "document_object",
    "email_object",
    "organization_object",
    "queue_object",
    "rossum_time",
    "schema_content",
    "schema_object",
    "user_object",
]

ORGANIZATION_ID = 1
DOCUMENT_FACTS = (
    "document_id", "queue_id", "queue_number", "status", "previous_status", "file_name", "media_type", "sha256",
    "created_at", "modified_at", "modified_by_user", "metadata", "origin", "times", "automated", "email_id", "einvoice",
)  # fmt: skip
"""Keys of the mapping the annotation and document renderers read. `times` maps a status (confirmed,
rejected, deleted, exported, failed_export, reviewing) to `(when, user id or None)` of the last move to it;
`modified_by_user` is a user id or None (a workflow, an extension, automation)."""


def rossum_time(value: datetime | str | None) -> str | None:
    """`2020-01-01T00:00:00.000000Z`, Rossum's timestamp form; ISO strings are converted too."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds") + "Z"  # isoformat: a few times faster than strftime


class Urls:
    """The URLs of Rossum's API under one base (`https://docket.example.com` -> `.../api/v1/...`)."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/")
        self.api = f"{self.base}/api/v1"

    def of(self, kind: str, ident: int | str | None) -> str | None:
        return None if ident is None else f"{self.api}/{kind}/{ident}"

    def annotation(self, doc_id: int) -> str:
        return f"{self.api}/annotations/{doc_id}"

    def document(self, doc_id: int) -> str:
        return f"{self.api}/documents/{doc_id}"

    def queue(self, number: int) -> str:
        return f"{self.api}/queues/{number}"

    def schema(self, number: int) -> str:
        return f"{self.api}/schemas/{number}"

    def user(self, user_id: int | None) -> str | None:
        return self.of("users", user_id)

    def organization(self) -> str:
        return f"{self.api}/organizations/{ORGANIZATION_ID}"


def annotation_object(
    urls: Urls, facts: Mapping[str, Any], *, content: list[dict[str, Any]] | str | None = None,
    messages: list[dict[str, Any]] | None = None, automation_blocker: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """Rossum's annotation object (every attribute of the reference, in its order).

    `content` is the content tree (hook payloads, exports) or None for the link to it (the REST object).
    """
    doc_id = facts["document_id"]
    times = facts.get("times") or {}

    def at(status: str) -> str | None:
        return rossum_time(times.get(status, (None, None))[0])

    def by(status: str) -> str | None:
        return urls.user(times.get(status, (None, None))[1])

    modifier = urls.user(facts.get("modified_by_user"))
    email = urls.of("emails", facts.get("email_id"))
    return {
        "document": urls.document(doc_id),
        "id": doc_id,
        "queue": urls.queue(facts["queue_number"]),
        "schema": urls.schema(facts["queue_number"]),
        "relations": [],
        "pages": [],
        "creator": None,
        "modifier": modifier,
        "modified_by": modifier,
        "assigned_at": at("reviewing"),
        "created_at": rossum_time(facts.get("created_at")),
        "confirmed_at": at("confirmed"),
        "deleted_at": at("deleted"),
        "exported_at": at("exported"),
        "export_failed_at": at("failed_export"),
        "modified_at": rossum_time(facts.get("modified_at")),
        "purged_at": None,
        "rejected_at": at("rejected"),
        "confirmed_by": by("confirmed"),
        "deleted_by": by("deleted"),
        "exported_by": by("exported"),
        "purged_by": None,
        "rejected_by": by("rejected"),
        "status": facts.get("status"),
        "previous_status": facts.get("previous_status"),
        "rir_poll_id": None,
        "messages": messages,
        "url": urls.annotation(doc_id),
        "content": content if content is not None else f"{urls.annotation(doc_id)}/content",
        "suggested_edit": None,
        "time_spent": 0,
        "metadata": dict(facts.get("metadata") or {}),
        "automated": bool(facts.get("automated")),
        "related_emails": [],
        "email": email,
        "automation_blocker": f"{urls.api}/automation_blockers/{doc_id}" if automation_blocker else None,
        "email_thread": None,
        "has_email_thread_with_replies": False,
        "has_email_thread_with_new_replies": False,
        "organization": urls.organization(),
        "automatically_rejected": False,
        "prediction": None,
        "assignees": [],
        "labels": [],
        "restricted_access": False,
        "training_enabled": False,
        "einvoice": bool(facts.get("einvoice")),
    }


def document_object(urls: Urls, facts: Mapping[str, Any], *, with_annotations: bool = True) -> dict[str, Any]:
    """Rossum's document object; hook payloads leave out `annotations`, as Rossum's do."""
    doc_id = facts["document_id"]
    created = rossum_time(facts.get("created_at"))
    document: dict[str, Any] = {
        "id": doc_id,
        "url": urls.document(doc_id),
        "s3_name": facts.get("sha256") or "",
        "parent": None,
        "email": urls.of("emails", facts.get("email_id")),
        "mime_type": facts.get("media_type") or "application/octet-stream",
        "creator": None,
        "created_at": created,
        "arrived_at": created,
        "original_file_name": facts.get("file_name"),
        "content": f"{urls.document(doc_id)}/content",
        "attachment_status": None,
        "metadata": {},
    }
    if with_annotations:
        document["annotations"] = [urls.annotation(doc_id)]
    return document


_AUTOMATION_LEVEL = {True: "confident", False: "never"}


def queue_object(
    urls: Urls, queue: QueueSpec, number: int, *, counts: Mapping[str, int] | None = None,
    created_at: datetime | None = None, updated_at: datetime | None = None, hooks: Iterable[int] = (),
) -> dict[str, Any]:  # fmt: skip
    """Rossum's queue object. `automation_level` says whether Docket confirms what nothing blocks."""
    from docket_core.queues.models import STATUSES

    shown_counts = {s: 0 for s in (*STATUSES, "split", "purged")}
    shown_counts.update(counts or {})
    return {
        "id": number,
        "name": queue.name,
        "url": urls.queue(number),
        "workspace": None,
        "connector": None,
        "webhooks": [],
        "hooks": [f"{urls.api}/hooks/{h}" for h in hooks],
        "schema": urls.schema(number),
        "inbox": None,
        "users": [],
        "session_timeout": "01:00:00",
        "rir_url": None,
        "rir_params": None,
        "dedicated_engine": None,
        "generic_engine": None,
        "engine": None,
        "counts": shown_counts,
        "default_score_threshold": 0.8,
        "automation_enabled": queue.auto_confirm,
        "automation_level": _AUTOMATION_LEVEL[queue.auto_confirm],
        "locale": "en_GB",
        "metadata": {"docket_queue_id": queue.queue_id, "workflow_id": queue.workflow_id},
        "use_confirmed_state": True,
        "document_lifetime": None,
        "delete_after": None,
        "status": "active",
        "modified_by": None,
        "modified_at": rossum_time(updated_at),
        "created_at": rossum_time(created_at),
        "training_enabled": False,
        "settings": {"export_to_review": queue.export_to_review},
        "workflows": [],
    }


def _datapoint_schema(field: FieldSpec) -> dict[str, Any]:
    node: dict[str, Any] = {
        "category": "datapoint", "id": field.id, "label": field.label or field.id, "type": field.type,
        "rir_field_names": [field.captured_as], "constraints": {"required": field.required}, "default_value": None,
        "hidden": False, "can_export": True, "disable_prediction": False, "score_threshold": None,
        "ui_configuration": {"type": "captured", "edit": "enabled"}, "description": "",
    }  # fmt: skip
    if field.type == "enum":
        node["options"] = [{"value": option, "label": option} for option in field.options]
    if field.type == "date":
        node["format"] = "YYYY-MM-DD"
    return node


def schema_content(queue: QueueSpec) -> list[dict[str, Any]]:
    """The queue's fields as Rossum's schema content: a `basic_info` section of plain fields, then a
    section per table holding its multivalue (tuple of columns). The ids match the documents' content."""
    basic = {"category": "section", "id": BASIC_SECTION, "label": "Basic information", "icon": None, "children": []}
    sections = [basic]
    for field in queue.fields:
        if field.type != "multivalue":
            basic["children"].append(_datapoint_schema(field))
            continue
        row = {
            "category": "tuple", "id": field.row_schema_id, "label": f"{field.label or field.id} row", "hidden": False,
            "rir_field_names": [], "children": [_datapoint_schema(column) for column in field.columns],
        }  # fmt: skip
        multivalue = {
            "category": "multivalue", "id": field.id, "label": field.label or field.id, "rir_field_names": [field.captured_as],
            "min_occurrences": 1 if field.required else None, "max_occurrences": None, "grid": None,
            "show_grid_by_default": False, "hidden": False, "children": row,
        }  # fmt: skip
        sections.append({"category": "section", "id": section_id(field), "label": field.label or field.id, "icon": None,
                         "children": [multivalue]})  # fmt: skip
    return sections


def schema_object(urls: Urls, queue: QueueSpec, number: int, *, updated_at: datetime | None = None) -> dict[str, Any]:
    """Rossum's schema object of a queue (one schema per queue, with the queue's number as its id)."""
    return {
        "id": number,
        "name": queue.name,
        "queues": [urls.queue(number)],
        "url": urls.schema(number),
        "content": schema_content(queue),
        "metadata": {},
        "modified_by": None,
        "modified_at": rossum_time(updated_at),
    }


def user_object(urls: Urls, user: Any, *, queue_numbers: Iterable[int] = ()) -> dict[str, Any]:
    """Rossum's user object for a `docket_core.auth.User` (every user may use every queue)."""
    return {
        "id": user.id,
        "url": urls.user(user.id),
        "first_name": user.first_name or "",
        "last_name": user.last_name or "",
        "email": user.email or "",
        "phone_number": None,
        "date_joined": rossum_time(user.created_at),
        "username": user.username,
        "groups": [],
        "organization": urls.organization(),
        "queues": [urls.queue(n) for n in queue_numbers],
        "is_active": user.is_active,
        "last_login": rossum_time(user.last_login_at),
        "ui_settings": {},
        "metadata": {},
        "oidc_id": None,
        "deleted": False,
        "auth_type": "password",
        "email_verified": False,
    }


def organization_object(urls: Urls, *, name: str = "Docket") -> dict[str, Any]:
    """The one organization standing for this Docket installation."""
    return {
        "id": ORGANIZATION_ID, "url": urls.organization(), "name": name, "workspaces": [], "users": [],
        "organization_group": None, "ui_settings": {}, "metadata": {}, "created_at": None, "is_trial": False,
        "trial_expires_at": None, "expires_at": None, "oidc_provider": None, "settings": {},
    }  # fmt: skip


def _address(text: str | None) -> dict[str, str | None]:
    from email.utils import parseaddr

    name, address = parseaddr(text or "")
    return {"email": address or None, "name": name or None}


def email_object(
    urls: Urls, email_id: str, *, queue_number: int, headers: Mapping[str, str | None], document_ids: Iterable[int] = (),
    body: Mapping[str, str | None] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Rossum's e-mail object for an e-mail whose attachments became documents."""
    from email.utils import getaddresses, parsedate_to_datetime

    ids = sorted(document_ids)
    try:
        created = rossum_time(parsedate_to_datetime(headers["date"])) if headers.get("date") else None
    except (TypeError, ValueError):
        created = None
    return {
        "id": email_id,
        "url": urls.of("emails", email_id),
        "queue": urls.queue(queue_number),
        "inbox": None,
        "documents": [urls.document(i) for i in ids],
        "parent": None,
        "children": [],
        "email_thread": None,
        "created_at": created,
        "last_thread_email_created_at": None,
        "subject": headers.get("subject"),
        "from": _address(headers.get("from")),
        "to": [{"email": a or None, "name": n or None} for n, a in getaddresses([headers.get("to") or ""]) if a],
        "cc": [],
        "bcc": [],
        "body_text_plain": (body or {}).get("body_text_plain"),
        "body_text_html": (body or {}).get("body_text_html"),
        "metadata": {},
        "type": "incoming",
        "annotation_counts": {"annotations": len(ids)},
        "annotations": [urls.annotation(i) for i in ids],
        "related_annotations": [],
        "related_documents": [],
        "creator": None,
        "filtered_out_document_count": 0,
        "labels": [],
        "content": None,
    }
