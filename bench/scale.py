"""Benchmark of scaling out: one 10,000-file image job three ways, side by side.

1. threads: `process_batch` in this process with the thread runner (the single-process run);
2. Dask: the same flow with `DOCKET_TASK_RUNNER=dask` on a local cluster of 2 worker processes, once
   started and stopped by the flow run itself (`DOCKET_DASK_WORKERS=2`: process start-up and imports are
   paid by every job) and once already running and warm (`DOCKET_DASK_ADDRESS`);
3. two Prefect workers: `process_batch` deployed on a process work pool with two `prefect worker`
   processes, fanned out to one `process-chunks` helper run (`fanout=1`), so the job's chunks are
   leased by two flow runs on two workers. Timed from the request to the run's completion (pick-up by
   a worker and process start-up included), and also as the job's own processing time in the catalog.

Every run shares one Prefect server backed by PostgreSQL, one catalog on PostgreSQL and one store folder,
as several machines would (the store is a local folder here: moto's S3 server is a test double, not a
thing to time). Each run's output is checked against the threads run, row for row.

Usage: `.venv/bin/python bench/scale.py [--files 10000]`; needs the local PostgreSQL
(DOCKET_TEST_POSTGRES_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/test). Figures go to
stdout and `bench/out/scale.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "scale.json"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def _isolate(workdir: Path) -> None:
    os.environ.update(PREFECT_HOME=str(workdir / "prefect-home"), DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false",
                      PREFECT_LOGGING_LEVEL="WARNING", DOCKET_HOME=str(workdir / "docket"))  # fmt: skip
    for key in [k for k in os.environ if k.startswith("DOCKET_") and k != "DOCKET_HOME"]:
        del os.environ[key]
    os.environ.pop("PREFECT_API_URL", None)


def _frame(resources: Any, job_id: str, kind: str) -> Any:
    import pyarrow.parquet as pq

    frame = pq.read_table(resources.store().path(f"jobs/{job_id}/{kind}")).to_pandas()
    frame = frame.drop(columns=[c for c in ("job_id", "processed_at") if c in frame.columns])
    keys = ["file_name"] if kind == "documents" else list(frame.columns)
    return frame.sort_values(keys, key=lambda s: s.astype(str)).reset_index(drop=True)


def _same_rows(resources: Any, job_id: str, reference: str) -> bool:
    return all(_frame(resources, job_id, k).equals(_frame(resources, reference, k)) for k in ("documents", "datapoints"))


def _job_seconds(resources: Any, job_id: str) -> float:
    from docket_core.jobs.queries import job_details

    d = job_details(resources.catalog(), job_id)
    from datetime import datetime

    return (datetime.fromisoformat(d["finished_at"]) - datetime.fromisoformat(d["started_at"])).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    admin_url = os.environ.get("DOCKET_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

    workdir = Path(tempfile.mkdtemp(prefix="docket-bench-scale-"))
    _isolate(workdir)
    from process import write_images  # bench/process.py: the same generated images

    from tests.scale.cluster import shared_deployment

    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    store = workdir / "store"
    docket_env = {"DOCKET_STORE_URL": str(store)}
    try:
        with shared_deployment(workdir, admin_url, docket_env) as cluster:
            os.environ.update(PREFECT_API_URL=cluster.api, DOCKET_CATALOG_URL=cluster.catalog_url, DOCKET_STORE_URL=str(store))
            cluster.worker_env["DOCKET_CATALOG_URL"] = cluster.catalog_url
            from docket_core.jobs.models import JobRequest
            from docket_core.resources import Resources
            from docket_core.settings import get_settings
            from flows.process_batch import process_batch
            from tasks.resources import build_task_runner
            from tests.docket_core.jobs.test_jobs import stage

            settings, resources = get_settings(), Resources.from_settings()
            print(f"Docket scale-out benchmark in {workdir}: {os.cpu_count()} cores, Python {platform.python_version()}, "
                  f"PostgreSQL catalog and Prefect server, shard_size={settings.shard_size} max_workers={settings.max_workers} "
                  f"file_workers={settings.file_workers}")  # fmt: skip
            t = time.perf_counter()
            write_images(workdir / "in", args.files)
            stage(workdir / "in", resources, settings, batch_id="images")
            write_images(workdir / "warm", 16)
            stage(workdir / "warm", resources, settings, batch_id="warm")
            print(f"{args.files:,} images generated and staged in {time.perf_counter() - t:.1f}s (not timed)")
            # warm-up: the first flow run registers the flow and imports what it needs (not timed)
            process_batch(job=JobRequest(batch_id="warm", workflow_id="image-metadata", job_id="warm"), fanout=0)

            def timed(method: str, job_id: str, call: Any) -> None:
                time.sleep(2.0)  # let the server finish what the last run sent
                t0 = time.perf_counter()
                call()
                seconds = time.perf_counter() - t0
                rows.append({"method": method, "job_id": job_id, "files": args.files, "seconds": round(seconds, 2),
                             "files_per_s": round(args.files / seconds, 1), "job_seconds": round(_job_seconds(resources, job_id), 2)})  # fmt: skip
                print(f"{method}: {seconds:.1f}s")

            def job(job_id: str) -> JobRequest:
                return JobRequest(batch_id="images", workflow_id="image-metadata", job_id=job_id)

            timed("threads (1 process)", "threads", lambda: process_batch(job=job("threads"), fanout=0))
            cold = build_task_runner(get_settings(task_runner="dask", dask_workers=2))
            timed("Dask, 2 processes started by the run", "dask-cold",
                  lambda: process_batch.with_options(task_runner=cold)(job=job("dask-cold"), fanout=0))  # fmt: skip
            from distributed import LocalCluster

            with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None, host="127.0.0.1") as lc:
                warm = build_task_runner(get_settings(task_runner="dask", dask_address=lc.scheduler_address))
                process_batch.with_options(task_runner=warm)(job=JobRequest(batch_id="warm", workflow_id="image-metadata",
                                                                            job_id="warm-dask"), fanout=0)  # fmt: skip
                timed("Dask, 2 running processes (address)", "dask-warm",
                      lambda: process_batch.with_options(task_runner=warm)(job=job("dask-warm"), fanout=0))  # fmt: skip

            cluster.start_worker("bench-a", limit=1)  # one flow run each: the job's and its helper's
            cluster.start_worker("bench-b", limit=1)
            cluster.wait_workers_online(2)

            def two_workers() -> None:
                run_id = cluster.run_deployment("process_batch/process-batch", {"job": job("workers").model_dump(), "fanout": 1})
                ended = cluster.wait_flow_run(run_id, timeout=1800)
                if ended["state"]["type"] != "COMPLETED":
                    raise SystemExit(f"the two-worker run ended {ended['state']['type']}:\n{cluster.logs()}")

            timed("2 Prefect workers (fanout=1)", "workers", two_workers)
            from docket_core.jobs.leases import parse_owner
            import sqlalchemy as sa

            from docket_core.catalog.schema import job_chunks

            with resources.catalog().read() as conn:
                owners = conn.execute(sa.select(job_chunks.c.lease_owner).where(job_chunks.c.job_id == "workers")).scalars().all()
            by_worker: dict[int, int] = {}
            for owner in owners:
                parsed = parse_owner(owner)
                if parsed:
                    by_worker[parsed.ppid] = by_worker.get(parsed.ppid, 0) + 1
            rows[-1]["chunks_by_worker"] = sorted(by_worker.values(), reverse=True)

            base = rows[0]
            for row in rows:
                row["vs_threads"] = round(row["files_per_s"] / base["files_per_s"], 3)
                row["same_rows_as_threads"] = row is base or _same_rows(resources, row["job_id"], "threads")
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    print()
    head = ["method", "files", "seconds", "files/s", "vs threads", "job's own s", "same rows"]
    lines = [[r["method"], f"{r['files']:,}", f"{r['seconds']:.1f}", f"{r['files_per_s']:,.0f}", f"{r['vs_threads']:.2f}x",
              f"{r['job_seconds']:.1f}", "yes" if r["same_rows_as_threads"] else "NO"] for r in rows]  # fmt: skip
    widths = [max(len(x) for x in col) for col in zip(head, *lines)]
    for line in [head, ["-" * w for w in widths], *lines]:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths))))
    if "chunks_by_worker" in rows[-1]:
        print(f"\nchunks per worker in the two-worker run: {rows[-1]['chunks_by_worker']}")
    print("files/s over the whole run (wall clock, from the request to the end); `job's own s`: started_at to finished_at")
    print(f"in the catalog (without flow-run pick-up and start-up). Total {time.perf_counter() - started:.0f}s.")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"cores": os.cpu_count(), "python": platform.python_version(),
                               "load_average_at_end": os.getloadavg(), "rows": rows}, indent=2) + "\n")  # fmt: skip
    print(f"figures written to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
