"""`docket notifications ...`: the outbox of signed webhook notifications, their attempts, and re-sending."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Optional

import typer

from docket_core.cli.output import JsonOption, emit, fail, guarded, stderr, stdout, table
from docket_core.cli.prefect_server import attach_prefect
from docket_core.resources import Resources

app = typer.Typer(
    help="Webhook notifications Docket sends (ingest, files, job and document status): list them, see every "
    "delivery attempt with its status code, send them again, and manage endpoints and the signing secret.",
    no_args_is_help=True,
)

_EVENT = typer.Option(..., "--event-id", "-e", help="The notification's event id (also its webhook-id).")


def _catalog():  # noqa: ANN202 - a Catalog
    return Resources.from_settings().catalog()


@app.command("list")
@guarded
def list_(
    status: Optional[str] = typer.Option(None, "--status", "-s", help="Only pending, delivered or failed."),
    type_: Optional[str] = typer.Option(None, "--type", "-t", help="Only ingest-status, files-status, job-status, document-..."),
    resource: Optional[str] = typer.Option(None, "--resource", "-r", help="Only about this resource, e.g. job:<job-id>, ingest:<ingest-id>."),
    limit: int = typer.Option(100, "--limit", "-n", min=1, help="At most this many, newest first."),
    as_json: bool = JsonOption,
) -> None:
    """The newest notifications with their state, attempts and last answer.

    Example: docket notifications list --status failed
    """
    from docket_core.notifications.queries import list_notifications

    rows = list_notifications(_catalog(), status=status, type_=type_, resource=resource, limit=limit)
    if as_json:
        emit(rows)
        return
    table("Notifications", ["event id", "type", "resource", "status", "attempts", "last code", "endpoint", "next attempt / error"],
          [[r["event_id"], r["type"], r["resource"], r["status"] + (" (endpoint disabled)" if r["endpoint_disabled"] else ""),
            r["attempts"], r["last_status_code"], r["endpoint"], r["next_attempt_at"] or r["last_error"] or ""] for r in rows])  # fmt: skip


@app.command("show")
@guarded
def show(event_id: str = _EVENT, as_json: bool = JsonOption) -> None:
    """One notification: its body as sent, and every attempt with its time, status code and outcome.

    Example: docket notifications show --event-id 8c20f970-fe10-41e1-9ef2-e057c63c07ff
    """
    from docket_core.notifications.queries import show_notification

    details = show_notification(_catalog(), event_id)
    if as_json:
        emit(details)
        return
    stdout.print(f"{details['event_id']} {details['type']} about {details['resource']}: "
                 f"{details['status']} after {details['attempts']} attempts, to {details['endpoint']}",
                 highlight=False, emoji=False)  # fmt: skip
    if details["last_error"]:
        stdout.print(f"  last error: {details['last_error']}", highlight=False, emoji=False, markup=False)
    table("Attempts", ["#", "started", "ms", "status code", "outcome", "error"],
          [[a["attempt"], a["started_at"], a["duration_ms"], a["status_code"], a["outcome"], a["error"] or ""]
           for a in details["attempt_log"]])  # fmt: skip


@app.command("replay")
@guarded
def replay(
    event_ids: Optional[list[str]] = typer.Option(None, "--event-id", "-e", help="A notification to send again (repeatable)."),
    status: Optional[str] = typer.Option(None, "--status", "-s", help="Send again every notification with this status, e.g. failed."),
    deliver_now: bool = typer.Option(True, "--deliver/--no-deliver", help="Run a delivery now (else the next scheduled run sends them)."),
    as_json: bool = JsonOption,
) -> None:
    """Send notifications again: same event id (webhook-id), next delivery_attempt.

    Example: docket notifications replay --status failed
    """
    from docket_core.notifications.queries import replay as run

    queued = run(_catalog(), event_ids=event_ids or (), status=status)
    result: dict[str, Any] = {"replayed": queued}
    if deliver_now and queued:
        result["delivery"] = _deliver(linger=0.0, as_json=as_json)
    if as_json:
        emit(result)
        return
    stdout.print(f"{len(queued)} notifications queued again.")
    if "delivery" in result:
        _print_delivery(result["delivery"])


def _deliver(*, linger: float | None, as_json: bool, max_seconds: float = 240.0) -> dict[str, Any]:
    attach_prefect()  # before Prefect loads: the shared local server, not a new ephemeral API
    from flows.deliver_notifications import deliver_notifications

    if not as_json:
        stderr.print("Delivering notifications (starting Prefect)...")
    return deliver_notifications(max_seconds=max_seconds, linger_seconds=linger)


def deliver_after_flow(*, as_json: bool) -> None:
    """One delivery pass after a CLI flow that queued notifications; retries are left to `docket serve`
    (or the deployment's schedule, or `docket notifications deliver`)."""
    totals = _deliver(linger=0.0, as_json=as_json, max_seconds=60.0)
    if not as_json and (totals["retrying"] or totals["failed"]):
        stderr.print(f"notifications: {totals['delivered']} delivered, {totals['failed']} failed, {totals['retrying']} to be "
                     "retried by `docket serve` or `docket notifications deliver`; see `docket notifications list`")  # fmt: skip


@contextmanager
def delivering_new(*, as_json: bool, deliver: bool = True) -> Iterator[None]:
    """Around a CLI command that may queue notifications (queue subscribers'): one delivery pass for what
    it queued, or with `deliver=False` (commands that do not start Prefect) a line saying who sends them."""
    from docket_core.notifications.queries import last_notification_id, queued_since

    catalog = _catalog()
    mark = last_notification_id(catalog)
    try:
        yield
    finally:
        queued = queued_since(catalog, mark)
        if queued and deliver:
            deliver_after_flow(as_json=as_json)
        elif queued and not as_json:
            stderr.print(f"{queued} notifications queued for subscribers; `docket serve` (or the deliver-notifications "
                         "deployment) sends them within a minute, `docket notifications deliver` sends them now.")  # fmt: skip


def _print_delivery(totals: dict[str, Any]) -> None:
    from docket_core.notifications.queries import outbox_counts

    pending = outbox_counts(_catalog())["pending"]
    stdout.print(f"{totals['attempts']} attempts: {totals['delivered']} delivered, {totals['failed']} failed for good, "
                 f"{totals['retrying']} retries scheduled; {pending} notifications still pending.")  # fmt: skip
    for key in totals["disabled_endpoints"]:
        stdout.print(f"  endpoint {key[:12]} disabled (see `docket notifications endpoints`)")


@app.command("deliver")
@guarded
def deliver(
    linger: Optional[float] = typer.Option(None, "--linger", min=0.0, help="Wait this many seconds for retries falling due (default DOCKET_NOTIFY_LINGER_SECONDS)."),
    max_seconds: float = typer.Option(240.0, "--max-seconds", min=1.0, help="Stop starting new batches after this long."),
    as_json: bool = JsonOption,
) -> None:
    """Send what is due now (the `deliver_notifications` flow, in this process).

    `docket serve` and deployed runs do this every minute and after each flow that queued notifications.
    """
    totals = _deliver(linger=linger, as_json=as_json, max_seconds=max_seconds)
    if as_json:
        emit(totals)
        return
    _print_delivery(totals)


@app.command("endpoints")
@guarded
def endpoints(as_json: bool = JsonOption) -> None:
    """Every endpoint notified so far: enabled or disabled (and why), failures in a row, counts."""
    from docket_core.notifications.queries import list_endpoints

    rows = list_endpoints(_catalog())
    if as_json:
        emit(rows)
        return
    table("Endpoints", ["key", "url", "state", "failures in a row", "pending", "delivered", "failed"],
          [[r["endpoint_key"][:12], r["url"], "disabled: " + (r["disabled_reason"] or "") if r["disabled"] else "enabled",
            r["consecutive_failures"], r["notifications"]["pending"], r["notifications"]["delivered"],
            r["notifications"]["failed"]] for r in rows])  # fmt: skip


@app.command("enable")
@guarded
def enable(
    endpoint: str = typer.Option(..., "--endpoint", help="The endpoint's URL or the start of its key (`docket notifications endpoints`)."),
    as_json: bool = JsonOption,
) -> None:
    """Enable a disabled endpoint again; its waiting notifications go out on the next delivery run."""
    from docket_core.notifications.queries import enable_endpoint

    row = enable_endpoint(_catalog(), endpoint)
    if as_json:
        emit(row)
        return
    stdout.print(f"Endpoint {row['endpoint_key'][:12]} ({row['url']}) enabled; {row['notifications']['pending']} notifications waiting.")


@app.command("secret")
@guarded
def secret(
    receiver: bool = typer.Option(False, "--receiver", help="The secret pushes to the receiver are signed with, instead."),
) -> None:
    """Print the whsec_ secret subscribers verify notifications with (generated on first use).

    It comes from DOCKET_WEBHOOK_SECRET, else <DOCKET_HOME>/secrets/webhook-secret. A WebhookEndpoint
    block with a notification's exact URL signs with its own secret instead. With --receiver: the secret
    of DOCKET_RECEIVER_SECRET (or <DOCKET_HOME>/secrets/receiver-secret) that pushes must be signed with.
    """
    from docket_core.settings import get_settings

    settings = get_settings()
    try:
        value = settings.push_secret() if receiver else settings.signing_secret()
    except OSError as exc:
        fail(f"cannot read or create the secret under {settings.home / 'secrets'}: {exc.strerror}")
    typer.echo(value)
