"""Fixtures for notification tests: fast retry settings, a keyring, and a deliver-until-settled loop."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from docket_core.catalog import Catalog
from docket_core.notifications import outbox, payloads
from docket_core.notifications.delivery import BatchReport, deliver_batch
from docket_core.notifications.keys import Keyring
from docket_core.notifications.ledger import next_due_in
from docket_core.safefetch.address import URLPolicy
from docket_core.settings.notify import NotifySettings
from docket_core.signing import generate_secret

SECRET = generate_secret()
LOOPBACK = URLPolicy(allowed_hosts=frozenset({"127.0.0.1"}))


@pytest.fixture
def settings(tmp_path: Path) -> NotifySettings:
    return NotifySettings(
        home=tmp_path / "home", webhook_secret=SECRET, notify_retry_schedule=[0, 0.05, 0.05, 0.05], notify_jitter=0,
        notify_timeout=2.0, notify_lease_seconds=5, notify_linger_seconds=2,
    )  # fmt: skip


@pytest.fixture
def keyring(settings: NotifySettings) -> Keyring:
    return Keyring.from_settings(settings)


def job_payload(job_id: str = "j1", state: str = "succeeded") -> dict[str, Any]:
    return payloads.job_status({"job_id": job_id, "state": state, "batch_id": "b", "workflow_id": "w",
                                "output_batch_id": f"{job_id}-out", "files_total": 2, "files_succeeded": 2, "files_failed": 0})  # fmt: skip


def put(catalog: Catalog, url: str, *, resource: str = "job:j1", count: int = 1, type_: str = "job-status") -> list[str]:
    with catalog.begin() as conn:
        return [outbox.enqueue(conn, endpoint=url, type=type_, resource_key=resource, payload=job_payload(f"j{i}"))
                for i in range(count)]  # fmt: skip


def settle(catalog: Catalog, keyring: Keyring, settings: NotifySettings, policy: URLPolicy = LOOPBACK,
           *, linger: float = 3.0, transport: Any = None) -> BatchReport:  # fmt: skip
    """Run delivery batches until nothing is due within `linger` seconds; return the totals."""
    total = BatchReport()
    while True:
        report = deliver_batch(catalog, keyring, settings, policy, transport=transport)
        for name in ("claimed", "delivered", "retrying", "failed", "released", "interrupted", "attempts"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
        total.disabled_endpoints += report.disabled_endpoints
        if report.claimed:
            continue
        wait = next_due_in(catalog)
        if wait is None or wait > linger:
            return total
        time.sleep(max(wait, 0.02))
