"""Leases on job chunks: one worker at a time processes a chunk, and a dead worker's chunk is taken over.

A chunk's lease is its `lease_owner` and `lease_expires_at`. A worker takes a chunk that is not done and
whose lease is free, expired, or held by a process of this machine that no longer exists; renews it
while it works (`Heartbeat`); renews it once more just before it writes the chunk's Parquet part (the
fence: the write then has a whole lease period to land); and marks the chunk done only while it still
holds the lease (`complete`). A worker that stalled past its lease and was overtaken learns so at its
next renewal and drops its work, so a part is written by one holder at a time and counted once.

Taking a lease is one short transaction: PostgreSQL locks the row (`FOR UPDATE`, with `SKIP LOCKED`
when any chunk will do); on SQLite, `Catalog.begin()`'s `BEGIN IMMEDIATE` serializes writers. On
PostgreSQL, lease times come from the database's clock, so machines whose clocks disagree still agree
on when a lease expires.

The owner string names the holder: `host/pid/ppid/machine/token`. For a flow run started by a Prefect
process worker, `ppid` is the worker; `machine` identifies this boot and PID namespace (so a pid is
only ever judged on the machine that issued it); `token` is new for each lease, so two leases taken
by one process differ. The chunk keeps the owner that completed it, as the record of who did it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Any

import sqlalchemy as sa

from docket_core.catalog import Catalog, utcnow
from docket_core.catalog.schema import job_chunks, jobs
from docket_core.errors import DocketError, NotFoundError

__all__ = [
    "Heartbeat",
    "Lease",
    "LeaseLostError",
    "Outstanding",
    "Owner",
    "acquire",
    "claim_finish",
    "claim_next",
    "complete",
    "new_owner",
    "outstanding",
    "parse_owner",
    "release",
    "renew",
]

log = logging.getLogger(__name__)


class LeaseLostError(DocketError, RuntimeError):
    """Raised when a chunk's lease passed to another worker while this one was still working on it."""


# --- who holds a lease ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Owner:
    """A lease owner string, parsed."""

    host: str
    pid: int
    ppid: int
    machine: str
    token: str


