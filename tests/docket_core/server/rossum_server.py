"""`docket serve`'s app (receiver and every door) on 127.0.0.1 in a thread, for the Rossum API tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from docket_core.resources import Resources
from docket_core.server.app import ServerContext, build_app
from docket_core.settings import get_settings


@pytest.fixture
def sqlite_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Docket's settings on a fresh home with a SQLite catalog: the API is the same on either catalog,
    and these tests run real servers and clients, so they run once."""
    from docket_core.catalog import forget_catalogs

    home = tmp_path / "home"
    monkeypatch.setenv("DOCKET_HOME", str(home))
    monkeypatch.setenv("DOCKET_CATALOG_URL", f"sqlite:///{tmp_path / 'catalog.db'}")
    monkeypatch.setenv("DOCKET_STORE_URL", str(home / "store"))
    yield home
    forget_catalogs()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def docket_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Serve `build_app` with the settings of the environment; yields its base URL (also DOCKET_PUBLIC_BASE_URL)."""
    import uvicorn

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("DOCKET_PUBLIC_BASE_URL", base)
    settings = get_settings()
    app = build_app(ServerContext(Resources.from_settings(settings), settings, lambda request: None))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        for route in app.routes:  # imports an upload started run to their end before the test's state goes
            state = getattr(getattr(getattr(route, "app", None), "state", None), "rossum", None)
            if state is not None:
                state.background.shutdown(wait=True)
