"""Running extensions over a chunk of documents (or e-mails) and merging each level: no Prefect here.

A `Chunk` holds the state of a few hundred documents as a plan runs over them: each document's content
as merged so far, the datapoint ids changed so far, and what the extensions said. `call_extension` sends
one extension its requests for the whole chunk (webhooks concurrently, signed; functions on a thread
pool) and reads the answers; `merge_chunk_level` merges a level's answers per document with
`merge_level` (ARCHITECTURE.md section 5, step 4). `run_chunk_locally` runs a plan with no
orchestration: the reference the `run_extensions` subflow must match, and the benchmark's floor.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from docket_core.extensions.config import CONNECTOR_CALLS, ExtensionPlan, ExtensionSpec
from docket_core.extensions.content import Node, index_content, iter_nodes, max_id
from docket_core.extensions.merge import merge_email_files, merge_level
from docket_core.extensions.response import ExtensionResult, HookResponseError, parse_hook_response
from docket_core.extensions.payload import annotation_request, email_request, queue_sideloads
from docket_core.extensions.webhook import DEFAULT_MAX_ANSWER_BYTES, WebhookCall, WebhookSender
from docket_core.normalized import normalize_content, schema_kinds
from docket_core.queues.models import QueueSpec
from docket_core.workflows.registry import import_function

try:  # orjson comes with Prefect; a thousand request bodies per extension make the difference show
    from orjson import OPT_NON_STR_KEYS, dumps as _orjson_dumps

    def _dumps(value: Any) -> bytes:
        return _orjson_dumps(value, default=str, option=OPT_NON_STR_KEYS)

except ImportError:  # pragma: no cover

    def _dumps(value: Any) -> bytes:
        return json.dumps(value, ensure_ascii=False, default=str).encode()


__all__ = [
    "CallOptions",
    "Chunk",
    "DocState",
    "EmailState",
    "call_extension",
    "doc_state",
    "merge_chunk_level",
    "run_chunk_locally",
]


@dataclass
class DocState:
    """One document while a plan runs: its content as merged so far and what the run produced."""

    document_id: int
    revision: int
    info: dict[str, Any]
    content: list[Node]
    updated: set[int]
    next_id: int
    messages: list[dict[str, Any]] = field(default_factory=list)
    automation_blockers: list[dict[str, Any]] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    conflicts: int = 0
    ran: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return str(self.document_id)


@dataclass
class EmailState:
    """One e-mail while the `email` plan runs: the files kept so far (with the values extensions gave)."""

    email_id: str
    files: list[dict[str, Any]]
    headers: dict[str, str]
    body: dict[str, str | None]
    messages: list[dict[str, Any]] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"email:{self.email_id}"


@dataclass
class Chunk:
    """The documents (or e-mails) one task of each extension handles, for one queue and event."""

    queue_id: str
    event: str
    schema: list[dict[str, Any]]
    multivalue_children: dict[str, str]
    subjects: list[DocState | EmailState]
    level: int = 0
    queue: QueueSpec | None = None
    context: dict[str, Any] = field(default_factory=dict)  # what every request shares (`HookContext`)


TokenIssuer = Callable[[list[dict[str, Any]], int], list[str]]
"""Issues one `hook` token per scope, valid for so many seconds: `(scopes, ttl_s) -> tokens`."""


@dataclass(frozen=True)
class CallOptions:
    """How calls go out: where URLs in payloads point, how many webhook requests at once, the function
    pool, and the most bytes a webhook's answer may hold (decoded)."""

    base_url: str
    concurrency: int
    sender: WebhookSender | None = None
    function_pool: ThreadPoolExecutor | None = None
    max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES
    issue_tokens: TokenIssuer | None = None


def doc_state(document_id: int, revision: int, info: Mapping[str, Any], content: list[Node], updated: Sequence[int] = ()) -> DocState:
    """A document's state before the plan: new rows get ids above any in its content."""
    return DocState(document_id, revision, dict(info), copy.deepcopy(content), set(updated), max_id(content) + 1)


def _request(
    ext: ExtensionSpec, chunk: Chunk, subject: DocState | EmailState, base_url: str, token: str | None, shared: dict[str, Any]
) -> dict[str, Any]:  # fmt: skip
    if isinstance(subject, EmailState):
        return email_request(
            extension=ext.name, settings=ext.settings, base_url=base_url, queue_id=chunk.queue_id, email_id=subject.email_id,
            files=subject.files, headers=subject.headers, body=subject.body, queue_number=chunk.context.get("queue_number"),
            token=token,
        )  # fmt: skip
    return annotation_request(
        extension=ext.name, settings=ext.settings, event=ext.action_for(chunk.event), base_url=base_url, document=subject.info,
        content=subject.content, updated_datapoints=subject.updated, queue_schema=chunk.schema, queue=chunk.queue,
        context=chunk.context, sideload=ext.sideload, token=token, shared=shared,
    )  # fmt: skip