@cache
def _machine() -> str:
    """This boot and PID namespace, hashed; "-" where they cannot be read (then pids are never judged)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return "-"
    return hashlib.sha256(f"{boot}|{namespace}".encode()).hexdigest()[:10]


def _host() -> str:
    return socket.gethostname().replace("/", "-")[:60] or "host"


def new_owner() -> str:
    """A fresh owner string for a lease taken by this process now."""
    return f"{_host()}/{os.getpid()}/{os.getppid()}/{_machine()}/{uuid.uuid4().hex[:8]}"


def parse_owner(owner: str | None) -> Owner | None:
    """The parts of an owner string, or None when it is not one of ours."""
    parts = (owner or "").split("/")
    if len(parts) != 5 or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    return Owner(parts[0], int(parts[1]), int(parts[2]), parts[3], parts[4])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, alive
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False  # ended between the two looks
    except OSError:
        return True  # no /proc: trust kill(0)
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")  # a zombie is dead, only not yet reaped


def _dead_here(owner: str | None) -> bool:
    """True when `owner` is a process of this very machine (boot, PID namespace) that no longer runs."""
    parsed = parse_owner(owner)
    return (
        parsed is not None
        and parsed.machine != "-"
        and parsed.machine == _machine()
        and parsed.host == _host()
        and not _alive(parsed.pid)
    )


# --- taking, renewing, giving back ------------------------------------------------------------------


@dataclass(frozen=True)
class Lease:
    """A chunk leased to `owner` for `ttl` seconds at a time."""

    chunk_id: str
    job_id: str
    seq: int
    owner: str
    ttl: float


def _now(conn: sa.Connection) -> datetime:
    """The database's clock on PostgreSQL (one clock for every machine), this machine's on SQLite."""
    if conn.dialect.name == "postgresql":
        return conn.execute(sa.select(sa.func.clock_timestamp())).scalar_one()
    return utcnow()


_COLUMNS = (job_chunks.c.chunk_id, job_chunks.c.job_id, job_chunks.c.seq, job_chunks.c.status,
            job_chunks.c.lease_owner, job_chunks.c.lease_expires_at)  # fmt: skip


def _held(row: sa.Row, now: datetime) -> bool:
    """Leased to someone who may still be working on it."""
    return (
        row.lease_owner is not None
        and row.lease_expires_at is not None
        and row.lease_expires_at > now
        and not _dead_here(row.lease_owner)
    )


def _take(conn: sa.Connection, row: sa.Row, now: datetime, ttl: float, owner: str | None) -> Lease:
    owner = owner or new_owner()
    conn.execute(
        sa.update(job_chunks)
        .where(job_chunks.c.chunk_id == row.chunk_id)
        .values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=ttl))
    )
    if row.lease_owner is not None:
        log.info("chunk %s taken over from %s (lease expired or holder gone)", row.chunk_id, row.lease_owner)
    return Lease(row.chunk_id, row.job_id, row.seq, owner, ttl)


def _try_acquire(catalog: Catalog, chunk_id: str, ttl: float, owner: str | None) -> Lease | datetime | None:
    """The lease; or, when another holder has it, when its lease ends; or None when the chunk is done."""
    with catalog.begin() as conn:
        query = sa.select(*_COLUMNS).where(job_chunks.c.chunk_id == chunk_id)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise NotFoundError(f"no chunk {chunk_id!r}; a job's chunks are made when it starts (docket jobs restart-job)")
        if row.status == "done":
            return None
        now = _now(conn)
        if _held(row, now):
            return row.lease_expires_at
        return _take(conn, row, now, ttl, owner)


def acquire(catalog: Catalog, chunk_id: str, ttl: float, *, owner: str | None = None, poll: float = 1.0) -> Lease | None:
    """Lease one chunk, waiting while another live holder has it; None once the chunk is done.

    A duplicate of a task (a second run of the same job, a task Dask ran twice) thus waits for the
    first and finds the chunk done, and a retry after its worker died takes the chunk over as soon as
    the dead worker's lease ends (at once when that worker was a process of this machine).
    """
    while True:
        got = _try_acquire(catalog, chunk_id, ttl, owner)
        if got is None or isinstance(got, Lease):
            return got
        until = (got - utcnow()).total_seconds()  # only a hint for the pause: the database decides
        time.sleep(min(poll, max(until, 0.05)))


def claim_next(catalog: Catalog, job_id: str, ttl: float, *, owner: str | None = None) -> Lease | None:
    """Lease the job's first chunk that is not done and free to take; None when there is none now
    (every chunk done or held by a live worker) or the job was asked to stop."""
    with catalog.begin() as conn:
        abort = conn.execute(sa.select(jobs.c.abort_requested).where(jobs.c.job_id == job_id)).scalar_one_or_none()
        if abort is None:
            raise NotFoundError(f"no job {job_id!r}; `docket jobs list` shows the jobs there are")
        if abort:
            return None
        now = _now(conn)
        pg = conn.dialect.name == "postgresql"
        unfinished = sa.and_(job_chunks.c.job_id == job_id, job_chunks.c.status != "done")
        free = sa.or_(job_chunks.c.lease_owner.is_(None), job_chunks.c.lease_expires_at.is_(None),
                      job_chunks.c.lease_expires_at <= now)  # fmt: skip
        query = sa.select(*_COLUMNS).where(unfinished, free).order_by(job_chunks.c.seq).limit(1)
        row = conn.execute(query.with_for_update(skip_locked=True) if pg else query).first()
        if row is None:  # leases of this machine's processes that have died need not wait for expiry
            local = sa.select(*_COLUMNS).where(unfinished, job_chunks.c.lease_owner.like(f"{_host()}/%")).order_by(job_chunks.c.seq)
            candidates = conn.execute(local.with_for_update(skip_locked=True) if pg else local).all()
            row = next((r for r in candidates if _dead_here(r.lease_owner)), None)
        return None if row is None else _take(conn, row, now, ttl, owner)


def renew(catalog: Catalog, lease: Lease) -> bool:
    """Extend the lease by its ttl from now; False when it is no longer this holder's."""
    with catalog.begin() as conn:
        now = _now(conn)
        count = conn.execute(
            sa.update(job_chunks)
            .where(job_chunks.c.chunk_id == lease.chunk_id, job_chunks.c.lease_owner == lease.owner,
                   job_chunks.c.status != "done")  # fmt: skip
            .values(lease_expires_at=now + timedelta(seconds=lease.ttl))
        ).rowcount
    return count == 1


