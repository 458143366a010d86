"""The Typer app of `docket queues` and what its command modules share."""

from __future__ import annotations

import getpass
from typing import Any

import typer

__all__ = ["QUEUE_OPTION", "app", "default_actor", "events_text"]


app = typer.Typer(
    help="Queues: where captured documents wait for review and export. Each has a schema of fields, the workflow "
    "that captures new documents, and its extensions (`docket extensions`). Keep them in a YAML file and "
    "`docket queues apply` it.",
    no_args_is_help=True,
)

QUEUE_OPTION = typer.Option(..., "--queue", "-q", help="The queue id (`docket queues list`).")


def default_actor() -> str:
    """Who runs the command, as document histories record it."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def events_text(sub: dict[str, Any]) -> str:
    """A subscription's events as one line, with the statuses a status-changed subscription is limited to."""
    events = []
    for event in sub["events"]:
        events.append(f"status-changed (to {', '.join(sub['statuses'])})" if event == "status-changed" and sub["statuses"] else event)
    return ", ".join(events)
