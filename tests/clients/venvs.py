"""Virtualenvs of the real third-party clients the compatibility tests drive, one per client, never Docket's.

Each client pins old libraries (pydantic, click...) that must not meet Docket's, so each gets a venv of
its own under `~/.cache/docket-test-clients/<name>-<hash>` (or `$DOCKET_TEST_CLIENTS_DIR`), the hash over
its pinned requirements file and the interpreter, built once per machine and reused. They need Python
3.12 (`txscript` does): `$DOCKET_TEST_PYTHON312`, else pyenv's 3.12, else `python3.12` on the PATH.

    python -m tests.clients.venvs          # build every one now (what .ci/run does before the tests)

`client_venv(name)` gives the venv's `bin` folder; when it cannot be built the test is skipped with
the reason, except under CI, where that fails the run.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["CLIENTS", "build", "client_venv", "python312"]

HERE = Path(__file__).parent
CLIENTS = {"rossum-api": HERE / "rossum-api.txt", "rossum-cli": HERE / "rossum-cli.txt", "txscript": HERE / "txscript.txt"}
_PYENV_312 = Path("/root/.pyenv/versions/3.12.1/bin/python")


def python312() -> str | None:
    """The Python 3.12 interpreter the clients run on, or None."""
    configured = os.environ.get("DOCKET_TEST_PYTHON312")
    if configured:
        return configured
    if _PYENV_312.exists():
        return str(_PYENV_312)
    return shutil.which("python3.12")


def _root() -> Path:
    return Path(os.environ.get("DOCKET_TEST_CLIENTS_DIR") or Path.home() / ".cache" / "docket-test-clients")


def build(name: str) -> Path:
    """The `bin` folder of the client's venv, built now if it is not there yet.

    Raises:
        RuntimeError: no Python 3.12, or pip could not install the pinned requirements (with pip's output).
    """
    requirements = CLIENTS[name]
    python = python312()
    if python is None:
        raise RuntimeError("no Python 3.12 found (set DOCKET_TEST_PYTHON312 to one)")
    digest = hashlib.sha256(requirements.read_bytes() + python.encode()).hexdigest()[:16]
    target = _root() / f"{name}-{digest}"
    if (target / ".complete").exists():
        return target / "bin"
    _root().mkdir(parents=True, exist_ok=True)
    # Built where it stays (venv scripts carry their own path), under a lock; a half-built one is redone.
    with open(_root() / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / ".complete").exists():
            return target / "bin"
        shutil.rmtree(target, ignore_errors=True)
        try:
            subprocess.run([python, "-m", "venv", str(target)], check=True, capture_output=True, timeout=300)
            done = subprocess.run(
                [str(target / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(requirements)],
                capture_output=True, text=True, timeout=900,
            )  # fmt: skip
        except subprocess.SubprocessError as e:
            raise RuntimeError(f"building the {name} venv failed: {e}") from e
        if done.returncode != 0:
            raise RuntimeError(f"pip could not install {requirements.name}: {(done.stderr or done.stdout)[-2000:]}")
        (target / ".complete").write_text(requirements.read_text())
    return target / "bin"


def client_venv(name: str) -> Path:
    """For a test: the client's venv `bin`, or a skip (a failure under CI) saying why it cannot be had."""
    import pytest

    try:
        return build(name)
    except RuntimeError as e:
        if os.environ.get("CI"):
            pytest.fail(f"the {name} test client is required under CI: {e}")
        pytest.skip(f"the {name} test client is not available: {e}")


if __name__ == "__main__":
    for client in sys.argv[1:] or CLIENTS:
        print(f"{client}: {build(client)}")
