"""Benchmark of jobs: small images and small invoice PDFs through their workflows.

Measures in one run, on the same staged files:

1. floor: a plain Python loop calling the same step functions (`run_file`) with the same workflow and
   writing the same Parquet parts (`PartWriter`, one part per `shard_size` files, plus the batch
   steps' part); no Prefect, no catalog;
2. Docket: the real `process_batch` flow on the Prefect ephemeral API, after a warm-up flow run, so
   server start-up is not counted;
3. naive: one Prefect task per file (a `@task` around `run_file`, `.map` over the files) on a subset,
   its files/s extrapolated (thousands of mapped tasks choke a SQLite-backed Prefect server);
4. peak memory: the RSS high-water mark of a child process running a whole job (flow, ephemeral API
   client, batch steps) over 10,000 and over 100,000 image files.

Usage: `.venv/bin/python bench/process.py [--files 10000] [--memory-files 100000] [--naive-files 1000]`;
`--files 1000 --memory-files 0` for a quick run. Figures go to stdout and `bench/out/process.json`.
Runtime knobs are read from `DOCKET_*` as in production (e.g. `DOCKET_MAX_WORKERS=2`); the store and
catalog (SQLite) are placed in a temporary folder.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "process.json"
FLOOR_GOAL = 1.15  # Docket at most this many times the plain loop, per core (one process: the loop itself)
POOL_GOAL = 1.6  # Docket on every core at least this many times faster than the plain single-process loop
NAIVE_GOAL = 20.0  # Docket at least this many times faster than one Prefect task per file
MEMORY_GOAL_MIB = 1024.0
SETTLE_S = 3.0  # pause before each flow run, for the Prefect server to finish what the last one sent

WORKLOADS = {  # name: (media kind, workflow)
    "images": ("images", "image-metadata"),
    "pdfs": ("documents", "invoice-capture"),
}


def _isolate(workdir: Path) -> None:
    """Point Prefect and Docket at throwaway state in `workdir`; must run before Prefect is imported."""
    prefect_home = workdir / "prefect"
    prefect_home.mkdir(parents=True, exist_ok=True)
    os.environ.update(
        PREFECT_HOME=str(prefect_home),
        DO_NOT_TRACK="1",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_LEVEL="WARNING",
        DOCKET_HOME=str(workdir / "docket"),
        DOCKET_STORE_URL=str(workdir / "docket" / "store"),
        DOCKET_CATALOG_URL=f"sqlite:///{workdir / 'docket' / 'catalog.db'}",
    )
    os.environ.pop("PREFECT_API_URL", None)
    sys.path.insert(0, str(ROOT))


# --- inputs -----------------------------------------------------------------------------------------


def _jpeg(index: int) -> bytes:
    """A 64x48 JPEG of its own: smooth random blocks (distinct perceptual hashes), EXIF on every other."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(index)
    blocks = rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
    image = Image.fromarray(blocks).resize((64, 48), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    if index % 2:
        exif = Image.Exif()
        exif[0x010F], exif[0x0110] = "Docket", "Bench"  # Make, Model
        exif[0x0112] = (1, 3, 6, 8)[index % 4]  # Orientation
        exif[0x0132] = f"2024:{index % 12 + 1:02d}:{index % 28 + 1:02d} 12:{index % 60:02d}:00"  # DateTime
        image.save(buf, "JPEG", quality=85, exif=exif)
    else:
        image.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def _with_comment(jpeg: bytes, index: int) -> bytes:
    """The same JPEG with a comment segment after SOI naming `index`: same pixels, other sha256."""
    text = b"docket bench copy %08d" % index
    return jpeg[:2] + b"\xff\xfe" + (len(text) + 2).to_bytes(2, "big") + text + jpeg[2:]


def write_images(dest: Path, count: int, *, variants: int | None = None) -> None:
    """`count` JPEGs; with `variants`, that many distinct images copied with a per-file comment (fast)."""
    dest.mkdir(parents=True)
    base = [_jpeg(i) for i in range(variants)] if variants else None
    for i in range(count):
        data = _with_comment(base[i % len(base)], i) if base else _jpeg(i)
        (dest / f"img{i:06d}.jpg").write_bytes(data)


def write_pdfs(dest: Path, count: int, scratch: Path) -> None:
    """`count` invoice PDFs: the generated samples (Factur-X, English and German text) copied, each
    with a comment after `%%EOF` so that every file has its own bytes."""
    from docket_core.invoice_samples.sample_set import write_sample_invoices

    variants = [p.read_bytes() for p in write_sample_invoices(scratch, 12) if p.suffix == ".pdf"]
    dest.mkdir(parents=True)
    for i in range(count):
        (dest / f"invoice{i:06d}.pdf").write_bytes(variants[i % len(variants)] + b"%%docket bench copy %08d\n" % i)


def stage(batch_id: str, media_kind: str, folder: Path) -> int:
    """Stage a folder as a batch with the domain functions (no Prefect); the count of ingested files."""
    from docket_core.resources import Resources
    from docket_core.settings import get_settings
    from docket_core.staging.ingest import ingest_shard
    from docket_core.staging.models import IngestRequest
    from docket_core.staging.plan import begin_ingest
    from docket_core.staging.record import finish_ingest, record_shard

    settings, resources = get_settings(), Resources.from_settings()
    request = IngestRequest(batch_id=batch_id, media_kind=media_kind, source_kind="folder", source=str(folder))
    plan = begin_ingest(request, resources, settings)  # type: ignore[arg-type]
    for shard_id in plan.pending_shards:
        record_shard(resources.catalog(), shard_id, ingest_shard(shard_id, resources, settings))
    return finish_ingest(resources.catalog(), plan.ingest_id).ingested


def staged_files(batch_id: str, limit: int | None = None) -> list[tuple[str, str, str | None, str]]:
    """(local path, name, media type, sha256) of a batch's ingested files, by name."""
    import sqlalchemy as sa

    from docket_core.catalog.schema import files
    from docket_core.resources import Resources
    from docket_core.store import blob_key

    resources = Resources.from_settings()
    store = resources.store()
    query = (
        sa.select(files.c.name, files.c.media_type, files.c.sha256)
        .where(files.c.batch_id == batch_id, files.c.status == "ingested")
        .order_by(files.c.name)
        .limit(limit)
    )
    with resources.catalog().read() as conn:
        return [(store.path(blob_key(r.sha256)), r.name, r.media_type, r.sha256) for r in conn.execute(query)]


# --- the three ways of running a workflow -----------------------------------------------------------


def _batch_part(workflow: Any, batch_id: str, job_id: str, documents: list[tuple[str, dict[str, Any]]], out: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from docket_core.outputs import DATAPOINTS, FileResult, datapoint_rows

    with pq.ParquetWriter(out, DATAPOINTS, compression="zstd") as writer:
        for batch_step in workflow.batch_steps:
            source = f"batch:{batch_step.__name__}"
            extra = batch_step(documents)
            rows = [
                row
                for name, points in sorted(extra.items())
                for row in datapoint_rows(batch_id, job_id, FileResult(name, None, None, "succeeded", points, {k: source for k in points}))
            ]
            writer.write_table(pa.Table.from_pylist(rows, schema=DATAPOINTS))


def run_floor(workflow: Any, batch_id: str, items: list, out: Path, shard_size: int) -> float:
    """The floor: one loop, the same step functions, the same Parquet parts. Returns seconds."""
    from docket_core.jobs.process import part_keys, run_file
    from docket_core.outputs import PartWriter
    from docket_core.store import Store

    job_id = f"floor-{uuid.uuid4().hex[:6]}"
    store = Store(str(out))
    kept = [name for name, kind in workflow.fields.items() if kind != "rows"]
    started = time.perf_counter()
    documents: list[tuple[str, dict[str, Any]]] = []  # what the batch steps read
    for seq, start in enumerate(range(0, len(items), shard_size)):
        docs_key, points_key = part_keys(job_id, seq)
        with PartWriter.open(store, docs_key, points_key, fields=workflow.fields, batch_id=batch_id, job_id=job_id) as writer:
            for path, name, media_type, sha256 in items[start : start + shard_size]:
                result = run_file(workflow, Path(path), name, media_type, sha256)
                writer.add(result)
                if result.status == "succeeded":
                    documents.append((name, {k: result.datapoints.get(k) for k in kept}))
    if workflow.batch_steps:
        _batch_part(workflow, batch_id, job_id, documents, Path(store.path(f"jobs/{job_id}/datapoints")) / "part-batch.parquet")
    return time.perf_counter() - started


def run_docket(batch_id: str, workflow_id: str, runner: str = "auto") -> tuple[float, dict[str, Any]]:
    """The real `process_batch` flow on the task runner named (`threads`: one process; `processes`:
    one worker process per core). Returns seconds and the job details."""
    from docket_core.jobs.models import JobRequest
    from docket_core.settings import get_settings
    from flows.process_batch import process_batch
    from tasks.resources import build_task_runner

    job = JobRequest(batch_id=batch_id, workflow_id=workflow_id, job_id=f"bench-{uuid.uuid4().hex[:8]}")
    forced = {"process_min_tasks": 1} if runner == "processes" else {}  # the pool itself, whatever the size
    flow = process_batch.with_options(task_runner=build_task_runner(get_settings(task_runner=runner, **forced)))
    started = time.perf_counter()
    details = flow(job=job)
    seconds = time.perf_counter() - started
    if details["state"] != "succeeded":
        raise SystemExit(f"job over {batch_id!r} ended {details['state']}: {details.get('error')}")
    return seconds, details


def _naive_flow():  # noqa: ANN202 - built late: Prefect is imported only after `_isolate`
    from prefect import flow, task, unmapped
    from prefect.cache_policies import NO_CACHE

    from docket_core.jobs.process import run_file
    from docket_core.settings import get_settings
    from tasks.resources import build_task_runner

    @task(name="one-file", cache_policy=NO_CACHE)
    def one_file(item: tuple[str, str, str | None, str], workflow: Any) -> Any:
        path, name, media_type, sha256 = item
        return run_file(workflow, Path(path), name, media_type, sha256)

    # threads, as Docket's one-process row: one Prefect task per file, without a worker start-up per run
    @flow(name="naive-per-file", task_runner=build_task_runner(get_settings(task_runner="threads")))
    def naive(items: list, workflow: Any, batch_id: str, out: str, shard_size: int) -> int:
        from docket_core.jobs.process import part_keys
        from docket_core.outputs import PartWriter
        from docket_core.store import Store

        results = [f.result() for f in one_file.map(items, workflow=unmapped(workflow))]
        store, job_id = Store(out), f"naive-{uuid.uuid4().hex[:6]}"
        kept = [name for name, kind in workflow.fields.items() if kind != "rows"]
        for seq, start in enumerate(range(0, len(results), shard_size)):
            docs_key, points_key = part_keys(job_id, seq)
            with PartWriter.open(store, docs_key, points_key, fields=workflow.fields, batch_id=batch_id, job_id=job_id) as writer:
                for result in results[start : start + shard_size]:
                    writer.add(result)
        if workflow.batch_steps:
            documents = [(r.file_name, {k: r.datapoints.get(k) for k in kept}) for r in results if r.status == "succeeded"]
            _batch_part(workflow, batch_id, job_id, documents, Path(store.path(f"jobs/{job_id}/datapoints")) / "part-batch.parquet")
        return len(results)

    return naive


def run_naive(naive: Any, workflow: Any, batch_id: str, items: list, out: Path, shard_size: int) -> float:
    started = time.perf_counter()
    done = naive(items=items, workflow=workflow, batch_id=batch_id, out=str(out), shard_size=shard_size)
    assert done == len(items)
    return time.perf_counter() - started


# --- peak memory ------------------------------------------------------------------------------------


def memory_child(batch_id: str, workflow_id: str) -> None:
    """Run one whole job through the flow and print its seconds and this process's peak RSS as JSON."""
    seconds, details = run_docket(batch_id, workflow_id)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"seconds": seconds, "files": details["files_total"], "peak_rss_mib": peak_kib / 1024}))


