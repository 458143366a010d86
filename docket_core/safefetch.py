"""Downloading untrusted URLs: refuse unsafe targets, cap size and time, many at once.

A URL from outside could point Docket at itself, the private network or the cloud metadata
service (server-side request forgery). So every URL, and every redirect, is checked before any
connection is made:

- only `http` and `https`, no credentials in the URL, a host;
- the host is resolved once, and every address must be globally routable (no loopback, private,
  link-local, carrier-grade NAT, multicast, reserved or documentation ranges, nor IPv6 forms that
  embed such an IPv4 address);
- the request then goes to the checked address, with the `Host` header and the TLS server name
  (`sni_hostname`) set to the original host, so a second DNS answer cannot change the target (DNS
  rebinding) while certificates are still verified against the real name.

Hosts in `URLPolicy.allowed_hosts`, or every host with `allow_private_network`, skip the address
check and are connected to by name. Query strings of signed URLs are secrets: no message or log
line here contains one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import io
import ipaddress
import os
import socket
import ssl
import tempfile
from collections.abc import Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, ClassVar, TypeVar

import httpx

from docket_core import httpbody
from docket_core.errors import DocketError, FileErrorType, UnsafeURLError
from docket_core.redact import scrub_url_secrets
from docket_core.references import redact_url
from docket_core.settings import DocketSettings

__all__ = [
    "DownloadFailed",
    "DownloadTimedOut",
    "FetchError",
    "FetchJob",
    "FetchOutcome",
    "FileTooLarge",
    "URLPolicy",
    "UnsafeURL",
    "check_url",
    "fetch_each",
    "fetch_many",
    "fetch_to_file",
    "resolve_checked",
]

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_T = TypeVar("_T")

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_IETF_PROTOCOL = ipaddress.ip_network("192.0.0.0/24")
_DOCUMENTATION = tuple(
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "3fff::/20")
)
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class FetchError(DocketError):
    """Raised when one download fails; `error_type` is the typed reason recorded for the file."""

    error_type: ClassVar[FileErrorType] = FileErrorType.DOWNLOAD_FAILED


class UnsafeURL(FetchError, UnsafeURLError):
    """Raised when a URL or a redirect points somewhere Docket refuses to fetch from."""

    error_type = FileErrorType.UNSAFE_URL_DETECTED


class FileTooLarge(FetchError, ValueError):
    """Raised when a download is larger than allowed (announced or streamed)."""

    error_type = FileErrorType.FILE_SIZE_LIMIT_EXCEEDED


class DownloadTimedOut(FetchError, TimeoutError):
    """Raised when a download, redirects included, does not finish within its deadline."""

    error_type = FileErrorType.DOWNLOAD_TIMEOUT


class DownloadFailed(FetchError):
    """Raised when a server answers with an error status, too many redirects, or not at all."""

    error_type = FileErrorType.DOWNLOAD_FAILED


@dataclass(frozen=True)
class URLPolicy:
    """Which targets may be fetched beyond the public internet."""

    allowed_hosts: frozenset[str] = frozenset()
    allow_private_network: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "allowed_hosts", frozenset(h.strip().lower() for h in self.allowed_hosts))

    @classmethod
    def from_settings(cls, settings: DocketSettings, allow_private_network: bool = False) -> URLPolicy:
        """The policy from `DOCKET_ALLOWED_URL_HOSTS`, opening the private network only when asked."""
        return cls(allowed_hosts=frozenset(settings.allowed_url_hosts), allow_private_network=allow_private_network)

    def trusts(self, host: str) -> bool:
        """Whether `host` skips the address check."""
        return self.allow_private_network or host.lower() in self.allowed_hosts


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


def check_url(url: str, policy: URLPolicy) -> httpx.URL:
    """Parse `url` and refuse, with `UnsafeURL`, anything but `http(s)://host/...` without credentials.

    These rules hold for every `policy`; the address check, which `policy` can relax, needs DNS and
    happens in `resolve_checked`.
    """
    shown = redact_url(url)
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise UnsafeURL(f"expected a valid http(s) URL, got {shown!r} ({_scrub(str(exc), url)})") from exc
    if parsed.scheme not in ("http", "https"):
        raise UnsafeURL(f"expected an http or https URL, got scheme {parsed.scheme or '(none)'!r} in {shown!r}")
    if parsed.userinfo:
        raise UnsafeURL(
            f"expected a URL without credentials, got user info in {shown!r}; "
            "pass credentials another way, or use a signed URL"
        )
    if not parsed.host:
        raise UnsafeURL(f"expected a URL with a host, got none in {shown!r}")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise UnsafeURL(f"expected a port between 1 and 65535, got {parsed.port} in {shown!r}")
    return parsed


async def resolve_checked(host: str, port: int, policy: URLPolicy) -> str:
    """The address to connect to for `host`, after checking that every address it has is public.

    Returns `host` itself when `policy` trusts it (the transport then resolves it). Raises
    `UnsafeURL` when any address is not globally routable, `DownloadFailed` when `host` does not
    resolve.
    """
    if policy.trusts(host):
        return host
    literal = _parse_ip(host)
    if literal is not None:
        addresses = [literal]
    else:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise DownloadFailed(f"cannot resolve host {host!r}: {exc}") from exc
        addresses = [a for a in (_parse_ip(str(info[4][0])) for info in infos) if a is not None]
        if not addresses:
            raise DownloadFailed(f"cannot resolve host {host!r}: no IP addresses")
    for address in addresses:
        reason = _refusal(address)
        if reason is not None:
            at = "" if literal is not None else f" at {address}"
            raise UnsafeURL(
                f"expected a host on the public internet, got {host!r}{at}, which is {reason}; "
                "add the host to DOCKET_ALLOWED_URL_HOSTS if it is trusted"
            )
    return str(addresses[0])


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
    size, _ = await _fetch(client, url, _Sink(dest, 0), policy, max_bytes, deadline, max_redirects)
    return size


class _Sink:
    """Where a body goes: memory when announced at most `spool_bytes` long, else `dest` (atomically)."""

    def __init__(self, dest: Path, spool_bytes: int) -> None:
        self.dest = dest
        self.spool_bytes = spool_bytes
        self.memory: io.BytesIO | None = None
        self.tmp: Path | None = None
        self.file: BinaryIO | None = None

    def open(self, announced: int | None) -> BinaryIO:
        if self.spool_bytes > 0 and announced is not None and announced <= self.spool_bytes:
            self.memory = io.BytesIO()
            return self.memory
        self.dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=self.dest.parent, prefix=f".{self.dest.name}.", suffix=".part")
        self.tmp = Path(tmp_name)
        self.file = os.fdopen(fd, "wb")
        return self.file

    def commit(self) -> bytes | None:
        """Finish: the spooled bytes, or None once `dest` holds the body."""
        if self.memory is not None:
            return self.memory.getvalue()
        assert self.file is not None and self.tmp is not None, "commit() before open()"
        self.file.close()
        os.replace(self.tmp, self.dest)
        return None

    def discard(self) -> None:
        if self.file is not None:
            self.file.close()
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)


async def _fetch(
    client: httpx.AsyncClient,
    url: str,
    sink: _Sink,
    policy: URLPolicy,
    max_bytes: int,
    deadline: float,
    max_redirects: int,
) -> tuple[int, bytes | None]:
    try:
        try:
            async with asyncio.timeout(deadline):
                size = await _download(client, url, sink, policy, max_bytes, max_redirects)
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


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The TLS settings every client uses (httpx's defaults: certifi's CA bundle, hostnames checked).

    Built once: loading the CA bundle costs tens of milliseconds, more than many small downloads.
    An `SSLContext` is safe to share between clients, threads and event loops.
    """
    return httpx.create_ssl_context(trust_env=False)


