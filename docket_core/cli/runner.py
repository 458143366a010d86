"""The warm runner: a process beside the local Prefect server with Prefect and the flows already imported.

A command that runs a flow spends most of its time importing Prefect, the flows and their libraries
(about 1.5 CPU-seconds) before the run starts. So the first such command also starts, in the
background, `python -m docket_core.cli.runner`: it imports all that once and waits on a Unix socket
(`DOCKET_HOME/prefect/runner.sock`, mode 0600, same user only). Later `docket staging|jobs|workflows
...` commands hand it their arguments, environment, working folder and terminal (stdin, stdout and
stderr, passed as file descriptors); it forks, and the child runs the very same command code with
them: the same output, progress bar, prompts and exit code, and the same Prefect flow run with its
task runs on the shared server. Ctrl-C is passed on to the child.

The runner serves a command only when nothing its imports may have read differs: the same
environment (but for a few shell bookkeeping variables), the same working folder, the same Python,
the same source files and settings files (`.env`, `prefect.toml`, `pyproject.toml` there, Prefect's
`profiles.toml`; by size and modification time), and the same Prefect server. Anything else, or no runner, and the command runs in its own
process as before (and starts a runner that fits). `DOCKET_PREFECT_RUNNER=off` never uses one.
`docket server stop` stops it; it also ends when the server is gone, after
`DOCKET_PREFECT_RUNNER_IDLE_S` (default 3600) seconds without a command, or when replaced.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from docket_core.settings import DocketSettings

__all__ = ["ROUTED", "fingerprint", "remember_fingerprint", "run_in_runner", "runner_status", "start_runner", "stop_runner"]

ROUTED = ("staging", "jobs", "workflows")  # command groups the runner may run
PRELOAD = ("typer", "rich.console", "rich.progress", "httpx", "prefect", "prefect.flow_engine", "prefect.task_engine",
           "fastapi.encoders", "docket_core.resources", "tasks.resources", "flows.ingest_batch", "flows.process_batch",
           # the built-in workflows' steps (numpy, scipy, Pillow, pypdfium2, capture): a job imports them late
           "docket_core.steps.image", "docket_core.steps.invoice", "docket_core.steps.invoice_checks",
           "docket_core.steps.video", "docket_core.notifications.queries",
           # and what the steps and the job's Parquet output import inside their functions
           "PIL.JpegImagePlugin", "PIL.PngImagePlugin", "PIL.ImageOps", "pandas", "pyarrow.compute",
           "pyarrow.pandas_compat", "scipy.fftpack", "scipy.special", "graphviz", "charset_normalizer", "sqlite3")  # fmt: skip
_VOLATILE = frozenset({"_", "OLDPWD", "PWD", "SHLVL", "COLUMNS", "LINES"})
_SOURCES = ("docket_core", "flows", "tasks", "blocks")
_ROOT = Path(__file__).resolve().parents[2]
_SOCKET_PATH_MAX = 100
_REQUEST_MAX = 4 * 1024 * 1024  # bytes of a command's request (argv, environment, folder)
_READY_WAIT_S = 60.0  # a command waits this long at most for a starting runner, then runs itself
_remembered: str | None = None
_started: list[subprocess.Popen] = []  # handles kept until exit, so Python does not warn about them


def _prefect_dir(home: Path) -> Path:
    return (home / "prefect").resolve()


def _state_path(home: Path) -> Path:
    return _prefect_dir(home) / "runner.json"


def _socket_path(home: Path) -> Path:
    path = _prefect_dir(home) / "runner.sock"
    if len(str(path)) <= _SOCKET_PATH_MAX:
        return path
    # sun_path holds 108 bytes: a deep home gets a short name in the temporary folder (mode 0600 all the same)
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"docket-runner-{os.getuid()}-{digest}.sock"


def fingerprint() -> str:
    """What the runner's imports may depend on: environment, folder, interpreter and source files."""
    env = {k: v for k, v in os.environ.items() if k not in _VOLATILE}
    sources = []
    for package in _SOURCES:
        for folder, dirs, files in os.walk(_ROOT / package):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for name in files:
                if name.endswith(".py"):
                    st = os.stat(os.path.join(folder, name))
                    sources.append((folder, name, st.st_size, st.st_mtime_ns))
    sources.sort()
    # Files Prefect and Docket read settings from when they load: the folder's and Prefect's profiles.
    prefect_home = Path(env.get("PREFECT_HOME") or Path.home() / ".prefect")
    for path in (Path(".env"), Path("prefect.toml"), Path("pyproject.toml"), prefect_home / "profiles.toml"):
        with contextlib.suppress(OSError):
            st = path.stat()
            sources.append((str(path.resolve()), "", st.st_size, st.st_mtime_ns))
    blob = json.dumps([sorted(env.items()), os.getcwd(), sys.executable, sources])
    return hashlib.sha256(blob.encode()).hexdigest()