def measure_memory(workdir: Path, batch_id: str, workflow_id: str) -> dict[str, Any]:
    """A fresh child process (its own ephemeral Prefect API) runs the job; its peak RSS is read back."""
    env = dict(os.environ, PREFECT_HOME=str(workdir / f"prefect-{batch_id}"))
    Path(env["PREFECT_HOME"]).mkdir(exist_ok=True)
    cmd = [sys.executable, __file__, "--memory-child", batch_id, workflow_id, "--workdir", str(workdir)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"memory child failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the run ----------------------------------------------------------------------------------------


def _cpu() -> float:
    """CPU seconds used so far by this process and by its running children (the Prefect server)."""
    own = os.times()
    ticks = os.sysconf("SC_CLK_TCK")
    children = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        if int(fields[1]) == os.getpid():
            children += (int(fields[11]) + int(fields[12])) / ticks
    return own.user + own.system + children


def _timed(run: Any, *args: Any) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds of this process and the Prefect server, the run's result)."""
    cpu, started = _cpu(), time.perf_counter()
    result = run(*args)
    return time.perf_counter() - started, _cpu() - cpu, result


def _runs(seconds: list[float]) -> str:
    return " ".join(f"{x:.2f}" for x in seconds) + " s"


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min)"


def _row(workload: str, method: str, files: int, seconds: float, **extra: Any) -> dict[str, Any]:
    return {"workload": workload, "method": method, "files": files, "seconds": round(seconds, 3),
            "files_per_s": round(files / seconds, 1), **extra}  # fmt: skip