def release(catalog: Catalog, lease: Lease) -> None:
    """Give the chunk back unfinished (after an error), so another worker may take it at once."""
    with catalog.begin() as conn:
        conn.execute(
            sa.update(job_chunks)
            .where(job_chunks.c.chunk_id == lease.chunk_id, job_chunks.c.lease_owner == lease.owner,
                   job_chunks.c.status != "done")  # fmt: skip
            .values(lease_owner=None, lease_expires_at=None)
        )


def complete(conn: sa.Connection, lease: Lease, **values: Any) -> bool:
    """Mark the chunk done with `values`, in the caller's transaction, if this holder still has it."""
    count = conn.execute(
        sa.update(job_chunks)
        .where(job_chunks.c.chunk_id == lease.chunk_id, job_chunks.c.lease_owner == lease.owner,
               job_chunks.c.status != "done")  # fmt: skip
        .values(status="done", lease_expires_at=None, **values)
    ).rowcount
    return count == 1


class Heartbeat:
    """Renews a lease every third of its ttl, in a thread of its own, while the work goes on.

    Work checks `lost` (or calls `check()`) between files; a single long file does not let the lease
    lapse. A failed renewal (the database unreachable) is retried at the next beat; the lease counts
    as lost once its last successful renewal is a whole ttl old.
    """

    def __init__(self, catalog: Catalog, lease: Lease) -> None:
        self.catalog, self.lease = catalog, lease
        self._stop = threading.Event()
        self._lost = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"docket-lease-{lease.seq}", daemon=True)

    @property
    def lost(self) -> bool:
        return self._lost.is_set()

    def check(self) -> None:
        if self._lost.is_set():
            raise LeaseLostError(
                f"chunk {self.lease.chunk_id} was taken over by another worker (lease of {self.lease.ttl:g} s "
                f"not renewed in time); this worker drops its result, the new holder writes the part"
            )

    def _run(self) -> None:
        renewed = time.monotonic()
        while not self._stop.wait(self.lease.ttl / 3):
            try:
                if not renew(self.catalog, self.lease):
                    self._lost.set()
                    return
                renewed = time.monotonic()
            except sa.exc.SQLAlchemyError as exc:
                log.warning("renewing the lease of chunk %s failed: %s", self.lease.chunk_id, exc)
                if time.monotonic() - renewed >= self.lease.ttl:
                    self._lost.set()
                    return

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()


# --- a job as a whole -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outstanding:
    """What is left of a job's processing stage."""

    chunks: int  # not done
    held: int  # of those, leased to a worker that may still be working on them
    abort_requested: bool

    @property
    def settled(self) -> bool:
        """Nothing left to wait for: every chunk done, or the job stopping and nobody still at work."""
        return self.chunks == 0 or (self.abort_requested and self.held == 0)


def outstanding(catalog: Catalog, job_id: str) -> Outstanding:
    with catalog.read() as conn:
        abort = conn.execute(sa.select(jobs.c.abort_requested).where(jobs.c.job_id == job_id)).scalar_one()
        now = _now(conn)
        rows = conn.execute(
            sa.select(*_COLUMNS).where(job_chunks.c.job_id == job_id, job_chunks.c.status != "done")
        ).all()
    return Outstanding(chunks=len(rows), held=sum(1 for r in rows if _held(r, now)), abort_requested=bool(abort))


def claim_finish(catalog: Catalog, job_id: str) -> bool:
    """Move a running job from `processing` to `export`: True for the one caller that gets to finish it.

    Two runs of one job (a second start, a duplicated deployment run) both reach the end of the
    processing stage; only one of them runs the export, so the output batch is written once.
    """
    with catalog.begin() as conn:
        count = conn.execute(
            sa.update(jobs)
            .where(jobs.c.job_id == job_id, jobs.c.state == "running", jobs.c.stage == "processing")
            .values(stage="export")
        ).rowcount
    return count == 1
