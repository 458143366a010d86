"""Sending a batch of due notifications: signed, concurrent across endpoints, in order per resource.

`deliver_batch` claims up to `DOCKET_NOTIFY_BATCH_SIZE` notifications, sends them with one async
httpx client (at most `DOCKET_NOTIFY_CONCURRENCY` requests at once, `DOCKET_NOTIFY_ENDPOINT_CONCURRENCY`
per endpoint), and records every attempt. Notifications about one resource to one endpoint go one
after the other; when one must wait for a retry, those after it are released untouched.

Every URL is checked like a download (`docket_core.safefetch`): http(s) only, no credentials, and a
public address unless the host is in `DOCKET_ALLOWED_URL_HOSTS`; the request goes to the checked
address. Redirects are never followed. Error messages never quote a URL's query string.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import httpx

from docket_core import httpbody
from docket_core.catalog import Catalog, utcnow
from docket_core.notifications import ledger
from docket_core.notifications.keys import Keyring
from docket_core.notifications.ledger import Attempt, Claimed
from docket_core.notifications.payloads import body_bytes
from docket_core.notifications.schedule import Verdict, classify_status, parse_retry_after
from docket_core.redact import scrub_url_secrets
from docket_core.references import redact_url
from docket_core.safefetch.address import URLPolicy, check_url, resolve_checked
from docket_core.safefetch.errors import FetchError, UnsafeURL
from docket_core.settings.notify import NotifySettings
from docket_core.signing import sign_headers

__all__ = ["BatchReport", "deliver_batch", "new_owner", "send_claimed"]

USER_AGENT = "docket-webhooks/1"
_EXCERPT = 300


@dataclass
class BatchReport:
    """What one `deliver_batch` did; `attempts - delivered` counts the extra tries."""

    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    released: int = 0
    interrupted: int = 0
    attempts: int = 0
    disabled_endpoints: list[str] = field(default_factory=list)


def new_owner() -> str:
    """A lease owner name unique to this delivery run (host, pid, random)."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _scrub(text: str, url: str) -> str:
    return scrub_url_secrets(text, url)  # its query, and the path's token of a known webhook host


def _describe(exc: BaseException, url: str) -> str:
    detail = _scrub(str(exc), url).strip()
    return f"{type(exc).__name__}: {detail}"[:_EXCERPT] if detail else type(exc).__name__


class _Sender:
    """One batch's HTTP side: a client, semaphores, and each endpoint's checked address."""

    def __init__(self, client: httpx.AsyncClient, keyring: Keyring, settings: NotifySettings, policy: URLPolicy) -> None:
        self.client, self.keyring, self.policy = client, keyring, policy
        self.limit = asyncio.Semaphore(settings.notify_concurrency)
        self.per_endpoint: dict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(settings.notify_endpoint_concurrency)
        )
        self.addresses: dict[str, asyncio.Task[str]] = {}

    def _address(self, c: Claimed, target: httpx.URL) -> asyncio.Task[str]:
        if c.endpoint_key not in self.addresses:
            port = target.port or (443 if target.scheme == "https" else 80)
            self.addresses[c.endpoint_key] = asyncio.ensure_future(resolve_checked(target.host, port, self.policy))
        return self.addresses[c.endpoint_key]

    def _request(self, c: Claimed, target: httpx.URL, address: str, body: bytes, timeout: float) -> httpx.Request:
        creds = self.keyring.for_url(c.url)
        headers = {"content-type": "application/json", **sign_headers(creds.key, c.event_id, body)}
        if creds.token:
            headers["authorization"] = f"Bearer {creds.token}"
        if address == target.host:
            return self.client.build_request("POST", target, content=body, headers=headers, timeout=timeout)
        headers["host"] = target.netloc.decode("ascii")
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        return self.client.build_request(
            "POST", target.copy_with(host=address), content=body, headers=headers, timeout=timeout, extensions=extensions
        )

    async def attempt(self, c: Claimed, stop_at: float) -> Attempt:
        started, t0 = utcnow(), time.monotonic()

        def done(verdict: Verdict, *, code: int | None = None, error: str | None = None, retry_after: float | None = None) -> Attempt:
            ms = int((time.monotonic() - t0) * 1000)
            return Attempt(c, verdict, started, ms, code, error, retry_after)

        timeout = self.keyring.for_url(c.url).timeout
        try:
            target = check_url(c.url, self.policy)
            address = await self._address(c, target)
        except UnsafeURL as exc:
            return done(Verdict.FAILED, error=f"refused to send: {exc}")
        except FetchError as exc:  # the host does not resolve (yet): a network problem
            return done(Verdict.RETRY, error=str(exc))
        body = body_bytes({**c.payload, "delivery_attempt": c.attempt})
        async with self.limit, self.per_endpoint[c.endpoint_key]:
            if time.monotonic() >= stop_at:  # too late to start: another run sends it, within its lease
                return Attempt(c, None)
            started, t0 = utcnow(), time.monotonic()
            try:
                async with asyncio.timeout(timeout):
                    response = await self.client.send(self._request(c, target, address, body, timeout), stream=True)
                    try:
                        excerpt = await _read_some(response)
                    finally:
                        await response.aclose()
            except (TimeoutError, httpx.TimeoutException):
                return done(Verdict.RETRY, error=f"no answer within {timeout:g} s (timeout)")
            except httpx.HTTPError as exc:
                return done(Verdict.RETRY, error=f"connection failed: {_describe(exc, c.url)}")
        code = response.status_code
        verdict = classify_status(code)
        if verdict is Verdict.DELIVERED:
            return done(verdict, code=code)
        if 300 <= code < 400:
            location = redact_url(response.headers.get("location", ""))
            error = f"HTTP {code} redirect to {location!r}: redirects are never followed; subscribe with the final URL"
        else:
            error = f"HTTP {code} {response.reason_phrase}".rstrip() + (f": {excerpt}" if excerpt else "")
        return done(verdict, code=code, error=error, retry_after=parse_retry_after(response.headers.get("retry-after")))