def _print_table(rows: list[dict[str, Any]]) -> None:
    head = ["workload", "files", "seconds", "files/s", "CPU s", "load", "vs floor", "vs naive", "goals met", "peak RSS"]
    lines = []
    for r in rows:
        vs_floor = f"{r['slower_than_floor']:.2f}x time, {r['cpu_vs_floor']:.2f}x CPU" if "slower_than_floor" in r else ""
        if "faster_than_floor" in r:
            vs_floor = f"{r['faster_than_floor']:.2f}x faster, {r['slower_than_floor_per_core']:.2f}x time per core"
        vs_naive = f"{r['faster_than_naive']:.1f}x faster" if "faster_than_naive" in r else ""
        goals = {True: "yes", False: "NO"}.get(r.get("goals_met"), "")  # type: ignore[call-overload]
        rss = f"{r['peak_rss_mib']:.0f} MiB" if "peak_rss_mib" in r else ""
        name = f"{r['workload']}: {r['method']}"
        cpu = f"{r['cpu_seconds']:.2f}" if "cpu_seconds" in r else ""
        load = f"{r['load']:.1f}" if "load" in r else ""
        lines.append([name, f"{r['files']:,}", f"{r['seconds']:.2f}", f"{r['files_per_s']:,.0f}", cpu, load, vs_floor, vs_naive, goals, rss])
    widths = [max(len(x) for x in col) for col in zip(head, *lines)]
    for line in [head, ["-" * w for w in widths], *lines]:
        print("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000, help="files per workload (images, PDFs)")
    parser.add_argument("--naive-files", type=int, default=1_000, help="subset run as one Prefect task per file")
    parser.add_argument("--memory-files", type=int, default=100_000, help="images in the large memory job; 0 skips it")
    parser.add_argument("--repeat", type=int, default=3, help="floor and Docket runs per workload, alternating; best counts")
    parser.add_argument("--workloads", default="images,pdfs", help="comma separated: images, pdfs")
    parser.add_argument("--workdir", type=Path, default=None, help="where inputs, store and catalog go (a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--memory-child", nargs=2, metavar=("BATCH", "WORKFLOW"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.memory_child:
        _isolate(args.workdir)
        memory_child(*args.memory_child)
        return

    workdir = Path(tempfile.mkdtemp(prefix="docket-bench-process-", dir=args.workdir))
    _isolate(workdir)
    from docket_core.settings import get_settings
    from docket_core.settings.jobs import usable_cores
    from docket_core.workflows.registry import get_workflow, load_workflows

    settings = get_settings()
    cores = usable_cores()
    print(f"Docket jobs benchmark in {workdir}: {cores} cores usable ({os.cpu_count()} on the machine), Python {platform.python_version()}, SQLite "
          f"catalog, shard_size={settings.shard_size} max_workers={settings.max_workers} file_workers={settings.file_workers}")  # fmt: skip
    load_before = _load()
    print(f"{load_before}; other work on the machine slows every figure (best of --repeat runs is kept)")
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    try:
        inputs = {}
        for workload in workloads:
            media_kind, workflow_id = WORKLOADS[workload]
            folder = workdir / "in" / workload
            t = time.perf_counter()
            if workload == "images":
                write_images(folder, args.files)
            else:
                write_pdfs(folder, args.files, workdir / "in" / "pdf-samples")
            staged = stage(workload, media_kind, folder)
            inputs[workload] = staged_files(workload)
            print(f"{workload}: {staged:,} files generated and staged in {time.perf_counter() - t:.1f}s (not timed)")

        # Warm-up: the first flow runs start the ephemeral Prefect server (a subprocess) and register
        # both flows; the server then stays up (idle between runs) for everything timed below.
        t = time.perf_counter()
        write_images(workdir / "in" / "warm", 8)
        stage("warm", "images", workdir / "in" / "warm")
        naive = _naive_flow()
        run_docket("warm", "image-metadata")
        run_naive(naive, get_workflow("image-metadata", load_workflows()), "warm", staged_files("warm"), workdir / "naive", settings.shard_size)
        print(f"warm-up flow runs (Prefect server start-up, not counted): {time.perf_counter() - t:.1f}s")

        for workload in workloads:
            workflow_id = WORKLOADS[workload][1]
            workflow = get_workflow(workflow_id, load_workflows())
            items = inputs[workload]
            run_floor(workflow, workload, items[:50], workdir / "floor", settings.shard_size)  # imports, caches
            # Floor and Docket alternate, best of `--repeat` each: other load on the machine then hits
            # both alike, and the best run is the one least disturbed by it.
            floor_runs, docket_runs, pool_runs, floor_cpu, docket_cpu, loads = [], [], [], [], [], []
            for _ in range(args.repeat):
                time.sleep(SETTLE_S)
                loads.append(os.getloadavg()[0])
                _, cpu, seconds = _timed(run_floor, workflow, workload, items, workdir / "floor", settings.shard_size)
                floor_runs.append(seconds)
                floor_cpu.append(cpu)
                time.sleep(SETTLE_S)
                _, cpu, (seconds, details) = _timed(run_docket, workload, workflow_id, "threads")
                assert details["files_total"] == len(items) and details["files_failed"] == 0, details
                docket_runs.append(seconds)
                docket_cpu.append(cpu)
                time.sleep(SETTLE_S)
                _, _, (seconds, details) = _timed(run_docket, workload, workflow_id, "processes")
                assert details["files_total"] == len(items) and details["files_failed"] == 0, details
                pool_runs.append(seconds)
            subset = items[: args.naive_files]
            time.sleep(SETTLE_S)
            naive_s = run_naive(naive, workflow, workload, subset, workdir / "naive", settings.shard_size)

            floor_s, docket_s, pool_s = min(floor_runs), min(docket_runs), min(pool_runs)
            load = round(max(loads), 1)
            floor = _row(workload, "floor (plain loop, 1 process)", len(items), floor_s, runs=[round(x, 3) for x in floor_runs],
                         cpu_seconds=round(min(floor_cpu), 3), load=load)  # fmt: skip
            naive_row = _row(workload, f"naive (1 task/file; {len(subset):,} run)", len(items), naive_s * len(items) / len(subset),
                             measured_files=len(subset), measured_seconds=round(naive_s, 3), load=load)  # fmt: skip
            slower = docket_s / floor_s
            per_core = pool_s / (floor_s / cores)
            speedup = floor_s / pool_s
            faster = (len(items) / min(docket_s, pool_s)) / (len(subset) / naive_s)
            docket = _row(workload, "Docket process_batch, threads (1 process)", len(items), docket_s, runs=[round(x, 3) for x in docket_runs],
                          cpu_seconds=round(min(docket_cpu), 3), cpu_vs_floor=round(min(docket_cpu) / min(floor_cpu), 3),
                          slower_than_floor=round(slower, 3), load=load, goals_met=slower <= FLOOR_GOAL)  # fmt: skip
            pool = _row(workload, f"Docket process_batch, {cores} worker processes", len(items), pool_s,
                        runs=[round(x, 3) for x in pool_runs], slower_than_floor_per_core=round(per_core, 3),
                        faster_than_floor=round(speedup, 2), faster_than_naive=round(faster, 1), load=load,
                        goals_met=per_core <= FLOOR_GOAL and speedup >= POOL_GOAL and faster >= NAIVE_GOAL)  # fmt: skip
            rows += [floor, docket, pool, naive_row]
            print(f"{workload}: floor {_runs(floor_runs)} (CPU {_runs(floor_cpu)}), Docket threads {_runs(docket_runs)} "
                  f"(CPU with the Prefect server {_runs(docket_cpu)}), Docket {cores} processes {_runs(pool_runs)}, "
                  f"naive {naive_s:.2f} s for {len(subset):,} files")

        memory_jobs = ["images"] if "images" in workloads else []
        if args.memory_files:
            folder = workdir / "in" / "memory"
            t = time.perf_counter()
            write_images(folder, args.memory_files, variants=64)
            stage("memory", "images", folder)
            print(f"memory: {args.memory_files:,} images generated and staged in {time.perf_counter() - t:.1f}s (not timed)")
            memory_jobs.append("memory")
        for batch_id in memory_jobs:
            found = measure_memory(workdir, batch_id, "image-metadata")
            peak = found["peak_rss_mib"]
            rows.append(_row("images", "peak memory (child process, whole job)", found["files"], found["seconds"],
                             peak_rss_mib=round(peak, 1), goals_met=peak < MEMORY_GOAL_MIB))  # fmt: skip
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    print()
    _print_table(rows)
    memory = [r for r in rows if "peak_rss_mib" in r]
    if len(memory) > 1:
        first, last = memory[0], memory[-1]
        print(f"\npeak RSS {last['peak_rss_mib'] / first['peak_rss_mib']:.2f}x from {first['files']:,} to {last['files']:,} files")
    print(f"vs floor: Docket seconds / floor seconds (threads, goal <= {FLOOR_GOAL}); on {cores} processes: Docket seconds /")
    print(f"(floor seconds / {cores}) (goal <= {FLOOR_GOAL}) and floor seconds / Docket seconds (goal >= {POOL_GOAL});")
    print("vs naive: Docket files/s / naive files/s (goal >= 20); load: highest 1-minute load average before a run;")
    print("floor and Docket: best of --repeat alternating runs; naive: measured on the subset, files/s extrapolated;")
    print(f"warm-up flow runs excluded. Before: {load_before}; after: {_load()}. Total {time.perf_counter() - started:.0f}s.")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({
        "cores": cores, "python": platform.python_version(), "load_before": load_before, "load_after": _load(),
        "repeat": args.repeat, "settings": {"shard_size": settings.shard_size, "max_workers": settings.max_workers, "file_workers": settings.file_workers},
        "goals": {"slower_than_floor_at_most": FLOOR_GOAL, "faster_than_floor_on_every_core_at_least": POOL_GOAL, "faster_than_naive_at_least": NAIVE_GOAL, "peak_rss_mib_under": MEMORY_GOAL_MIB},
        "rows": rows,
    }, indent=2) + "\n")  # fmt: skip
    print(f"figures written to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
