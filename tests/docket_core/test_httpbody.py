"""Compression bombs through HTTP: every reader of an answer decodes within its cap (issue 11, item 1).

Each attack is a tiny body served on 127.0.0.1: `Content-Encoding: gzip, gzip` of about 2 KB that
expands to 1 GiB, and a single gzip of about 1 MB that expands to 1 GiB. Each reader must refuse it
with a typed error while the peak of Python memory stays a few MiB (httpx alone decoded a whole
network chunk first: the double bomb cost over a GiB before any cap was checked).
"""

from __future__ import annotations

import gzip
import json
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from docket_core.catalog import Catalog
from docket_core.errors import FileErrorType, InputError
from docket_core.extensions.webhook import WebhookCall, WebhookSender
from docket_core.httpbody import BodyTooLarge, BoundedDecoder, UnsupportedEncoding
from docket_core.notifications.delivery import deliver_batch
from docket_core.notifications.keys import Keyring
from docket_core.notifications.queries import show_notification
from docket_core.resources import Resources
from docket_core.safefetch.address import URLPolicy
from docket_core.safefetch.errors import DownloadFailed, DownloadTimedOut, FileTooLarge
from docket_core.safefetch.fetch import FetchJob, fetch_many
from docket_core.settings import DocketSettings
from docket_core.settings.notify import NotifySettings
from docket_core.staging.models import IngestRequest
from docket_core.staging.plan import begin_ingest
from tests.docket_core.notifications.conftest import LOOPBACK, SECRET, put
from tests.helpers import LoopbackServer, serving
from tests.hostile import MiB, double_gzip_bomb, gzip_of_zeros, peak_memory, zlib_of_zeros

BOUND = 32 * MiB  # far above what a bounded read needs (a few 64 KiB pieces), far below a bomb's GiB
OPEN = URLPolicy(allow_private_network=True)


# --- a loopback server answering GET and POST with a chosen body and headers --------------------


class _Server(LoopbackServer):
    def __init__(self, routes: dict[str, tuple[int, dict[str, str], bytes]]) -> None:
        super().__init__(_Handler)
        self.routes = routes
        self.release = threading.Event()


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        path = self.path.split("?", 1)[0]
        if path.startswith("/trickle/"):  # a valid body, one byte every 0.1 s
            body = path.encode() * 10
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            for byte in body:
                if self.server.release.wait(0.1):
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
            return
        status, headers, body = self.server.routes[path]
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _answer  # noqa: N815 - http.server's names
    do_POST = _answer  # noqa: N815


def _bombs(status: int = 200) -> dict[str, tuple[int, dict[str, str], bytes]]:
    return {
        "/double": (status, {"Content-Encoding": "gzip, gzip"}, double_gzip_bomb()),
        "/single": (status, {"Content-Encoding": "gzip"}, gzip_of_zeros(1024)),
        "/fine": (status, {"Content-Encoding": "gzip"}, gzip.compress(b'{"ok": true}')),
        "/unknown": (status, {"Content-Encoding": "zstd"}, b"\x28\xb5\x2f\xfd" + b"\0" * 64),
    }


@pytest.fixture
def server() -> _Server:
    srv = _Server(_bombs(500))
    with serving(srv, on_stop=srv.release.set):
        yield srv


def test_the_bombs_are_tiny_and_really_expand() -> None:
    assert len(double_gzip_bomb()) < 4096 and len(gzip_of_zeros(1024)) < 1100 * 1024
    inner = gzip.decompress(double_gzip_bomb())
    assert inner == gzip_of_zeros(1024)
    assert gzip.decompress(gzip_of_zeros(3)) == bytes(3 * MiB)


# --- the shared decoder ---------------------------------------------------------------------------


