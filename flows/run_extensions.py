"""The `run_extensions` subflow: one queue's extension DAG for one event over a set of documents.

plan (active extensions of the queue listening to the event, levels by `graphlib`) -> Mermaid artifact
of the graph -> per chunk of documents: load -> per level, one task per extension (in parallel, each
waiting for its own predecessors) -> merge the level -> ... -> the connector, if any -> save.

Chunks advance independently: a chunk's next level starts once its own level is done. The task graph in
the Prefect UI is the extension graph, one copy per chunk.

The flows that run it choose its task runner when they call it, from `DOCKET_TASK_RUNNER` as it is
then: `run_extensions.with_options(task_runner=build_extension_runner())(...)`, threads or Dask. The
decorator's runner, read at import, serves only a direct call.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.futures import PrefectFuture, as_completed
from prefect.utilities.annotations import quote
from pydantic import BaseModel, Field

from docket_core.extensions.config import ExtensionPlan, normalize_event
from docket_core.extensions.runner import Chunk, EmailState
from docket_core.queues.runs import DocOutcome, email_chunk
from docket_core.rossum.ids import queue_numbers
from docket_core.settings import get_settings
from tasks.extensions import (
    build_extension_runner,
    errors_by_extension,
    load_documents_chunk,
    merge_level_results,
    plan_extensions,
    run_extension,
    save_results,
)
from tasks.queues import load_queue
from tasks.resources import passed_as_is, resolve_resources

__all__ = ["EmailInput", "ExtensionRunSummary", "graph_markdown", "run_extensions"]


class EmailInput(BaseModel):
    """An e-mail for the `email.received` event: its files (Rossum's descriptors), headers and body."""

    email_id: str = Field(description="Stable id of the e-mail (from its Message-ID).")
    files: list[dict[str, Any]] = Field(description="One descriptor per attachment: id, filename, mime_type.")
    headers: dict[str, str] = Field(default_factory=dict, description="from, to, subject, date, message-id...")
    body: dict[str, str | None] = Field(default_factory=dict, description="body_text_plain and body_text_html.")


class ExtensionRunSummary(BaseModel):
    """What a run did: the plan, each document's outcome, or the files an e-mail keeps."""

    queue_id: str
    event: str
    levels: list[list[str]] = Field(default_factory=list)
    connector: str | None = None
    documents: int = 0
    outcomes: list[DocOutcome] = Field(default_factory=list)
    email_files: list[dict[str, Any]] | None = None
    email_messages: list[dict[str, Any]] = Field(default_factory=list)
    errors_by_extension: dict[str, int] = Field(default_factory=dict)
    conflicts: int = 0
    seconds: float = 0.0


def artifact_key(*parts: str) -> str:
    """A Prefect artifact key (lowercase letters, digits, dashes) from free text."""
    return re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-")[:100]


def graph_markdown(plan: ExtensionPlan) -> str:
    """The plan as the artifact shows it: levels in words, then the Mermaid graph."""
    lines = [f"# Extensions of `{plan.queue_id}` for `{plan.event}`", "", "```", plan.describe(), "```", ""]
    if plan.levels:
        lines += ["```mermaid", plan.mermaid().rstrip(), "```"]
    return "\n".join(lines)


def _chunks(ids: list[int], size: int) -> list[list[int]]:
    ordered = sorted(set(ids))
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def _as_argument(chunk: Chunk) -> Any:
    return passed_as_is(chunk, quote)


@flow(name="run_extensions", task_runner=build_extension_runner(), log_prints=False)
def run_extensions(
    queue_id: str,
    event: str,
    document_ids: list[int] | None = None,
    updated_datapoints: dict[int, list[int]] | None = None,
    email: EmailInput | None = None,
    actor: str = "extensions",
    store_block: str | None = None,
    catalog_block: str | None = None,
) -> ExtensionRunSummary:
    """Run a queue's extensions for one event over documents (or one e-mail), in `run_after` order.

    Extensions of one level run in parallel; a successor sees its predecessors' changes; operations
    apply in level then name order; two extensions of a level replacing one datapoint, and a failed or
    timed-out extension, become error messages naming it. The results are saved with each document.

    Args:
        queue_id: the queue whose extensions run.
        event: e.g. `annotation_content.initialize` (or just `initialize`), `email.received`.
        document_ids: the documents (for annotation_content events).
        updated_datapoints: per document, the datapoint ids an edit changed (for `updated`).
        email: the e-mail (for `email.received`); its kept files come back in the summary.
        actor: recorded as the documents' modifier.
        store_block: name of a `DocketStore` block; default from `DOCKET_*` settings.
        catalog_block: name of a `DocketCatalog` block; default from `DOCKET_*` settings.
    """
    started = time.perf_counter()
    logger = get_run_logger()
    resources = resolve_resources(store_block, catalog_block)
    settings = get_settings()
    event = normalize_event(event)
    plan = plan_extensions(queue_id, event, resources)
    summary = ExtensionRunSummary(
        queue_id=queue_id, event=event, levels=[list(level) for level in plan.levels], connector=plan.connector
    )
    if plan.empty:
        logger.info("No active extension of queue %s listens to %s", queue_id, event)
        return summary
    create_markdown_artifact(
        key=artifact_key("extensions", queue_id, event), markdown=graph_markdown(plan), description=f"{queue_id}: {event}"
    )

    if email is not None:
        queue = load_queue(queue_id, resources)
        loads: list[PrefectFuture[Chunk]] = []
        number = queue_numbers(resources.catalog()).get(queue_id)
        states = [email_chunk(queue, email.email_id, email.files, email.headers, email.body, queue_number=number)]
    else:
        updated = updated_datapoints or {}
        loads = [
            load_documents_chunk.submit(queue_id, event, chunk, {i: updated[i] for i in chunk if i in updated}, n, resources)
            for n, chunk in enumerate(_chunks(document_ids or [], settings.extension_chunk_size))
        ]
        states = [future.result() for future in loads]
    summary.documents = len(set(document_ids or [])) if email is None else 1
    logger.info("Queue %s, %s: %s over %d chunks", queue_id, event, plan.describe().replace("\n", "; "), len(states))

    # Each chunk moves to its next level as soon as its own level is done; the merge between levels is
    # a pure function run here, so no task start-up sits between two levels. Every extension task
    # waits for exactly its run_after predecessors, which draws the extension graph in the Prefect UI.
    # Chunks go in quoted on threads: Prefect would otherwise walk every node of every document at each submit.
    levels = [list(level) for level in plan.levels] + ([[plan.connector]] if plan.connector else [])
    calls: list[list[dict[str, PrefectFuture[Any]]]] = [[] for _ in states]
    where: dict[PrefectFuture[Any], tuple[int, int]] = {}

    def start_level(n: int, index: int) -> list[PrefectFuture[Any]]:
        def after(name: str) -> list[PrefectFuture[Any]]:
            if index == 0:
                return loads[n : n + 1]
            if plan.connector and name == plan.connector:
                return list(calls[n][index - 1].values())
            return [f for level in calls[n] for p, f in level.items() if p in plan.spec.get(name, ())]

        submitted = {
            name: run_extension.submit(name, _as_argument(states[n]), index + 1, n, resources, settings, wait_for=after(name))
            for name in levels[index]
        }
        calls[n].append(submitted)
        for future in submitted.values():
            where[future] = (n, index)
        return list(submitted.values())

    watching = [future for n in range(len(states)) for future in start_level(n, 0)]
    finished: Counter[tuple[int, int]] = Counter()
    saves: list[PrefectFuture[list[DocOutcome]]] = []
    while watching:
        following: list[PrefectFuture[Any]] = []
        for future in as_completed(watching):
            n, index = where[future]
            level_calls = calls[n][index]
            finished[n, index] += 1
            if finished[n, index] < len(level_calls):
                continue
            states[n] = merge_level_results(states[n], {name: f.result() for name, f in level_calls.items()}, index + 1)
            if index + 1 < len(levels):
                following += start_level(n, index + 1)
            elif email is None:
                saves.append(save_results.submit(queue_id, _as_argument(states[n]), n, resources, actor, wait_for=list(level_calls.values())))
        watching = following

    if email is not None:
        subject = states[0].subjects[0]
        assert isinstance(subject, EmailState)
        summary.email_files = subject.files
        summary.email_messages = subject.messages
    else:
        summary.outcomes = [outcome for future in saves for outcome in future.result()]
        summary.errors_by_extension = errors_by_extension(summary.outcomes)
        summary.conflicts = sum(o.conflicts for o in summary.outcomes)
    summary.seconds = round(time.perf_counter() - started, 3)
    logger.info(
        "Queue %s, %s: %d documents, extension failures %s, %d conflicts, %.2f s",
        queue_id, event, summary.documents, summary.errors_by_extension or "none", summary.conflicts, summary.seconds,
    )  # fmt: skip
    return summary
