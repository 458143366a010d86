from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from docket_core.errors import DocketError, FileErrorType, UnsafeURLError
from docket_core.safefetch import (
    DownloadFailed,
    DownloadTimedOut,
    FetchError,
    FetchJob,
    FetchOutcome,
    FileTooLarge,
    URLPolicy,
    UnsafeURL,
    check_url,
    fetch_many,
    resolve_checked,
)
from docket_core.settings import DocketSettings
from tests.helpers import LoopbackServer, serving

SECRET = "X-Amz-Signature=topsecret"
STRICT = URLPolicy()
OPEN = URLPolicy(allow_private_network=True)
LOOPBACK_ONLY = URLPolicy(allowed_hosts=frozenset({"127.0.0.1"}))


# --- a real HTTP server on loopback -------------------------------------------------------------


class _Server(LoopbackServer):
    def __init__(self) -> None:
        super().__init__(_Handler)  # 128 queued connections: the concurrency test opens 20 at once
        self.release = threading.Event()  # set at teardown, so slow handlers end at once
        self.lock = threading.Lock()
        self.paths: list[str] = []
        self.hosts: list[str | None] = []
        self.in_flight = 0
        self.max_in_flight = 0


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass

    def do_GET(self) -> None:  # noqa: N802 - the base class's name
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        route, _, arg = parts.path.strip("/").partition("/")
        with self.server.lock:
            self.server.paths.append(parts.path)
            self.server.hosts.append(self.headers.get("Host"))
        if route == "bytes":  # n bytes with a Content-Length
            self._send(200, b"x" * int(arg))
        elif route == "stream":  # n bytes without a Content-Length, until the connection closes
            self.send_response(200)
            self.end_headers()
            for _ in range(int(arg) // 65536):
                self.wfile.write(b"y" * 65536)
        elif route == "slow":
            with self.server.lock:
                self.server.in_flight += 1
                self.server.max_in_flight = max(self.server.max_in_flight, self.server.in_flight)
            self.server.release.wait(0.05)
            with self.server.lock:
                self.server.in_flight -= 1
            self._send(200, arg.encode())
        elif route == "drip":  # a byte every 50 ms: no read timeout, but no end in sight either
            self.send_response(200)
            self.end_headers()
            while not self.server.release.wait(0.05):
                self.wfile.write(b".")
                self.wfile.flush()
        elif route == "redirect":
            self.send_response(int(query.get("status", ["302"])[0]))
            self.send_header("Location", query["to"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif route == "nowhere":
            self._send(302, b"")
        elif route == "loop":
            self.send_response(302)
            self.send_header("Location", f"/loop?{SECRET}")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif route == "status":
            self._send(int(arg), b"no")
        else:
            self._send(404, b"no such route")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server()
    with serving(srv, on_stop=srv.release.set):
        yield srv


# --- DNS, which is outside the machine, answered by the test -----------------------------------


@dataclass
class FakeDNS:
    answers: dict[str, list[str]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
    dns = FakeDNS()
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: object, *args: object, **kwargs: object) -> list:
        if host not in dns.answers:
            return real(host, port, *args, **kwargs)  # type: ignore[arg-type]
        dns.calls.append(host)
        if not dns.answers[host]:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (ip, port, 0, 0))
            if ":" in ip
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))
            for ip in dns.answers[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return dns


# --- helpers -------------------------------------------------------------------------------------


def _fetch(
    url: str,
    dest: Path,
    *,
    policy: URLPolicy = OPEN,
    max_bytes: int = 1_000_000,
    timeout: float = 5.0,
    max_redirects: int = 3,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FetchOutcome:
    [outcome] = fetch_many(
        [FetchJob(key="only", url=url, dest=dest, max_bytes=max_bytes)],
        policy=policy,
        concurrency=1,
        timeout=timeout,
        connect_timeout=2.0,
        max_redirects=max_redirects,
        transport=transport,
    )
    return outcome


def _size_or_raise(outcome: FetchOutcome) -> int:
    if outcome.error is not None:
        raise outcome.error
    assert outcome.size is not None
    return outcome.size


def _resolve(host: str, policy: URLPolicy = STRICT, port: int = 80) -> str:
    return asyncio.run(resolve_checked(host, port, policy))


def _messages(exc: BaseException) -> Iterator[str]:
    """The message of `exc` and of every exception chained to it."""
    seen: BaseException | None = exc
    while seen is not None:
        yield str(seen)
        seen = seen.__cause__ or seen.__context__


# --- tests ---------------------------------------------------------------------------------------


class TestErrors:
    def test_each_fetch_error_carries_its_file_error_type(self) -> None:
        assert UnsafeURL.error_type is FileErrorType.UNSAFE_URL_DETECTED
        assert FileTooLarge.error_type is FileErrorType.FILE_SIZE_LIMIT_EXCEEDED
        assert DownloadTimedOut.error_type is FileErrorType.DOWNLOAD_TIMEOUT
        assert DownloadFailed.error_type is FileErrorType.DOWNLOAD_FAILED

    def test_fetch_errors_narrow_docket_and_builtin_errors(self) -> None:
        assert issubclass(FetchError, DocketError)
        assert issubclass(UnsafeURL, UnsafeURLError)
        assert issubclass(UnsafeURL, ValueError)
        assert issubclass(DownloadTimedOut, TimeoutError)


class TestURLPolicy:
    def test_allowed_hosts_come_from_settings_in_lower_case(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("DOCKET_ALLOWED_URL_HOSTS", "Files.Internal, minio")
        policy = URLPolicy.from_settings(DocketSettings(), allow_private_network=False)
        assert policy == URLPolicy(allowed_hosts=frozenset({"files.internal", "minio"}))
        assert policy.trusts("FILES.internal")
        assert not policy.trusts("files.internal.evil.example")

    def test_allow_private_network_trusts_every_host(self) -> None:
        assert URLPolicy.from_settings(DocketSettings(), allow_private_network=True).trusts("anything")


class TestCheckUrl:
    def test_a_plain_https_url_is_returned_parsed(self) -> None:
        url = check_url(f"https://Files.Example:8443/a/b.pdf?{SECRET}", STRICT)
        assert (url.scheme, url.host, url.port, url.path) == ("https", "files.example", 8443, "/a/b.pdf")

    @pytest.mark.parametrize(
        ("url", "scheme"),
        [
            ("file:///etc/passwd", "file"),
            ("ftp://files.example/a.pdf", "ftp"),
            ("gopher://files.example:70/_GET", "gopher"),
            ("javascript:alert(1)", "javascript"),
            ("data:text/plain,hello", "data"),
            ("//files.example/a.pdf", "(none)"),
        ],
    )
    def test_schemes_other_than_http_and_https_are_refused(self, url: str, scheme: str) -> None:
        with pytest.raises(UnsafeURL, match=re.escape(f"expected an http or https URL, got scheme '{scheme}'")):
            check_url(url, OPEN)

    @pytest.mark.parametrize(
        "url",
        [
            f"https://alice:hunter2@files.example/a.pdf?{SECRET}",
            "https://alice@files.example/a.pdf",
            "http://files.example\\@127.0.0.1/",
        ],
    )
    def test_credentials_in_the_url_are_refused_even_when_the_host_is_trusted(self, url: str) -> None:
        with pytest.raises(UnsafeURL, match="expected a URL without credentials") as caught:
            check_url(url, OPEN)
        assert "hunter2" not in str(caught.value)
        assert "topsecret" not in str(caught.value)

    def test_a_url_without_a_host_is_refused(self) -> None:
        with pytest.raises(UnsafeURL, match="expected a URL with a host, got none"):
            check_url("http:///etc/passwd", OPEN)

    @pytest.mark.parametrize(
        ("url", "why"),
        [
            (f"http://files.example:abc/?{SECRET}", "expected a valid http\\(s\\) URL"),
            (f"http://files.example:99999/?{SECRET}", "expected a port between 1 and 65535, got 99999"),
        ],
    )
    def test_a_malformed_url_is_refused_without_its_query(self, url: str, why: str) -> None:
        with pytest.raises(UnsafeURL, match=why) as caught:
            check_url(url, OPEN)
        assert all("topsecret" not in m for m in _messages(caught.value))


UNSAFE_ADDRESSES = [
    ("127.0.0.1", "loopback"),
    ("127.255.0.1", "loopback"),
    ("::1", "loopback"),
    ("10.0.0.1", "private"),
    ("172.16.5.4", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("fc00::1", "private"),
    ("fd12:3456::1", "private"),
    ("169.254.169.254", "link-local"),
    ("169.254.0.1", "link-local"),
    ("fe80::1", "link-local"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.254", "carrier-grade NAT"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("ff02::1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("192.0.0.8", "reserved"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("0.1.2.3", "private"),
    ("192.0.2.1", "documentation"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("2001:db8::1", "documentation"),
    ("fec0::1", "site-local"),
    ("::ffff:127.0.0.1", r"IPv4-mapped IPv6 address \(of 127\.0\.0\.1\)"),
    ("::ffff:7f00:1", r"IPv4-mapped IPv6 address \(of 127\.0\.0\.1\)"),
    ("::ffff:169.254.169.254", r"IPv4-mapped IPv6 address \(of 169\.254\.169\.254\)"),
    ("::ffff:8.8.8.8", "IPv4-mapped IPv6 address"),
    ("::7f00:1", r"IPv4-compatible IPv6 address \(of 127\.0\.0\.1\)"),
    ("::a00:1", r"IPv4-compatible IPv6 address \(of 10\.0\.0\.1\)"),
    ("2002:7f00:1::", r"6to4 address embedding 127\.0\.0\.1, which is loopback"),
    ("2002:c0a8:101::1", r"6to4 address embedding 192\.168\.1\.1, which is private"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo tunnel address"),
    ("64:ff9b::7f00:1", r"NAT64 address embedding 127\.0\.0\.1, which is loopback"),
    ("64:ff9b::a9fe:a9fe", r"NAT64 address embedding 169\.254\.169\.254, which is link-local"),
]


class TestResolveChecked:
    @pytest.mark.parametrize(("address", "reason"), UNSAFE_ADDRESSES)
    def test_a_literal_address_that_is_not_public_is_refused(self, address: str, reason: str) -> None:
        with pytest.raises(UnsafeURL, match=rf"expected a host on the public internet, got '{address}', which is .*{reason}"):
            _resolve(address)

    @pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "64:ff9b::808:808", "2002:808:808::1"])
    def test_a_public_literal_address_is_returned_as_it_is(self, address: str) -> None:
        assert _resolve(address) == address

    def test_a_name_resolving_to_loopback_is_refused_with_the_address(self) -> None:
        with pytest.raises(UnsafeURL, match=r"got 'localhost' at (127\.0\.0\.1|::1), which is loopback"):
            _resolve("localhost")

    def test_a_name_is_refused_when_any_of_its_addresses_is_not_public(self, fake_dns: FakeDNS) -> None:
        fake_dns.answers["mixed.example"] = ["93.184.216.34", "2606:4700::1111", "10.0.0.7"]
        with pytest.raises(UnsafeURL, match=r"'mixed\.example' at 10\.0\.0\.7, which is private"):
            _resolve("mixed.example")

    def test_a_name_with_only_public_addresses_gives_its_first_address(self, fake_dns: FakeDNS) -> None:
        fake_dns.answers["files.example"] = ["93.184.216.34", "93.184.216.35"]
        assert _resolve("files.example") == "93.184.216.34"

    def test_a_name_that_does_not_resolve_is_a_failed_download(self, fake_dns: FakeDNS) -> None:
        fake_dns.answers["gone.example"] = []
        with pytest.raises(DownloadFailed, match=r"cannot resolve host 'gone\.example'"):
            _resolve("gone.example")

    def test_trusted_hosts_skip_the_address_check_and_dns(self, fake_dns: FakeDNS) -> None:
        fake_dns.answers["minio.internal"] = ["10.0.0.5"]
        assert _resolve("MINIO.internal", URLPolicy(allowed_hosts=frozenset({"minio.internal"}))) == "MINIO.internal"
        assert _resolve("127.0.0.1", OPEN) == "127.0.0.1"
        assert fake_dns.calls == []


class TestUnsafeTargets:
    @pytest.mark.parametrize(
        "url",
        [
            "http://127.0.0.1/",
            "http://2130706433/",  # 127.0.0.1 as one decimal number
            "http://0x7f.1/",  # 127.0.0.1 in hex-and-short form
            "http://017700000001/",  # 127.0.0.1 in octal
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[fd00:ec2::254]/latest/meta-data/",
            "http://localhost/",
        ],
    )
    def test_loopback_metadata_and_odd_forms_are_refused_before_connecting(self, url: str, tmp_path: Path) -> None:
        outcome = _fetch(f"{url}?{SECRET}", tmp_path / "out", policy=STRICT)
        assert isinstance(outcome.error, UnsafeURL)
        assert outcome.error.error_type is FileErrorType.UNSAFE_URL_DETECTED
        assert outcome.size is None
        assert not (tmp_path / "out").exists()

    def test_the_loopback_server_itself_is_refused_without_allowance(self, server: _Server, tmp_path: Path) -> None:
        with pytest.raises(UnsafeURL, match="which is loopback; add the host to DOCKET_ALLOWED_URL_HOSTS"):
            _size_or_raise(_fetch(f"{server.base}/bytes/10", tmp_path / "out", policy=STRICT))
        assert server.paths == []


class TestPinnedConnection:
    def test_the_request_goes_to_the_checked_address_and_names_the_host(self, fake_dns: FakeDNS, tmp_path: Path) -> None:
        fake_dns.answers["files.example"] = ["93.184.216.34"]
        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(200, content=b"pdf bytes")

        outcome = _fetch(
            f"https://files.example:8443/a.pdf?{SECRET}", tmp_path / "out", policy=STRICT, transport=httpx.MockTransport(handler)
        )
        assert _size_or_raise(outcome) == 9
        [request] = seen
        assert request.url.host == "93.184.216.34"
        assert request.url.port == 8443
        assert request.url.query == SECRET.encode()
        assert request.headers["Host"] == "files.example:8443"
        assert request.extensions["sni_hostname"] == "files.example"
        assert fake_dns.calls == ["files.example"]

    def test_plain_http_names_the_host_without_a_tls_server_name(self, fake_dns: FakeDNS, tmp_path: Path) -> None:
        fake_dns.answers["files.example"] = ["2606:4700::1111"]
        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(200, content=b"ok")

        _size_or_raise(_fetch("http://files.example/a", tmp_path / "out", policy=STRICT, transport=httpx.MockTransport(handler)))
        assert seen[0].url.host == "2606:4700::1111"
        assert seen[0].headers["Host"] == "files.example"
        assert "sni_hostname" not in seen[0].extensions

    def test_an_allowed_host_is_requested_by_name_without_dns(self, fake_dns: FakeDNS, tmp_path: Path) -> None:
        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(200, content=b"ok")

        policy = URLPolicy(allowed_hosts=frozenset({"minio.internal"}))
        _size_or_raise(_fetch("https://minio.internal/b/k", tmp_path / "out", policy=policy, transport=httpx.MockTransport(handler)))
        assert seen[0].url.host == "minio.internal"
        assert fake_dns.calls == []

    def test_each_redirect_is_resolved_and_checked_again(self, fake_dns: FakeDNS, tmp_path: Path) -> None:
        fake_dns.answers["files.example"] = ["93.184.216.34"]
        fake_dns.answers["rebound.example"] = ["192.168.0.10"]

        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(302, headers={"Location": f"https://rebound.example/x?{SECRET}"})

        outcome = _fetch("https://files.example/a", tmp_path / "out", policy=STRICT, transport=httpx.MockTransport(handler))
        with pytest.raises(UnsafeURL, match=r"refusing the redirect from 'https://files\.example/a' to 'https://rebound\.example/x\?<redacted>'"):
            _size_or_raise(outcome)
        assert fake_dns.calls == ["files.example", "rebound.example"]


class TestFetchMany:
    def test_a_file_is_downloaded_to_its_destination(self, server: _Server, tmp_path: Path) -> None:
        dest = tmp_path / "sub" / "out.bin"
        assert _size_or_raise(_fetch(f"{server.base}/bytes/12345", dest, policy=LOOPBACK_ONLY)) == 12345
        assert dest.read_bytes() == b"x" * 12345
        assert server.hosts == [f"127.0.0.1:{server.server_address[1]}"]
        assert [p.name for p in dest.parent.iterdir()] == ["out.bin"]

    def test_a_redirect_to_loopback_is_refused_even_from_an_allowed_host(self, server: _Server, tmp_path: Path) -> None:
        port = server.server_address[1]
        url = f"{server.base}/redirect?to=http://localhost:{port}/bytes/10%3F{SECRET}"
        with pytest.raises(UnsafeURL, match=rf"to 'http://localhost:{port}/bytes/10\?<redacted>'.* is loopback") as caught:
            _size_or_raise(_fetch(url, tmp_path / "out", policy=LOOPBACK_ONLY))
        assert "topsecret" not in str(caught.value)
        assert server.paths == ["/redirect"]
        assert not (tmp_path / "out").exists()

    @pytest.mark.parametrize(
        ("location", "why"),
        [
            ("http://169.254.169.254/latest/meta-data/", "link-local"),
            ("file:///etc/passwd", "expected an http or https URL, got scheme 'file'"),
            ("http://admin:pw@files.example/", "expected a URL without credentials"),
        ],
    )
    def test_a_redirect_to_an_unsafe_target_is_refused(self, server: _Server, tmp_path: Path, location: str, why: str) -> None:
        with pytest.raises(UnsafeURL, match=why):
            _size_or_raise(_fetch(f"{server.base}/redirect?to={location}", tmp_path / "out", policy=LOOPBACK_ONLY))

    def test_redirects_are_followed_when_the_private_network_is_allowed(self, server: _Server, tmp_path: Path) -> None:
        port = server.server_address[1]
        url = f"{server.base}/redirect?status=301&to=http://localhost:{port}/redirect%3Fto%3D/bytes/7"
        assert _size_or_raise(_fetch(url, tmp_path / "out", policy=OPEN)) == 7
        assert server.paths == ["/redirect", "/redirect", "/bytes/7"]
        assert server.hosts[1] == f"localhost:{port}"

    def test_too_many_redirects_fail_the_download(self, server: _Server, tmp_path: Path) -> None:
        with pytest.raises(DownloadFailed, match=r"expected at most 3 redirects from .*/loop', got more") as caught:
            _size_or_raise(_fetch(f"{server.base}/loop", tmp_path / "out", max_redirects=3))
        assert "topsecret" not in str(caught.value)
        assert len(server.paths) == 4

    def test_a_redirect_without_a_location_fails_the_download(self, server: _Server, tmp_path: Path) -> None:
        with pytest.raises(DownloadFailed, match="expected a Location header with HTTP 302 from .*/nowhere', got none"):
            _size_or_raise(_fetch(f"{server.base}/nowhere", tmp_path / "out"))

    def test_no_redirect_is_followed_when_none_are_allowed(self, server: _Server, tmp_path: Path) -> None:
        with pytest.raises(DownloadFailed, match="expected at most 0 redirects"):
            _size_or_raise(_fetch(f"{server.base}/redirect?to=/bytes/1", tmp_path / "out", max_redirects=0))

    @pytest.mark.parametrize(("status", "phrase"), [(404, "Not Found"), (500, "Internal Server Error"), (403, "Forbidden")])
    def test_an_error_status_fails_the_download_with_the_status(self, server: _Server, tmp_path: Path, status: int, phrase: str) -> None:
        with pytest.raises(DownloadFailed, match=rf"expected HTTP 200 from 'http://127\.0\.0\.1:\d+/status/{status}\?<redacted>', got {status} {phrase}"):
            _size_or_raise(_fetch(f"{server.base}/status/{status}?{SECRET}", tmp_path / "out"))
        assert not (tmp_path / "out").exists()

    def test_a_file_announced_too_large_is_refused_before_its_body(self, server: _Server, tmp_path: Path) -> None:
        with pytest.raises(FileTooLarge, match="expected at most 100 bytes from .*, got Content-Length 5000000"):
            _size_or_raise(_fetch(f"{server.base}/bytes/5000000", tmp_path / "out", max_bytes=100))
        assert list(tmp_path.iterdir()) == []

    def test_a_stream_without_length_is_cut_when_it_passes_the_cap(self, server: _Server, tmp_path: Path) -> None:
        with pytest.raises(FileTooLarge, match="expected at most 100000 bytes from .*/stream/.*, got more"):
            _size_or_raise(_fetch(f"{server.base}/stream/10000000", tmp_path / "out", max_bytes=100_000))
        assert list(tmp_path.iterdir()) == []

    def test_a_stream_within_the_cap_is_downloaded_whole(self, server: _Server, tmp_path: Path) -> None:
        assert _size_or_raise(_fetch(f"{server.base}/stream/196608", tmp_path / "out", max_bytes=196608)) == 196608

    def test_a_download_past_its_deadline_times_out(self, server: _Server, tmp_path: Path) -> None:
        started = time.monotonic()
        with pytest.raises(DownloadTimedOut, match=r"expected 'http://127\.0\.0\.1:\d+/drip\?<redacted>' to download within 0\.4 s"):
            _size_or_raise(_fetch(f"{server.base}/drip?{SECRET}", tmp_path / "out", timeout=0.4))
        assert time.monotonic() - started < 3.0
        assert list(tmp_path.iterdir()) == []

    def test_a_refused_connection_fails_the_download(self, tmp_path: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        with pytest.raises(DownloadFailed, match=r"cannot download 'http://127\.0\.0\.1:\d+/x\?<redacted>': ConnectError"):
            _size_or_raise(_fetch(f"http://127.0.0.1:{port}/x?{SECRET}", tmp_path / "out"))

    def test_one_failing_job_never_stops_the_others(self, server: _Server, tmp_path: Path) -> None:
        jobs = [
            FetchJob("good", f"{server.base}/bytes/3", tmp_path / "good", 100),
            FetchJob("missing", f"{server.base}/status/404", tmp_path / "missing", 100),
            FetchJob("unsafe", "ftp://files.example/a", tmp_path / "unsafe", 100),
            FetchJob("large", f"{server.base}/bytes/101", tmp_path / "large", 100),
            FetchJob("also-good", f"{server.base}/bytes/4", tmp_path / "also-good", 100),
        ]
        outcomes = fetch_many(jobs, policy=OPEN, concurrency=2, timeout=5, connect_timeout=2, max_redirects=2)
        assert [(o.key, o.size, o.error and o.error.error_type) for o in outcomes] == [
            ("good", 3, None),
            ("missing", None, FileErrorType.DOWNLOAD_FAILED),
            ("unsafe", None, FileErrorType.UNSAFE_URL_DETECTED),
            ("large", None, FileErrorType.FILE_SIZE_LIMIT_EXCEEDED),
            ("also-good", 4, None),
        ]
        assert sorted(p.name for p in tmp_path.iterdir()) == ["also-good", "good"]

    def test_downloads_run_concurrently_up_to_the_limit(self, server: _Server, tmp_path: Path) -> None:
        jobs = [FetchJob(str(i), f"{server.base}/slow/{i}", tmp_path / f"{i}", 100) for i in range(40)]
        started = time.monotonic()
        outcomes = fetch_many(jobs, policy=OPEN, concurrency=20, timeout=10, connect_timeout=5, max_redirects=0)
        elapsed = time.monotonic() - started
        assert [o.error for o in outcomes] == [None] * 40
        assert [(tmp_path / o.key).read_text() for o in outcomes] == [str(i) for i in range(40)]
        assert elapsed < 1.0, f"40 downloads of 50 ms each took {elapsed:.2f} s with 20 at once"
        assert 2 <= server.max_in_flight <= 20, server.max_in_flight

    def test_it_runs_from_a_thread_and_from_inside_a_running_loop(self, server: _Server, tmp_path: Path) -> None:
        results: list[FetchOutcome] = []
        thread = threading.Thread(target=lambda: results.append(_fetch(f"{server.base}/bytes/2", tmp_path / "a")))
        thread.start()
        thread.join()

        async def inside_a_loop() -> FetchOutcome:
            return _fetch(f"{server.base}/bytes/3", tmp_path / "b")

        results.append(asyncio.run(inside_a_loop()))
        assert [r.size for r in results] == [2, 3]

    def test_an_empty_list_of_jobs_gives_no_outcomes(self) -> None:
        assert fetch_many([], policy=STRICT, concurrency=4, timeout=1, connect_timeout=1, max_redirects=0) == []


class TestSecretsStayOut:
    def test_no_error_or_chained_cause_shows_a_signed_query_string(self, server: _Server, fake_dns: FakeDNS, tmp_path: Path) -> None:
        fake_dns.answers["gone.example"] = []
        port = server.server_address[1]
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            closed_port = probe.getsockname()[1]
        urls = [
            f"{server.base}/status/404?{SECRET}",
            f"{server.base}/bytes/500?{SECRET}",
            f"{server.base}/drip?{SECRET}",
            f"{server.base}/loop?{SECRET}",
            f"{server.base}/redirect?to=http://169.254.169.254/%3F{SECRET}&{SECRET}",
            f"http://localhost:{port}/bytes/1?{SECRET}",
            f"http://127.0.0.1:{closed_port}/?{SECRET}",
            f"http://gone.example/?{SECRET}",
            f"ftp://files.example/?{SECRET}",
            f"https://user:topsecret@files.example/?{SECRET}",
            f"http://files.example:bad/?{SECRET}",
        ]
        jobs = [FetchJob(str(i), url, tmp_path / str(i), 100) for i, url in enumerate(urls)]
        outcomes = fetch_many(jobs, policy=LOOPBACK_ONLY, concurrency=len(jobs), timeout=0.5, connect_timeout=0.5, max_redirects=2)
        for outcome in outcomes:
            assert outcome.error is not None
            for message in _messages(outcome.error):
                assert "topsecret" not in message, message
