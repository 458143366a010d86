"""The `deliver_notifications` flow: send due notifications batch by batch -> wait for retries falling
due soon -> summarise."""

from __future__ import annotations

import time
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from docket_core.notifications.delivery import BatchReport
from docket_core.settings import get_settings
from tasks.notifications import deliver_due, next_due
from tasks.resources import resolve_resources

__all__ = ["deliver_notifications"]

_TOTALS = ("claimed", "delivered", "retrying", "failed", "released", "interrupted", "attempts")


def _add(totals: dict[str, Any], report: BatchReport) -> None:
    for name in _TOTALS:
        totals[name] += getattr(report, name)
    totals["disabled_endpoints"] += report.disabled_endpoints


def _markdown(totals: dict[str, Any]) -> str:
    disabled = ", ".join(f"`{k[:12]}`" for k in totals["disabled_endpoints"]) or "none"
    return "\n".join(
        [
            "# Notification delivery",
            "",
            "| attempts | delivered | retries scheduled | failed | interrupted attempts recovered |",
            "|---|---|---|---|---|",
            f"| {totals['attempts']} | {totals['delivered']} | {totals['retrying']} | {totals['failed']} | "
            f"{totals['interrupted']} |",
            "",
            f"Endpoints disabled: {disabled}. Details: `docket notifications list --status failed`, "
            "`docket notifications show --event-id ID`; send again: `docket notifications replay`.",
        ]
    )


@flow(name="deliver_notifications", log_prints=False)
def deliver_notifications(
    max_seconds: float = 240.0,
    linger_seconds: float | None = None,
    store_block: str | None = None,
    catalog_block: str | None = None,
) -> dict[str, Any]:
    """Send the outbox's due notifications, signed, with retries on a schedule, in order per resource.

    Each task sends a batch (`DOCKET_NOTIFY_BATCH_SIZE`) concurrently across endpoints. The run ends
    when nothing is due within `linger_seconds`, or after `max_seconds`; later retries are picked up
    by the next run (scheduled every minute, and started whenever a flow queues notifications).
    Killing a run loses nothing: its notifications are sent again once their lease expires.

    Args:
        max_seconds: stop starting new batches after this long.
        linger_seconds: wait for retries due within this many seconds (default DOCKET_NOTIFY_LINGER_SECONDS).
        store_block: name of a `DocketStore` block; default from `DOCKET_*` settings.
        catalog_block: name of a `DocketCatalog` block; default from `DOCKET_*` settings.
    """
    logger = get_run_logger()
    settings = docket_settings = get_settings()
    resources = resolve_resources(store_block, catalog_block)
    linger = settings.notify_linger_seconds if linger_seconds is None else linger_seconds
    totals: dict[str, Any] = {name: 0 for name in _TOTALS} | {"disabled_endpoints": []}

    started = time.monotonic()
    while time.monotonic() - started < max_seconds:
        report = deliver_due(resources, settings, docket_settings)
        _add(totals, report)
        if report.claimed:
            continue
        wait = next_due(resources)
        if wait is None or wait > linger or time.monotonic() - started + wait > max_seconds:
            break
        # Nothing claimable now: wait for the soonest retry (never spin on one held by another run).
        time.sleep(max(wait, 0.2))

    if totals["attempts"] or totals["interrupted"]:
        create_markdown_artifact(key="notification-delivery", markdown=_markdown(totals), description="Notification delivery")
        logger.info(
            "Notifications: %d attempts, %d delivered, %d retries scheduled, %d failed, %d endpoints disabled",
            totals["attempts"], totals["delivered"], totals["retrying"], totals["failed"], len(totals["disabled_endpoints"]),
        )  # fmt: skip
    return totals
