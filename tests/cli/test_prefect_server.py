"""The local Prefect server: the first command starts it, later commands reuse it, a dead one is replaced."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from docket_core.samples import write_sample_images
from tests.cli.local_server import docket, env  # noqa: F401 - env is a fixture

pytestmark = pytest.mark.slow


def flow_run_names(api_url: str) -> list[str]:
    answer = httpx.post(f"{api_url}/flow_runs/filter", json={"limit": 50}, timeout=30)
    answer.raise_for_status()
    return [run["name"] for run in answer.json()]


class TestSharedServer:
    def test_commands_share_one_server_and_a_dead_one_is_replaced(self, env: dict[str, str], tmp_path: Path) -> None:
        photos = tmp_path / "photos"
        write_sample_images(photos, count=3)
        assert docket(env, "server", "status")["running"] is False

        first = docket(env, "staging", "create-batch-of-images", "-i", str(photos), "--batch-id", "first")
        status = docket(env, "server", "status")
        assert first["ingested"] == 3 and status["running"] is True
        assert status["api_url"] == f"http://127.0.0.1:{env['DOCKET_PREFECT_PORT']}/api"

        docket(env, "staging", "create-batch-of-images", "-i", str(photos), "--batch-id", "second")
        again = docket(env, "server", "status")
        assert again["pid"] == status["pid"]  # attached, not started anew
        runs = flow_run_names(status["api_url"])
        assert len(runs) == 2  # both commands' runs are in the one server's database

        # The UI is told its own API address, whatever the port (not the default 127.0.0.1:4200).
        ui = httpx.get(f"{status['ui_url']}/ui-settings", timeout=10).json()
        assert ui["api_url"] == status["api_url"]

        os.killpg(status["pid"], signal.SIGKILL)
        time.sleep(0.5)
        assert docket(env, "server", "status")["running"] is False
        docket(env, "staging", "create-batch-of-images", "-i", str(photos), "--batch-id", "third")
        replaced = docket(env, "server", "status")
        assert replaced["running"] is True and replaced["pid"] != status["pid"]

        assert docket(env, "server", "stop")["stopped"] is True
        assert docket(env, "server", "status")["running"] is False
        with pytest.raises(ProcessLookupError):
            os.kill(replaced["pid"], 0)

    def test_prefect_api_url_wins_over_the_local_server(self, env: dict[str, str]) -> None:
        env = env | {"PREFECT_API_URL": "http://127.0.0.1:9/api"}
        status = docket(env, "server", "status")
        assert status["running"] is False and "PREFECT_API_URL is set" in status["note"]