def _client(timeout: float, connect_timeout: float, transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=transport,
        verify=_tls_context(),
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        follow_redirects=False,
        # Environment proxies would move the connection away from the checked address, and .netrc
        # would add credentials to untrusted hosts.
        trust_env=False,
        headers={"Accept-Encoding": "identity", "User-Agent": "docket"},
    )


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
        async with _client(timeout, connect_timeout, transport) as client:
            for index, job in pending:  # shared: each job goes to the first free worker
                try:
                    size, data = await _fetch(
                        client, job.url, _Sink(job.dest, job.spool_bytes), policy, job.max_bytes, timeout, max_redirects
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


async def _download(
    client: httpx.AsyncClient, url: str, sink: _Sink, policy: URLPolicy, max_bytes: int, max_redirects: int
) -> int:
    current, previous = url, None
    for _ in range(max_redirects + 1):
        shown = redact_url(current)
        try:
            target = check_url(current, policy)
            address = await resolve_checked(target.host, target.port or _default_port(target.scheme), policy)
        except UnsafeURL as exc:
            if previous is None:
                raise
            raise UnsafeURL(f"refusing the redirect from {redact_url(previous)!r} to {shown!r}: {exc}") from exc
        request = _pinned_request(client, target, address)
        try:
            response = await client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise DownloadTimedOut(f"expected an answer from {shown!r} in time, got {type(exc).__name__}") from exc
        except httpx.HTTPError as exc:
            raise DownloadFailed(f"cannot download {shown!r}: {_describe(exc, current)}") from exc
        try:
            if response.status_code in _REDIRECT_STATUSES:
                location = response.headers.get("location")
                if not location:
                    raise DownloadFailed(f"expected a Location header with HTTP {response.status_code} from {shown!r}, got none")
                previous = current
                try:
                    current = str(target.join(location))
                except httpx.InvalidURL as exc:
                    raise UnsafeURL(f"expected a valid redirect from {shown!r}, got {redact_url(location)!r}") from exc
                continue
            if not response.is_success:
                raise DownloadFailed(
                    f"expected HTTP 200 from {shown!r}, got {response.status_code} {response.reason_phrase}".rstrip()
                )
            return await _stream_body(response, sink, max_bytes, shown, current)
        finally:
            await response.aclose()
    raise DownloadFailed(
        f"expected at most {max_redirects} redirects from {redact_url(url)!r}, got more (last to {redact_url(current)!r})"
    )


async def _stream_body(response: httpx.Response, sink: _Sink, max_bytes: int, shown: str, url: str) -> int:
    announced = response.headers.get("content-length")
    length = int(announced) if announced is not None and announced.isdigit() else None
    if length is not None and length > max_bytes:
        raise FileTooLarge(f"expected at most {max_bytes} bytes from {shown!r}, got Content-Length {announced}")
    out = sink.open(length)
    written = 0
    try:
        # Raw bytes, decoded here: the cap counts decoded bytes as they are made (docket_core.httpbody).
        async with aclosing(httpbody.aiter_body(response, max_bytes, repr(shown))) as pieces:
            async for chunk in pieces:
                written += len(chunk)
                out.write(chunk)
    except httpbody.BodyTooLarge as exc:
        raise FileTooLarge(str(exc)) from exc
    except httpbody.UnsupportedEncoding as exc:
        raise DownloadFailed(str(exc)) from exc
    except httpx.TimeoutException as exc:
        raise DownloadTimedOut(f"expected the body of {shown!r} in time, got {type(exc).__name__}") from exc
    except httpx.HTTPError as exc:
        raise DownloadFailed(f"cannot download {shown!r}: {_describe(exc, url)}") from exc
    return written


def _pinned_request(client: httpx.AsyncClient, target: httpx.URL, address: str) -> httpx.Request:
    """A request for `target` sent to `address`, naming the original host to the server and to TLS."""
    if address == target.host:
        return client.build_request("GET", target)
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    return client.build_request(
        "GET",
        target.copy_with(host=address),
        headers={"Host": target.netloc.decode("ascii")},
        extensions=extensions,
    )


def _refusal(address: _IPAddress) -> str | None:
    """Why `address` is not a public internet address, or None when it is."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return f"an IPv4-mapped IPv6 address (of {address.ipv4_mapped})"
        if address in _IPV4_COMPATIBLE and int(address) > 1:
            return f"an IPv4-compatible IPv6 address (of {ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)})"
        embedded: tuple[str, ipaddress.IPv4Address] | None = None
        if address in _NAT64:
            embedded = ("a NAT64 address", ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        elif address.sixtofour is not None:
            embedded = ("a 6to4 address", address.sixtofour)
        elif address.teredo is not None:
            # A tunnel endpoint, never a server to download from, whatever it embeds.
            return f"a Teredo tunnel address (of {address.teredo[1]})"
        if embedded is not None:
            kind, inner = embedded
            inner_reason = _refusal(inner)
            return None if inner_reason is None else f"{kind} embedding {inner}, which is {inner_reason}"
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local (where cloud metadata services live)"
    if address.is_multicast:
        return "multicast"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "site-local"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "carrier-grade NAT (shared address space)"
    if any(address in net for net in _DOCUMENTATION if net.version == address.version):
        return "reserved for documentation"
    if address.is_reserved or (isinstance(address, ipaddress.IPv4Address) and address in _IETF_PROTOCOL):
        return "reserved"
    if address.is_private:
        return "private"
    if not address.is_global:
        return "not globally routable"
    return None


def _parse_ip(text: str) -> _IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def _describe(exc: Exception, url: str) -> str:
    """`exc` in a few words, without any query string it may quote."""
    detail = _scrub(str(exc), url)
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _scrub(text: str, url: str) -> str:
    """`text` with the query string of `url` (as given or as httpx encodes it) replaced by `<redacted>`."""
    query = url.split("#", 1)[0].partition("?")[2]
    if not query:
        return scrub_url_secrets(text, url)
    forms = {query}
    try:
        forms.add(httpx.URL(url).query.decode("ascii", "replace"))
    except (httpx.InvalidURL, TypeError):
        pass  # unparseable: only the query as given can appear
    for form in sorted(forms, key=len, reverse=True):
        if form:
            text = text.replace(form, "<redacted>")
    return scrub_url_secrets(text, url)  # and a known webhook host's path token
