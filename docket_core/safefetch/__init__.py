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

The package is split by concept: `address` (which URLs and addresses are refused), `transport` (the
pinned connection, TLS and redirects re-checked), `body` (the streamed, capped body), `fetch` (jobs,
outcomes and the download loop: `fetch_each`, `fetch_many`) and `errors` (the typed failures).
"""

from docket_core.safefetch.address import URLPolicy, check_url, resolve_checked
from docket_core.safefetch.errors import DownloadFailed, DownloadTimedOut, FetchError, FileTooLarge, UnsafeURL
from docket_core.safefetch.fetch import FetchJob, FetchOutcome, fetch_each, fetch_many, fetch_to_file

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