class TestBoundedDecoder:
    def _decode(self, encoding: str | None, data: bytes, limit: int, piece: int = 4096) -> bytes:
        decoder = BoundedDecoder(encoding, limit, "the test")
        out = [p for i in range(0, len(data), piece) for p in decoder.feed(data[i : i + piece])]
        return b"".join(out + list(decoder.end()))

    @pytest.mark.parametrize("encoding", ["gzip", "x-gzip", "deflate", "raw-deflate", "identity", None])
    def test_an_ordinary_body_decodes_to_its_bytes(self, encoding: str | None) -> None:
        data = json.dumps({"rows": list(range(5000))}).encode()
        if encoding in ("gzip", "x-gzip"):
            sent = gzip.compress(data)
        elif encoding == "deflate":
            sent = zlib.compress(data)
        elif encoding == "raw-deflate":  # "deflate" sent without the zlib wrapper, as some servers do
            comp = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
            sent, encoding = comp.compress(data) + comp.flush(), "deflate"
        else:
            sent = data
        assert self._decode(encoding, sent, len(data)) == data
        assert self._decode(encoding, sent, len(data), piece=1) == data

    def test_a_multi_member_gzip_body_decodes_whole(self) -> None:
        assert self._decode("gzip", gzip.compress(b"one ") + gzip.compress(b"two"), 100) == b"one two"

    def test_the_deflate_bombs_are_valid(self) -> None:
        assert zlib.decompress(zlib_of_zeros(3)) == bytes(3 * MiB)
        assert zlib.decompress(zlib_of_zeros(3, wrapped=False), -zlib.MAX_WBITS) == bytes(3 * MiB)

    @pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate"])
    def test_a_bomb_stops_at_the_cap_in_bounded_memory(self, encoding: str) -> None:
        bomb = {"gzip": gzip_of_zeros(1024), "deflate": zlib_of_zeros(1024), "raw-deflate": zlib_of_zeros(1024, wrapped=False)}[encoding]
        encoding = encoding.removeprefix("raw-")
        with peak_memory() as peak, pytest.raises(BodyTooLarge, match=r"expected at most 1048576 bytes from the test, got more"):
            self._decode(encoding, bomb, MiB, piece=len(bomb))  # the whole bomb in one raw piece
        assert peak.bytes < 4 * MiB

    @pytest.mark.parametrize(
        ("encoding", "message"),
        [("gzip, gzip", "stacked encodings are refused"), ("deflate, gzip", "stacked"), ("br", "got 'br'"),
         ("zstd", "gzip, deflate"), ("compress", "got 'compress'")],
    )  # fmt: skip
    def test_stacked_and_unknown_encodings_are_refused_before_any_byte(self, encoding: str, message: str) -> None:
        with pytest.raises(UnsupportedEncoding, match=message):
            BoundedDecoder(encoding, MiB, "the test")

    def test_identity_listed_with_one_encoding_is_that_encoding(self) -> None:
        assert self._decode("identity, gzip", gzip.compress(b"x" * 10), 10) == b"x" * 10

    def test_a_body_cut_short_or_corrupt_is_refused(self) -> None:
        with pytest.raises(UnsupportedEncoding, match="cut short"):
            self._decode("gzip", gzip.compress(b"x" * 1000)[:-12], 10_000)
        with pytest.raises(UnsupportedEncoding, match="does not decode"):
            self._decode("gzip", b"\x1f\x8b" + b"\xff" * 30, 10_000)

    def test_bytes_received_count_too(self) -> None:
        with pytest.raises(BodyTooLarge):
            self._decode(None, b"x" * 101, 100)
        decoder = BoundedDecoder("gzip", 100, "the test")
        with pytest.raises(BodyTooLarge):  # empty stored blocks: no output, only bytes received
            list(decoder.feed(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + b"\x00\x00\x00\xff\xff" * 1000))


# --- every reader of an answer ------------------------------------------------------------------


def _download(url: str, tmp_path: Path, max_bytes: int = 8 * MiB):  # noqa: ANN202 - a FetchOutcome
    dest = tmp_path / "dl" / "out"
    [outcome] = fetch_many(
        [FetchJob(key="k", url=url, dest=dest, max_bytes=max_bytes)],
        policy=OPEN, concurrency=1, timeout=20, connect_timeout=5, max_redirects=0,
    )  # fmt: skip
    return outcome, dest


