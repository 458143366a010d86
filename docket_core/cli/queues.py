"""`docket queues ...`: queues with a schema of fields, their YAML file, imports and exports."""

from __future__ import annotations

import datetime
import getpass
import hashlib
from pathlib import Path
from typing import Any, Optional

import typer
import yaml

from docket_core.cli.output import JsonOption, emit, guarded, stderr, stdout, table
from docket_core.cli.prefect_server import attach_prefect
from docket_core.errors import InputError
from docket_core.resources import Resources
from docket_core.settings import get_settings

app = typer.Typer(
    help="Queues: where captured documents wait for review and export. Each has a schema of fields, the workflow "
    "that captures new documents, and its extensions (`docket extensions`). Keep them in a YAML file and "
    "`docket queues apply` it.",
    no_args_is_help=True,
)

_QUEUE = typer.Option(..., "--queue", "-q", help="The queue id (`docket queues list`).")


def default_actor() -> str:
    """Who runs the command, as document histories record it."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _schema_file(path: Path) -> list[dict[str, Any]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise InputError(f"cannot read schema file {str(path)!r}: {e}") from e
    fields = data.get("schema", data.get("fields")) if isinstance(data, dict) else data
    if not isinstance(fields, list):
        raise InputError(f"schema file {str(path)!r} must hold a list of fields (or schema: [...]), got {type(data).__name__}")
    return fields


def _print_queue(details: dict[str, Any]) -> None:
    stdout.print(f"{details['queue_id']} ({details['name']}): workflow {details['workflow_id'] or 'none'}, "
                 f"auto_confirm {details['auto_confirm']}, export_to_review {details['export_to_review']}")  # fmt: skip
    table("Fields", ["id", "type", "required", "options / columns"], [
        [f["id"], f.get("type", "string"), "yes" if f.get("required") else "",
         ", ".join(f.get("options") or []) or ", ".join(c["id"] for c in f.get("columns") or [])]
        for f in details["fields"]
    ])  # fmt: skip
    if details.get("documents") is not None:
        stdout.print("Documents: " + (", ".join(f"{k} {v}" for k, v in sorted(details["documents"].items())) or "none"))
    for event, order in (details.get("order") or {}).items():
        levels = " -> ".join("[" + ", ".join(level) + "]" for level in order["levels"])
        connector = f" then connector {order['connector']}" if order["connector"] else ""
        stdout.print(f"  {event}: {levels or '(no ordered extensions)'}{connector}")
    for sub in details.get("subscriptions") or []:
        stdout.print(f"  subscription {sub['endpoint_key'][:12]}: {sub['url']} <- {_events_text(sub)}")


def _events_text(sub: dict[str, Any]) -> str:
    events = []
    for event in sub["events"]:
        events.append(f"status-changed (to {', '.join(sub['statuses'])})" if event == "status-changed" and sub["statuses"] else event)
    return ", ".join(events)


@app.command("create")
@guarded
def create(
    queue_id: str = _QUEUE,
    name: str = typer.Option("", "--name", help="What people call it (default: the id)."),
    workflow_id: Optional[str] = typer.Option(None, "--workflow", "-w", help="Workflow capturing new documents, e.g. invoice-capture."),
    schema: Optional[Path] = typer.Option(None, "--schema", exists=True, dir_okay=False,
                                          help="YAML/JSON list of fields; default: the workflow's fields."),  # fmt: skip
    auto_confirm: bool = typer.Option(False, "--auto-confirm", help="Confirm imported documents nothing blocks."),
    export_to_review: bool = typer.Option(False, "--export-to-review", help="Export to_review documents too, not only confirmed."),
    as_json: bool = JsonOption,
) -> None:
    """Create a queue (or redefine it).

    A field is {id, type: string|number|date|enum|multivalue, required, options (enum), columns (multivalue)}.

    Example: docket queues create --queue invoices --workflow invoice-capture --auto-confirm
    """
    from docket_core.queues.defaults import schema_for_workflow
    from docket_core.queues.models import QueueSpec
    from docket_core.queues.registry import queue_details, save_queue
    from docket_core.workflows.registry import get_workflow, load_workflows

    settings = get_settings()
    notes: list[str] = []
    if schema is not None:
        fields: Any = _schema_file(schema)
    elif workflow_id:
        fields, notes = schema_for_workflow(get_workflow(workflow_id, load_workflows(settings.workflow_paths, settings.workflow_modules)))
    else:
        raise InputError("give --schema FILE (the fields) or --workflow ID (its fields become the schema)")
    spec = QueueSpec(queue_id=queue_id, name=name, workflow_id=workflow_id, fields=fields, auto_confirm=auto_confirm,
                     export_to_review=export_to_review)  # fmt: skip
    catalog = Resources.from_settings(settings).catalog()
    with catalog.begin() as conn:
        created = save_queue(conn, spec, source="cli")
    details = queue_details(catalog, queue_id)
    if as_json:
        emit({**details, "created": created, "notes": notes})
        return
    stdout.print(f"Queue {queue_id} {'created' if created else 'updated'}.")
    for note in notes:
        stderr.print(f"note: {note}")
    _print_queue(details)


@app.command("list")
@guarded
def list_queues(as_json: bool = JsonOption) -> None:
    """Every queue with its workflow, settings and documents by status."""
    from docket_core.queues.registry import list_queues as query

    rows = query(Resources.from_settings().catalog())
    if as_json:
        emit(rows)
        return
    table("Queues", ["queue", "name", "workflow", "auto confirm", "fields", "documents"],
          [[r["queue_id"], r["name"], r["workflow_id"], r["auto_confirm"], r["fields"],
            ", ".join(f"{k} {v}" for k, v in sorted(r["documents"].items()))] for r in rows])  # fmt: skip


@app.command("show")
@guarded
def show(queue_id: str = _QUEUE, as_json: bool = JsonOption) -> None:
    """A queue's schema, settings, documents by status, extension order per event, and recent exports."""
    from docket_core.queues.registry import queue_details

    details = queue_details(Resources.from_settings().catalog(), queue_id)
    if as_json:
        emit(details)
        return
    _print_queue(details)
    for e in details["exports"]:
        stdout.print(f"  export {e['export_id']}: {e['status']}, {e['documents']} documents, {e['failed']} failed ({e['key']})")


