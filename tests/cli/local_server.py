"""The real `docket` command in a subprocess against a shared local Prefect server of its own (the
environment a user's shell gives it), for the tests of that server and of the warm runner."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.processes import base_env, free_port


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "docket_core.cli", *args], env=env, capture_output=True, timeout=300,
                          text=True)  # fmt: skip


def docket(env: dict[str, str], *args: str) -> dict:
    """`docket ARGS --json`, which must succeed: its last JSON line."""
    done = run(env, *args, "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A home of its own whose commands start (and share) a local Prefect server on a free port; stopped after."""
    env = base_env(tmp_path / "prefect-home-unused")
    env.update(DOCKET_HOME=str(tmp_path / "home"), DOCKET_PREFECT_SERVER="auto", DOCKET_PREFECT_PORT=str(free_port()))
    yield env
    subprocess.run([sys.executable, "-m", "docket_core.cli", "server", "stop"], env=env, capture_output=True, timeout=60)
