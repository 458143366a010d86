"""One job spread over two Prefect process workers, on a Prefect server backed by PostgreSQL, with the
catalog on PostgreSQL and the store on S3 (moto's server on loopback): both workers take part, the output
is complete and exact, and killing a worker mid-job still completes it with every file exactly once."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from docket_core.catalog.schema import job_chunks
from docket_core.jobs import leases
from docket_core.jobs.models import JobRequest
from docket_core.jobs.queries import job_details
from docket_core.resources import Resources
from docket_core.settings import DocketSettings
from docket_core.workflows.registry import get_workflow, load_workflows
from tests.docket_core.jobs.test_jobs import run, stage
from tests.helpers import image_folder
from tests.scale.cluster import CATALOG_BLOCK, STORE_BLOCK, Deployment, kill_tree, shared_deployment, worker_of
from tests.scale.workflows import traces

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

FILES, SHARD = 240, 10
WORKFLOW = "traced-images"
VOLATILE = ["job_id", "processed_at"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, postgres_admin_url: str) -> Iterator[Deployment]:
    """The shared deployment with two workers, a staged batch on S3, and the reference job's output."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    root = tmp_path_factory.mktemp("cluster")
    trace = root / "trace"
    trace.mkdir()
    docket_env = {
        "DOCKET_SHARD_SIZE": str(SHARD), "DOCKET_WORKFLOW_MODULES": "tests.scale.workflows",
        "DOCKET_MAX_WORKERS": "1", "DOCKET_FILE_WORKERS": "1", "DOCKET_LEASE_SECONDS": "20",
        "DOCKET_TEST_TRACE": str(trace), "DOCKET_TEST_STEP_SECONDS": "0.04",  # a job of about 10 s of work
    }  # fmt: skip
    with shared_deployment(root, postgres_admin_url, docket_env) as deployment:
        deployment.start_worker("worker-a")
        deployment.start_worker("worker-b")
        resources = deployment.resources
        settings = DocketSettings(shard_size=SHARD, workflow_modules=["tests.scale.workflows"])
        stage(image_folder(root / "in", FILES), resources, settings)
        # The reference: the same workflow over the same batch, in this process, one chunk after another.
        workflow = get_workflow(WORKFLOW, load_workflows(modules=settings.workflow_modules))
        assert run(JobRequest(batch_id="imgs", workflow_id=WORKFLOW, job_id="reference"), workflow, resources, settings)["state"] == "succeeded"
        deployment.wait_workers_online(2)
        yield deployment


def table(resources: Resources, job_id: str, kind: str) -> pd.DataFrame:
    store = resources.store()
    frame = pq.read_table(store.path(f"jobs/{job_id}/{kind}"), filesystem=store.fs).to_pandas()
    frame = frame.drop(columns=[c for c in VOLATILE if c in frame.columns])
    keys = ["file_name"] if kind == "documents" else list(frame.columns)
    return frame.sort_values(keys, key=lambda s: s.astype(str)).reset_index(drop=True)


def assert_exact(resources: Resources, job_id: str) -> None:
    """Every file once, and the same rows as the reference job, in both tables."""
    details = job_details(resources.catalog(), job_id)
    assert (details["state"], details["files_succeeded"], details["files_failed"]) == ("succeeded", FILES, 0), details
    for kind in ("documents", "datapoints"):
        pd.testing.assert_frame_equal(table(resources, job_id, kind), table(resources, "reference", kind))
    parts = sorted(k.rsplit("/", 1)[1] for k in resources.store().list(f"jobs/{job_id}/documents"))
    assert parts == [f"part-{n:05d}.parquet" for n in range(FILES // SHARD)]


def chunk_owners(resources: Resources, job_id: str, *, done: bool | None = None) -> dict[str, leases.Owner]:
    query = sa.select(job_chunks.c.chunk_id, job_chunks.c.lease_owner).where(job_chunks.c.job_id == job_id,
                                                                            job_chunks.c.lease_owner.is_not(None))  # fmt: skip
    if done is not None:
        query = query.where((job_chunks.c.status == "done") if done else (job_chunks.c.status != "done"))
    with resources.catalog().read() as conn:
        rows = conn.execute(query).all()
    return {r.chunk_id: o for r in rows if (o := leases.parse_owner(r.lease_owner)) is not None}


def start_job(cluster: Deployment, job_id: str) -> str:
    return cluster.run_deployment("process_batch/process-batch", {
        "job": {"batch_id": "imgs", "workflow_id": WORKFLOW, "job_id": job_id},
        "store_block": STORE_BLOCK, "catalog_block": CATALOG_BLOCK, "fanout": 2,
    })  # fmt: skip


class TestTwoWorkers:
    def test_a_job_spreads_over_both_workers_and_its_output_is_complete_and_exact(self, cluster: Deployment) -> None:
        run_id = start_job(cluster, "spread")
        ended = cluster.wait_flow_run(run_id)
        assert ended["state"]["type"] == "COMPLETED", cluster.logs()
        resources = cluster.resources
        assert_exact(resources, "spread")

        workers = {o.ppid for o in chunk_owners(resources, "spread", done=True).values()}
        assert workers == {w.pid for w in cluster.workers}, f"chunks done under workers {workers}, expected both"
        helpers = cluster.flow_runs("process_chunks")
        assert len(helpers) == 2 and all(h["state"]["type"] == "COMPLETED" for h in helpers)
        processed = Counter(name for _, name in traces(cluster.root / "trace"))
        assert len(processed) == FILES and set(processed.values()) == {1}, "each file processed once"

    def test_a_worker_killed_mid_job_leaves_its_chunk_to_the_survivor_and_the_job_completes_once(self, cluster: Deployment) -> None:
        resources = cluster.resources
        run_id = start_job(cluster, "killed")
        deadline = time.monotonic() + 120
        parent = None
        while parent is None and time.monotonic() < deadline:  # the worker running the job's own flow run
            pid = cluster.get(f"/flow_runs/{run_id}").get("infrastructure_pid")
            parent = worker_of(int(pid.rsplit(":", 1)[-1]), cluster.workers) if pid else None
            time.sleep(0.2)
        assert parent is not None, cluster.logs()
        [victim] = [w for w in cluster.workers if w is not parent]

        in_flight: set[str] = set()
        while not in_flight and time.monotonic() < deadline:  # wait for the victim's helper to hold a chunk
            in_flight = {c for c, o in chunk_owners(resources, "killed", done=False).items() if o.ppid == victim.pid}
            time.sleep(0.05)
        assert in_flight, f"the other worker never held a chunk: {cluster.logs()}"
        killed = kill_tree(victim)
        assert len(killed) >= 2  # the worker and its flow run

        ended = cluster.wait_flow_run(run_id)
        assert ended["state"]["type"] == "COMPLETED", cluster.logs()
        assert_exact(resources, "killed")
        done = chunk_owners(resources, "killed", done=True)
        assert all(done[c].ppid == parent.pid and done[c].pid not in killed for c in in_flight), (in_flight, done)
