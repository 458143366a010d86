"""Which targets may be fetched: the URL's form, then every address its host resolves to.

Only public internet addresses pass; loopback, private, link-local, carrier-grade NAT, multicast,
reserved and documentation ranges are refused, and so are IPv6 forms that embed such an IPv4 address
(IPv4-mapped, IPv4-compatible, NAT64, 6to4) and Teredo tunnel endpoints.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

import httpx

from docket_core.references import redact_url
from docket_core.safefetch.errors import DownloadFailed, UnsafeURL, scrub
from docket_core.settings import DocketSettings

__all__ = ["URLPolicy", "check_url", "default_port", "resolve_checked"]

_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_IETF_PROTOCOL = ipaddress.ip_network("192.0.0.0/24")
_DOCUMENTATION = tuple(
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "3fff::/20")
)
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


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


def check_url(url: str, policy: URLPolicy) -> httpx.URL:
    """Parse `url` and refuse, with `UnsafeURL`, anything but `http(s)://host/...` without credentials.

    These rules hold for every `policy`; the address check, which `policy` can relax, needs DNS and
    happens in `resolve_checked`.
    """
    shown = redact_url(url)
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise UnsafeURL(f"expected a valid http(s) URL, got {shown!r} ({scrub(str(exc), url)})") from exc
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


def default_port(scheme: str) -> int:
    """The port a URL of `scheme` means when it names none."""
    return 443 if scheme == "https" else 80
