"""Running a plan of extensions locally, one extension at a time: the reference for the real runner.

Across levels, `updated_datapoints` grows: each extension sees every id changed by the levels before it.
The Prefect subflow must give the same result as `run_plan_locally` while running each level in parallel.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from docket_core.errors import InputError
from docket_core.extensions.content import IdAllocator, Node
from docket_core.extensions.merge import Conflict, merge_email_files, merge_level
from docket_core.extensions.response import ExtensionResult
from docket_core.normalized import normalize_content, schema_kinds

__all__ = [
    "FinalMerge",
    "Runner",
    "run_plan_locally",
]


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