def _scope(chunk: Chunk, subject: DocState | EmailState) -> dict[str, Any]:
    if isinstance(subject, EmailState):
        return {"queue": chunk.queue_id, "email": subject.email_id}
    return {"annotation": subject.document_id, "queue": chunk.queue_id}


def _tokens(ext: ExtensionSpec, chunk: Chunk, options: CallOptions) -> list[str | None]:
    """One short-lived `hook` token per request, scoped to its annotation (Rossum's callback key)."""
    if options.issue_tokens is None or ext.token_lifetime_s <= 0 or not chunk.subjects:
        return [None] * len(chunk.subjects)
    return list(options.issue_tokens([_scope(chunk, s) for s in chunk.subjects], ext.token_lifetime_s))


def call_extension(ext: ExtensionSpec, chunk: Chunk, *, level: int, options: CallOptions) -> dict[str, ExtensionResult]:
    """One extension's answers for every document of the chunk, by document key; never raises for the
    extension's own failures (they become failed results, with the reason)."""
    tokens = _tokens(ext, chunk, options)
    shared = queue_sideloads(options.base_url, chunk.queue, chunk.context, ext.sideload)  # once for the chunk
    requests = [_request(ext, chunk, subject, options.base_url, token, shared) for subject, token in zip(chunk.subjects, tokens)]
    if ext.type == "function":
        return _call_function(ext, chunk, requests, level, options)
    url = ext.url or ""
    if ext.type == "connector":
        url = f"{url.rstrip('/')}/{CONNECTOR_CALLS[chunk.event]}"
    secret = ext.secret.get_secret_value() if ext.secret else None
    calls = [
        WebhookCall(url, _dumps(r), secret, ext.timeout_s, ext.retries, ext.name, options.max_answer_bytes, ext.legacy_signature)
        for r in requests
    ]
    if options.sender is None:
        raise ValueError("CallOptions.sender is needed to call webhook extensions")
    answers = options.sender.send_many(calls, concurrency=options.concurrency)
    results: dict[str, ExtensionResult] = {}
    for subject, answer in zip(chunk.subjects, answers):
        if answer.status_code is None:
            tries = f" (after {answer.attempts} attempts)" if answer.attempts > 1 else ""
            results[subject.key] = ExtensionResult(
                name=ext.name, level=level, error=f"{answer.error}{tries}", timed_out=answer.timed_out,
                timeout_s=ext.timeout_s if answer.timed_out else None,
            )  # fmt: skip
            continue
        results[subject.key] = _parse(answer.body, ext.name, level, answer.status_code)
    return results


def _parse(body: Any, name: str, level: int, status_code: int | None = None) -> ExtensionResult:
    try:
        return parse_hook_response(body, name=name, level=level, status_code=status_code)
    except HookResponseError as e:
        return ExtensionResult(name=name, level=level, error=str(e))


def _call_function(
    ext: ExtensionSpec, chunk: Chunk, requests: list[dict[str, Any]], level: int, options: CallOptions
) -> dict[str, ExtensionResult]:
    try:
        fn = import_function(ext.function or "")
    except Exception as e:  # noqa: BLE001 - a broken import path fails this extension, not the run
        return {s.key: ExtensionResult(name=ext.name, level=level, error=str(e)) for s in chunk.subjects}
    pool = options.function_pool
    if pool is None:
        raise ValueError("CallOptions.function_pool is needed to call function extensions")
    # Each call gets its own copy: a function that changes its payload must not change the state.
    futures = [pool.submit(fn, copy.deepcopy(request)) for request in requests]
    results: dict[str, ExtensionResult] = {}
    for subject, future in zip(chunk.subjects, futures):
        try:
            answer = future.result(timeout=ext.timeout_s)
        except FutureTimeout:
            results[subject.key] = ExtensionResult(name=ext.name, level=level, timed_out=True, timeout_s=ext.timeout_s)
            continue
        except Exception as e:  # noqa: BLE001 - the extension's exception is its failure, reported by name
            results[subject.key] = ExtensionResult(name=ext.name, level=level, error=f"{type(e).__name__}: {e}")
            continue
        if answer is not None and not isinstance(answer, Mapping | str | bytes):
            results[subject.key] = ExtensionResult(
                name=ext.name, level=level, error=f"must return a dict like a hook response, got {type(answer).__name__}"
            )
            continue
        results[subject.key] = _parse(answer, ext.name, level)
    return results


