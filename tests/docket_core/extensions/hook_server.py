"""A real webhook receiver on 127.0.0.1 for extension tests: checks Rossum's signature, answers per path."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from docket_core.extensions.webhook import SIGNATURE_HEADER, verify

Answer = tuple[int, Any]  # (status, JSON body or raw bytes)
Handler = Callable[[dict[str, Any]], Answer]


@dataclass
class Received:
    path: str
    payload: dict[str, Any]
    signature: str | None
    signed_ok: bool | None
    started: float = 0.0
    finished: float = 0.0


@dataclass
class HookServer:
    url: str
    handlers: dict[str, Handler]
    secrets: dict[str, str]
    delay_s: float = 0.0
    received: list[Received] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def for_path(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]


@contextmanager
def hook_server(handlers: dict[str, Handler], *, secrets: dict[str, str] | None = None, delay_s: float = 0.0) -> Iterator[HookServer]:
    """Serve `handlers` by path; a path with a secret must be signed with it (else 401)."""
    state = HookServer(url="", handlers=handlers, secrets=secrets or {}, delay_s=delay_s)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            started = time.monotonic()
            with state.lock:
                state.in_flight += 1
                state.max_in_flight = max(state.max_in_flight, state.in_flight)
            try:
                secret = state.secrets.get(self.path)
                signature = self.headers.get(SIGNATURE_HEADER)
                ok = verify(body, secret, signature) if secret else None
                payload = json.loads(body)
                received = Received(self.path, payload, signature, ok, started)
                with state.lock:
                    state.received.append(received)
                if state.delay_s:
                    time.sleep(state.delay_s)
                if ok is False:
                    status, answer = 401, {"messages": [{"type": "error", "content": "bad signature"}]}
                else:
                    handler = state.handlers.get(self.path)
                    status, answer = handler(payload) if handler else (404, b"")
            finally:
                with state.lock:
                    state.in_flight -= 1
            received.finished = time.monotonic()
            data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256

        def handle_error(self, request: object, client_address: object) -> None:
            # A client that stopped waiting (a timeout test) leaves a broken pipe: expected, not news.
            if not isinstance(sys.exc_info()[1], ConnectionError):
                super().handle_error(request, client_address)  # type: ignore[arg-type]

    server = Server(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
