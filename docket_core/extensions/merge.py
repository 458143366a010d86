"""Merging what the extensions of a plan return (ARCHITECTURE.md section 5, step 4).

Within a level, results merge in name order: operations apply one extension after another, messages are
concatenated and tagged with their source. Two extensions of one level replacing the same datapoint is a
conflict: the first by name keeps it and an error message names both. A failed or timed-out extension
contributes no operations and an error message naming it; its successors still run. Across levels,
`updated_datapoints` grows: each extension sees every id changed by the levels before it.

`run_plan_locally` is the plain sequential reference of the whole thing; the Prefect subflow must give the
same result while running each level in parallel.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from docket_core.errors import InputError
from docket_core.extensions.content import IdAllocator, Node, OperationError, apply_operations
from docket_core.normalized import normalize_content, schema_kinds

__all__ = [
    "Conflict",
    "ExtensionResult",
    "FinalMerge",
    "HookResponseError",
    "LevelMerge",
    "Runner",
    "file_key",
    "merge_email_files",
    "merge_level",
    "parse_hook_response",
    "run_plan_locally",
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


@dataclass(frozen=True)
class Conflict:
    """Two extensions of one level replaced the same datapoint; `kept` won, by name order."""

    datapoint_id: int
    kept: str
    dropped: str


@dataclass
class LevelMerge:
    """The content after one level, and what the level added."""

    content: list[Node]
    updated_datapoints: set[int]
    messages: list[dict[str, Any]]
    conflicts: list[Conflict]
    automation_blockers: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class FinalMerge:
    """The content after a whole plan, everything its extensions said, and the results themselves."""

    content: list[Node]
    updated_datapoints: set[int]
    messages: list[dict[str, Any]]
    conflicts: list[Conflict]
    automation_blockers: list[dict[str, Any]]
    files: list[dict[str, Any]] | None
    results: list[ExtensionResult]


Runner = Callable[[str, list[Node], set[int]], ExtensionResult]
"""Runs one extension: `(name, content as merged so far, updated datapoint ids so far) -> result`."""


def merge_level(
    content: Sequence[Node],
    results: Iterable[ExtensionResult],
    *,
    updated_datapoints: Iterable[int],
    id_allocator: Callable[[], int],
    multivalue_children: Mapping[str, str] | None = None,
) -> LevelMerge:
    """Merge the results of the extensions of one level into `content` (which is not changed).

    Extensions apply in name order, each all or nothing: one whose operations cannot apply to the
    content as merged so far contributes none and gets an error message saying why. Returns the new
    content, the union of `updated_datapoints` with every id this level changed, the level's messages
    (each with `source`), the conflicts, and the automation blockers (each with `source`).
    """
    ordered = sorted(results, key=lambda r: r.name)
    names = [r.name for r in ordered]
    if len(set(names)) != len(names):
        duplicates = sorted({n for n in names if names.count(n) > 1})
        raise InputError(f"each extension must appear once in a level, got {duplicates} more than once")

    current = list(content)
    applied = False
    updated = set(updated_datapoints)
    messages: list[dict[str, Any]] = []
    blockers: list[dict[str, Any]] = []
    conflicts: list[Conflict] = []
    replaced_by: dict[int, str] = {}

    for result in ordered:
        name = result.name
        if result.failed:
            messages.append(_error(name, _failure_text(result)))
        messages.extend({**copy.deepcopy(m), "source": name} for m in result.messages)
        blockers.extend({**copy.deepcopy(b), "source": name} for b in result.automation_blockers)
        if result.failed or not result.operations:
            continue

        operations = []
        for operation in result.operations:
            target = _replace_target(operation)
            if target is not None and replaced_by.get(target, name) != name:
                conflicts.append(Conflict(target, kept=replaced_by[target], dropped=name))
                messages.append(
                    _error(
                        name,
                        f"extensions {replaced_by[target]!r} and {name!r} both replace datapoint {target} in one "
                        f"level; kept the value from {replaced_by[target]!r}. Order them with run_after.",
                        datapoint_id=target,
                    )
                )
                continue
            operations.append(operation)
        try:
            current, changed = apply_operations(
                current, operations, id_allocator=id_allocator, multivalue_children=multivalue_children
            )
        except OperationError as e:
            problem = f"extension {name!r} returned operations that cannot apply, none applied: {e}"
            messages.append(_error(name, problem))
            continue
        for operation in operations:
            target = _replace_target(operation)
            if target is not None:
                replaced_by.setdefault(target, name)
        updated |= changed
        applied = True

    return LevelMerge(
        # A fresh tree either way, so changing the result never reaches into the caller's content.
        content=current if applied else copy.deepcopy(current),
        updated_datapoints=updated,
        messages=messages,
        conflicts=conflicts,
        automation_blockers=blockers,
    )


def run_plan_locally(
    levels: Sequence[Sequence[str]],
    runner: Runner,
    content: Sequence[Node],
    *,
    updated_datapoints: Iterable[int] = (),
    id_allocator: Callable[[], int] | None = None,
    multivalue_children: Mapping[str, str] | None = None,
    original_files: Sequence[Mapping[str, Any]] | None = None,
    schema: Sequence[Mapping[str, Any]] = (),
) -> FinalMerge:
    """Run a plan one extension at a time, merging level by level: the reference for the real runner.

    Each extension receives its own copy of the content as merged after all previous levels and the ids
    updated so far. A runner that raises counts as a failed extension; its successors still run.

    Args:
        levels: from `docket_core.dag.plan_levels`.
        runner: runs one extension.
        content: the starting content; it is not changed.
        updated_datapoints: ids already updated before the plan (the user's edit that triggered it).
        id_allocator: gives ids to added rows; defaults to counting up from the highest id of `content`.
        multivalue_children: passed to `apply_operations`.
        original_files: for `email`, the email's files, to keep their order and descriptors.
        schema: the queue schema (as JSON); after each level, the datapoints it types get their
            `normalized_value` from their value, as the chunk runner does.
    """
    current = copy.deepcopy(list(content))
    kinds = schema_kinds(schema)
    updated = set(updated_datapoints)
    allocate = id_allocator or IdAllocator.above(current)
    messages: list[dict[str, Any]] = []
    blockers: list[dict[str, Any]] = []
    conflicts: list[Conflict] = []
    results: list[ExtensionResult] = []

    for number, level in enumerate(levels, start=1):
        level_results = []
        for name in sorted(level):
            try:
                result = runner(name, copy.deepcopy(current), set(updated))
            except Exception as e:  # noqa: BLE001 - an extension's failure is reported, and its successors run
                result = ExtensionResult(name=name, level=number, error=f"{type(e).__name__}: {e}")
            if result.name != name:
                raise InputError(f"runner for extension {name!r} returned the result of {result.name!r}")
            level_results.append(dataclasses.replace(result, level=number))
        merged = merge_level(
            current,
            level_results,
            updated_datapoints=updated,
            id_allocator=allocate,
            multivalue_children=multivalue_children,
        )
        current, updated = merged.content, merged.updated_datapoints
        normalize_content(current, kinds)
        messages += merged.messages
        blockers += merged.automation_blockers
        conflicts += merged.conflicts
        results += level_results

    files = merge_email_files([r.files for r in results if not r.failed], original=original_files)
    return FinalMerge(
        content=current,
        updated_datapoints=updated,
        messages=messages,
        conflicts=conflicts,
        automation_blockers=blockers,
        files=files,
        results=results,
    )


def file_key(descriptor: Mapping[str, Any]) -> str:
    """What identifies an email file: its `id` (as a string), else its `filename`, `name` or `document`."""
    for key in ("id", "filename", "name", "document"):
        value = descriptor.get(key)
        if value is not None and value != "":
            return str(value)
    raise InputError(f"an email file needs an id, filename, name or document to identify it, got {dict(descriptor)!r}")


def merge_email_files(
    kept: Iterable[Sequence[Mapping[str, Any]] | None],
    *,
    original: Sequence[Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]] | None:
    """The files every extension kept: the intersection by `file_key`, in the original order.

    `None` from an extension means it kept every file. The order and descriptors come from `original`
    when given, else from the first extension that listed files; each kept file gets the `values` of
    every extension's descriptor of it (the first value of an id wins). Returns `None` only when nobody
    listed files and `original` was not given: everything was kept.
    """
    lists = [list(files) for files in kept if files is not None]
    if original is None and not lists:
        return None
    base = [dict(f) for f in (original if original is not None else lists[0])]
    keep = {file_key(f) for f in base}
    for files in lists:
        keep &= {file_key(f) for f in files}
    sources = [base, *lists] if original is not None else lists
    merged = []
    for descriptor in base:
        key = file_key(descriptor)
        if key not in keep:
            continue
        values: list[Any] = []
        seen: set[str] = set()
        for files in sources:
            for other in files:
                if file_key(other) != key:
                    continue
                for value in other.get("values") or []:
                    has_id = isinstance(value, Mapping) and value.get("id") is not None
                    seen_as = f"id:{value['id']}" if has_id else f"value:{value!r}"
                    if seen_as not in seen:
                        seen.add(seen_as)
                        values.append(copy.deepcopy(value))
        result = copy.deepcopy(descriptor)
        if values:
            result["values"] = values
        merged.append(result)
    return merged


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


def _replace_target(operation: Mapping[str, Any]) -> int | None:
    if operation.get("op") != "replace":
        return None
    raw = operation.get("id")
    if isinstance(raw, str) and raw.isdigit():
        return int(raw)
    return raw if isinstance(raw, int) and not isinstance(raw, bool) else None


def _failure_text(result: ExtensionResult) -> str:
    if result.timed_out:
        after = f" after {result.timeout_s:g} s" if result.timeout_s is not None else ""
        return f"extension {result.name!r} timed out{after}"
    return f"extension {result.name!r} failed: {result.error}"


def _error(source: str, content: str, *, datapoint_id: int | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "error", "content": content}
    if datapoint_id is not None:
        message["id"] = datapoint_id
    message["source"] = source
    return message