@app.command("apply")
@guarded
def apply(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="The YAML file (queues: and extensions:)."),
    prune: bool = typer.Option(False, "--prune", help="Delete extensions this file created before and no longer lists."),
    as_json: bool = JsonOption,
) -> None:
    """Create or update the queues, their subscriptions and the extensions of a YAML file, all or nothing.

    Everything is checked first: schemas, and every queue's extension graph (cycles are shown as a path,
    unknown names and ordered connectors are named). See docs/queues.md for the format.
    """
    from docket_core.queues.config_file import apply_config, load_config

    applied = apply_config(Resources.from_settings().catalog(), load_config(path, get_settings()), prune=prune)
    if as_json:
        emit(applied.__dict__)
        return
    stdout.print(f"Queues created: {', '.join(applied.queues_created) or 'none'}; updated: {', '.join(applied.queues_updated) or 'none'}")
    stdout.print(f"Extensions saved: {', '.join(applied.extensions) or 'none'}" + (f"; deleted: {', '.join(applied.pruned)}" if applied.pruned else ""))
    if applied.subscriptions or applied.unsubscribed:
        stdout.print(f"Subscriptions: {'; '.join(applied.subscriptions) or 'none'}"
                     + (f"; removed: {'; '.join(applied.unsubscribed)}" if applied.unsubscribed else ""))  # fmt: skip


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
    stdout.print(f"Queue {queue_id}: {shown['url']} {'subscribed' if created else 'now subscribed'} to {_events_text(shown)} "
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
          [[r["queue_id"], r["endpoint_key"][:12], r["url"], _events_text(r), r["source"]] for r in rows])  # fmt: skip


def run_import(request: Any, *, as_json: bool) -> Any:
    """Run the `import_documents` flow in this process and return its summary."""
    attach_prefect()  # before Prefect loads: the shared local server, not a new ephemeral API
    from flows.import_documents import import_documents

    from docket_core.cli.notifications import delivering_new

    if not as_json:
        stderr.print(f"Importing into queue {request.queue_id} (starting Prefect)...")
    with delivering_new(as_json=as_json):
        return import_documents(request=request)


def print_import(summary: Any, as_json: bool) -> None:
    if as_json:
        emit(summary)
        return
    stdout.print(
        f"Queue {summary.queue_id}: {len(summary.document_ids)} documents ({summary.created} new, {summary.existing} "
        f"already there), {summary.captured} captured, {summary.failed_import} failed import, {summary.confirmed} confirmed, "
        f"{len(summary.blocked)} to review"
    )
    for doc, why in sorted(summary.blocked.items()):
        stdout.print(f"  document {doc}: {'; '.join(why) or 'waits for review'}", highlight=False)
    for name, why in summary.email_rejected.items():
        stdout.print(f"  attachment {name}: not a document: {why}", highlight=False)
    if summary.email_dropped:
        stdout.print(f"  attachments no e-mail extension kept: {', '.join(summary.email_dropped)}")
    if summary.flow_run_id:
        stdout.print(f"  Prefect flow run: {summary.flow_run_id}")


