"""A shared deployment on one machine that behaves like several, from real processes only:

- S3: moto's standalone server on loopback (the code path is plain s3fs);
- PostgreSQL: a fresh database for the Prefect server and another for Docket's catalog;
- a `prefect server start` on a free loopback port, backed by that database;
- a process work pool, `prefect deploy --all` from the repo's prefect.yaml, and `prefect worker start`
  processes, each in a session of its own;
- Docket's store and catalog as blocks on that server (what deployments on shared infrastructure use).

Everything is stopped and dropped on exit, also after a failure.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import sqlalchemy as sa
import yaml

from docket_core.resources import Resources
from tests.e2e.processes import REPO, base_env, free_port, start, stop, wait_http

POOL = "docket"
STORE_BLOCK, CATALOG_BLOCK = "scale-store", "scale-catalog"
KEY, SECRET, REGION = "testing-key", "testing-secret", "us-east-1"

# What prefect.yaml must declare for jobs to fan out (docs/scaling.md); added to a copy of the repo's
# file when the repo's file does not have it yet.
CHUNKS_DEPLOYMENT: dict[str, Any] = {
    "name": "process-chunks",
    "entrypoint": "flows/process_chunks.py:process_chunks",
    "description": "More hands on a running job: lease its free chunks one at a time and process them until none is left.",
    "work_pool": {"name": POOL},
    "tags": ["docket", "jobs"],
}


@dataclass
class Deployment:
    """The running set-up: where each part answers, and the worker processes."""

    root: Path
    api: str
    s3_endpoint: str
    bucket: str
    catalog_url: str
    env: dict[str, str]
    worker_env: dict[str, str]
    workers: list[subprocess.Popen] = field(default_factory=list)

    @property
    def resources(self) -> Resources:
        """The store (S3) and catalog (PostgreSQL) as the test process reaches them."""
        options = {"key": KEY, "secret": SECRET, "client_kwargs": {"endpoint_url": self.s3_endpoint, "region_name": REGION}}
        return Resources(store_url=f"s3://{self.bucket}/docket", storage_options=options, catalog_url=self.catalog_url)

    def get(self, path: str) -> Any:
        response = httpx.get(f"{self.api}{path}", timeout=30)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        response = httpx.post(f"{self.api}{path}", json=body, timeout=30)
        response.raise_for_status()
        return response.json()

    def prefect(self, *args: str, timeout: float = 300) -> str:
        done = subprocess.run([sys.executable, "-m", "prefect", *args], env=self.env, cwd=str(REPO),
                              capture_output=True, text=True, timeout=timeout)  # fmt: skip
        if done.returncode:
            raise AssertionError(f"prefect {' '.join(args)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done.stdout

    def start_worker(self, name: str, limit: int = 2) -> subprocess.Popen:
        """A `prefect worker start` process running at most `limit` flow runs at once (with 2: the job's
        own run and one helper, so that helpers spread over the workers)."""
        log = self.root / f"worker-{name}.log"
        args = [sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL, "--name", name, "--limit", str(limit)]
        proc = start(args, self.worker_env, log)
        self.workers.append(proc)
        return proc

    def wait_workers_online(self, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            online = [w for w in self.post(f"/work_pools/{POOL}/workers/filter", {}) if w.get("status") == "ONLINE"]
            if len(online) >= count:
                return
            for proc in self.workers:
                if proc.poll() is not None:
                    raise AssertionError(f"a worker exited with {proc.returncode}: {self.logs()}")
            time.sleep(0.5)
        raise AssertionError(f"{count} workers were not online within {timeout} s: {self.logs()}")

    def run_deployment(self, name: str, parameters: dict[str, Any]) -> str:
        deployment = self.get(f"/deployments/name/{name}")
        return self.post(f"/deployments/{deployment['id']}/create_flow_run", {"parameters": parameters})["id"]

    def wait_flow_run(self, run_id: str, timeout: float = 300) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.get(f"/flow_runs/{run_id}")
            if run["state"] and run["state"]["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
                return run
            time.sleep(0.5)
        raise AssertionError(f"flow run {run_id} did not end within {timeout} s: {self.logs()}")

    def flow_runs(self, flow_name: str) -> list[dict[str, Any]]:
        return self.post("/flow_runs/filter", {"flows": {"name": {"any_": [flow_name]}}})

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}" for p in sorted(self.root.glob("*.log")))


def worker_of(pid: int, workers: list[subprocess.Popen]) -> subprocess.Popen | None:
    """The worker `pid` runs under (itself or an ancestor), while `pid` is alive."""
    by_pid = {w.pid: w for w in workers}
    try:
        chain = [psutil.Process(pid), *psutil.Process(pid).parents()]
    except psutil.NoSuchProcess:
        return None
    return next((by_pid[p.pid] for p in chain if p.pid in by_pid), None)


def kill_tree(proc: subprocess.Popen) -> list[int]:
    """SIGKILL a worker and every process under it (its flow runs live in sessions of their own), as a
    machine that dies would; the pids killed."""
    try:
        tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []
    for p in tree:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    proc.wait(timeout=30)
    psutil.wait_procs(tree, timeout=30)
    return [p.pid for p in tree]


@contextmanager
def _database(admin_url: str, prefix: str) -> Iterator[str]:
    """A fresh PostgreSQL database (its name), dropped on exit."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()")
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        admin.dispose()