def remember_fingerprint() -> None:
    """Called by `main()` before anything changes the environment: the runner it starts must match it."""
    global _remembered
    _remembered = fingerprint()


def _enabled() -> bool:
    return os.environ.get("DOCKET_PREFECT_RUNNER", "auto").lower() not in ("off", "0", "false", "no")


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_state(home: Path, state: dict) -> None:
    tmp = _state_path(home).with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state | {"at": time.time()}), encoding="utf-8")
    tmp.replace(_state_path(home))


def _alive(pid: int, marker: bytes) -> bool:
    try:
        os.kill(pid, 0)
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ProcessLookupError):
        return False
    return marker in cmdline


def _recv_exactly(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("the other side closed the connection")
        data += chunk
    return data


# --- the command's side ------------------------------------------------------------------------


def run_in_runner(args: list[str]) -> int | None:
    """Run `docket ARGS` in a fitting warm runner and return its exit code; None when none fits."""
    if not args or args[0] not in ROUTED or not _enabled() or os.environ.get("PREFECT_API_URL"):
        return None
    home = Path(os.environ.get("DOCKET_HOME", ".docket"))
    state = _read(_state_path(home))
    server = _read(_prefect_dir(home) / "server.json")
    if not state or not server or (state.get("api_url"), state.get("server_pid")) != (server.get("api_url"), server.get("pid")):
        return None  # it serves another server, or one that was replaced since
    if not _alive(int(state["pid"]), b"docket_core.cli.runner") or not _alive(int(server["pid"]), b"prefect"):
        return None
    if state.get("fingerprint") != _remembered:
        return None
    deadline = time.monotonic() + _READY_WAIT_S
    while not state.get("ready"):  # still importing: sooner ready than this process would be
        time.sleep(0.05)
        state = _read(_state_path(home)) or {}
        if state.get("pid") is None or not _alive(int(state["pid"]), b"docket_core.cli.runner"):
            return None
        if time.monotonic() > deadline:
            return None
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(str(_socket_path(home)))
        socket.send_fds(conn, [b"F"], [0, 1, 2])
        from typer import _click

        prog = _click.utils._detect_program_name()  # "docket" or "python -m docket_core.cli", as usage lines say
        payload = json.dumps({"argv": [sys.argv[0], *args], "prog": prog, "env": dict(os.environ), "cwd": os.getcwd(),
                              "fingerprint": _remembered}).encode()  # fmt: skip
        conn.sendall(struct.pack("!I", len(payload)) + payload)
        if _recv_exactly(conn, 1) != b"Y":
            conn.close()
            return None  # declined (it no longer fits): run here
        child = struct.unpack("!i", _recv_exactly(conn, 4))[0]
    except (OSError, ConnectionError):
        conn.close()
        return None
    forward = lambda signum, _frame: os.kill(child, signum)  # noqa: E731 - Ctrl-C reaches the run
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
    try:
        return struct.unpack("!i", _recv_exactly(conn, 4))[0]
    except (OSError, ConnectionError):
        print("error: the warm runner's process ended without an exit status", file=sys.stderr)
        return 1
    finally:
        conn.close()


# --- starting and stopping it -------------------------------------------------------------------


def start_runner(settings: DocketSettings, api_url: str | None) -> None:
    """Start a runner for this command's environment in the background, unless one fitting runs."""
    if _remembered is None or api_url is None or os.environ.get("DOCKET_RUNNER_CHILD"):
        return  # not the `docket` command line (tests call the app), not the local server, or the runner itself
    if not _enabled() or settings.prefect_runner == "off":
        return
    home = settings.home
    server = _read(_prefect_dir(home) / "server.json") or {}
    if server.get("api_url") != api_url:
        return  # PREFECT_API_URL names another server: commands with it set never use a runner
    state = _read(_state_path(home))
    if state and _alive(int(state["pid"]), b"docket_core.cli.runner"):
        if (state.get("fingerprint"), state.get("api_url"), state.get("server_pid")) == (_remembered, api_url, server.get("pid")):
            return
        stop_runner(home)  # it fits another environment or server: this one replaces it
    logs = home.resolve() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PREFECT_API_URL=api_url, DOCKET_RUNNER_FINGERPRINT=_remembered)
    with open(logs / "prefect-runner.log", "ab") as fh:
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "docket_core.cli.runner", str(home.resolve())],
            stdout=fh, stderr=fh, stdin=subprocess.DEVNULL, env=env, start_new_session=True,
        )  # fmt: skip
    # Recorded at once, so the next command waits for this one instead of starting another.
    _started.append(proc)
    _write_state(home, {"pid": proc.pid, "api_url": api_url, "server_pid": server.get("pid"), "fingerprint": _remembered,
                        "ready": False, "served": 0})  # fmt: skip


