"""Staging throughput: Docket's ingest against the plain Python loop doing the same work, in one run.

    .venv/bin/python bench/ingest.py [--files 10000] [--refs 2000] [--latency-ms 20]

Inputs are generated in a temporary folder: small real JPEGs (64x48, a few pixel variants, each file
made unique by a JPEG comment segment, so every file is a distinct blob to store). Then:

1. baseline folder: a sequential loop that reads each file, hashes its bytes with sha256 and writes
   them into another folder (the floor: copy plus hashing, no validation, no catalog); then the same
   loop plus the full decode that validation requires (Pillow, as Docket calls it), to show how much
   of Docket's time that required work is;
2. Docket folder: the real `ingest_batch` flow on the Prefect ephemeral API, and the same ingest
   through the domain functions alone (plan -> ingest_shard -> record_shard -> finish_ingest), so the
   cost of orchestration shows;
3. baseline references: a sequential download of every URL with one `httpx.Client`;
4. Docket references: the `ingest_batch` flow (and the domain functions) on a references file.

The references server is a `ThreadingHTTPServer` on 127.0.0.1 that sleeps `--latency-ms` before each
answer; it runs in a child process, as a remote server would, so it does not take the benchmark's
GIL. Every Docket run gets a fresh DOCKET_HOME (SQLite catalog, local store), created and migrated
before the clock starts; the Prefect ephemeral server is started by a warm-up flow run beforehand, so
neither start-up is in the figures. Dirty pages are flushed (`os.sync`) before each measurement, so no
run pays for the previous one's writes. `--tmp /dev/shm` puts every file (and the catalogs) in memory,
which takes a busy or slow disk out of the comparison. Figures go to stdout and to
bench/out/ingest.json; the exit status is 0 whether or not the goals are met.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import multiprocessing
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
from PIL import Image  # noqa: E402

# Prefect and Docket are imported inside functions, after `_isolate` has set their environment.

OUT = Path(__file__).resolve().parent / "out" / "ingest.json"
FOLDER_GOAL = 1.3  # Docket folder ingest on one process may take at most this many times the required-work loop
POOL_GOAL = 1.6  # ... and on two worker processes must be at least this many times faster than that loop
REFS_GOAL = 20.0  # Docket references ingest must be at least this many times faster than the baseline
_SCRATCH = Path()  # set by `_isolate`


def _isolate(tmp: str | None = None) -> None:
    """A throwaway scratch folder and Prefect home, no telemetry, the ephemeral API, default Docket paths."""
    global _SCRATCH
    _SCRATCH = Path(tempfile.mkdtemp(prefix="docket-bench-", dir=tmp))
    os.environ["PREFECT_HOME"] = str(_SCRATCH / "prefect-home")
    os.environ["DO_NOT_TRACK"] = "1"
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
    # On a loaded machine the ephemeral server can take longer than Prefect's default 20 s to start.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.pop("PREFECT_API_URL", None)
    for key in ("DOCKET_HOME", "DOCKET_STORE_URL", "DOCKET_CATALOG_URL"):
        os.environ.pop(key, None)


# --- inputs ----------------------------------------------------------------------------------------
def _variants(count: int = 16) -> list[bytes]:
    """A few 64x48 JPEGs with different content: gradients, noise, flat colour with marks."""
    out = []
    for v in range(count):
        if v % 3 == 0:
            img = Image.effect_noise((64, 48), 16 + 4 * v).convert("RGB")
        elif v % 3 == 1:
            img = Image.linear_gradient("L").resize((64, 48)).rotate(20 * v).convert("RGB")
        else:
            img = Image.new("RGB", (64, 48), ((v * 37) % 256, (v * 91) % 256, (v * 53) % 256))
            for x in range(0, 64, 3):
                img.putpixel((x, (x * v) % 48), (255, 255, 255))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=70 + v)
        out.append(buf.getvalue())
    return out


def _unique_jpeg(variant: bytes, i: int) -> bytes:
    """`variant` with a COM segment after SOI: still a valid JPEG, with bytes of its own."""
    comment = b"docket bench file %08d" % i
    return variant[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + variant[2:]


def make_folder(root: Path, count: int) -> int:
    """Write `count` JPEGs in sub-folders of 1,000 (as a camera or scanner would); return total bytes."""
    variants = _variants()
    total = 0
    for i in range(count):
        data = _unique_jpeg(variants[i % len(variants)], i)
        path = root / f"part{i // 1000:02d}" / f"img{i:06d}.jpg"
        if i % 1000 == 0:
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        total += len(data)
    return total


# --- the references server (child process) -----------------------------------------------------------
def _serve(count: int, latency: float, conn: multiprocessing.connection.Connection) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    variants = _variants()
    bodies = {f"/files/ref{i:06d}.jpg": _unique_jpeg(variants[i % len(variants)], 10_000_000 + i) for i in range(count)}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as any real file server
        # Headers and body go out in two writes: with Nagle on, the body waits for the client's
        # delayed ACK (40 ms on Linux), which would add to every request, not just the latency.
        disable_nagle_algorithm = True

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            time.sleep(latency)
            body = bodies.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass  # one line per request would cost more than the request

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 1024  # the default backlog of 5 drops bursts of concurrent connects

    with Server(("127.0.0.1", 0), Handler) as server:
        conn.send(server.server_address[1])
        server.serve_forever()


# --- measured paths ----------------------------------------------------------------------------------
# Each returns how many files it handled; `_measure` times it.
def baseline_folder(src: Path, dst: Path) -> int:
    """The floor: read, sha256 and write each file, one after another."""
    count = 0
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        out_dir = dst / Path(dirpath).relative_to(src)
        out_dir.mkdir(parents=True, exist_ok=True)
        for filename in sorted(filenames):
            data = (Path(dirpath) / filename).read_bytes()
            hashlib.sha256(data).hexdigest()
            (out_dir / filename).write_bytes(data)
            count += 1
    return count


def validated_folder(src: Path, dst: Path) -> int:
    """The baseline plus the decode that validation requires (as Docket does it: Pillow, JPEG at 1/8 scale)."""
    count = 0
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        out_dir = dst / Path(dirpath).relative_to(src)
        out_dir.mkdir(parents=True, exist_ok=True)
        for filename in sorted(filenames):
            data = (Path(dirpath) / filename).read_bytes()
            with Image.open(io.BytesIO(data), formats=["JPEG"]) as image:
                image.draft(None, (1, 1))
                image.load()
            hashlib.sha256(data).hexdigest()
            (out_dir / filename).write_bytes(data)
            count += 1
    return count


def _validate_one(job: tuple[str, str]) -> int:
    src, dst = job
    data = Path(src).read_bytes()
    with Image.open(io.BytesIO(data), formats=["JPEG"]) as image:
        image.draft(None, (1, 1))
        image.load()
    hashlib.sha256(data).hexdigest()
    Path(dst).write_bytes(data)
    return 1


def validated_folder_pool(src: Path, dst: Path, processes: int) -> int:
    """The required-work loop split over `processes` worker processes (what the cores allow at best)."""
    jobs = []
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        out_dir = dst / Path(dirpath).relative_to(src)
        out_dir.mkdir(parents=True, exist_ok=True)
        jobs += [(str(Path(dirpath) / f), str(out_dir / f)) for f in sorted(filenames)]
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        return sum(pool.imap_unordered(_validate_one, jobs, chunksize=256))


def baseline_downloads(urls: list[str], dst: Path) -> int:
    """The floor for references: each URL in turn with one client, written to a file."""
    dst.mkdir(parents=True, exist_ok=True)
    with httpx.Client(timeout=30.0, trust_env=False) as client:
        for i, url in enumerate(urls):
            response = client.get(url)
            response.raise_for_status()
            (dst / f"{i}").write_bytes(response.content)
    return len(urls)


def _fresh_home(label: str) -> None:
    """Point DOCKET_HOME at a new folder and create and migrate its catalog (outside the timing)."""
    from docket_core.resources import Resources

    home = _SCRATCH / f"home-{label}"
    os.environ["DOCKET_HOME"] = str(home)
    resources = Resources.from_settings()
    url = resources.catalog_url.get_secret_value()
    if not url.startswith(f"sqlite:///{home.resolve()}"):
        raise SystemExit(f"expected a SQLite catalog under {home}, got {url!r}; unset DOCKET_CATALOG_URL (.env?)")
    resources.catalog()
    resources.store()


def _request(label: str, source_kind: str, source: str):  # noqa: ANN202 - IngestRequest, imported late
    from docket_core.staging.models import IngestRequest

    return IngestRequest(
        batch_id=f"bench-{label}", media_kind="images", source_kind=source_kind, source=source,
        ingest_id=f"bench-{label}", allow_private_network=True,
    )  # fmt: skip


def docket_flow(label: str, source_kind: str, source: str, expected: int, runner: str = "auto") -> Callable[[], int]:
    """The `ingest_batch` flow, as a deployment or `docket staging` runs it, on the runner named
    (`DOCKET_TASK_RUNNER`: `threads` is one process, `processes` one worker process per core)."""
    from docket_core.settings import get_settings
    from flows.ingest_batch import ingest_batch
    from tasks.resources import build_task_runner

    _fresh_home(label)
    request = _request(label, source_kind, source)
    # `processes` rows measure the pool itself, whatever the size (DOCKET_PROCESS_MIN_TASKS would keep
    # a small ingest on threads)
    forced = {"process_min_tasks": 1} if runner == "processes" else {}
    flow = ingest_batch.with_options(task_runner=build_task_runner(get_settings(task_runner=runner, **forced)))

    def run() -> int:
        return _check(label, flow(request=request), expected)

    return run


def docket_domain(label: str, source_kind: str, source: str, expected: int) -> Callable[[], int]:
    """The same ingest through the domain functions in a plain loop: what the flow orchestrates."""
    from docket_core.resources import Resources
    from docket_core.settings import get_settings
    from docket_core.staging.ingest import ingest_shard
    from docket_core.staging.plan import begin_ingest
    from docket_core.staging.record import finish_ingest, record_shard

    _fresh_home(label)
    request = _request(label, source_kind, source)

    def run() -> int:
        settings = get_settings()
        resources = Resources.from_settings(settings)
        catalog = resources.catalog()
        plan = begin_ingest(request, resources, settings)
        for shard_id in plan.pending_shards:
            outcomes = ingest_shard(shard_id, resources, settings, allow_private_network=True)
            record_shard(catalog, shard_id, outcomes)
        return _check(label, finish_ingest(catalog, plan.ingest_id), expected)

    return run


def _check(label: str, summary: object, expected: int) -> int:
    got = (summary.status, summary.ingested, summary.failed)  # type: ignore[attr-defined]
    if got != ("completed", expected, 0):
        raise SystemExit(f"{label}: expected ('completed', {expected}, 0), got {got}")
    return expected


def warm_up_prefect() -> float:
    """Start the ephemeral API server and the task runner machinery with a tiny flow run."""
    from prefect import flow, task

    from tasks.resources import build_task_runner

    @task
    def noop(i: int) -> int:
        return i

    @flow(name="bench-warm-up", task_runner=build_task_runner())
    def warm_up() -> int:
        return sum(f.result() for f in noop.map(range(4)))

    start = time.perf_counter()
    warm_up()
    return time.perf_counter() - start


# --- report ------------------------------------------------------------------------------------------
@dataclass
class Row:
    path: str
    files: int
    seconds: float
    cpu_seconds: float  # this process only: the Prefect server and the HTTP server are other processes
    files_per_s: float
    load_before: float  # 1-minute load average when the run started (this machine has 2 cores)
    baseline: str | None = None
    time_ratio: float | None = None  # seconds / baseline seconds (folder: lower is better)
    speedup: float | None = None  # baseline seconds / seconds (references: higher is better)
    goal: str = ""
    met: bool | None = None


def _measure(path: str, run: Callable[[], int]) -> Row:
    # Dirty pages left by the previous run would be written back during this one: flush them first.
    os.sync()
    load = os.getloadavg()[0]
    start, cpu = time.perf_counter(), time.process_time()
    files = run()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"  {path}: {seconds:.2f} s", flush=True)
    return Row(path=path, files=files, seconds=round(seconds, 3), cpu_seconds=round(cpu, 3),
               files_per_s=round(files / seconds, 1), load_before=round(load, 2))  # fmt: skip


def _against(row: Row, base: Row, goal: str = "", check: Callable[[Row], bool] | None = None) -> Row:
    row.baseline = base.path
    row.time_ratio = round(row.seconds / base.seconds, 3)
    row.speedup = round(base.seconds / row.seconds, 2)
    row.goal = goal
    row.met = check(row) if check else None
    return row


def _table(rows: list[Row]) -> str:
    def vs(r: Row) -> str:
        if r.time_ratio is None:
            return "(baseline)"
        return f"{r.time_ratio:.2f}x time" if r.time_ratio >= 1 else f"{r.speedup:.1f}x faster"

    header = ("path", "files", "seconds", "cpu s", "files/s", "load", "vs baseline", "goal", "met")
    lines = [
        (r.path, str(r.files), f"{r.seconds:.2f}", f"{r.cpu_seconds:.2f}", f"{r.files_per_s:,.0f}", f"{r.load_before:.1f}",
         vs(r), r.goal,
         "" if r.met is None else ("yes" if r.met else "no"))
        for r in rows
    ]  # fmt: skip
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    fmt = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    return "\n".join([fmt(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(fmt, lines)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000, help="JPEGs in the folder (default 10000)")
    parser.add_argument("--refs", type=int, default=2_000, help="references to download (default 2000)")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="server delay per request (default 20)")
    parser.add_argument("--tmp", help="folder for inputs, copies, stores and catalogs (default: the system's temp)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and print where it is")
    args = parser.parse_args(argv)
    latency = args.latency_ms / 1000
    _isolate(args.tmp)

    from docket_core.settings import get_settings
    from docket_core.settings.jobs import usable_cores

    settings = get_settings()
    rows: list[Row] = []
    server = None
    try:
        print(f"{usable_cores()} cores usable ({os.cpu_count()} on the machine), 1-minute load average "
              f"{os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
        src = _SCRATCH / "in"
        started = time.perf_counter()
        size = make_folder(src, args.files)
        print(f"generated {args.files} JPEGs ({size / args.files:,.0f} bytes on average) in "
              f"{time.perf_counter() - started:.1f} s under {_SCRATCH}", flush=True)  # fmt: skip

        parent, child = multiprocessing.get_context("spawn").Pipe()
        server = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(args.refs, latency, child), daemon=True
        )
        server.start()
        port = parent.recv()
        urls = [f"http://127.0.0.1:{port}/files/ref{i:06d}.jpg" for i in range(args.refs)]
        refs_file = _SCRATCH / "references.jsonl"
        with open(refs_file, "w") as fh:
            fh.writelines(json.dumps({"name": f"ref{i:06d}.jpg", "url": url}) + "\n" for i, url in enumerate(urls))

        warm = warm_up_prefect()
        print(f"Prefect ephemeral API started by a warm-up flow run in {warm:.1f} s (not counted)", flush=True)
        empty_flow = warm_up_prefect()  # what any flow run costs here, whatever it does
        print(f"a second run of that flow (4 no-op tasks) took {empty_flow:.2f} s", flush=True)

        base = _measure("baseline folder: read + sha256 + write", lambda: baseline_folder(src, _SCRATCH / "copy"))
        rows.append(base)
        floor = _measure("  same + full decode (required work)", lambda: validated_folder(src, _SCRATCH / "copy2"))
        rows.append(_against(floor, base))
        cores = usable_cores()
        pool = _measure(f"  same on {cores} processes (multiprocessing.Pool)",
                        lambda: validated_folder_pool(src, _SCRATCH / "copy3", cores))  # fmt: skip
        rows.append(_against(pool, floor))
        one = _measure("docket folder: ingest_batch flow, threads (1 process)",
                       docket_flow("flow-folder-threads", "folder", str(src), args.files, "threads"))  # fmt: skip
        rows.append(_against(one, floor, f"<= {FOLDER_GOAL}x time", lambda r: r.time_ratio <= FOLDER_GOAL))
        many = _measure(f"docket folder: ingest_batch flow, {cores} worker processes",
                        docket_flow("flow-folder-pool", "folder", str(src), args.files, "processes"))  # fmt: skip
        rows.append(_against(many, floor, f">= {POOL_GOAL}x faster", lambda r: r.speedup >= POOL_GOAL))
        row = _measure("docket folder: domain, no Prefect", docket_domain("domain-folder", "folder", str(src), args.files))
        rows.append(_against(row, floor))

        base_refs = _measure("baseline references: sequential httpx", lambda: baseline_downloads(urls, _SCRATCH / "dl"))
        rows.append(base_refs)
        for label, key, make in (
            ("docket references: ingest_batch flow (auto)", "flow-refs", docket_flow),
            ("docket references: domain, no Prefect", "domain-refs", docket_domain),
        ):
            row = _measure(label, make(key, "references", str(refs_file), args.refs))
            rows.append(_against(row, base_refs, f">= {REFS_GOAL:g}x faster", lambda r: r.speedup >= REFS_GOAL))
    finally:
        if server is not None:
            server.terminate()
            server.join()
        if args.keep:
            print(f"kept {_SCRATCH}")
        else:
            shutil.rmtree(_SCRATCH, ignore_errors=True)

    print()
    print(_table(rows))
    decode = floor.seconds - base.seconds
    print(f"\nThe full decode that validation requires took {decode:.2f} s of the sequential {floor.seconds:.2f} s "
          f"({decode / base.seconds:.2f}x the baseline on its own). 1-minute load average at the start: "
          f"{rows[0].load_before:.1f} on {usable_cores()} cores (1-minute load average before each row: the "
          f"load column). Folder rows are compared with the required-work loop. A flow run of 4 no-op tasks took "
          f"{empty_flow:.2f} s: Prefect's fixed cost, in both flow rows.")  # fmt: skip
    import prefect

    report = {
        "machine": {"cpus": os.cpu_count(), "usable_cores": usable_cores(), "python": platform.python_version(), "platform": platform.platform(),
                    "prefect": prefect.__version__},
        "parameters": {"files": args.files, "refs": args.refs, "latency_ms": args.latency_ms,
                       "tmp": str(_SCRATCH.parent),
                       "shard_size": settings.shard_size, "file_workers": settings.file_workers,
                       "max_workers": settings.max_workers, "download_concurrency": settings.download_concurrency},
        "empty_flow_run_seconds": round(empty_flow, 3),
        "rows": [asdict(r) for r in rows],
    }  # fmt: skip
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten to {OUT.relative_to(Path.cwd()) if OUT.is_relative_to(Path.cwd()) else OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
