"""What an extension answers: Rossum's hook response forms read into an `ExtensionResult`.

A 2xx body carries `messages`, `operations`, `automation_blockers`, `files` and other keys; a non-2xx
answer is a failed extension whose messages are kept when its body parses. `docket_core.extensions.merge`
merges these results level by level.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from docket_core.errors import InputError

__all__ = [
    "MESSAGE_TYPES",
    "OPERATION_KINDS",
    "ExtensionResult",
    "HookResponseError",
    "parse_hook_response",
]

MESSAGE_TYPES = ("error", "warning", "info")
OPERATION_KINDS = ("replace", "add", "remove")


class HookResponseError(InputError):
    """Raised when an extension answers with a body that is not a hook response Docket can read."""


@dataclass
class ExtensionResult:
    """What one extension returned for one document (or one email).

    `messages`, `operations` and `automation_blockers` are as in Rossum's hook responses. `files` is, for
    `email`, the files the extension kept (None: it kept them all) and, for `upload`, its per-file answers.
    `error` or `timed_out` mark an extension that failed; `timeout_s` says after how long it was stopped.
    `extra` holds other response keys Docket passes on without merging (`additional_files`...).
    """

    name: str
    level: int
    messages: list[dict[str, Any]] = field(default_factory=list)
    operations: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    timed_out: bool = False
    files: list[dict[str, Any]] | None = None
    automation_blockers: list[dict[str, Any]] = field(default_factory=list)
    timeout_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.error is not None or self.timed_out


def parse_hook_response(
    body: bytes | str | Mapping[str, Any] | None,
    *,
    name: str,
    level: int = 0,
    status_code: int | None = None,
) -> ExtensionResult:
    """Read a hook's answer in any of Rossum's response forms.

    A 2xx body may carry `messages`, `operations`, `automation_blockers` (annotation content),
    `files` (email, upload) and other keys (kept in `extra`); an empty body is an empty answer. A non-2xx
    answer is a failed extension: its messages are kept when its body parses (Rossum's "parsable error
    response") and its operations are ignored.

    Raises:
        HookResponseError: for a 2xx body that is not a JSON object of that form, saying what is wrong.
    """
    # A body decoded here is Docket's own; a mapping is the caller's, so it is copied, never shared.
    fresh = not isinstance(body, Mapping)
    if status_code is None or 200 <= status_code < 300:
        return _read_response(_decode(body, name), name, level, fresh=fresh)
    try:
        result = _read_response(_decode(body, name), name, level, fresh=fresh)
    except HookResponseError:
        shown = body if isinstance(body, str | Mapping) or body is None else bytes(body).decode("utf-8", "replace")
        return ExtensionResult(
            name=name, level=level, error=f"webhook answered HTTP {status_code}: {_snippet(str(shown))}"
        )
    return dataclasses.replace(result, operations=[], error=f"webhook answered HTTP {status_code}")


def _decode(body: bytes | str | Mapping[str, Any] | None, name: str) -> Mapping[str, Any]:
    if body is None:
        return {}
    if isinstance(body, Mapping):
        return body
    if isinstance(body, bytes | bytearray):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError as e:
            raise HookResponseError(f"extension {name!r} must answer UTF-8 JSON, got undecodable bytes: {e}") from e
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except json.JSONDecodeError as e:
        raise HookResponseError(f"extension {name!r} must answer a JSON object, got {_snippet(body)}: {e}") from e
    if not isinstance(data, Mapping):
        raise HookResponseError(
            f"extension {name!r} must answer a JSON object, got {type(data).__name__} {_snippet(body)}"
        )
    return data


def _read_response(data: Mapping[str, Any], name: str, level: int, *, fresh: bool = False) -> ExtensionResult:
    messages = _object_list(data, "messages", name, fresh)
    for position, message in enumerate(messages):
        if message.get("type") not in MESSAGE_TYPES or not isinstance(message.get("content"), str):
            raise HookResponseError(
                f"extension {name!r}: messages[{position}] must have type one of {list(MESSAGE_TYPES)} and a "
                f"string content, got {message!r}"
            )
    operations = _object_list(data, "operations", name, fresh)
    for position, operation in enumerate(operations):
        if operation.get("op") not in OPERATION_KINDS or "id" not in operation:
            raise HookResponseError(
                f"extension {name!r}: operations[{position}] must have op one of {list(OPERATION_KINDS)} and an id, "
                f"got {operation!r}"
            )
    blockers = _object_list(data, "automation_blockers", name, fresh)
    for position, blocker in enumerate(blockers):
        if not isinstance(blocker.get("content"), str):
            raise HookResponseError(
                f"extension {name!r}: automation_blockers[{position}] must have a string content, got {blocker!r}"
            )
    files = _object_list(data, "files", name, fresh) if data.get("files") is not None else None
    extra = {
        k: v if fresh else copy.deepcopy(v)
        for k, v in data.items()
        if k not in ("messages", "operations", "automation_blockers", "files")
    }
    return ExtensionResult(
        name=name,
        level=level,
        messages=messages,
        operations=operations,
        files=files,
        automation_blockers=blockers,
        extra=extra,
    )


def _object_list(data: Mapping[str, Any], key: str, name: str, fresh: bool = False) -> list[dict[str, Any]]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise HookResponseError(f"extension {name!r}: {key} must be a list of objects, got {_snippet(repr(value))}")
    return value if fresh else [copy.deepcopy(dict(item)) for item in value]


def _snippet(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")