def runner_status(home: Path) -> dict | None:
    """The runner of this home as `docket server status` shows it, or None when none runs."""
    state = _read(_state_path(home))
    if not state or not _alive(int(state["pid"]), b"docket_core.cli.runner"):
        return None
    return {"pid": state["pid"], "ready": bool(state.get("ready")), "commands_served": state.get("served", 0)}


def stop_runner(home: Path) -> int | None:
    """Stop the runner of this home, if one runs; returns its pid."""
    state = _read(_state_path(home))
    _state_path(home).unlink(missing_ok=True)
    if not state or not _alive(int(state["pid"]), b"docket_core.cli.runner"):
        return None
    with contextlib.suppress(ProcessLookupError):
        os.kill(int(state["pid"]), signal.SIGTERM)
    return int(state["pid"])


# --- the runner's side --------------------------------------------------------------------------


def _serve_one(conn: socket.socket, expected: str, api_url: str) -> None:
    """In the forked child: take the command's terminal, environment and arguments, and run it."""
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    if struct.unpack("3i", creds)[1] != os.getuid():
        os._exit(1)  # another user's process: nothing to say to it
    _, fds, _, _ = socket.recv_fds(conn, 1, 3)
    size = struct.unpack("!I", _recv_exactly(conn, 4))[0]
    if size > _REQUEST_MAX:  # an environment and arguments are kilobytes: this is no command of ours
        conn.sendall(b"N")
        os._exit(0)
    request = json.loads(_recv_exactly(conn, size))
    if len(fds) != 3 or request["fingerprint"] != expected:
        conn.sendall(b"N")
        os._exit(0)
    conn.sendall(b"Y" + struct.pack("!i", os.getpid()))
    for fd, target in zip(fds, (0, 1, 2)):
        os.dup2(fd, target)
        os.close(fd)
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(line_buffering=stream.isatty())
    os.environ.clear()
    # As `attach_prefect` does in a command's own process: Prefect builds settings again from it.
    os.environ.update(request["env"], DOCKET_RUNNER_CHILD="1", PREFECT_API_URL=api_url)
    os.chdir(request["cwd"])
    sys.argv = request["argv"]
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
        signal.signal(signum, signal.SIG_DFL)  # the runner's own: ignoring SIGCHLD would break subprocess
    signal.signal(signal.SIGINT, signal.default_int_handler)
    code = 1
    try:
        import docket_core.cli

        docket_core.cli.app(prog_name=request["prog"])
        code = 0
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
        if exit.code is not None and not isinstance(exit.code, int):
            print(exit.code, file=sys.stderr)
    except KeyboardInterrupt:
        code = 130
    except BaseException:  # noqa: BLE001 - what Python would print for an uncaught exception
        import traceback

        traceback.print_exc()
    # What the interpreter does at exit, as in `main()`: Prefect's workers drain, then the handlers run.
    import atexit
    import threading

    threading._shutdown()  # type: ignore[attr-defined] # joins threads, runs threading's exit callbacks
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    with contextlib.suppress(OSError):
        conn.sendall(struct.pack("!i", code))
    os._exit(code)


def serve(home: Path) -> None:
    """The runner's main loop: import once, then fork a child per command."""
    import importlib

    expected = os.environ.pop("DOCKET_RUNNER_FINGERPRINT")
    api_url = os.environ["PREFECT_API_URL"]
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError as exc:  # an optional extra not installed: the command imports what it needs itself
            print(f"runner: not preloaded: {name} ({exc})", file=sys.stderr)
    idle_s = float(os.environ.get("DOCKET_PREFECT_RUNNER_IDLE_S", "3600"))
    server = _read(_prefect_dir(home) / "server.json") or {}
    path = _socket_path(home)
    path.unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        listener.bind(str(path))
    finally:
        os.umask(old_umask)
    listener.listen(16)
    listener.settimeout(5.0)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    state = {"pid": os.getpid(), "api_url": api_url, "server_pid": server.get("pid"), "fingerprint": expected,
             "ready": True, "served": 0}  # fmt: skip
    _write_state(home, state)
    last = time.monotonic()
    try:
        while True:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                mine = (_read(_state_path(home)) or {}).get("pid") == os.getpid()
                gone = not server or not _alive(int(server["pid"]), b"prefect")
                if not mine or gone or time.monotonic() - last > idle_s:
                    return
                continue
            last = time.monotonic()
            state["served"] += 1
            _write_state(home, state)  # `docket server status` says how many commands it ran
            sys.stdout.flush()
            sys.stderr.flush()
            if os.fork() == 0:
                listener.close()
                conn.settimeout(None)
                try:
                    _serve_one(conn, expected, api_url)
                finally:
                    os._exit(1)
            conn.close()
    finally:
        listener.close()
        if (_read(_state_path(home)) or {}).get("pid") == os.getpid():
            _state_path(home).unlink(missing_ok=True)
            path.unlink(missing_ok=True)


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
