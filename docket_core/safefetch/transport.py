"""The pinned transport: one client per worker, each request sent to the checked address.

The `Host` header and the TLS server name (`sni_hostname`) carry the original host, so a second DNS
answer cannot change the target (DNS rebinding) while certificates are still verified against the
real name. Every redirect is checked again, like the first URL, before it is followed.
"""

from __future__ import annotations

import functools
import ssl

import httpx

from docket_core.references import redact_url
from docket_core.safefetch.address import URLPolicy, check_url, default_port, resolve_checked
from docket_core.safefetch.body import Sink, stream_body
from docket_core.safefetch.errors import DownloadFailed, DownloadTimedOut, UnsafeURL, describe
from docket_core.settings import get_settings

__all__ = ["download", "make_client", "pinned_request", "tls_context"]

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The TLS settings every client uses (httpx's defaults: certifi's CA bundle, hostnames checked).

    Built once: loading the CA bundle costs tens of milliseconds, more than many small downloads.
    An `SSLContext` is safe to share between clients, threads and event loops.
    """
    context = httpx.create_ssl_context(trust_env=False)
    extra = get_settings().extra_ca_file  # DOCKET_EXTRA_CA_FILE: a private CA, on top of certifi's
    if extra is not None:
        context.load_verify_locations(cafile=str(extra))
    return context


def make_client(timeout: float, connect_timeout: float, transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncClient:
    """A client that follows no redirects, reads no environment and keeps one connection alive."""
    return httpx.AsyncClient(
        transport=transport,
        verify=tls_context(),
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        follow_redirects=False,
        # Environment proxies would move the connection away from the checked address, and .netrc
        # would add credentials to untrusted hosts.
        trust_env=False,
        headers={"Accept-Encoding": "identity", "User-Agent": "docket"},
    )


async def download(
    client: httpx.AsyncClient, url: str, sink: Sink, policy: URLPolicy, max_bytes: int, max_redirects: int
) -> int:
    """Download `url` into `sink`, checking it and every redirect first; return the body's size."""
    current, previous = url, None
    for _ in range(max_redirects + 1):
        shown = redact_url(current)
        try:
            target = check_url(current, policy)
            address = await resolve_checked(target.host, target.port or default_port(target.scheme), policy)
        except UnsafeURL as exc:
            if previous is None:
                raise
            raise UnsafeURL(f"refusing the redirect from {redact_url(previous)!r} to {shown!r}: {exc}") from exc
        request = pinned_request(client, target, address)
        try:
            response = await client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise DownloadTimedOut(f"expected an answer from {shown!r} in time, got {type(exc).__name__}") from exc
        except httpx.HTTPError as exc:
            raise DownloadFailed(f"cannot download {shown!r}: {describe(exc, current)}") from exc
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
            return await stream_body(response, sink, max_bytes, shown, current)
        finally:
            await response.aclose()
    raise DownloadFailed(
        f"expected at most {max_redirects} redirects from {redact_url(url)!r}, got more (last to {redact_url(current)!r})"
    )


def pinned_request(client: httpx.AsyncClient, target: httpx.URL, address: str) -> httpx.Request:
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
