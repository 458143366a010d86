"""A real webhook receiver on 127.0.0.1 for tests: records every request, and misbehaves on demand.

Behaviour is chosen by path. Each request gets the action for its attempt at that `webhook-id`
(1-based), from a script such as `["timeout", "reset", 200]`; the last action repeats. Actions:

- an int: answer with that status (`{"ok": true}` body);
- `(status, headers)`: with extra headers (e.g. `Retry-After`, `Location`);
- `"timeout"`: wait `hang` seconds, then drop the connection without answering;
- `"reset"`: reset the connection (TCP RST) without answering;
- `("slow", seconds)`: answer 200 after `seconds`.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class WebhookServer:
    base: str
    scripts: dict[str, list[Any]]
    hang: float
    received: list[Received] = field(default_factory=list)
    attempts: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return self.base + path

    def bodies(self, path: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [r.json for r in self.received if path is None or r.path == path]

    def wait_for(self, count: int, timeout: float = 30.0, path: str | None = None) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                got = [r for r in self.received if path is None or r.path == path]
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError(f"expected {count} requests{' to ' + path if path else ''} within {timeout} s, got {len(got)}")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Any

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length)
        state: WebhookServer = self.server.state
        path = self.path.split("?", 1)[0]
        msg_id = self.headers.get("webhook-id", "")
        with state.lock:
            state.attempts[(path, msg_id)] += 1
            n = state.attempts[(path, msg_id)]
            state.received.append(Received(path, {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic()))
        script = state.scripts.get(path, [200])
        action = script[min(n, len(script)) - 1]
        if action == "timeout":
            time.sleep(state.hang)
            self.close_connection = True
            return
        if action == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        headers: dict[str, str] = {}
        if isinstance(action, tuple) and action[0] == "slow":
            time.sleep(action[1])
            status = 200
        elif isinstance(action, tuple):
            status, headers = action
        else:
            status = int(action)
        payload = b'{"ok": true}'
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass  # quiet


@contextmanager
def webhook_server(scripts: dict[str, list[Any]] | None = None, *, hang: float = 2.0) -> Iterator[WebhookServer]:
    """Serve on a free loopback port until the block ends; yields the recorder."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    state = WebhookServer(f"http://127.0.0.1:{httpd.server_address[1]}", scripts or {}, hang)
    httpd.state = state  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
