"""Docket's local Prefect server: started once in the background, reused by every later command.

Starting Prefect's ephemeral API costs 10 to 20 s in every process that runs a flow. Instead, the
first command that needs Prefect starts `prefect server start` on loopback as a background process
(its SQLite database under `DOCKET_HOME/prefect`, beside the catalog) and records its address and
process id in `DOCKET_HOME/prefect/server.json`; later commands, and `docket serve`, attach to it by
setting `PREFECT_API_URL` before Prefect is imported. So the UI of that one server shows every run,
CLI and served alike.

- `PREFECT_API_URL` in the environment always wins (a shared server, Prefect Cloud).
- `DOCKET_PREFECT_SERVER=ephemeral` keeps the old behaviour (each process its own ephemeral API).
- A recorded server whose process is gone, or that does not answer `/api/health`, or whose process
  is not a Prefect server (the pid was reused), is stale: it is replaced.
- Two commands starting at once do not start two servers: the start is serialised by a file lock.
- The server listens on loopback unless `PREFECT_SERVER_API_AUTH_STRING` is set (an API without auth
  must never face the network); its UI is told its own API address, so it works on any port.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from docket_core.settings import DocketSettings

__all__ = [
    "LOOPBACK",
    "ServerState",
    "attach_prefect",
    "ensure_server",
    "prefect_home",
    "read_state",
    "server_is_alive",
    "stop_server",
    "without_heartbeats",
]

LOOPBACK = "127.0.0.1"
_START_TIMEOUT = float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120"))


@dataclass(frozen=True)
class ServerState:
    pid: int
    host: str
    port: int
    api_url: str
    started_at: float

    @property
    def ui_url(self) -> str:
        return self.api_url.removesuffix("/api")


def prefect_home(settings: DocketSettings) -> Path:
    return (settings.home / "prefect").resolve()


def _state_path(settings: DocketSettings) -> Path:
    return prefect_home(settings) / "server.json"


def read_state(settings: DocketSettings) -> ServerState | None:
    try:
        raw = json.loads(_state_path(settings).read_text(encoding="utf-8"))
        return ServerState(**raw)
    except (OSError, ValueError, TypeError):
        return None


def _pid_is_prefect_server(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # someone else's process now holds the pid
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True  # no /proc (macOS): the health check decides
    return b"prefect" in b" ".join(cmdline) and b"server" in cmdline


def server_is_alive(state: ServerState, *, timeout: float = 2.0) -> bool:
    """The recorded process is a Prefect server and its API answers."""
    if not _pid_is_prefect_server(state.pid):
        return False
    try:
        return httpx.get(f"{state.api_url}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def _start_lock(settings: DocketSettings) -> Iterator[None]:
    home = prefect_home(settings)
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "server.lock", "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def listen_host(requested: str) -> str:
    """Where the Prefect API may listen: loopback, unless an auth string guards it."""
    if requested in (LOOPBACK, "localhost", "::1") or os.environ.get("PREFECT_SERVER_API_AUTH_STRING"):
        return requested
    return LOOPBACK


def _spawn(settings: DocketSettings, host: str, port: int) -> ServerState:
    home = prefect_home(settings)
    logs = settings.home.resolve() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    client_host = LOOPBACK if host in ("0.0.0.0", "::") else host
    api = f"http://{client_host}:{port}/api"
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PREFECT_SERVER_UI_API_URL=api,  # the UI's pages call this, not the default 127.0.0.1:4200
        PREFECT_LOGGING_LEVEL=env.get("PREFECT_LOGGING_LEVEL", "WARNING"),
    )
    log = logs / "prefect-server.log"
    with open(log, "ab") as fh:
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "prefect", "server", "start", "--host", host, "--port", str(port)],
            stdout=fh, stderr=fh, stdin=subprocess.DEVNULL, env=env,
            start_new_session=True,  # outlives the command that started it, and its Ctrl-C
        )  # fmt: skip
    state = ServerState(pid=proc.pid, host=host, port=port, api_url=api, started_at=time.time())
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the Prefect server exited with code {proc.returncode} while starting "
                               f"(log {log}):\n{tail}")  # fmt: skip
        try:
            if httpx.get(f"{api}/health", timeout=2.0).status_code == 200:
                break
        except httpx.HTTPError:
            pass  # not listening yet
        time.sleep(0.3)
    else:
        _terminate(proc.pid)
        raise TimeoutError(f"expected the Prefect server at {api} to answer within {_START_TIMEOUT:g} s, it did not; "
                           f"see {log} (PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS raises the limit)")  # fmt: skip
    tmp = _state_path(settings).with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(state)), encoding="utf-8")
    tmp.replace(_state_path(settings))
    return state


def ensure_server(settings: DocketSettings, *, host: str = LOOPBACK, port: int | None = None) -> tuple[ServerState, bool]:
    """The running local server, or a new one; the flag says whether this call started it."""
    host = listen_host(host)
    with _start_lock(settings):
        state = read_state(settings)
        if state is not None and server_is_alive(state):
            return state, False
        if state is not None:
            _state_path(settings).unlink(missing_ok=True)  # stale: dead, or the pid is someone else's now
        wanted = settings.prefect_port if port is None else port
        chosen = wanted if _port_is_free(host, wanted) else _free_port(host)
        return _spawn(settings, host, chosen), True


def attach_prefect(settings: DocketSettings | None = None) -> str | None:
    """Point this process at Docket's local Prefect server (started if need be), before Prefect loads.

    Returns the API URL in use, or None when this process keeps Prefect's own configuration
    (PREFECT_API_URL set, the ephemeral mode chosen, or Prefect already imported and configured).
    """
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    from docket_core.settings import get_settings

    settings = settings or get_settings()
    if settings.prefect_server == "ephemeral" or "prefect" in sys.modules:
        return None
    state, _ = ensure_server(settings)
    os.environ["PREFECT_API_URL"] = state.api_url
    return state.api_url


@contextlib.contextmanager
def without_heartbeats() -> Iterator[None]:
    """A command's flow run without Prefect's heartbeat thread, unless a heartbeat setting asks for it.

    Heartbeats only feed automations (Docket defines none), and the engine joins the heartbeat thread
    at the end of every run while it sleeps in 1 s steps: 0 to 1 s more for every command. Setting
    PREFECT_FLOWS_HEARTBEAT_FREQUENCY (to feed an automation of your own) keeps them.
    """
    if os.environ.get("PREFECT_FLOWS_HEARTBEAT_FREQUENCY") or os.environ.get("PREFECT_RUNNER_HEARTBEAT_FREQUENCY"):
        yield
        return
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def _terminate(pid: int, timeout: float = 20.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def stop_server(settings: DocketSettings) -> ServerState | None:
    """Stop the recorded server (if it runs) and its warm runner, and forget them; returns what was recorded."""
    from docket_core.cli.runner import stop_runner

    with _start_lock(settings):
        stop_runner(settings.home)
        state = read_state(settings)
        if state is None:
            return None
        if _pid_is_prefect_server(state.pid):
            _terminate(state.pid)
        _state_path(settings).unlink(missing_ok=True)
        return state
