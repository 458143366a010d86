"""The warm runner: commands after the first run in a fork of it, with the same output, exit codes and flow runs."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from docket_core.samples import write_sample_images
from tests.cli.local_server import docket, env, run  # noqa: F401 - env is a fixture

pytestmark = pytest.mark.slow


def ready_runner(env: dict[str, str], *, not_pid: int | None = None) -> dict:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        runner = docket(env, "server", "status")["runner"]
        if runner and runner["ready"] and runner["pid"] != not_pid:
            return runner
        time.sleep(0.5)
    raise AssertionError("expected the warm runner to be ready within 180 s, it was not")


def gone(pid: int, timeout: float = 20.0) -> bool:
    """The process ended (a zombie nobody reaped yet counts as ended: it runs nothing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if not Path(f"/proc/{pid}/cmdline").read_bytes():
                return True
        except OSError:
            return True
        time.sleep(0.2)
    return False


def task_run_names(api_url: str, flow_run_id: str) -> list[str]:
    answer = httpx.post(f"{api_url}/task_runs/filter", json={"flow_runs": {"id": {"any_": [flow_run_id]}}}, timeout=30)
    answer.raise_for_status()
    return sorted(run["name"] for run in answer.json())


def kinds(names: list[str]) -> list[str]:
    return [n.split("-")[0] for n in names]  # "plan-shards-a27", "stage-<ingest id>/00000": plan, stage


class TestWarmRunner:
    def test_later_commands_run_in_it_with_the_same_results(self, env: dict[str, str], tmp_path: Path) -> None:
        photos = tmp_path / "photos"
        write_sample_images(photos, count=3)
        first = docket(env, "staging", "create-batch-of-images", "-i", str(photos), "--batch-id", "first")
        runner = ready_runner(env)  # the first command started it
        assert first["ingested"] == 3 and runner["commands_served"] == 0

        second = docket(env, "staging", "create-batch-of-images", "-i", str(photos), "--batch-id", "second")
        status = docket(env, "server", "status")
        assert second["ingested"] == 3 and second["batch_id"] == "second"
        assert status["runner"]["pid"] == runner["pid"] and status["runner"]["commands_served"] == 1
        # A real flow run on the shared server, with its task runs, as when the command runs itself.
        names = kinds(task_run_names(status["api_url"], second["flow_run_id"]))
        assert names == kinds(task_run_names(status["api_url"], first["flow_run_id"]))
        assert names == ["plan", "stage", "summarise"]
        assert [b["batch_id"] for b in docket(env, "staging", "list-batches")] == ["first", "second"]

        # A failing command says the same and exits with the same code either way.
        here = run(env | {"DOCKET_PREFECT_RUNNER": "off"}, "staging", "show-batch-details", "--batch-id", "nope")
        there = run(env, "staging", "show-batch-details", "--batch-id", "nope")
        assert there.returncode == here.returncode == 2
        assert there.stderr == here.stderr and "no batch 'nope'" in there.stderr
        assert docket(env, "server", "status")["runner"]["commands_served"] == 3  # list-batches and the failure

    def test_another_environment_runs_itself_and_stop_ends_the_runner(self, env: dict[str, str], tmp_path: Path) -> None:
        photos = tmp_path / "photos"
        write_sample_images(photos, count=3)
        docket(env, "staging", "create-batch-of-images", "-i", str(photos), "--batch-id", "first")
        runner = ready_runner(env)

        # Settings its imports may have read differ: this command runs in its own process (the shard
        # size is seen: one shard per file) and starts a runner that fits it in place of the old one.
        other = env | {"DOCKET_SHARD_SIZE": "1"}
        done = docket(other, "staging", "create-batch-of-images", "-i", str(photos), "--batch-id", "other")
        api_url = docket(env, "server", "status")["api_url"]
        shards = [n for n in task_run_names(api_url, done["flow_run_id"]) if n.startswith("stage-")]
        assert done["ingested"] == 3 and len(shards) == 3
        replaced = ready_runner(other, not_pid=runner["pid"])
        assert replaced["commands_served"] == 0 and gone(runner["pid"])

        assert docket(env, "server", "stop")["stopped"] is True
        assert gone(replaced["pid"])
        assert docket(env, "server", "status")["runner"] is None

    def test_a_request_declaring_gigabytes_is_refused_unread_and_the_runner_goes_on(self, env: dict[str, str], tmp_path: Path) -> None:
        import socket
        import struct

        from docket_core.cli.runner import _socket_path

        photos = tmp_path / "photos"
        write_sample_images(photos, count=1)
        docket(env, "staging", "create-batch-of-images", "-i", str(photos), "--batch-id", "first")
        runner = ready_runner(env)

        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(30)
            conn.connect(str(_socket_path(Path(env["DOCKET_HOME"]))))
            socket.send_fds(conn, [b"F"], [0, 1, 2])
            conn.sendall(struct.pack("!I", 2**31))  # and never the 2 GiB it announces
            assert conn.recv(1) == b"N"

        listed = docket(env, "staging", "list-batches")
        assert [b["batch_id"] for b in listed] == ["first"]
        assert docket(env, "server", "status")["runner"]["pid"] == runner["pid"]
