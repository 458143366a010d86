"""E-mails into queues: an `.eml` file's headers, body and attachments, and the files of its hook request.

Each attachment is a file of the `email.received` request (Rossum's `files`: id, filename, mime_type);
what every `email` extension keeps becomes a document, with the values they attached to it.
"""

from __future__ import annotations

import email
import hashlib
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from typing import Any

from docket_core.errors import InputError

__all__ = ["Attachment", "ParsedEmail", "email_files", "parse_eml"]

_HEADERS = ("from", "to", "cc", "reply-to", "subject", "date", "message-id")


@dataclass(frozen=True)
class Attachment:
    filename: str
    media_type: str
    data: bytes = field(repr=False)


@dataclass
class ParsedEmail:
    """What an e-mail says: an id (from Message-ID, else its bytes), headers, body, attachments."""

    email_id: str
    headers: dict[str, str]
    body_text: str | None
    body_html: str | None
    attachments: list[Attachment]


def parse_eml(data: bytes) -> ParsedEmail:
    """Read an RFC 5322 message (`.eml`).

    Raises:
        InputError: the bytes are not an e-mail (no headers) or it has no attachments to import.
    """
    message = email.message_from_bytes(data, policy=policy.default)
    if not isinstance(message, EmailMessage) or not message.keys():
        raise InputError("expected an e-mail (.eml, RFC 5322) with headers, got something else")
    headers = {name: str(message[name]) for name in _HEADERS if message[name] is not None}
    seed = headers.get("message-id") or hashlib.sha256(data).hexdigest()
    email_id = hashlib.sha256(seed.encode()).hexdigest()[:16]
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    attachments = []
    for number, part in enumerate(message.iter_attachments(), start=1):
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        filename = part.get_filename() or f"attachment-{number}"
        attachments.append(Attachment(filename=filename, media_type=part.get_content_type(), data=payload))
    if not attachments:
        raise InputError(f"e-mail {headers.get('subject', '')!r} has no attachments; a document needs a file")
    return ParsedEmail(
        email_id=email_id,
        headers=headers,
        body_text=text.get_content() if text is not None else None,
        body_html=html.get_content() if html is not None else None,
        attachments=attachments,
    )


def email_files(parsed: ParsedEmail) -> list[dict[str, Any]]:
    """The `files` of the e-mail's hook request, ids counting from "1" as in Rossum's example."""
    return [
        {"id": str(number), "filename": a.filename, "mime_type": a.media_type, "n_pages": None,
         "height_px": None, "width_px": None, "document": None}  # fmt: skip
        for number, a in enumerate(parsed.attachments, start=1)
    ]
