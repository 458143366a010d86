"""Jobs on a local Dask cluster of worker processes (prefect-dask): the same rows as the thread runner,
and a chunk is processed once even when Dask runs its task twice or loses the worker running it."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from prefect import flow, unmapped

from docket_core.catalog.schema import job_chunks
from docket_core.jobs import leases
from docket_core.jobs.models import JobRequest
from docket_core.jobs.plan import register_job, start_job
from docket_core.resources import Resources
from docket_core.settings import DocketSettings, get_settings
from tasks.jobs import load_workflow, process_chunk
from tasks.resources import build_task_runner
from tests.docket_core.jobs.test_jobs import stage
from tests.helpers import image_folder
from tests.scale.workflows import traces

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.usefixtures("prefect_harness")]

FILES, SHARD = 48, 6
VOLATILE = ["job_id", "processed_at"]  # differ between two jobs by design


@pytest.fixture(scope="module")
def scheduler(trace: Path) -> Iterator[str]:
    """A local Dask cluster of three worker processes, shared by the tests that use it by address."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=3, processes=True, threads_per_worker=1, dashboard_address=None, host="127.0.0.1") as cluster:
        yield cluster.scheduler_address


def dask(**overrides: object) -> DocketSettings:
    return get_settings(task_runner="dask", **overrides)


