"""Chunk leases on SQLite and PostgreSQL: one holder at a time, takeover after expiry or death, and
results counted once; no Prefect."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from docket_core.catalog import utcnow
from docket_core.catalog.schema import job_chunks
from docket_core.jobs import leases
from docket_core.jobs.finish import finish_job
from docket_core.jobs.models import JobRequest
from docket_core.jobs.plan import register_job, start_job
from docket_core.jobs.process import process_chunk, process_next_chunk
from docket_core.jobs.queries import job_details
from docket_core.resources import Resources
from docket_core.settings import DocketSettings
from docket_core.workflows.model import FileContext, StepOutput
from docket_core.workflows.registry import Workflow, get_workflow, load_workflows
from tests.docket_core.jobs.test_jobs import read_documents, stage
from tests.helpers import image_folder


@pytest.fixture
def resources(catalog_url: str, tmp_path: Path) -> Resources:
    return Resources(store_url=str(tmp_path / "store"), catalog_url=catalog_url)


@pytest.fixture
def settings() -> DocketSettings:
    return DocketSettings(shard_size=2, lease_seconds=30, file_workers=1)


def started_job(tmp_path: Path, resources: Resources, settings: DocketSettings, files: int, job_id: str = "lj",
                workflow: Workflow | None = None) -> tuple[str, list[str], Workflow]:  # fmt: skip
    stage(image_folder(tmp_path / "in", files), resources, settings)
    workflow = workflow or get_workflow("image-metadata", load_workflows())
    job_id = register_job(JobRequest(batch_id="imgs", workflow_id=workflow.workflow_id, job_id=job_id), workflow, resources)
    return job_id, start_job(job_id, resources, settings).pending_chunks, workflow


def chunk_row(resources: Resources, chunk_id: str) -> sa.Row:
    with resources.catalog().read() as conn:
        return conn.execute(sa.select(job_chunks).where(job_chunks.c.chunk_id == chunk_id)).one()


def set_lease(resources: Resources, chunk_id: str, *, hours: float, owner: str | None = None) -> None:
    values: dict = {"lease_expires_at": utcnow() + timedelta(hours=hours)}
    if owner:
        values["lease_owner"] = owner
    with resources.catalog().begin() as conn:
        conn.execute(sa.update(job_chunks).where(job_chunks.c.chunk_id == chunk_id).values(**values))


def expire(resources: Resources, chunk_id: str) -> None:
    set_lease(resources, chunk_id, hours=-1)


class TestClaiming:
    def test_concurrent_claimers_get_every_chunk_exactly_once(self, tmp_path: Path, resources: Resources, settings: DocketSettings) -> None:
        job_id, chunks, _ = started_job(tmp_path, resources, settings, 24)

        def claim_all(_: int) -> list[str]:
            mine = []
            while (lease := leases.claim_next(resources.catalog(), job_id, 30)) is not None:
                mine.append(lease.chunk_id)
            return mine

        with ThreadPoolExecutor(8) as pool:
            claimed = [c for got in pool.map(claim_all, range(8)) for c in got]
        assert sorted(claimed) == chunks and len(set(claimed)) == len(chunks) == 12
        left = leases.outstanding(resources.catalog(), job_id)
        assert (left.chunks, left.held, left.settled) == (12, 12, False)

    def test_an_owner_names_the_process_and_its_parent(self) -> None:
        import os

        owner = leases.parse_owner(leases.new_owner())
        assert owner is not None and (owner.pid, owner.ppid) == (os.getpid(), os.getppid())
        assert leases.new_owner() != leases.new_owner()  # a token per lease
        assert leases.parse_owner("someone else") is None

    def test_an_expired_lease_is_taken_over_and_the_stale_holder_can_neither_renew_nor_complete(
        self, tmp_path: Path, resources: Resources, settings: DocketSettings
    ) -> None:
        job_id, chunks, _ = started_job(tmp_path, resources, settings, 2)
        catalog = resources.catalog()
        stale = leases.claim_next(catalog, job_id, 30)
        assert stale is not None and leases.claim_next(catalog, job_id, 30) is None  # held
        expire(resources, stale.chunk_id)
        fresh = leases.claim_next(catalog, job_id, 30)
        assert fresh is not None and fresh.chunk_id == stale.chunk_id and fresh.owner != stale.owner
        assert not leases.renew(catalog, stale)
        with catalog.begin() as conn:
            assert not leases.complete(conn, stale, succeeded=99)
            assert leases.complete(conn, fresh, succeeded=2)
        row = chunk_row(resources, fresh.chunk_id)
        assert (row.status, row.succeeded, row.lease_owner, row.lease_expires_at) == ("done", 2, fresh.owner, None)

    def test_a_lease_of_a_dead_process_of_this_machine_is_taken_over_at_once(
        self, tmp_path: Path, resources: Resources, settings: DocketSettings
    ) -> None:
        job_id, chunks, _ = started_job(tmp_path, resources, settings, 2)
        catalog = resources.catalog()
        child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
        mine = leases.parse_owner(leases.new_owner())
        assert mine is not None
        dead = f"{mine.host}/{int(child.stdout)}/1/{mine.machine}/deadbeef"
        other_machine = f"{mine.host}/{int(child.stdout)}/1/0000000000/deadbeef"
        for owner in (other_machine, dead):
            set_lease(resources, chunks[0], hours=1, owner=owner)
            taken = leases.claim_next(catalog, job_id, 30)
            if owner == other_machine:  # a pid of another machine proves nothing here: wait for expiry
                assert taken is None
            else:
                assert taken is not None and taken.chunk_id == chunks[0]

    def test_only_one_of_two_runs_gets_to_export_a_job(self, tmp_path: Path, resources: Resources, settings: DocketSettings) -> None:
        job_id, _, _ = started_job(tmp_path, resources, settings, 2)
        with ThreadPoolExecutor(2) as pool:
            assert sorted(pool.map(lambda _: leases.claim_finish(resources.catalog(), job_id), range(2))) == [False, True]

    def test_a_restart_while_another_run_exports_leaves_the_export_to_it_unless_told_to_take_over(
        self, tmp_path: Path, resources: Resources, settings: DocketSettings
    ) -> None:
        job_id, chunks, workflow = started_job(tmp_path, resources, settings, 2)
        for chunk_id in chunks:
            process_chunk(chunk_id, workflow, resources, settings)
        assert leases.claim_finish(resources.catalog(), job_id)  # the first run is now exporting
        again = start_job(job_id, resources, settings, flow_run_id="second-run")
        assert (again.pending_chunks, again.finished) == ([], False)
        assert not leases.claim_finish(resources.catalog(), job_id), "the second run must not export it too"
        details = job_details(resources.catalog(), job_id)
        assert (details["state"], details["stage"]) == ("running", "export") and details["flow_run_id"] != "second-run"
        # the first run died mid-export: a restart told to take over exports it once
        start_job(job_id, resources, settings, flow_run_id="third-run", take_over_export=True)
        assert leases.claim_finish(resources.catalog(), job_id)
        assert finish_job(job_id, workflow, resources)["state"] == "succeeded"
        assert len(read_documents(resources, job_id)) == 2


class TestDuplicates:
    def test_two_calls_for_one_chunk_at_once_process_each_file_once_and_count_it_once(
        self, tmp_path: Path, resources: Resources, settings: DocketSettings
    ) -> None:
        seen: Counter[str] = Counter()
        both_inside = threading.Barrier(2, timeout=30)

        def slow(ctx: FileContext) -> StepOutput:
            seen[ctx.name] += 1
            time.sleep(0.2)
            return StepOutput(datapoints={"n": 1})

        workflow = Workflow.build("slow", [("slow", slow, ())], media=["images"], fields={"n": "int"})
        job_id, chunks, _ = started_job(tmp_path, resources, settings, 2, workflow=workflow)

        def call(_: int):  # noqa: ANN202
            both_inside.wait()
            return process_chunk(chunks[0], workflow, resources, settings)

        with ThreadPoolExecutor(2) as pool:
            summaries = list(pool.map(call, range(2)))
        assert [(s.status, s.succeeded) for s in summaries] == [("done", 2), ("done", 2)]
        assert seen == {"img0000.jpg": 1, "img0001.jpg": 1}
        assert chunk_row(resources, chunks[0]).succeeded == 2

    def test_a_holder_overtaken_mid_chunk_writes_no_part_and_the_new_holder_finishes_it(
        self, tmp_path: Path, resources: Resources, settings: DocketSettings
    ) -> None:
        takeover: dict[str, leases.Lease] = {}

        def overtaken(ctx: FileContext) -> StepOutput:
            if ctx.name == "img0001.jpg" and not takeover:  # a stall past the lease: another worker takes the chunk
                [chunk_id] = [c for c in started if chunk_row(resources, c).lease_owner]
                expire(resources, chunk_id)
                other = leases.claim_next(resources.catalog(), job_id, 30)
                assert other is not None
                takeover["lease"] = other
            return StepOutput(datapoints={"n": 1})

        workflow = Workflow.build("overtaken", [("o", overtaken, ())], media=["images"], fields={"n": "int"})
        job_id, started, _ = started_job(tmp_path, resources, settings, 2, workflow=workflow)
        summary = process_next_chunk(job_id, workflow, resources, settings)
        assert summary is not None and summary.status == "lost"
        assert not Path(resources.store().path("jobs/lj/documents/part-00000.parquet")).exists()
        row = chunk_row(resources, started[0])
        assert row.status == "pending" and row.lease_owner == takeover["lease"].owner

    def test_a_job_run_twice_at_once_lands_every_file_once(self, tmp_path: Path, resources: Resources, settings: DocketSettings) -> None:
        job_id, _, workflow = started_job(tmp_path, resources, settings, 12)

        def run(_: int) -> None:
            while (summary := process_next_chunk(job_id, workflow, resources, settings)) is not None:
                assert summary.status == "done"

        with ThreadPoolExecutor(3) as pool:
            list(pool.map(run, range(3)))
        finish_job(job_id, workflow, resources)
        details = job_details(resources.catalog(), job_id)
        assert (details["state"], details["files_succeeded"], details["chunks_done"]) == ("succeeded", 12, 6)
        names = read_documents(resources, job_id)["file_name"]
        assert len(names) == 12 and names.is_unique


class TestHeartbeat:
    def test_a_file_longer_than_the_lease_keeps_its_chunk(self, tmp_path: Path, resources: Resources) -> None:
        settings = DocketSettings(shard_size=2, lease_seconds=1, file_workers=1)
        stolen: list[leases.Lease | None] = []

        def long(ctx: FileContext) -> StepOutput:
            time.sleep(1.5)  # longer than the lease: only the heartbeat keeps it
            stolen.append(leases.claim_next(resources.catalog(), "hb", 1))
            return StepOutput(datapoints={"n": 1})

        workflow = Workflow.build("long", [("long", long, ())], media=["images"], fields={"n": "int"})
        job_id, chunks, _ = started_job(tmp_path, resources, settings, 1, job_id="hb", workflow=workflow)
        assert process_chunk(chunks[0], workflow, resources, settings).status == "done"
        assert stolen == [None]
