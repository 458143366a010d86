"""Real processes, real SIGKILL: an ingest and a job killed mid-way finish with every file exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from docket_core.catalog.schema import job_chunks, shards
from docket_core.resources import Resources
from docket_core.staging.queries import batch_details
from tests.helpers import jpeg_bytes, write

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]

FILES = 600  # enough work that a loaded machine cannot finish before the kill lands


def _env(home: Path) -> dict[str, str]:
    from prefect.settings import PREFECT_API_URL

    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKET_")}
    env.update(DOCKET_HOME=str(home), DOCKET_SHARD_SIZE="5", DOCKET_MAX_WORKERS="2", DOCKET_FILE_WORKERS="1",
               PREFECT_API_URL=str(PREFECT_API_URL.value()), PYTHONPATH=str(Path(__file__).parents[2]))  # fmt: skip
    return env


def _docket(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "docket_core.cli", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip


def _kill_when(proc: subprocess.Popen, ready: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if ready():
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            proc.stdout.close()  # type: ignore[union-attr]
            proc.stderr.close()  # type: ignore[union-attr]
            return
        time.sleep(0.02)
    out, err = proc.communicate()
    pytest.fail(f"the process ended before it could be killed mid-way (rc={proc.returncode}): {err.decode()[-2000:]}")


def _count(home: Path, table: sa.Table, key: sa.Column, value: str) -> int:
    catalog = Resources.from_settings().catalog()
    with catalog.read() as conn:
        return conn.execute(sa.select(sa.func.count()).where(key == value, table.c.status == "done")).scalar_one()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("DOCKET_HOME", str(home))
    return home


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    for i in range(FILES):
        write(tmp_path / "in" / f"p{i:04d}.jpg", jpeg_bytes(i, size=(480, 360)))
    return tmp_path / "in"


class TestKilledIngest:
    def test_an_ingest_killed_mid_way_and_run_again_has_every_file_once(self, home: Path, photos: Path) -> None:
        env = _env(home)
        args = ("staging", "create-batch-of-images", "-i", str(photos), "-b", "crash", "--ingest-id", "crash-1", "--json")
        _kill_when(_docket(env, *args), lambda: (home / "catalog.db").exists() and _count(home, shards, shards.c.ingest_id, "crash-1") >= 3)
        done_at_kill = _count(home, shards, shards.c.ingest_id, "crash-1")
        assert done_at_kill < FILES // 5, "the kill came after the end: nothing was interrupted"

        rerun = subprocess.run([sys.executable, "-m", "docket_core.cli", *args], env=env, capture_output=True, timeout=300)
        assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]
        summary = json.loads(rerun.stdout)
        assert (summary["status"], summary["ingested"], summary["duplicates"], summary["failed"]) == ("completed", FILES, 0, 0)
        details = batch_details(Resources.from_settings().catalog(), "crash")
        assert (details["files_count"], details["failed_count"]) == (FILES, 0)


class TestKilledJob:
    def test_a_job_killed_mid_way_and_restarted_has_every_file_once_in_its_output(self, home: Path, photos: Path) -> None:
        env = _env(home)
        staged = subprocess.run([sys.executable, "-m", "docket_core.cli", "staging", "create-batch-of-images", "-i", str(photos),
                                 "-b", "jobcrash", "--json"], env=env, capture_output=True, timeout=300)  # fmt: skip
        assert staged.returncode == 0, staged.stderr.decode()[-2000:]
        args = ("jobs", "process-images-with-workflow", "-w", "image-metadata", "-b", "jobcrash", "-j", "killed", "--json")
        _kill_when(_docket(env, *args), lambda: _count(home, job_chunks, job_chunks.c.job_id, "killed") >= 3)
        assert _count(home, job_chunks, job_chunks.c.job_id, "killed") < FILES // 5, "the kill came after the end"

        rerun = subprocess.run([sys.executable, "-m", "docket_core.cli", "jobs", "restart-job", "-j", "killed", "--json"],
                               env=env, capture_output=True, timeout=300)  # fmt: skip
        assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]
        details = json.loads(rerun.stdout)
        assert (details["state"], details["files_succeeded"], details["files_failed"]) == ("succeeded", FILES, 0)
        table = pq.read_table(str(home / "store/jobs/killed/documents"))
        names = table.column("file_name").to_pylist()
        assert len(names) == FILES and len(set(names)) == FILES
        # A kill during a write can leave a hidden temporary (".part-00003.parquet.<uuid>.part"); readers
        # of the folder skip hidden files, and the visible parts are exactly the finished ones.
        visible = sorted(p.name for p in (home / "store/jobs/killed/documents").iterdir() if not p.name.startswith("."))
        assert visible == [f"part-{n:05d}.parquet" for n in range(FILES // 5)]