def stage_email(path: Path) -> str:
    """Put an .eml file in the store; its key (by content, so the same e-mail twice is one import)."""
    data = path.read_bytes()
    key = f"emails/{hashlib.sha256(data).hexdigest()}.eml"
    store = Resources.from_settings().store()
    if not store.exists(key):
        store.put_bytes(key, data)
    return key


@app.command("import")
@guarded
def import_(
    queue_id: str = _QUEUE,
    batch_id: Optional[str] = typer.Option(None, "--batch", "-b", help="A staged batch: each ingested file becomes a document."),
    job_id: Optional[str] = typer.Option(None, "--job", "-j", help="A finished job: each processed file, with what it captured."),
    email: Optional[Path] = typer.Option(None, "--email", exists=True, dir_okay=False, help="An .eml file: its attachments."),
    as_json: bool = JsonOption,
) -> None:
    """Bring documents into a queue from a batch, a job's output or an e-mail; then extensions run.

    Safe to run again: documents are created once per file, and an interrupted import resumes.

    Example: docket queues import --queue invoices --batch march-invoices
    """
    from docket_core.queues.importing import ImportRequest

    given = [x for x in (batch_id, job_id, email) if x is not None]
    if len(given) != 1:
        raise InputError("give exactly one of --batch, --job or --email")
    if email is not None:
        request = ImportRequest(queue_id=queue_id, source="email", email_key=stage_email(email), actor=default_actor())
    elif batch_id is not None:
        request = ImportRequest(queue_id=queue_id, source="batch", batch_id=batch_id, actor=default_actor())
    else:
        request = ImportRequest(queue_id=queue_id, source="job", job_id=job_id, actor=default_actor())
    _check_queue(queue_id)
    print_import(run_import(request, as_json=as_json), as_json)


def _check_queue(queue_id: str) -> None:
    from docket_core.queues.registry import get_queue

    with Resources.from_settings().catalog().read() as conn:
        get_queue(conn, queue_id)  # a typo should not cost a Prefect start-up


def _date(value: Optional[str], what: str) -> Optional[datetime.datetime]:
    if value is None:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError as e:
        raise InputError(f"{what} must be a date or time like 2024-03-31 or 2024-03-31T12:00, got {value!r}") from e
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.timezone.utc)


@app.command("export")
@guarded
def export(
    queue_id: Optional[str] = typer.Option(None, "--queue", "-q", help="The queue (default: every queue)."),
    status: list[str] = typer.Option([], "--status", "-s", help="Only these statuses (confirmed, to_review, failed_export)."),
    since: Optional[str] = typer.Option(None, "--since", help="Only documents ready at or after this date/time (UTC)."),
    until: Optional[str] = typer.Option(None, "--until", help="Only documents ready before this date/time (UTC)."),
    as_json: bool = JsonOption,
) -> None:
    """Export what is ready now (the scheduled `export_queue` flow, run by hand), exactly once.

    One Parquet part per export under exports/queue=<id>/date=<YYYY-MM-DD>/; an export a crash
    interrupted is finished first.

    Example: docket queues export --queue invoices --since 2024-03-01
    """
    from docket_core.queues.export import ExportFilters

    filters = ExportFilters(statuses=status, since=_date(since, "--since"), until=_date(until, "--until"))
    if queue_id:
        _check_queue(queue_id)
    attach_prefect()  # before Prefect loads: the shared local server, not a new ephemeral API
    from flows.export_queue import export_queue

    if not as_json:
        stderr.print(f"Exporting {'queue ' + queue_id if queue_id else 'every queue'} (starting Prefect)...")
    from docket_core.cli.notifications import delivering_new

    with delivering_new(as_json=as_json):
        summary = export_queue(queue_id=queue_id, statuses=filters.statuses or None, since=filters.since, until=filters.until,
                               actor=default_actor())  # fmt: skip
    if as_json:
        emit(summary)
        return
    store = Resources.from_settings().store()
    stdout.print(f"{', '.join(summary.queue_ids) or 'No queue'}: {summary.exported} documents exported, {summary.failed} failed export")
    for e in summary.exports:
        where = store.uri(e["key"]) if e["key"] else "no part (nothing left to write)"
        stdout.print(f"  {e['export_id']}{' (resumed)' if e['resumed'] else ''}: {e['exported']} documents -> {where}")
    if not summary.exports:
        stdout.print("  nothing was ready")
