"""Notification delivery throughput: Docket's outbox delivery against a plain async loop, in one run.

    .venv/bin/python bench/notify.py [--count 10000] [--fail-rate 0.3] [--concurrency 8] [--naive 500]

A local receiver (uvicorn, in a child process so it does not take the benchmark's GIL) checks every
Standard Webhooks signature and answers 200, or 500 for a random `--fail-rate` share of answers in the
fault run. Then, each on a fresh SQLite catalog:

1. floor: one async httpx loop signing and POSTing every body, `--concurrency` at once (no catalog, no
   retries, no Prefect);
2. Docket domain: `enqueue_many` into the outbox, then `deliver_batch` until nothing is due (claims with
   leases, signs, sends, records every attempt), no Prefect;
3. Docket flow: the same outbox sent by the `deliver_notifications` flow (Prefect ephemeral API);
4. naive: one Prefect task per notification (send, then record), on `--naive` notifications;
5. faults: the flow again with `--fail-rate` of answers 500 and a fast retry schedule: every
   notification must end delivered; the extra attempts are counted and compared with the expected
   count/(1 - rate) - count.

Per-endpoint concurrency is set to `--concurrency` too (one local endpoint stands for many). Figures
go to stdout and to bench/out/notify.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

OUT = Path(__file__).resolve().parent / "out" / "notify.json"
FAST_RETRIES = "0,0.05,0.1,0.2,0.4,0.8,1,1,1,1,1,1,1,1"
_SCRATCH = Path()


@dataclass
class Row:
    path: str
    notifications: int
    seconds: float
    per_s: float
    attempts: int
    delivered: int
    extra_attempts: int
    vs_floor: float | None = None


# --- the receiver, in a child process ---------------------------------------------------------------
def _receiver_main(port: int, fail_rate: float, secret: str, seed: int) -> None:
    import uvicorn

    from docket_core.signing import SignatureError, secret_key, verify

    key, rng = secret_key(secret), random.Random(seed)
    stats = {"requests": 0, "ok": 0, "failed": 0, "bad_signature": 0, "ids": set()}

    async def app(scope, receive, send):  # noqa: ANN001, ANN202 - raw ASGI
        if scope["type"] != "http":
            return
        if scope["method"] == "GET":
            body = json.dumps({k: (len(v) if isinstance(v, set) else v) for k, v in stats.items()}).encode()
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body})
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        stats["requests"] += 1
        status = 200
        try:
            msg_id = verify(key, headers, b"".join(chunks))
        except SignatureError:
            stats["bad_signature"] += 1
            status = 401
        else:
            if rng.random() < fail_rate:
                status = 500
                stats["failed"] += 1
            else:
                stats["ok"] += 1
                stats["ids"].add(msg_id)
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", access_log=False, lifespan="off")


class Receiver:
    def __init__(self, fail_rate: float, secret: str, seed: int = 7) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        code = f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parent)!r}); import notify; " \
               f"notify._receiver_main({self.port}, {fail_rate}, {secret!r}, {seed})"  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        self.proc = subprocess.Popen([sys.executable, "-c", code], env=env)  # noqa: S603
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the benchmark receiver did not start")

    def stats(self) -> dict:
        return httpx.get(f"http://127.0.0.1:{self.port}/", timeout=10).json()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


# --- the runs --------------------------------------------------------------------------------------
def _isolate(tmp: str | None) -> None:
    global _SCRATCH
    _SCRATCH = Path(tempfile.mkdtemp(prefix="docket-bench-notify-", dir=tmp))
    os.environ.update(PREFECT_HOME=str(_SCRATCH / "prefect-home"), DO_NOT_TRACK="1", PREFECT_LOGGING_LEVEL="WARNING",
                      PREFECT_SERVER_ANALYTICS_ENABLED="false", DOCKET_ALLOWED_URL_HOSTS="127.0.0.1")  # fmt: skip
    os.environ.pop("PREFECT_API_URL", None)
    for key in [k for k in os.environ if k.startswith("DOCKET_") and k != "DOCKET_ALLOWED_URL_HOSTS"]:
        os.environ.pop(key, None)


def _fresh_home(name: str, secret: str, concurrency: int, schedule: str | None = None):  # noqa: ANN202 - a Catalog
    home = _SCRATCH / name
    os.environ.update(DOCKET_HOME=str(home), DOCKET_WEBHOOK_SECRET=secret, DOCKET_NOTIFY_CONCURRENCY=str(concurrency),
                      DOCKET_NOTIFY_ENDPOINT_CONCURRENCY=str(concurrency), DOCKET_NOTIFY_JITTER="0.2",
                      DOCKET_NOTIFY_RETRY_SCHEDULE=schedule or FAST_RETRIES)  # fmt: skip
    os.environ.pop("DOCKET_CATALOG_URL", None)
    from docket_core.resources import Resources

    return Resources.from_settings().catalog()  # created and migrated before the clock starts


def _bodies(count: int) -> list[tuple[str, dict]]:
    from docket_core.notifications import payloads

    out = []
    for i in range(count):
        details = {"job_id": f"j{i:06d}", "state": "succeeded", "batch_id": "b", "workflow_id": "w", "output_batch_id": "o",
                   "files_total": 10, "files_succeeded": 10, "files_failed": 0}  # fmt: skip
        out.append((f"job:j{i:06d}", payloads.job_status(details)))
    return out


def _enqueue(catalog, url: str, count: int) -> float:  # noqa: ANN001
    from docket_core.notifications import payloads
    from docket_core.notifications.outbox import Outgoing, enqueue_many

    started = time.perf_counter()
    items = [Outgoing(url, payloads.TYPE_JOB_STATUS, key, body) for key, body in _bodies(count)]
    with catalog.begin() as conn:
        enqueue_many(conn, items)
    return time.perf_counter() - started


def floor(url: str, count: int, concurrency: int, secret: str) -> Row:
    from docket_core.notifications.payloads import body_bytes
    from docket_core.signing import secret_key, sign_headers

    key = secret_key(secret)
    bodies = _bodies(count)

    async def run() -> int:
        sem = asyncio.Semaphore(concurrency)
        async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=concurrency)) as client:
            async def one(i: int, body: dict) -> bool:
                data = body_bytes({**body, "event_id": f"floor-{i}", "delivery_attempt": 1})
                async with sem:
                    r = await client.post(url, content=data, headers={"content-type": "application/json", **sign_headers(key, f"floor-{i}", data)})
                return r.status_code == 200

            return sum(await asyncio.gather(*(one(i, b) for i, (_, b) in enumerate(bodies))))

    started = time.perf_counter()
    ok = asyncio.run(run())
    seconds = time.perf_counter() - started
    return Row("floor: async httpx loop, no catalog", count, round(seconds, 2), round(count / seconds, 1), count, ok, 0)


def _outbox_totals(catalog) -> tuple[int, int]:  # noqa: ANN001
    import sqlalchemy as sa

    from docket_core.catalog.schema_notifications import notification_attempts, notifications

    with catalog.read() as conn:
        attempts = conn.execute(sa.select(sa.func.count()).select_from(notification_attempts)).scalar_one()
        delivered = conn.execute(sa.select(sa.func.count()).where(notifications.c.status == "delivered")).scalar_one()
    return attempts, delivered


def docket_domain(url: str, count: int, concurrency: int, secret: str) -> tuple[Row, float]:
    from docket_core.notifications.delivery import deliver_batch
    from docket_core.notifications.keys import Keyring
    from docket_core.notifications.ledger import next_due_in
    from docket_core.safefetch.address import URLPolicy
    from docket_core.settings import get_settings

    catalog = _fresh_home("domain", secret, concurrency)
    enqueue_s = _enqueue(catalog, url, count)
    settings = get_settings()
    keyring = Keyring.from_settings(settings)
    policy = URLPolicy(allowed_hosts=frozenset({"127.0.0.1"}))
    started = time.perf_counter()
    while True:
        if deliver_batch(catalog, keyring, settings, policy).claimed:
            continue
        wait = next_due_in(catalog)
        if wait is None:
            break
        time.sleep(max(wait, 0.01))
    seconds = time.perf_counter() - started
    attempts, delivered = _outbox_totals(catalog)
    return Row("docket domain: outbox + deliver_batch", count, round(seconds, 2), round(count / seconds, 1), attempts,
               delivered, attempts - delivered), enqueue_s  # fmt: skip


def docket_flow(label: str, name: str, url: str, count: int, concurrency: int, secret: str) -> Row:
    from flows.deliver_notifications import deliver_notifications

    catalog = _fresh_home(name, secret, concurrency)
    _enqueue(catalog, url, count)
    started = time.perf_counter()
    totals = deliver_notifications(max_seconds=3600, linger_seconds=5)
    seconds = time.perf_counter() - started
    attempts, delivered = _outbox_totals(catalog)
    assert totals["attempts"] == attempts, (totals, attempts)
    return Row(label, count, round(seconds, 2), round(count / seconds, 1), attempts, delivered, attempts - delivered)


def naive(url: str, count: int, concurrency: int, secret: str) -> Row:
    """One Prefect task per notification: sign, POST, record (what the outbox batching avoids)."""
    import sqlalchemy as sa
    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE
    from prefect.task_runners import ThreadPoolTaskRunner

    from docket_core.catalog import utcnow
    from docket_core.catalog.schema_notifications import notifications
    from docket_core.notifications.payloads import body_bytes
    from docket_core.signing import secret_key, sign_headers

    catalog = _fresh_home("naive", secret, concurrency)
    _enqueue(catalog, url, count)
    key = secret_key(secret)
    with catalog.read() as conn:
        rows = conn.execute(sa.select(notifications.c.id, notifications.c.event_id, notifications.c.payload)).all()
    client = httpx.Client(timeout=10, limits=httpx.Limits(max_connections=concurrency))

    @task(cache_policy=NO_CACHE)
    def send_one(row_id: int, event_id: str, payload: dict) -> bool:
        data = body_bytes({**payload, "delivery_attempt": 1})
        r = client.post(url, content=data, headers={"content-type": "application/json", **sign_headers(key, event_id, data)})
        with catalog.begin() as conn:
            conn.execute(sa.update(notifications).where(notifications.c.id == row_id)
                         .values(status="delivered" if r.status_code == 200 else "pending", attempts=1, finished_at=utcnow()))  # fmt: skip
        return r.status_code == 200

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=min(concurrency, 16)))
    def naive_delivery() -> int:
        return sum(f.result() for f in send_one.map([r.id for r in rows], [r.event_id for r in rows], [r.payload for r in rows]))

    started = time.perf_counter()
    ok = naive_delivery()
    seconds = time.perf_counter() - started
    client.close()
    return Row("naive: one Prefect task per notification", count, round(seconds, 2), round(count / seconds, 1), count, ok, 0)


def warm_up_prefect() -> float:
    from prefect import flow

    @flow
    def warm() -> int:
        return 1

    started = time.perf_counter()
    warm()
    return time.perf_counter() - started


def _table(rows: list[Row]) -> str:
    lines = [f"{'path':<44} {'n':>6} {'seconds':>8} {'per s':>8} {'attempts':>8} {'delivered':>9} {'extra':>6} {'x floor':>8}"]
    for r in rows:
        ratio = f"{r.vs_floor:.2f}" if r.vs_floor is not None else ""
        lines.append(f"{r.path:<44} {r.notifications:>6} {r.seconds:>8.2f} {r.per_s:>8.1f} {r.attempts:>8} "
                     f"{r.delivered:>9} {r.extra_attempts:>6} {ratio:>8}")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="notifications per run (default 10000)")
    parser.add_argument("--fail-rate", type=float, default=0.3, help="share of answers that are 500 in the fault run")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight (floor and Docket alike)")
    parser.add_argument("--naive", type=int, default=500, help="notifications for the one-task-each run (0: skip)")
    parser.add_argument("--tmp", help="folder for catalogs (default: the system's temp)")
    args = parser.parse_args(argv)
    _isolate(args.tmp)

    from docket_core.signing import generate_secret

    secret = generate_secret()
    rows: list[Row] = []
    receiver = Receiver(0.0, secret)
    try:
        warm = warm_up_prefect()
        print(f"Prefect ephemeral API started by a warm-up flow run in {warm:.1f} s (not counted)", flush=True)
        base = floor(receiver.url, args.count, args.concurrency, secret)
        rows.append(base)
        domain, enqueue_s = docket_domain(receiver.url, args.count, args.concurrency, secret)
        rows.append(domain)
        rows.append(docket_flow("docket flow: deliver_notifications", "flow", receiver.url, args.count, args.concurrency, secret))
        if args.naive:
            rows.append(naive(receiver.url, args.naive, args.concurrency, secret))
        clean = receiver.stats()
    finally:
        receiver.stop()
    receiver = Receiver(args.fail_rate, secret, seed=11)
    try:
        label = f"docket flow, {args.fail_rate:.0%} of answers 500"
        faults = docket_flow(label, "faults", receiver.url, args.count, args.concurrency, secret)
        rows.append(faults)
        fault_stats = receiver.stats()
    finally:
        receiver.stop()
    for r in rows:
        r.vs_floor = round(base.per_s / r.per_s, 2)
    expected_extra = args.count / (1 - args.fail_rate) - args.count
    print()
    print(_table(rows))
    print(f"\nEnqueueing {args.count} notifications in one transaction took {enqueue_s:.2f} s. Receiver: "
          f"{clean['bad_signature']} bad signatures on the clean runs, {fault_stats['bad_signature']} in the fault run; "
          f"fault run: {fault_stats['failed']} answers were 500, {fault_stats['ids']} distinct notifications delivered, "
          f"{faults.extra_attempts} extra attempts (expected about {expected_extra:.0f}).")  # fmt: skip
    import prefect

    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "prefect": prefect.__version__},
        "parameters": {"count": args.count, "fail_rate": args.fail_rate, "concurrency": args.concurrency, "naive": args.naive,
                       "retry_schedule_in_fault_run": FAST_RETRIES, "catalog": "sqlite"},
        "enqueue_seconds": round(enqueue_s, 2),
        "receiver": {"clean": clean, "faults": fault_stats},
        "rows": [asdict(r) for r in rows],
    }  # fmt: skip
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    shutil.rmtree(_SCRATCH, ignore_errors=True)
    ok = faults.delivered == args.count and fault_stats["bad_signature"] == clean["bad_signature"] == 0
    print(f"\nwritten to {OUT}; {'all delivered' if ok else 'NOT ALL DELIVERED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
