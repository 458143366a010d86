"""`docket queues import|export`: documents into a queue (the import flow) and out of it (the export flow)."""

from __future__ import annotations

import datetime
import hashlib
from pathlib import Path
from typing import Any, Optional

import typer

from docket_core.cli.output import JsonOption, emit, guarded, stderr, stdout
from docket_core.cli.prefect_server import attach_prefect
from docket_core.cli.queues.common import QUEUE_OPTION as _QUEUE
from docket_core.cli.queues.common import app, default_actor
from docket_core.errors import InputError
from docket_core.resources import Resources

__all__ = ["export", "import_", "print_import", "run_import", "stage_email"]


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
