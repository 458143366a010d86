"""Virtualenvs of real third-party clients for compatibility tests, built once per machine.

A client such as Roboflow's `inference-cli==1.8.3` pins old pydantic, typer and numpy, so it never
goes into Docket's environment: it gets a virtualenv of its own under
`~/.cache/docket-test-clients/<name>-<hash of its requirements file>` (or DOCKET_TEST_CLIENTS), and
tests run it as a subprocess. `.ci/run` builds them before the tests: `python -m tests.clients.build`.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import sys
from pathlib import Path

__all__ = ["CLIENTS", "ClientUnavailable", "build_client"]

HERE = Path(__file__).resolve().parent
CLIENTS = {"roboflow": ("inference-cli", "inference")}
"""name -> (virtualenv prefix, the executable tests run); requirements in requirements-<name>.txt."""


class ClientUnavailable(RuntimeError):
    """Raised when a client's virtualenv cannot be built (no package index reachable, say)."""


def _cache() -> Path:
    return Path(os.environ.get("DOCKET_TEST_CLIENTS") or Path.home() / ".cache" / "docket-test-clients")


def build_client(name: str, *, timeout: float = 1800.0) -> Path:
    """The client's executable, building its virtualenv first if this machine has none yet."""
    prefix, executable = CLIENTS[name]
    requirements = HERE / f"requirements-{name}.txt"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
    venv = _cache() / f"{prefix}-{digest}"
    done, tool = venv / ".complete", venv / "bin" / executable
    if done.exists() and tool.exists():
        return tool
    _cache().mkdir(parents=True, exist_ok=True)
    with open(_cache() / f".{prefix}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time; the others then find it done
        if done.exists() and tool.exists():
            return tool
        steps = [[sys.executable, "-m", "venv", "--clear", str(venv)],
                 [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "-r", str(requirements)]]  # fmt: skip
        for step in steps:
            try:
                result = subprocess.run(step, capture_output=True, text=True, timeout=timeout)  # noqa: S603 - our own arguments
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise ClientUnavailable(f"cannot build the {name} client's virtualenv at {venv}: {exc}") from exc
            if result.returncode != 0:
                raise ClientUnavailable(f"cannot build the {name} client's virtualenv at {venv} ({' '.join(step[-3:])} "
                                        f"exited {result.returncode}): {result.stderr[-1500:]}")  # fmt: skip
        done.write_text(requirements.read_text())
    return tool


if __name__ == "__main__":
    for client in sys.argv[1:] or list(CLIENTS):
        print(build_client(client))  # noqa: T201 - the CI log shows where each client is
