"""Downloading many URLs at once: jobs, outcomes, the worker loop and its deadlines (`fetch_each`)."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx

from docket_core.references import redact_url
from docket_core.safefetch.address import URLPolicy
from docket_core.safefetch.body import Sink
from docket_core.safefetch.errors import DownloadTimedOut, FetchError
from docket_core.safefetch.transport import download, make_client

__all__ = ["FetchJob", "FetchOutcome", "fetch_each", "fetch_many", "fetch_to_file"]

_T = TypeVar("_T")


@dataclass(frozen=True)
class FetchJob:
    """One URL to download to `dest`, refused beyond `max_bytes`; `key` identifies its outcome.

    A body whose announced length (Content-Length) is at most `spool_bytes` is kept in memory, in
    the outcome's `data`, and `dest` is not written: small files then cost no file system work.
    """

    key: str
    url: str
    dest: Path
    max_bytes: int
    spool_bytes: int = 0


@dataclass(frozen=True)
class FetchOutcome:
    """What became of a `FetchJob`: its size in bytes, or the error that stopped it.

    `data` holds the body when it was spooled in memory (see `FetchJob.spool_bytes`); otherwise the
    body is in the job's `dest`.
    """

    key: str
    size: int | None
    error: FetchError | None = None
    data: bytes | None = None


async def fetch_to_file(
    client: httpx.AsyncClient,
    url: str,
    dest: Path,
    *,
    policy: URLPolicy,
    max_bytes: int,
    deadline: float,
    max_redirects: int,
) -> int:
    """Download `url` to `dest` and return its size; `dest` is complete or absent afterwards.

    Args:
        client: a client that does not follow redirects itself.
        url: the untrusted URL; it and every redirect are checked first.
        dest: where the bytes go; written as a temporary sibling, renamed when complete.
        policy: which non-public hosts may be fetched.
        max_bytes: larger downloads fail with `FileTooLarge` as soon as this is known.
        deadline: seconds allowed for the whole download, redirects included.
        max_redirects: redirects followed before failing with `DownloadFailed`.

    Raises:
        FetchError: `UnsafeURL`, `FileTooLarge`, `DownloadTimedOut` or `DownloadFailed`.
    """
    size, _ = await _fetch(client, url, Sink(dest, 0), policy, max_bytes, deadline, max_redirects)
    return size


async def _fetch(
    client: httpx.AsyncClient,
    url: str,
    sink: Sink,
    policy: URLPolicy,
    max_bytes: int,
    deadline: float,
    max_redirects: int,
) -> tuple[int, bytes | None]:
    try:
        try:
            async with asyncio.timeout(deadline):
                size = await download(client, url, sink, policy, max_bytes, max_redirects)
        except DownloadTimedOut:
            raise
        except TimeoutError as exc:
            raise DownloadTimedOut(
                f"expected {redact_url(url)!r} to download within {deadline:g} s, it did not"
            ) from exc
        return size, sink.commit()
    except BaseException:
        sink.discard()
        raise


def fetch_many(
    jobs: Sequence[FetchJob],
    *,
    policy: URLPolicy,
    concurrency: int,
    timeout: float,
    connect_timeout: float,
    max_redirects: int,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[FetchOutcome]:
    """Download every job, at most `concurrency` at once, and return their outcomes in job order.

    A failed job has its `FetchError` in its outcome and never stops the others. Runs its own event
    loop, so call it from synchronous code (in a thread already running a loop, it uses another
    thread). `timeout` is each download's deadline; `transport` replaces the network in tests.
    """
    return fetch_each(
        jobs,
        _outcome,
        executor=None,
        policy=policy,
        concurrency=concurrency,
        timeout=timeout,
        connect_timeout=connect_timeout,
        max_redirects=max_redirects,
        transport=transport,
    )


def _outcome(_job: FetchJob, outcome: FetchOutcome) -> FetchOutcome:
    return outcome


def fetch_each(
    jobs: Sequence[FetchJob],
    handle: Callable[[FetchJob, FetchOutcome], _T],
    *,
    executor: concurrent.futures.Executor | None,
    policy: URLPolicy,
    concurrency: int,
    timeout: float,
    connect_timeout: float,
    max_redirects: int,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[_T]:
    """Download like `fetch_many`, passing each outcome to `handle` as soon as it is in; results in job order.

    `handle` runs on `executor` (inline when None) while other downloads go on, and a download slot
    is held until its `handle` returns: at most `concurrency` bodies (files or spooled bytes) wait
    at once, so `handle` should remove what it is given. An exception from `handle` stops the
    downloads and is raised.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")

    def run() -> list[_T]:
        return asyncio.run(
            _fetch_all(jobs, handle, executor, policy, concurrency, timeout, connect_timeout, max_redirects, transport)
        )

    if not _loop_running():
        return run()
    # asyncio.run refuses to nest: give the downloads a thread of their own.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="docket-fetch") as pool:
        return pool.submit(run).result()


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


async def _fetch_all(
    jobs: Sequence[FetchJob],
    handle: Callable[[FetchJob, FetchOutcome], _T],
    executor: concurrent.futures.Executor | None,
    policy: URLPolicy,
    concurrency: int,
    timeout: float,
    connect_timeout: float,
    max_redirects: int,
    transport: httpx.AsyncBaseTransport | None,
) -> list[_T]:
    results: list[_T | None] = [None] * len(jobs)
    pending = iter(enumerate(jobs))
    loop = asyncio.get_running_loop()

    async def worker() -> None:
        # One client, so one kept-alive connection, per worker: httpcore's pool does work quadratic
        # in its connections for every request, which at 32 connections cost more CPU than the
        # downloads themselves.
        async with make_client(timeout, connect_timeout, transport) as client:
            for index, job in pending:  # shared: each job goes to the first free worker
                try:
                    size, data = await _fetch(
                        client, job.url, Sink(job.dest, job.spool_bytes), policy, job.max_bytes, timeout, max_redirects
                    )
                except FetchError as exc:
                    outcome = FetchOutcome(job.key, None, exc)
                else:
                    outcome = FetchOutcome(job.key, size, None, data)
                if executor is None:
                    results[index] = handle(job, outcome)
                else:
                    results[index] = await loop.run_in_executor(executor, handle, job, outcome)

    tasks = [asyncio.create_task(worker()) for _ in range(min(concurrency, len(jobs)))]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    return results  # type: ignore[return-value] - every job was given a result