class TestDownloads:
    def test_a_double_gzip_bomb_is_refused_in_bounded_memory(self, tmp_path: Path) -> None:
        with serving(_Server(_bombs())) as srv, peak_memory() as peak:
            outcome, dest = _download(f"{srv.base}/double", tmp_path)
        assert isinstance(outcome.error, DownloadFailed)
        assert outcome.error.error_type == FileErrorType.DOWNLOAD_FAILED
        assert "stacked encodings are refused" in str(outcome.error)
        assert peak.bytes < BOUND, f"peak {peak.mib:.0f} MiB"
        assert list((tmp_path / "dl").iterdir()) == []

    def test_a_gzip_bomb_is_refused_at_the_cap_and_leaves_no_file(self, tmp_path: Path) -> None:
        with serving(_Server(_bombs())) as srv, peak_memory() as peak:
            outcome, _ = _download(f"{srv.base}/single", tmp_path)
        assert isinstance(outcome.error, FileTooLarge)
        assert outcome.error.error_type == FileErrorType.FILE_SIZE_LIMIT_EXCEEDED
        assert peak.bytes < BOUND, f"peak {peak.mib:.0f} MiB"
        assert list((tmp_path / "dl").iterdir()) == []

    def test_a_gzip_encoded_file_is_stored_decoded_and_an_unknown_encoding_refused(self, tmp_path: Path) -> None:
        with serving(_Server(_bombs())) as srv:
            fine, dest = _download(f"{srv.base}/fine", tmp_path)
            assert fine.error is None and dest.read_bytes() == b'{"ok": true}'
            unknown, _ = _download(f"{srv.base}/unknown", tmp_path)
        assert isinstance(unknown.error, DownloadFailed) and "got 'zstd'" in str(unknown.error)


class TestReferencesFiles:
    def _begin(self, url: str, resources: Resources, **settings: object) -> None:
        request = IngestRequest(batch_id="refs", media_kind="images", source_kind="references", source=url,
                                allow_private_network=True)  # fmt: skip
        begin_ingest(request, resources, DocketSettings(**settings))  # type: ignore[arg-type]

    @pytest.fixture
    def resources(self, catalog_url: str, tmp_path: Path) -> Resources:
        return Resources(store_url=str(tmp_path / "store"), catalog_url=catalog_url)

    @pytest.mark.parametrize(("route", "error"), [("double", DownloadFailed), ("single", FileTooLarge)])
    def test_a_bomb_as_a_references_file_is_refused_in_bounded_memory(
        self, resources: Resources, tmp_path: Path, route: str, error: type
    ) -> None:
        with serving(_Server(_bombs())) as srv, peak_memory() as peak:
            with pytest.raises(InputError, match="cannot download the references file") as raised:
                self._begin(f"{srv.base}/{route}", resources, max_references_bytes=16 * MiB)
        assert isinstance(raised.value.__cause__, error)
        assert peak.bytes < BOUND, f"peak {peak.mib:.0f} MiB"
        assert not any(p.is_file() for p in (tmp_path / "store").rglob("*"))

    def test_a_references_file_over_its_cap_is_refused(self, resources: Resources) -> None:
        lines = b"".join(json.dumps({"name": f"f{i}.jpg", "url": f"https://x.example/{i}"}).encode() + b"\n" for i in range(100))
        with serving(_Server({"/refs.jsonl": (200, {}, lines)})) as srv:
            with pytest.raises(InputError, match=f"expected at most {len(lines) - 1} bytes"):
                self._begin(f"{srv.base}/refs.jsonl", resources, max_references_bytes=len(lines) - 1)

    def test_a_references_file_gets_the_download_timeout(self, resources: Resources) -> None:
        srv = _Server({})
        with serving(srv, on_stop=srv.release.set):
            started = time.monotonic()
            with pytest.raises(InputError, match="cannot download the references file") as raised:
                self._begin(f"{srv.base}/trickle/refs.jsonl", resources, download_timeout=0.5)
        assert isinstance(raised.value.__cause__, DownloadTimedOut)
        assert time.monotonic() - started < 30  # the whole trickle takes 19 s; only a runaway fails here


