"""Real processes for end-to-end tests: a Prefect server, `docket serve`, their clean-up."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env(prefect_home: Path) -> dict[str, str]:
    """The test process's environment without Docket or Prefect API settings, with its own Prefect home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKET_") and k != "PREFECT_API_URL"}
    env.update(PREFECT_HOME=str(prefect_home), DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_LOGGING_LEVEL="WARNING", PYTHONPATH=str(REPO))  # fmt: skip
    return env


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """A process in a session of its own (so the whole tree can be stopped), output to `log`."""
    with open(log, "ab") as fh:
        return subprocess.Popen(args, env=env, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=str(REPO))  # fmt: skip


def wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{proc.args} exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass  # not listening yet
        time.sleep(0.25)
    raise AssertionError(f"{url} did not answer within {timeout} s:\n{log.read_text(errors='replace')[-3000:]}")


def stop(proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """SIGTERM the process group, then SIGKILL what is left."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # children that outlived their parent
    except ProcessLookupError:
        pass
    proc.wait()


def prefect_server(home: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = base_env(home)
    proc = start([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)], env, log)
    api = f"http://127.0.0.1:{port}/api"
    try:
        wait_http(f"{api}/health", proc, log, timeout=180.0)
    except BaseException:
        stop(proc)
        raise
    return proc, api