@contextmanager
def _moto(bucket: str) -> Iterator[str]:
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{server._server.server_port}"  # noqa: SLF001 - the port moto chose
        boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                     region_name=REGION).create_bucket(Bucket=bucket)  # fmt: skip
        yield endpoint
    finally:
        server.stop()


def _prefect_file(root: Path) -> Path:
    """The repo's prefect.yaml; a copy with the `process-chunks` deployment added if it lacks it."""
    repo_file = REPO / "prefect.yaml"
    spec = yaml.safe_load(repo_file.read_text())
    if any(d.get("name") == CHUNKS_DEPLOYMENT["name"] for d in spec.get("deployments", [])):
        return repo_file
    spec["deployments"].append(CHUNKS_DEPLOYMENT)
    copy = root / "prefect.yaml"
    copy.write_text(yaml.safe_dump(spec, sort_keys=False))
    return copy


@contextmanager
def shared_deployment(root: Path, admin_url: str, docket_env: dict[str, str]) -> Iterator[Deployment]:
    """Start every part (no workers yet: `start_worker`); stop and drop everything on exit."""
    with ExitStack() as stack:
        bucket = f"docket-{uuid.uuid4().hex[:8]}"
        s3 = stack.enter_context(_moto(bucket))
        pg = sa.make_url(admin_url)
        prefect_db = stack.enter_context(_database(admin_url, "docket_prefect"))
        catalog_db = stack.enter_context(_database(admin_url, "docket_catalog"))
        server_url = pg.set(drivername="postgresql+asyncpg", database=prefect_db).render_as_string(hide_password=False)
        catalog_url = pg.set(database=catalog_db).render_as_string(hide_password=False)

        port = free_port()
        api = f"http://127.0.0.1:{port}/api"
        env = base_env(root / "prefect-home") | {"PREFECT_API_URL": api}
        server_env = base_env(root / "server-home") | {
            "PREFECT_API_DATABASE_CONNECTION_URL": server_url,
            # only what the test starts runs: no schedules (deliver-notifications every minute)
            "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
        }
        server = start([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                       server_env, root / "server.log")  # fmt: skip
        stack.callback(stop, server)
        wait_http(f"{api}/health", server, root / "server.log", timeout=180)

        worker_env = env | docket_env | {
            "DOCKET_REPO_DIR": str(REPO), "DOCKET_HOME": str(root / "docket-home"),
            "PREFECT_WORKER_QUERY_SECONDS": "1", "PREFECT_WORKER_PREFETCH_SECONDS": "1",
        }  # fmt: skip
        deployment = Deployment(root, api, s3, bucket, catalog_url, env, worker_env)
        stack.callback(lambda: [stop(w) for w in deployment.workers])

        deployment.prefect("work-pool", "create", POOL, "--type", "process")
        deployment.prefect("--no-prompt", "deploy", "--all", "--prefect-file", str(_prefect_file(root)))
        _save_blocks(deployment)
        yield deployment


def _save_blocks(deployment: Deployment) -> None:
    """The store and catalog blocks, saved on the deployment's server by a Prefect client process."""
    code = (
        "import sys; from blocks import DocketCatalog, DocketStore\n"
        "url, endpoint, catalog = sys.argv[1:4]\n"
        f"DocketStore(url=url, key={KEY!r}, secret={SECRET!r}, endpoint_url=endpoint,\n"
        f"            storage_options={{'client_kwargs': {{'region_name': {REGION!r}}}}}).save({STORE_BLOCK!r}, overwrite=True)\n"
        f"DocketCatalog(url=catalog).save({CATALOG_BLOCK!r}, overwrite=True)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, f"s3://{deployment.bucket}/docket", deployment.s3_endpoint,
                           deployment.catalog_url], env=deployment.env, cwd=str(REPO), capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    if done.returncode:
        raise AssertionError(f"saving the blocks failed:\n{done.stderr[-3000:]}")