class TestNotificationAnswers:
    @pytest.fixture
    def notify(self, tmp_path: Path) -> NotifySettings:
        return NotifySettings(home=tmp_path / "home", webhook_secret=SECRET, notify_retry_schedule=[0, 60],
                              notify_jitter=0, notify_timeout=10.0, notify_lease_seconds=30)  # fmt: skip

    def _deliver(self, catalog: Catalog, notify: NotifySettings, url: str) -> dict:
        [event_id] = put(catalog, url)
        report = deliver_batch(catalog, Keyring.from_settings(notify), notify, LOOPBACK)
        assert report.attempts == 1
        return show_notification(catalog, event_id)["attempt_log"][0]

    def test_a_double_gzip_bomb_answer_is_not_decoded(self, catalog: Catalog, notify: NotifySettings, server: _Server) -> None:
        with peak_memory() as peak:
            attempt = self._deliver(catalog, notify, f"{server.base}/double")
        assert (attempt["status_code"], attempt["outcome"]) == (500, "retry")
        assert "stacked encodings are refused" in attempt["error"]
        assert peak.bytes < BOUND, f"peak {peak.mib:.0f} MiB"

    def test_a_gzip_bomb_answer_is_cut_at_the_excerpt(self, catalog: Catalog, notify: NotifySettings, server: _Server) -> None:
        with peak_memory() as peak:
            attempt = self._deliver(catalog, notify, f"{server.base}/single")
        assert attempt["status_code"] == 500 and len(attempt["error"]) < 400
        assert peak.bytes < BOUND, f"peak {peak.mib:.0f} MiB"

    def test_an_ordinary_gzip_answer_is_recorded_decoded(self, catalog: Catalog, notify: NotifySettings, server: _Server) -> None:
        attempt = self._deliver(catalog, notify, f"{server.base}/fine")
        assert attempt["error"].endswith('{"ok": true}')


class TestWebhookAnswers:
    def _send(self, url: str, max_answer_bytes: int = 4 * MiB):  # noqa: ANN202 - a WebhookAnswer
        sender = WebhookSender()
        try:
            [answer] = sender.send_many([WebhookCall(url, b"{}", None, 20.0, 2, "ext", max_answer_bytes)], concurrency=1)
        finally:
            sender.close()
        return answer

    @pytest.mark.parametrize(("route", "message"), [("double", "stacked encodings are refused"),
                                                     ("single", "expected at most 4194304 bytes from extension 'ext'")])  # fmt: skip
    def test_a_bomb_answer_fails_the_call_in_bounded_memory_without_retries(self, route: str, message: str) -> None:
        with serving(_Server(_bombs())) as srv, peak_memory() as peak:
            answer = self._send(f"{srv.base}/{route}")
        assert answer.status_code is None and message in (answer.error or "")
        assert answer.attempts == 1
        assert peak.bytes < BOUND, f"peak {peak.mib:.0f} MiB"

    def test_an_answer_over_the_cap_fails_and_one_within_it_is_read(self) -> None:
        body = json.dumps({"messages": [], "operations": [], "pad": "x" * 5000}).encode()
        with serving(_Server({"/big": (200, {}, body), "/fine": (200, {"Content-Encoding": "gzip"}, gzip.compress(body))})) as srv:
            big = self._send(f"{srv.base}/big", max_answer_bytes=4096)
            fine = self._send(f"{srv.base}/fine", max_answer_bytes=len(body))
        assert big.status_code is None and "expected at most 4096 bytes" in (big.error or "")
        assert (fine.status_code, fine.body) == (200, body)