@pytest.fixture
def batch(tmp_path: Path, pg_env: Path, trace: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A staged batch of images, the traced workflow, and the trace folder emptied."""
    for log in trace.glob("*.log"):
        log.unlink()
    for key, value in {"DOCKET_SHARD_SIZE": str(SHARD), "DOCKET_WORKFLOW_MODULES": "tests.scale.workflows",
                       "DOCKET_FILE_WORKERS": "1"}.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    stage(image_folder(tmp_path / "in", FILES), Resources.from_settings(), get_settings())
    yield trace


def table(resources: Resources, job_id: str, kind: str) -> pd.DataFrame:
    frame = pq.read_table(resources.store().path(f"jobs/{job_id}/{kind}")).to_pandas()
    frame = frame.drop(columns=[c for c in VOLATILE if c in frame.columns])
    keys = ["file_name"] if kind == "documents" else list(frame.columns)
    return frame.sort_values(keys, key=lambda s: s.astype(str)).reset_index(drop=True)


def owners(resources: Resources, job_id: str) -> list[leases.Owner]:
    with resources.catalog().read() as conn:
        found = conn.execute(sa.select(job_chunks.c.lease_owner).where(job_chunks.c.job_id == job_id)).scalars().all()
    return [o for o in map(leases.parse_owner, found) if o is not None]


class TestDaskRunner:
    def test_a_job_on_a_local_cluster_of_processes_gives_the_thread_runner_rows_row_for_row(self, batch: Path) -> None:
        from flows.process_batch import process_batch

        resources = Resources.from_settings()
        by_threads = process_batch(job=JobRequest(batch_id="imgs", workflow_id="traced-images", job_id="threads"))
        # a cluster of its own, started and stopped by the flow run (DOCKET_DASK_WORKERS)
        by_dask = process_batch.with_options(task_runner=build_task_runner(dask(dask_workers=3)))(
            job=JobRequest(batch_id="imgs", workflow_id="traced-images", job_id="dask")
        )
        assert by_threads["state"] == by_dask["state"] == "succeeded"
        assert by_threads["files_succeeded"] == by_dask["files_succeeded"] == FILES
        for kind in ("documents", "datapoints"):
            pd.testing.assert_frame_equal(table(resources, "threads", kind), table(resources, "dask", kind))
        assert len(table(resources, "dask", "documents")) == FILES

        dask_pids = {o.pid for o in owners(resources, "dask")}
        assert os.getpid() not in dask_pids and len(dask_pids) >= 2, f"chunks ran in Dask worker processes: {dask_pids}"
        assert {o.pid for o in owners(resources, "threads")} == {os.getpid()}
        processed = Counter(name for _, name in traces(batch))
        assert set(processed.values()) == {2}, "each file once per job"  # once by threads, once by Dask

    def test_a_chunk_whose_task_dask_runs_twice_is_processed_and_counted_once(self, batch: Path, scheduler: str) -> None:
        settings, resources = get_settings(), Resources.from_settings()
        workflow = load_workflow("traced-images", settings)
        job_id = register_job(JobRequest(batch_id="imgs", workflow_id="traced-images", job_id="twice"), workflow, resources)
        chunks = start_job(job_id, resources, settings).pending_chunks

        @flow(task_runner=build_task_runner(dask(dask_address=scheduler)))
        def duplicated() -> list[str]:
            futures = process_chunk.map(chunks + chunks, workflow_id="traced-images", resources=unmapped(resources),
                                        settings=unmapped(settings))  # fmt: skip
            return [f.result().status for f in futures]

        assert duplicated() == ["done"] * 2 * len(chunks)
        assert Counter(Counter(name for _, name in traces(batch)).values()) == {1: FILES}
        with resources.catalog().read() as conn:
            counted = conn.execute(sa.select(sa.func.sum(job_chunks.c.succeeded)).where(job_chunks.c.job_id == job_id)).scalar_one()
        assert counted == FILES

    def test_a_chunk_whose_dask_worker_dies_mid_way_is_taken_over_and_lands_once(
        self, batch: Path, scheduler: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from flows.process_batch import process_batch

        monkeypatch.setenv("DOCKET_TEST_STEP_SECONDS", "0.05")
        resources = Resources.from_settings()
        killed: list[int] = []
        done_before_death: set[str] = set()

        def done_by(pid: int) -> set[str]:
            with resources.catalog().read() as conn:
                rows = conn.execute(sa.select(job_chunks.c.chunk_id, job_chunks.c.lease_owner).where(
                    job_chunks.c.job_id == "killed", job_chunks.c.status == "done")).all()  # fmt: skip
            return {r.chunk_id for r in rows if (o := leases.parse_owner(r.lease_owner)) is not None and o.pid == pid}

        def kill_a_worker_mid_chunk() -> None:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not killed:
                with resources.catalog().read() as conn:
                    held = conn.execute(sa.select(job_chunks.c.lease_owner).where(
                        job_chunks.c.job_id == "killed", job_chunks.c.status != "done", job_chunks.c.lease_owner.is_not(None))).scalars().all()  # fmt: skip
                pids = {o.pid for o in map(leases.parse_owner, held) if o is not None and o.pid != os.getpid()}
                if pids:
                    victim = min(pids)
                    os.kill(victim, signal.SIGKILL)
                    killed.append(victim)
                    time.sleep(0.5)  # a commit the victim sent just before it died lands now, or never
                    done_before_death.update(done_by(victim))
                    return
                time.sleep(0.05)

        killer = threading.Thread(target=kill_a_worker_mid_chunk, daemon=True)
        killer.start()
        details = process_batch.with_options(task_runner=build_task_runner(dask(dask_address=scheduler)))(
            job=JobRequest(batch_id="imgs", workflow_id="traced-images", job_id="killed")
        )
        killer.join(timeout=5)
        assert killed, "no Dask worker was caught holding a chunk"
        assert (details["state"], details["files_succeeded"], details["files_failed"]) == ("succeeded", FILES, 0)
        documents = table(resources, "killed", "documents")
        assert len(documents) == FILES and documents["file_name"].is_unique
        # it may have finished chunks before it was caught holding one; none after its death
        assert done_by(killed[0]) == done_before_death, "the dead worker completed nothing after death"


class TestDaskIngest:
    def test_an_ingest_on_dask_records_every_file_like_one_on_threads(self, tmp_path: Path, pg_env: Path, scheduler: str,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
        from docket_core.staging.models import IngestRequest
        from docket_core.staging.queries import batch_content
        from flows.ingest_batch import ingest_batch

        monkeypatch.setenv("DOCKET_SHARD_SIZE", "5")
        folder = image_folder(tmp_path / "in", 12)
        (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
        summaries = {}
        for batch_id, runner in (("by-threads", build_task_runner(get_settings())), ("by-dask", build_task_runner(dask(dask_address=scheduler)))):
            request = IngestRequest(batch_id=batch_id, media_kind="images", source_kind="folder", source=str(folder))
            summaries[batch_id] = ingest_batch.with_options(task_runner=runner)(request=request)
        assert (summaries["by-dask"].ingested, summaries["by-dask"].failed, summaries["by-dask"].shards) == (12, 1, 3)

        def rows(batch_id: str) -> list[tuple]:
            return sorted((f["name"], f["status"], f["sha256"], f["error_type"]) for f in batch_content(Resources.from_settings().catalog(), batch_id))

        assert rows("by-dask") == rows("by-threads")
