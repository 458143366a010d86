"""Extension stages as Prefect tasks: plan, load a chunk, run one extension over it, merge a level, save.

An extension task never fails for the extension's sake: a webhook that times out or a function that
raises becomes a failed result with the reason, merged as an error message naming it. So these tasks
do not retry (a retry would call every webhook of the chunk again); webhooks retry inside, per call.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from prefect import task
from prefect.blocks.system import Secret
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner
from pydantic import SecretStr

from docket_core.auth.tokens import issue_tokens
from docket_core.extensions.config import ExtensionPlan
from docket_core.extensions.registry import get_extension, queue_plan
from docket_core.extensions.response import ExtensionResult
from docket_core.extensions.runner import CallOptions, Chunk, call_extension, merge_chunk_level
from docket_core.extensions.webhook import get_sender
from docket_core.queues.registry import get_queue
from docket_core.queues.runs import DocOutcome, load_chunk, save_chunk
from docket_core.resources import Resources
from docket_core.settings import DocketSettings, get_settings
from docket_core.settings.queues import QueueSettings
from tasks.resources import build_task_runner
from tasks.retry import retry_unless_bad_input

__all__ = [
    "build_extension_runner",
    "errors_by_extension",
    "load_documents_chunk",
    "merge_level_results",
    "plan_extensions",
    "run_extension",
    "save_results",
]

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _function_pool(workers: int) -> ThreadPoolExecutor:
    """One pool per process for function extensions, so a level's functions share its threads."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="docket-function-ext")
        return _pool


def build_extension_runner(settings: DocketSettings | None = None) -> TaskRunner:
    """The task runner of the `run_extensions` subflow, as `DOCKET_TASK_RUNNER` names it now.

    `threads`: `DOCKET_EXTENSION_WORKERS` threads, so a level's extensions over every chunk run at once.
    `dask`: the batch flows' runner (`build_task_runner`): the scheduler at `DOCKET_DASK_ADDRESS`, or a
    local cluster the subflow run starts and stops. Callers build it when the subflow is about to run
    (`run_extensions.with_options(task_runner=build_extension_runner())`), not at import.
    """
    settings = settings or get_settings()
    if settings.task_runner == "dask":
        return build_task_runner(settings)
    return ThreadPoolTaskRunner(max_workers=settings.extension_workers)


@task(name="plan-extensions", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=1, retry_condition_fn=retry_unless_bad_input)
def plan_extensions(queue_id: str, event: str, resources: Resources) -> ExtensionPlan:
    """Which active extensions of the queue listen to the event, in levels (ARCHITECTURE.md section 5)."""
    with resources.catalog().read() as conn:
        get_queue(conn, queue_id)
        return queue_plan(conn, queue_id, event)


@task(name="load-chunk", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=1, retry_condition_fn=retry_unless_bad_input,
      task_run_name="load-chunk-{number}")  # fmt: skip
def load_documents_chunk(
    queue_id: str, event: str, document_ids: list[int], updated: dict[int, list[int]], number: int, resources: Resources
) -> Chunk:
    """The chunk's documents as they are now, each with the datapoint ids an edit changed."""
    with resources.catalog().read() as conn:
        return load_chunk(conn, get_queue(conn, queue_id), event, document_ids, updated)


@task(name="run-extension", cache_policy=NO_CACHE, task_run_name="{name}-chunk-{number}")
def run_extension(name: str, chunk: Chunk, level: int, number: int, resources: Resources, settings: QueueSettings) -> dict[str, ExtensionResult]:
    """One extension over every document of the chunk: webhooks concurrently (bounded), functions on a pool."""
    with resources.catalog().read() as conn:
        extension = get_extension(conn, name)
    if extension.secret_block:
        extension = extension.model_copy(update={"secret": SecretStr(Secret.load(extension.secret_block).get())})
    catalog = resources.catalog()

    def issue(scopes: list[dict[str, Any]], ttl_s: int) -> list[str]:
        return issue_tokens(catalog, "hook", scopes, ttl=timedelta(seconds=ttl_s), label=f"extension:{name}")

    options = CallOptions(
        base_url=settings.public_base_url,
        concurrency=settings.webhook_concurrency,
        sender=get_sender(),
        function_pool=_function_pool(settings.function_workers),
        max_answer_bytes=settings.max_webhook_answer_bytes,
        issue_tokens=issue,
    )
    return call_extension(extension, chunk, level=level, options=options)


def merge_level_results(chunk: Chunk, results: dict[str, dict[str, ExtensionResult]], level: int) -> Chunk:
    """The chunk after a level: operations in name order, conflicts and failures as error messages.

    A pure function, not a task: flows call it between levels so the next level starts at once.
    """
    return merge_chunk_level(chunk, results, level)


@task(name="save-chunk", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=1, retry_condition_fn=retry_unless_bad_input,
      task_run_name="save-chunk-{number}")  # fmt: skip
def save_results(queue_id: str, chunk: Chunk, number: int, resources: Resources, actor: str) -> list[DocOutcome]:
    """Write the run's content, messages and sources of the chunk's documents in one transaction."""
    catalog = resources.catalog()
    with catalog.begin() as conn:
        return save_chunk(conn, get_queue(conn, queue_id), chunk, actor=actor)


def errors_by_extension(outcomes: list[DocOutcome]) -> dict[str, Any]:
    """How many documents each extension failed on."""
    counts: dict[str, int] = {}
    for outcome in outcomes:
        for name in outcome.failed_extensions:
            counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items()))
