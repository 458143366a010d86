"""Small real files and servers for tests."""

from __future__ import annotations

import io
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from PIL import Image


def jpeg_bytes(seed: int = 0, size: tuple[int, int] = (32, 24)) -> bytes:
    img = Image.new("RGB", size, ((seed * 37) % 256, (seed * 91) % 256, (seed * 53) % 256))
    for x in range(0, size[0], 4):
        img.putpixel((x, (x + seed) % size[1]), (255, 255, 255))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def png_bytes(seed: int = 0) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (seed % 256, 0, 0)).save(buf, "PNG")
    return buf.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def image_folder(root: Path, count: int, *, prefix: str = "img") -> Path:
    for i in range(count):
        write(root / f"{prefix}{i:04d}.jpg", jpeg_bytes(i))
    return root


class _Handler(BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path = self.path.split("?", 1)[0]
        if path.startswith("/redirect/"):
            self.send_response(302)
            self.send_header("Location", "http://" + path[len("/redirect/"):])
            self.end_headers()
            return
        body = self.server.files.get(path)  # type: ignore[attr-defined]
        if body is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def file_server(files: dict[str, bytes]) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving `files` by path; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.files = files  # type: ignore[attr-defined]
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class LoopbackServer(ThreadingHTTPServer):
    """A threading HTTP server on 127.0.0.1 at a free port, for tests that need real sockets; clients
    hanging up early (a size cap, a deadline) are expected, not logged as server errors."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


@contextmanager
def serving(server: ThreadingHTTPServer, *, on_stop: Callable[[], None] | None = None) -> Iterator[ThreadingHTTPServer]:
    """Run `server` in a thread for the block; on the way out, `on_stop` (to release slow handlers),
    then shut it down and wait for its thread."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        if on_stop is not None:
            on_stop()
        server.shutdown()
        server.server_close()
        thread.join()


def artifact_keys(*keys: str) -> set[str]:
    """Which of `keys` the Prefect API (the session's test server) holds artifacts for.

    Asked by key: the whole session's artifacts are more than one page of the API's listing.
    """
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async def found() -> set[str]:
        async with get_client() as client:
            artifacts = await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=list(keys))))
            return {a.key for a in artifacts if a.key}

    return asyncio.run(found())