class _Ids:
    """Hands out the next free ids of one document and remembers where it got to."""

    def __init__(self, start: int) -> None:
        self.next = start

    def __call__(self) -> int:
        value = self.next
        self.next += 1
        return value


def merge_chunk_level(chunk: Chunk, results: Mapping[str, Mapping[str, ExtensionResult]], level: int) -> Chunk:
    """The chunk after one level: each document merged with the level's results (the input is not changed)."""
    names = sorted(results)
    kinds = schema_kinds(chunk.schema)  # a successor reads normalized_value of what this level changed
    subjects: list[DocState | EmailState] = []
    for subject in chunk.subjects:
        level_results = [
            dataclasses.replace(results[n][subject.key], level=level)
            if subject.key in results[n]
            else ExtensionResult(name=n, level=level, error="returned no answer for this document")
            for n in names
        ]
        if isinstance(subject, EmailState):
            subjects.append(_merge_email(subject, level_results))
        else:
            merged = _merge_doc(subject, level_results, chunk.multivalue_children)
            normalize_content(merged.content, kinds)
            subjects.append(merged)
    return dataclasses.replace(chunk, subjects=subjects, level=level)


def _merge_doc(doc: DocState, results: list[ExtensionResult], multivalue_children: Mapping[str, str]) -> DocState:
    ids = _Ids(doc.next_id)
    merged = merge_level(
        doc.content, results, updated_datapoints=doc.updated, id_allocator=ids, multivalue_children=multivalue_children
    )
    old_nodes, new_nodes = index_content(doc.content), index_content(merged.content)
    # Changed by this level: newly updated, or updated before and different now (a later level's replace).
    newly = {i for i in merged.updated_datapoints if i not in doc.updated or old_nodes.get(i) != new_nodes.get(i)}
    dropped = {(c.datapoint_id, c.dropped) for c in merged.conflicts}
    level_sources: dict[str, str] = {}
    for result in results:  # name order: the first replacer of a datapoint keeps it, as merge_level does
        if result.failed:
            continue
        for op in result.operations:
            target = op.get("id")
            target = int(target) if isinstance(target, str) and target.isdigit() else target
            if op.get("op") == "replace" and target in newly and (target, result.name) not in dropped:
                level_sources.setdefault(str(target), result.name)
    adders = [r.name for r in results if not r.failed and any(op.get("op") == "add" for op in r.operations)]
    if adders:
        for node in iter_nodes(merged.content):
            if node["id"] not in old_nodes and node["category"] == "datapoint":
                level_sources.setdefault(str(node["id"]), adders[0])
    sources = {**doc.sources, **level_sources}
    return dataclasses.replace(
        doc,
        content=merged.content,
        updated=set(merged.updated_datapoints),
        next_id=ids.next,
        messages=doc.messages + merged.messages,
        automation_blockers=doc.automation_blockers + merged.automation_blockers,
        sources=sources,
        conflicts=doc.conflicts + len(merged.conflicts),
        ran=doc.ran + [r.name for r in results],
        failed=doc.failed + [r.name for r in results if r.failed],
    )


def _merge_email(email: EmailState, results: list[ExtensionResult]) -> EmailState:
    kept = merge_email_files([r.files for r in results if not r.failed], original=email.files) or []
    messages = list(email.messages)
    for result in results:
        if result.failed:
            reason = f"timed out after {result.timeout_s:g} s" if result.timed_out and result.timeout_s else f"failed: {result.error}"
            messages.append({"type": "error", "content": f"extension {result.name!r} {reason}", "source": result.name})
        messages += [{**m, "source": result.name} for m in result.messages]
    return dataclasses.replace(
        email,
        files=kept,
        messages=messages,
        ran=email.ran + [r.name for r in results],
        failed=email.failed + [r.name for r in results if r.failed],
    )


Caller = Callable[[str, Chunk, int], Mapping[str, ExtensionResult]]
"""Runs one extension over a chunk: `(name, chunk, level) -> results by document key`."""


def run_chunk_locally(plan: ExtensionPlan, chunk: Chunk, call: Caller) -> Chunk:
    """Run a plan over a chunk one extension at a time, merging level by level; the connector last."""
    levels = [list(level) for level in plan.levels]
    if plan.connector:
        levels.append([plan.connector])
    for number, level in enumerate(levels, start=1):
        chunk = merge_chunk_level(chunk, {name: call(name, chunk, number) for name in level}, number)
    return chunk
