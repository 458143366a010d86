"""Merging what the extensions of one level return (ARCHITECTURE.md section 5, step 4).

Within a level, results merge in name order: operations apply one extension after another, messages are
concatenated and tagged with their source. Two extensions of one level replacing the same datapoint is a
conflict: the first by name keeps it and an error message names both. A failed or timed-out extension
contributes no operations and an error message naming it; its successors still run. The files of an
`email` event merge as the intersection of what every extension kept.

Reading a hook's answer is `docket_core.extensions.response`; running a whole plan level after level is
`docket_core.extensions.local_plan`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from docket_core.errors import InputError
from docket_core.extensions.content import Node, OperationError, apply_operations
from docket_core.extensions.response import ExtensionResult

__all__ = [
    "Conflict",
    "LevelMerge",
    "file_key",
    "merge_email_files",
    "merge_level",
]


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
