"""docket_core.safefetch.fetch_each and in-memory spooling, against a real HTTP server on loopback."""

from __future__ import annotations

import hashlib
import random
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from docket_core.errors import FileErrorType
from docket_core.safefetch.address import URLPolicy
from docket_core.safefetch.fetch import FetchJob, FetchOutcome, fetch_each
from tests.helpers import LoopbackServer, serving

LOOPBACK_ONLY = URLPolicy(allowed_hosts=frozenset({"127.0.0.1"}))


def body(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- a real HTTP server on loopback -------------------------------------------------------------


class _Server(LoopbackServer):
    def __init__(self) -> None:
        super().__init__(_Handler)
        self.bodies: dict[str, bytes] = {}
        self.lock = threading.Lock()
        self.paths: list[str] = []


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass

    def do_GET(self) -> None:  # noqa: N802 - the base class's name
        parts = urlsplit(self.path)
        route, _, name = parts.path.strip("/").partition("/")
        with self.server.lock:
            self.server.paths.append(parts.path)
        if route == "body":  # the named body, with its Content-Length
            self._send(200, self.server.bodies[name])
        elif route == "nolength":  # the named body without a Content-Length, ended by closing
            self.send_response(200)
            self.end_headers()
            self.wfile.write(self.server.bodies[name])
        elif route == "slow":  # the named body after a pause, so it finishes after later jobs
            time.sleep(0.2)
            self._send(200, self.server.bodies[name])
        elif route == "redirect":
            self.send_response(302)
            self.send_header("Location", parse_qs(parts.query)["to"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._send(404, b"no such route")

    def _send(self, status: int, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def server() -> Iterator[_Server]:
    with serving(_Server()) as srv:
        yield srv


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on, so connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- what a handler sees -------------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """One outcome as `handle` saw it: where the body was, and the sha256 of what was there."""

    job_key: str
    outcome_key: str
    where: str  # "memory", "file" or "failed"
    sha256: str | None = None
    size: int | None = None
    error_type: FileErrorType | None = None


def seen(job: FetchJob, outcome: FetchOutcome) -> Seen:
    """Read the body the way staging does: from `data` when spooled, else from `dest` (then remove it)."""
    if outcome.error is not None:
        assert outcome.data is None and outcome.size is None
        assert not job.dest.exists(), f"a failed download left {job.dest}"
        return Seen(job.key, outcome.key, "failed", error_type=outcome.error.error_type)
    if outcome.data is not None:
        assert not job.dest.exists(), "a body kept in memory must not be written to dest as well"
        return Seen(job.key, outcome.key, "memory", sha256(outcome.data), outcome.size)
    content = job.dest.read_bytes()
    job.dest.unlink()
    return Seen(job.key, outcome.key, "file", sha256(content), outcome.size)


def run(jobs: list[FetchJob], handle=seen, **kwargs: object) -> list:  # noqa: ANN001 - any handler
    options: dict[str, object] = {
        "executor": None,
        "policy": LOOPBACK_ONLY,
        "concurrency": 4,
        "timeout": 5.0,
        "connect_timeout": 2.0,
        "max_redirects": 2,
    } | kwargs
    return fetch_each(jobs, handle, **options)  # type: ignore[arg-type]


# --- tests ---------------------------------------------------------------------------------------


class TestOutcomesAndOrder:
    def test_each_job_gets_exactly_one_outcome_in_job_order_even_when_finishing_out_of_order(
        self, server: _Server, tmp_path: Path
    ) -> None:
        server.bodies = {f"f{i}": body(100 + i, seed=i) for i in range(8)}
        # The first job is slow, so it finishes after the others.
        jobs = [FetchJob("k0", f"{server.base}/slow/f0", tmp_path / "k0", 10_000, spool_bytes=1000)] + [
            FetchJob(f"k{i}", f"{server.base}/body/f{i}", tmp_path / f"k{i}", 10_000, spool_bytes=1000) for i in range(1, 8)
        ]
        calls: list[str] = []
        lock = threading.Lock()

        def handle(job: FetchJob, outcome: FetchOutcome) -> Seen:
            with lock:
                calls.append(job.key)
            return seen(job, outcome)

        results = run(jobs, handle, concurrency=4)
        assert results == [
            Seen(f"k{i}", f"k{i}", "memory", sha256(server.bodies[f"f{i}"]), 100 + i) for i in range(8)
        ]
        assert sorted(calls) == sorted(j.key for j in jobs)  # once each
        assert calls[0] != "k0"  # handled as it came in, not in job order

    def test_the_same_url_twice_gives_two_whole_outcomes(self, server: _Server, tmp_path: Path) -> None:
        server.bodies = {"a": body(50)}
        url = f"{server.base}/body/a"
        jobs = [FetchJob("first", url, tmp_path / "1", 100), FetchJob("second", url, tmp_path / "2", 100)]
        assert run(jobs) == [
            Seen("first", "first", "file", sha256(server.bodies["a"]), 50),
            Seen("second", "second", "file", sha256(server.bodies["a"]), 50),
        ]

    def test_no_jobs_gives_no_results_and_calls_nothing(self) -> None:
        assert run([], lambda job, outcome: pytest.fail("handle called without jobs")) == []

    def test_a_concurrency_below_one_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match="concurrency must be at least 1, got 0"):
            run([FetchJob("a", "http://127.0.0.1/", tmp_path / "a", 1)], concurrency=0)


class TestFailuresStayWithTheirJob:
    def test_each_failing_url_gets_its_typed_failure_and_the_others_their_bytes(
        self, server: _Server, tmp_path: Path, closed_port: int
    ) -> None:
        server.bodies = {"small": body(300, 1), "large": body(5000, 2), "over": body(5001, 3), "stream": body(20_000, 4)}
        port = server.server_address[1]

        def job(key: str, url: str) -> FetchJob:
            return FetchJob(key, url, tmp_path / key, max_bytes=5000, spool_bytes=1000)

        jobs = [
            job("small", f"{server.base}/body/small"),
            job("missing", f"{server.base}/body-that-is-not-there"),
            job("large", f"{server.base}/body/large"),
            job("announced-over-cap", f"{server.base}/body/over"),
            job("streamed-over-cap", f"{server.base}/nolength/stream"),
            job("to-loopback", f"{server.base}/redirect?to=http://localhost:{port}/body/small"),
            job("to-private", f"{server.base}/redirect?to=http://10.1.2.3/x"),
            job("refused", f"http://127.0.0.1:{closed_port}/body/small"),
            job("bad-scheme", "ftp://127.0.0.1/small"),
        ]
        assert run(jobs, concurrency=3) == [
            Seen("small", "small", "memory", sha256(server.bodies["small"]), 300),
            Seen("missing", "missing", "failed", error_type=FileErrorType.DOWNLOAD_FAILED),
            Seen("large", "large", "file", sha256(server.bodies["large"]), 5000),
            Seen("announced-over-cap", "announced-over-cap", "failed", error_type=FileErrorType.FILE_SIZE_LIMIT_EXCEEDED),
            Seen("streamed-over-cap", "streamed-over-cap", "failed", error_type=FileErrorType.FILE_SIZE_LIMIT_EXCEEDED),
            Seen("to-loopback", "to-loopback", "failed", error_type=FileErrorType.UNSAFE_URL_DETECTED),
            Seen("to-private", "to-private", "failed", error_type=FileErrorType.UNSAFE_URL_DETECTED),
            Seen("refused", "refused", "failed", error_type=FileErrorType.DOWNLOAD_FAILED),
            Seen("bad-scheme", "bad-scheme", "failed", error_type=FileErrorType.UNSAFE_URL_DETECTED),
        ]
        assert list(tmp_path.iterdir()) == []  # no partial file survives a failure
        # The refused redirects were never followed.
        assert server.paths.count("/body/small") == 1
        assert "/x" not in server.paths

    def test_the_size_cap_holds_for_bodies_that_would_be_kept_in_memory(self, server: _Server, tmp_path: Path) -> None:
        server.bodies = {"a": body(2000)}
        jobs = [FetchJob("a", f"{server.base}/body/a", tmp_path / "a", max_bytes=1999, spool_bytes=1_000_000)]
        assert run(jobs) == [Seen("a", "a", "failed", error_type=FileErrorType.FILE_SIZE_LIMIT_EXCEEDED)]

    def test_a_redirect_to_the_private_network_is_followed_only_when_the_policy_allows_it(
        self, server: _Server, tmp_path: Path
    ) -> None:
        server.bodies = {"a": body(10)}
        port = server.server_address[1]
        jobs = [FetchJob("a", f"{server.base}/redirect?to=http://localhost:{port}/body/a", tmp_path / "a", 100, 100)]
        assert run(jobs, policy=URLPolicy(allow_private_network=True)) == [
            Seen("a", "a", "memory", sha256(server.bodies["a"]), 10)
        ]


class TestSpooling:
    @pytest.mark.parametrize(
        ("size", "spool_bytes", "where"),
        [
            (999, 1000, "memory"),
            (1000, 1000, "memory"),  # the threshold itself is still kept in memory
            (1001, 1000, "file"),
            (200_000, 1_000_000, "memory"),  # several network chunks, joined whole
            (200_000, 199_999, "file"),
            (10, 0, "file"),  # no spooling asked for: always a file
        ],
    )
    def test_a_body_up_to_the_threshold_is_bytes_and_a_larger_one_a_file_with_the_same_content(
        self, server: _Server, tmp_path: Path, size: int, spool_bytes: int, where: str
    ) -> None:
        server.bodies = {"a": body(size, seed=size)}
        jobs = [FetchJob("a", f"{server.base}/body/a", tmp_path / "a", max_bytes=1_000_000, spool_bytes=spool_bytes)]
        assert run(jobs) == [Seen("a", "a", where, sha256(server.bodies["a"]), size)]

    def test_a_body_without_announced_length_goes_to_a_file_however_small(self, server: _Server, tmp_path: Path) -> None:
        server.bodies = {"a": body(10)}
        jobs = [FetchJob("a", f"{server.base}/nolength/a", tmp_path / "a", max_bytes=1000, spool_bytes=1000)]
        assert run(jobs) == [Seen("a", "a", "file", sha256(server.bodies["a"]), 10)]

    def test_an_empty_body_kept_in_memory_is_empty_bytes_not_missing(self, server: _Server, tmp_path: Path) -> None:
        server.bodies = {"empty": b""}
        [outcome] = run([FetchJob("e", f"{server.base}/body/empty", tmp_path / "e", 100, spool_bytes=100)], _keep)
        assert (outcome.error, outcome.size, outcome.data) == (None, 0, b"")
        assert not (tmp_path / "e").exists()

    def test_a_spilled_body_lands_at_dest_without_temporary_siblings(self, server: _Server, tmp_path: Path) -> None:
        server.bodies = {"a": body(3000)}
        dest = tmp_path / "deep" / "folder" / "a"
        [outcome] = run([FetchJob("a", f"{server.base}/body/a", dest, 10_000, spool_bytes=100)], _keep)
        assert (outcome.error, outcome.size, outcome.data) == (None, 3000, None)
        assert list(dest.parent.iterdir()) == [dest]
        assert sha256(dest.read_bytes()) == sha256(server.bodies["a"])


def _keep(job: FetchJob, outcome: FetchOutcome) -> FetchOutcome:
    return outcome


class TestHandling:
    def test_downloads_go_on_while_a_handler_runs_on_the_executor(self, server: _Server, tmp_path: Path) -> None:
        server.bodies = {"a": body(10, 1), "b": body(10, 2)}
        second_handled = threading.Event()

        def handle(job: FetchJob, outcome: FetchOutcome) -> bool:
            if job.key == "a":
                # Only possible if "b" is downloaded and handled while this handler still runs.
                return second_handled.wait(timeout=5)
            second_handled.set()
            return True

        jobs = [
            FetchJob("a", f"{server.base}/body/a", tmp_path / "a", 100, 100),
            FetchJob("b", f"{server.base}/slow/b", tmp_path / "b", 100, 100),
        ]
        with ThreadPoolExecutor(max_workers=2) as pool:
            assert run(jobs, handle, executor=pool, concurrency=2) == [True, True]

    def test_handlers_run_on_the_executor(self, server: _Server, tmp_path: Path) -> None:
        server.bodies = {"a": body(10)}
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="stage-test") as pool:
            names = run(
                [FetchJob("a", f"{server.base}/body/a", tmp_path / "a", 100, 100)],
                lambda job, outcome: threading.current_thread().name,
                executor=pool,
            )
        assert names[0].startswith("stage-test")

    def test_no_more_bodies_wait_for_their_handler_than_the_concurrency(self, server: _Server, tmp_path: Path) -> None:
        server.bodies = {f"f{i}": body(10, i) for i in range(12)}
        lock = threading.Lock()
        waiting = 0
        most_waiting = 0

        def handle(job: FetchJob, outcome: FetchOutcome) -> None:
            nonlocal waiting, most_waiting
            with lock:
                waiting += 1
                most_waiting = max(most_waiting, waiting)
            time.sleep(0.02)
            with lock:
                waiting -= 1

        jobs = [FetchJob(f"k{i}", f"{server.base}/body/f{i}", tmp_path / f"k{i}", 100, 100) for i in range(12)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            run(jobs, handle, executor=pool, concurrency=2)
        assert most_waiting == 2

    @pytest.mark.parametrize("inline", [True, False])
    def test_an_exception_from_a_handler_stops_the_downloads_and_is_raised(
        self, server: _Server, tmp_path: Path, inline: bool
    ) -> None:
        server.bodies = {f"f{i}": body(10, i) for i in range(20)}

        def handle(job: FetchJob, outcome: FetchOutcome) -> None:
            if job.key == "k0":
                raise RuntimeError(f"cannot stage {job.key}")

        # k0 comes in at once; the other worker is still on the slow k1 when k0's handler fails.
        jobs = [FetchJob("k0", f"{server.base}/body/f0", tmp_path / "k0", 100, 100)] + [
            FetchJob(f"k{i}", f"{server.base}/slow/f{i}", tmp_path / f"k{i}", 100, 100) for i in range(1, 20)
        ]
        with ThreadPoolExecutor(max_workers=1) as pool:
            with pytest.raises(RuntimeError, match="cannot stage k0"):
                run(jobs, handle, executor=None if inline else pool, concurrency=2)
        # k1 may or may not have been requested by then; none of the 18 after it was.
        assert "/body/f0" in server.paths and set(server.paths) <= {"/body/f0", "/slow/f1"}, server.paths
