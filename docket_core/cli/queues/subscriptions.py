"""`docket queues subscribe|unsubscribe|subscriptions`: who is notified of a queue's documents."""

from __future__ import annotations

from typing import Optional

import typer

from docket_core.cli.output import JsonOption, emit, guarded, stdout, table
from docket_core.cli.queues.common import QUEUE_OPTION as _QUEUE
from docket_core.cli.queues.common import app, events_text
from docket_core.errors import InputError
from docket_core.resources import Resources

__all__ = ["subscribe", "subscriptions", "unsubscribe"]


@app.command("subscribe")
@guarded
def subscribe(
    queue_id: str = _QUEUE,
    url: str = typer.Option(..., "--url", help="Where notifications are POSTed, signed (`docket notifications secret`)."),
    event: list[str] = typer.Option(["status-changed", "exported"], "--event", "-e",
                                    help="status-changed (every move, or those of --status) and/or exported (with the final values)."),  # fmt: skip
    status: list[str] = typer.Option([], "--status", "-s", help="status-changed only for moves to these statuses, e.g. to_review."),
    as_json: bool = JsonOption,
) -> None:
    """Tell an endpoint about the queue's documents: each status change, and each export with its values.

    Notifications are queued in the transaction of the change and sent by `docket serve` (or the
    deliver-notifications deployment, or `docket notifications deliver`), signed with Standard Webhooks
    headers, retried until delivered. Subscribing the same URL again replaces its events and statuses.

    Example: docket queues subscribe --queue invoices --url https://erp.example.com/hook --event exported
    """
    from pydantic import ValidationError

    from docket_core.notifications.outbox import endpoint_key
    from docket_core.queues.registry import get_queue
    from docket_core.queues.subscriptions import QueueSubscription, list_subscriptions
    from docket_core.queues.subscriptions import subscribe as save

    try:
        subscription = QueueSubscription(url=url, events=tuple(event), statuses=tuple(status))  # type: ignore[arg-type]
    except ValidationError as e:
        options = {"url": "--url", "events": "--event", "statuses": "--status"}
        raise InputError("; ".join(f"{options.get(str(x['loc'][0]), x['loc'][0])}: {x['msg'].removeprefix('Value error, ')}"
                                   for x in e.errors())) from e  # fmt: skip
    with Resources.from_settings().catalog().begin() as conn:
        get_queue(conn, queue_id)
        created = save(conn, queue_id, subscription, source="cli")
        shown = next(s for s in list_subscriptions(conn, queue_id) if s["endpoint_key"] == endpoint_key(subscription.url))
    if as_json:
        emit({**shown, "created": created})
        return
    stdout.print(f"Queue {queue_id}: {shown['url']} {'subscribed' if created else 'now subscribed'} to {events_text(shown)} "
                 f"(key {shown['endpoint_key'][:12]}).")  # fmt: skip


@app.command("unsubscribe")
@guarded
def unsubscribe(
    queue_id: str = _QUEUE,
    endpoint: str = typer.Option(..., "--endpoint", help="The subscribed URL, or the start of its key (`docket queues subscriptions`)."),
    as_json: bool = JsonOption,
) -> None:
    """Stop notifying an endpoint about the queue (notifications already queued still go out)."""
    from docket_core.queues.subscriptions import unsubscribe as remove

    with Resources.from_settings().catalog().begin() as conn:
        gone = remove(conn, queue_id, endpoint)
    if as_json:
        emit(gone)
        return
    stdout.print(f"Queue {queue_id}: {gone['url']} unsubscribed.")


@app.command("subscriptions")
@guarded
def subscriptions(
    queue_id: Optional[str] = typer.Option(None, "--queue", "-q", help="One queue (default: every queue)."),
    as_json: bool = JsonOption,
) -> None:
    """Who is notified of which queue's status changes and exports (URLs shown without their query strings)."""
    from docket_core.queues.registry import get_queue
    from docket_core.queues.subscriptions import list_subscriptions

    with Resources.from_settings().catalog().read() as conn:
        if queue_id:
            get_queue(conn, queue_id)
        rows = list_subscriptions(conn, queue_id)
    if as_json:
        emit(rows)
        return
    table("Subscriptions", ["queue", "key", "url", "events", "source"],
          [[r["queue_id"], r["endpoint_key"][:12], r["url"], events_text(r), r["source"]] for r in rows])  # fmt: skip
