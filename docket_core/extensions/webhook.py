"""Calling webhook extensions: Rossum's signature, and one shared async HTTP client per process.

`sign` gives the `X-Rossum-Signature-SHA256` header value (`sha256=<hex HMAC-SHA256 of the body>`),
`verify` checks one (for receivers and tests). `WebhookSender` sends on one background event loop,
reusing its keep-alive connections across tasks; a task hands it a list of calls and gets the answers
back, the calls running concurrently up to a bound, each with its own deadline and retries. A test swaps in a sender over
`httpx.MockTransport` with `use_sender`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import socket
import ssl
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import certifi
import httpx

from docket_core import httpbody

__all__ = [
    "DEFAULT_MAX_ANSWER_BYTES",
    "SIGNATURE_HEADER",
    "WebhookAnswer",
    "WebhookCall",
    "WebhookSender",
    "close_sender",
    "get_sender",
    "sign",
    "use_sender",
    "verify",
]

SIGNATURE_HEADER = "X-Rossum-Signature-SHA256"
DEFAULT_MAX_ANSWER_BYTES = 16 * 1024 * 1024
"""The default cap on one answer's body, decoded (`DOCKET_MAX_WEBHOOK_ANSWER_BYTES`)."""
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


def sign(body: bytes, secret: str) -> str:
    """The `X-Rossum-Signature-SHA256` value for `body`: `sha256=` and the hex HMAC-SHA256 digest."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, header: str | None) -> bool:
    """Whether `header` is the signature of `body` with `secret` (constant-time comparison)."""
    return header is not None and hmac.compare_digest(sign(body, secret), header)


@dataclass(frozen=True)
class WebhookCall:
    """One request: the body is sent as is, signed when there is a secret; an answer whose body is
    longer than `max_answer_bytes` (decoded) is refused."""

    url: str
    body: bytes
    secret: str | None
    timeout_s: float
    retries: int
    extension: str
    max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES

    def __repr__(self) -> str:  # never show the secret, even in a traceback
        return f"WebhookCall(extension={self.extension!r}, url={self.url!r}, bytes={len(self.body)})"


@dataclass(frozen=True)
class WebhookAnswer:
    """What came back: a status and body, or the error of the last attempt; `timed_out` if it was a timeout."""

    status_code: int | None
    body: bytes
    error: str | None
    timed_out: bool
    attempts: int


class WebhookSender:
    """Webhook calls for every task of the process, on one background event loop.

    A call to `send_many` runs `concurrency` lanes; each lane takes an idle HTTP client (one or a few
    keep-alive connections) and sends one request after another. Clients go back to a shared idle list,
    so connections are reused across tasks. Lanes rather than one big pool: httpx's connection pool
    assigns requests to connections in quadratic time, which at a hundred requests in flight costs
    more CPU than the requests themselves.
    """

    def __init__(self, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._transport = transport
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._idle: list[httpx.AsyncClient] = []  # touched only on the loop's thread
        self._tls_context: ssl.SSLContext | None = None
        self._lock = threading.Lock()

    def _start(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                self._thread = threading.Thread(target=run, name="docket-webhooks", daemon=True)
                self._thread.start()
                ready.wait()
                self._loop = loop
            return self._loop

    def _tls(self) -> ssl.SSLContext:
        """One TLS context for every client: building one loads the CA bundle, ~20 ms each time."""
        if self._tls_context is None:
            self._tls_context = ssl.create_default_context(cafile=certifi.where())
        return self._tls_context

    def _client(self) -> httpx.AsyncClient:
        if self._idle:
            return self._idle.pop()
        # TCP_NODELAY: httpx writes a request's headers and body apart; without it Nagle holds the body
        # until the server's delayed ACK, adding up to 40 ms to every call on Linux.
        transport = self._transport or httpx.AsyncHTTPTransport(
            verify=self._tls(),
            limits=httpx.Limits(max_connections=4, max_keepalive_connections=4),
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        )
        return httpx.AsyncClient(transport=transport, timeout=None, trust_env=False)

    def send_many(self, calls: Sequence[WebhookCall], *, concurrency: int) -> list[WebhookAnswer]:
        """Send every call, at most `concurrency` at once; the answers come back in the calls' order."""
        if not calls:
            return []
        loop = self._start()
        return asyncio.run_coroutine_threadsafe(self._send_all(calls, concurrency), loop).result()

    async def _send_all(self, calls: Sequence[WebhookCall], concurrency: int) -> list[WebhookAnswer]:
        answers: list[WebhookAnswer | None] = [None] * len(calls)
        todo = iter(enumerate(calls))  # shared by the lanes; the loop runs one lane at a time

        async def lane() -> None:
            client = self._client()
            try:
                for index, call in todo:
                    answers[index] = await self._send(client, call)
            finally:
                self._idle.append(client)

        await asyncio.gather(*(lane() for _ in range(max(1, min(concurrency, len(calls))))))
        return [a for a in answers if a is not None]

    async def _send(self, client: httpx.AsyncClient, call: WebhookCall) -> WebhookAnswer:
        headers = {"Content-Type": "application/json", "User-Agent": "docket-extensions", "Accept-Encoding": httpbody.ACCEPT_ENCODING}
        if call.secret:
            headers[SIGNATURE_HEADER] = sign(call.body, call.secret)
        answer = WebhookAnswer(None, b"", "not sent", False, 0)
        for attempt in range(1, call.retries + 2):
            try:
                # One deadline for the whole exchange: httpx's own timeouts are per phase.
                async with asyncio.timeout(call.timeout_s):
                    request = client.build_request("POST", call.url, content=call.body, headers=headers)
                    response = await client.send(request, stream=True)
                    try:
                        # Read raw and decoded within the cap (docket_core.httpbody): httpx would decode
                        # a compressed answer whole first.
                        content = await httpbody.aread_body(response, call.max_answer_bytes, f"extension {call.extension!r}")
                    finally:
                        await response.aclose()
            except TimeoutError:
                answer = WebhookAnswer(None, b"", f"no answer within {call.timeout_s:g} s", True, attempt)
            except httpbody.BodyError as e:  # the same answer would come again: no retry
                return WebhookAnswer(None, b"", str(e), False, attempt)
            except httpx.HTTPError as e:
                answer = WebhookAnswer(None, b"", f"{type(e).__name__}: {e}", False, attempt)
            else:
                answer = WebhookAnswer(response.status_code, content, None, False, attempt)
                if response.status_code not in _RETRY_STATUS:
                    return answer
            if attempt <= call.retries:
                await asyncio.sleep(min(0.1 * 2 ** (attempt - 1), 2.0))
        return answer

    def close(self) -> None:
        """Close the clients and stop the loop (a later call starts them again)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None:
            return

        async def close_all() -> None:
            idle, self._idle = self._idle, []
            for client in idle:
                await client.aclose()

        asyncio.run_coroutine_threadsafe(close_all(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join()
        loop.close()


_sender: WebhookSender | None = None
_sender_lock = threading.Lock()


def get_sender() -> WebhookSender:
    """The process's shared sender (created on first use)."""
    global _sender
    with _sender_lock:
        if _sender is None:
            _sender = WebhookSender()
        return _sender


def close_sender() -> None:
    """Close the shared sender, e.g. before a process exits or forks."""
    global _sender
    with _sender_lock:
        sender, _sender = _sender, None
    if sender is not None:
        sender.close()


@contextmanager
def use_sender(sender: WebhookSender) -> Iterator[WebhookSender]:
    """Use `sender` as the shared one for a while (tests: a sender over `httpx.MockTransport`)."""
    global _sender
    with _sender_lock:
        previous, _sender = _sender, sender
    try:
        yield sender
    finally:
        with _sender_lock:
            _sender = previous
        sender.close()
