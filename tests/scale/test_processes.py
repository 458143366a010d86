"""The process pool (`DOCKET_TASK_RUNNER=processes`, what `auto` means on more than one core): an ingest
and a job give the thread runner's rows, row for row, on SQLite and on PostgreSQL, the job's chunks run
in worker processes, and maps smaller than DOCKET_PROCESS_MIN_TASKS stay in the flow's process."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

from docket_core.catalog.schema import files
from docket_core.jobs.models import JobRequest
from docket_core.resources import Resources
from docket_core.settings import DocketSettings, get_settings
from docket_core.settings.jobs import usable_cores
from docket_core.staging.models import IngestRequest
from tasks.resources import build_task_runner
from tests.helpers import image_folder, write
from tests.scale.test_dask import owners, table
from tests.scale.workflows import traces

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]

FILES, SHARD = 20, 6  # four shards and chunks: the pool gets more than one
VOLATILE = ["batch_id", "ingest_id", "shard_id", "created_at", "updated_at"]  # differ between two ingests by design


def processes(**overrides: object) -> ProcessPoolTaskRunner:
    runner = build_task_runner(get_settings(task_runner="processes", process_workers=2, **({"process_min_tasks": 1} | overrides)))
    assert isinstance(runner, ProcessPoolTaskRunner)
    return runner


@task(cache_policy=NO_CACHE)
def pid_of(i: int) -> int:
    return os.getpid()


def staged(resources: Resources, batch_id: str) -> pd.DataFrame:
    with resources.catalog().read() as conn:
        rows = conn.execute(sa.select(files).where(files.c.batch_id == batch_id).order_by(files.c.name)).mappings().all()
    return pd.DataFrame([{k: v for k, v in row.items() if k not in VOLATILE} for row in rows])


@pytest.fixture
def env(tmp_path: Path, docket_env: Path, trace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for log in trace.glob("*.log"):
        log.unlink()
    monkeypatch.setenv("DOCKET_SHARD_SIZE", str(SHARD))
    monkeypatch.setenv("DOCKET_WORKFLOW_MODULES", "tests.scale.workflows")
    folder = image_folder(tmp_path / "in", FILES)
    write(folder / "broken.jpg", b"\xff\xd8\xff\xe0 not an image")  # a failed row belongs to the comparison too
    write(folder / "again.jpg", (folder / "img0003.jpg").read_bytes())  # and the same bytes under two names
    return folder


class TestProcessPool:
    def test_auto_is_the_process_pool_on_more_than_one_core_and_threads_for_io_bound_flows(self) -> None:
        auto = DocketSettings(task_runner="auto")
        expected = ProcessPoolTaskRunner if usable_cores() > 1 else ThreadPoolTaskRunner
        assert isinstance(build_task_runner(auto), expected)
        assert isinstance(build_task_runner(auto, work="io"), ThreadPoolTaskRunner)
        assert build_task_runner(DocketSettings(task_runner="processes", process_workers=3))._max_workers == 3  # type: ignore[attr-defined]

    def test_a_map_smaller_than_the_threshold_stays_in_this_process_and_a_larger_one_goes_to_the_workers(self) -> None:
        @flow
        def pids() -> list[int]:
            return [f.result() for f in pid_of.map(range(3))]

        assert set(pids.with_options(task_runner=processes(process_min_tasks=4))()) == {os.getpid()}
        assert os.getpid() not in set(pids.with_options(task_runner=processes(process_min_tasks=3))())

    def test_an_ingest_in_worker_processes_stages_the_thread_runner_rows_row_for_row(self, env: Path) -> None:
        from flows.ingest_batch import ingest_batch

        resources = Resources.from_settings()
        summaries = {}
        for batch_id, runner in (("threads", build_task_runner(get_settings(task_runner="threads"))), ("processes", processes())):
            request = IngestRequest(batch_id=batch_id, media_kind="images", source_kind="folder", source=str(env))
            summaries[batch_id] = ingest_batch.with_options(task_runner=runner)(request=request)
        by_threads, by_processes = staged(resources, "threads"), staged(resources, "processes")
        assert summaries["processes"].shards == summaries["threads"].shards == 4
        assert (summaries["processes"].ingested, summaries["processes"].failed) == (FILES + 1, 1)
        pd.testing.assert_frame_equal(by_threads, by_processes)
        assert len(by_processes) == FILES + 2 and set(by_processes["status"]) == {"ingested", "failed"}

    def test_a_job_in_worker_processes_writes_the_thread_runner_parquet_row_for_row(self, env: Path, trace: Path) -> None:
        from flows.ingest_batch import ingest_batch
        from flows.process_batch import process_batch

        resources = Resources.from_settings()
        ingest_batch(request=IngestRequest(batch_id="imgs", media_kind="images", source_kind="folder", source=str(env)))
        by_threads = process_batch(job=JobRequest(batch_id="imgs", workflow_id="traced-images", job_id="threads"))
        by_processes = process_batch.with_options(task_runner=processes())(
            job=JobRequest(batch_id="imgs", workflow_id="traced-images", job_id="processes")
        )
        assert by_threads["state"] == by_processes["state"] == "succeeded"
        assert by_threads["files_succeeded"] == by_processes["files_succeeded"] == FILES + 1
        for kind in ("documents", "datapoints"):
            pd.testing.assert_frame_equal(table(resources, "threads", kind), table(resources, "processes", kind))

        pool_pids = {o.pid for o in owners(resources, "processes")}
        assert pool_pids and os.getpid() not in pool_pids, f"chunks ran in worker processes: {pool_pids}"
        assert {pid for pid, _ in traces(trace)} == {os.getpid(), *pool_pids}