async def _read_some(response: httpx.Response) -> str:
    """The start of an answer, for the record: at most `_EXCERPT` decoded bytes are kept.

    The body is read raw and decoded within a bound (`docket_core.httpbody`): a compressed answer
    cannot expand past a few pieces of 64 KiB, and an answer in an encoding Docket does not decode
    is recorded as such rather than read.
    """
    try:
        data = await httpbody.aread_body(response, _EXCERPT, "the subscriber", truncate=True)
    except httpbody.BodyError as exc:
        return f"(answer not read: {exc})"
    text = data[:_EXCERPT].decode("utf-8", "replace")
    # Control characters (NUL above all, which PostgreSQL text refuses) are shown as "?".
    return "".join(ch if ch.isprintable() or ch in "\t\n" else "?" for ch in text).strip()


async def send_claimed(
    claimed: Sequence[Claimed],
    keyring: Keyring,
    settings: NotifySettings,
    policy: URLPolicy,
    *,
    start_within: float,
    deadline: float,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[Attempt]:
    """Send `claimed` and return one `Attempt` each (verdict None: not sent, released).

    No send starts after `start_within` seconds; sends under way then may finish until `deadline`,
    when whatever still waits for an answer is cancelled and counted as an attempt without one.
    """
    groups: dict[tuple[str, str], list[Claimed]] = defaultdict(list)
    for c in sorted(claimed, key=lambda c: c.id):
        groups[(c.endpoint_key, c.resource_key)].append(c)
    results: dict[int, Attempt] = {}
    in_flight: set[int] = set()
    client = httpx.AsyncClient(
        transport=transport,
        follow_redirects=False,
        trust_env=False,  # proxies would bypass the address check; .netrc would add credentials
        timeout=httpx.Timeout(settings.notify_timeout),
        limits=httpx.Limits(max_connections=settings.notify_concurrency, max_keepalive_connections=settings.notify_concurrency),
        headers={"user-agent": USER_AGENT, "accept-encoding": httpbody.ACCEPT_ENCODING},
    )
    async with client:
        sender = _Sender(client, keyring, settings, policy)

        stop_at = time.monotonic() + start_within

        async def run(group: list[Claimed]) -> None:
            for i, c in enumerate(group):
                in_flight.add(c.id)
                results[c.id] = await sender.attempt(c, stop_at)
                in_flight.discard(c.id)
                if results[c.id].verdict in (Verdict.RETRY, None):
                    for later in group[i + 1 :]:  # order per resource: they wait for this one
                        results[later.id] = Attempt(later, None)
                    return

        tasks = [asyncio.ensure_future(run(g)) for g in groups.values()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=deadline)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        for task in sender.addresses.values():
            if not task.done():
                task.cancel()
    out = []
    for c in claimed:
        if c.id in results:
            out.append(results[c.id])
        elif c.id in in_flight:  # sent or not, it had no answer in time: counts as an attempt
            out.append(Attempt(c, Verdict.RETRY, utcnow(), None, None, "no answer before the delivery run's deadline"))
        else:
            out.append(Attempt(c, None))
    return out


def _run(coro_factory: Callable[[], Awaitable[list[Attempt]]]) -> list[Attempt]:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro_factory())  # type: ignore[arg-type]
    # Called from inside an event loop: asyncio.run refuses to nest, so use a thread of its own.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="docket-notify") as pool:
        return pool.submit(lambda: asyncio.run(coro_factory())).result()  # type: ignore[arg-type]


def deliver_batch(
    catalog: Catalog,
    keyring: Keyring,
    settings: NotifySettings,
    policy: URLPolicy,
    *,
    owner: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> BatchReport:
    """Claim, send and record one batch of due notifications (none due: an empty report)."""
    owner = owner or new_owner()
    claimed, recovered = ledger.claim(
        catalog, owner=owner, limit=settings.notify_batch_size, lease_seconds=settings.notify_lease_seconds
    )
    report = BatchReport(claimed=len(claimed), interrupted=recovered)
    if not claimed:
        return report
    # Finish inside the lease, so no other run takes these over while this one still sends: start no
    # send later than the longest answer time before the end, and cancel what still waits at 90 %.
    lease = settings.notify_lease_seconds
    start_within = max(lease - 2 * settings.notify_timeout - 1.0, lease * 0.25)
    results = _run(lambda: send_claimed(claimed, keyring, settings, policy, start_within=start_within,
                                        deadline=lease * 0.9, transport=transport))  # fmt: skip
    recorded = ledger.record(catalog, owner, results, settings)
    report.delivered, report.retrying, report.failed = recorded.delivered, recorded.retrying, recorded.failed
    report.released, report.attempts = recorded.released, recorded.attempts
    report.disabled_endpoints = recorded.disabled_endpoints
    return report
