"""`docket documents ...`: upload, look at, edit, confirm, reject and postpone documents in queues."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from docket_core.cli.output import JsonOption, emit, guarded, stderr, stdout, table
from docket_core.cli.prefect_server import attach_prefect
from docket_core.cli.queues import default_actor, print_import, run_import, stage_email
from docket_core.errors import InputError
from docket_core.resources import Resources
from docket_core.settings import get_settings

app = typer.Typer(
    help="Documents in queues: upload files or e-mails, see their captured data and messages, correct fields "
    "(extensions listening to `updated` run), confirm (the `confirm` extensions may refuse), reject, postpone.",
    no_args_is_help=True,
)

_ID = typer.Option(..., "--id", "-i", help="The document id (`docket documents list --queue Q`).")
_FILES = typer.Argument(..., exists=True, dir_okay=False, help="PDF or XML invoices, or .eml e-mails.")


def _upload(queue_id: str, files: list[Path], as_json: bool) -> tuple[list[Any], dict[str, str]]:
    """Stage the files and import them (e-mails one by one); the import summaries and the rejected files."""
    from docket_core.queues.importing import ImportRequest, StagedFile
    from docket_core.queues.registry import get_queue
    from docket_core.staging.ingest import stage_file

    settings = get_settings()
    resources = Resources.from_settings(settings)
    with resources.catalog().read() as conn:
        get_queue(conn, queue_id)
    staged, rejected = [], {}
    for path in (p for p in files if p.suffix.lower() != ".eml"):
        outcome = stage_file(path, path.name, batch_kind="documents", settings=settings, store=resources.store())
        if outcome.status == "ingested" and outcome.sha256:
            staged.append(StagedFile(name=path.name, sha256=outcome.sha256, media_type=outcome.media_type, size=outcome.size))
        else:
            rejected[str(path)] = f"{outcome.error_type}: {outcome.reason}"
    summaries = []
    if staged:
        summaries.append(run_import(ImportRequest(queue_id=queue_id, source="files", files=staged, actor=default_actor()), as_json=as_json))
    for path in (p for p in files if p.suffix.lower() == ".eml"):
        request = ImportRequest(queue_id=queue_id, source="email", email_key=stage_email(path), actor=default_actor())
        summaries.append(run_import(request, as_json=as_json))
    return summaries, rejected


@app.command("upload")
@guarded
def upload(
    files: list[Path] = _FILES,
    queue_id: str = typer.Option(..., "--queue", "-q", help="The queue to put them in."),
    as_json: bool = JsonOption,
) -> None:
    """Upload files (or .eml e-mails, whose attachments become documents) into a queue.

    Each is validated and stored, captured by the queue's workflow, then the queue's `initialize`
    extensions run. The same file twice is one document. Exit code 1 if a file was refused.

    Example: docket documents upload --queue invoices invoice.pdf scan.eml
    """
    summaries, rejected = _upload(queue_id, files, as_json)
    if as_json:
        emit({"imports": [s.model_dump(mode="json") for s in summaries], "rejected": rejected})
    else:
        for summary in summaries:
            print_import(summary, as_json=False)
        for path, why in rejected.items():
            stderr.print(f"refused {path}: {why}", highlight=False)
    if rejected:
        raise typer.Exit(1)


@app.command("list")
@guarded
def list_documents(
    queue_id: str = typer.Option(..., "--queue", "-q", help="The queue."),
    status: list[str] = typer.Option([], "--status", "-s", help="Only these statuses (repeat for several)."),
    as_json: bool = JsonOption,
) -> None:
    """A queue's documents with their status and how many error messages and blockers they have."""
    from docket_core.queues.documents import list_documents as query

    rows = query(Resources.from_settings().catalog(), queue_id, status=status)
    if as_json:
        emit(rows)
        return
    table(f"Documents in {queue_id}", ["id", "file", "status", "errors", "blockers", "since"],
          [[r["document_id"], r["file_name"], r["status"], r["errors"], r["automation_blockers"], r["status_changed_at"]] for r in rows])  # fmt: skip


def _details(document_id: int) -> dict[str, Any]:
    from docket_core.queues.documents import document_details

    return document_details(Resources.from_settings().catalog(), document_id)


def _where(content: dict[str, Any] | None) -> str:
    """Where a value was read, in short: `p1 0.93` (page, capture's confidence); the box is in --json."""
    content = content or {}
    if content.get("page") is None:
        return ""
    confidence = content.get("rir_confidence")
    return f"p{content['page']}" + (f" {confidence:.2f}" if isinstance(confidence, int | float) else "")


def _print_details(d: dict[str, Any]) -> None:
    stdout.print(f"Document {d['document_id']} in {d['queue_id']}: {d['status']} ({d['file_name']}, revision {d['revision']})")
    rows = []
    for section in d["content"]:
        for node in section.get("children") or []:
            if node["category"] == "datapoint":
                source = d["sources"].get(node["schema_id"], "")
                rows.append([f"#{node['id']}", node["schema_id"], node["content"].get("value", ""), source, _where(node["content"])])
            else:
                for row in node.get("children") or []:
                    for cell in row.get("children") or []:
                        rows.append([f"#{cell['id']}", f"{node['schema_id']}[{row['id']}].{cell['schema_id']}",
                                     cell["content"].get("value", ""), d["sources"].get(str(cell["id"]), ""),
                                     _where(cell["content"])])  # fmt: skip
    table("Fields (edit with --set FIELD=VALUE or --set '#ID=VALUE')", ["id", "field", "value", "set by", "read (page, confidence)"], rows)
    for m in d["messages"]:
        stdout.print(f"  {m['type']}: {m['content']} ({m.get('source', '')}{', #' + str(m['id']) if m.get('id') else ''})", highlight=False)
    for b in d["automation_blockers"]:
        stdout.print(f"  blocks automation: {b['content']} ({b.get('source', '')})", highlight=False)
    for h in d["history"]:
        what = f"{h['from'] or '-'} -> {h['to']}" if h["action"] == "status" else "edit"
        stdout.print(f"  {h['at']}  {what}  by {h['actor']}{': ' + h['note'] if h['note'] else ''}", highlight=False)


@app.command("show")
@guarded
def show(document_id: int = _ID, as_json: bool = JsonOption) -> None:
    """A document's fields (with datapoint ids and who set each), messages, blockers and history."""
    details = _details(document_id)
    if as_json:
        emit(details)
        return
    _print_details(details)


def _action(action: str, ids: list[int], *, as_json: bool, **kwargs: Any) -> Any:
    attach_prefect()  # before Prefect loads: the shared local server, not a new ephemeral API
    from flows.document_action import document_action

    from docket_core.cli.notifications import delivering_new

    if not as_json:
        stderr.print(f"{action.capitalize()} {', '.join(map(str, ids))} (starting Prefect)...")
    with delivering_new(as_json=as_json):
        return document_action(action=action, document_ids=ids, actor=default_actor(), **kwargs)


def _changes(pairs: list[str]) -> dict[str, str]:
    changes = {}
    for pair in pairs:
        field, sep, value = pair.partition("=")
        if not sep or not field:
            raise InputError(f"--set takes FIELD=VALUE (or '#ID=VALUE' for a table cell), got {pair!r}")
        changes[field.strip()] = value
    return changes


@app.command("edit")
@guarded
def edit(
    document_id: int = _ID,
    set_: list[str] = typer.Option([], "--set", help="FIELD=VALUE, or '#ID=VALUE' for any datapoint (ids: `documents show`)."),
    operations: Optional[Path] = typer.Option(None, "--operations", exists=True, dir_okay=False,
                                              help="JSON list of Rossum operations (replace/add/remove)."),  # fmt: skip
    as_json: bool = JsonOption,
) -> None:
    """Correct fields; the queue's `updated` extensions then run with the changed datapoint ids.

    Example: docket documents edit --id 3 --set gross_total=1056.00 --set '#42=2'
    """
    ops = json.loads(operations.read_text()) if operations else []
    if not isinstance(ops, list):
        raise InputError(f"--operations must hold a JSON list of operations, got {type(ops).__name__}")
    changes = _changes(set_)
    if not changes and not ops:
        raise InputError("nothing to change: give --set FIELD=VALUE or --operations FILE")
    summary = _action("edit", [document_id], as_json=as_json, changes=changes, operations=ops)
    details = _details(document_id)
    if as_json:
        emit({"action": summary.model_dump(mode="json"), "document": details})
        return
    _print_details(details)


def _status_command(action: str, ids: list[int], note: Optional[str], as_json: bool) -> None:
    if action == "confirm":
        result = _action("confirm", ids, as_json=as_json).model_dump(mode="json")
    else:  # a status change alone: no extension listens, so no Prefect start-up
        from docket_core.queues.review import set_status

        from docket_core.cli.notifications import delivering_new

        to = {"reject": "rejected", "postpone": "postponed", "reopen": "to_review"}[action]
        with delivering_new(as_json=as_json, deliver=False):
            changes = set_status(Resources.from_settings().catalog(), ids, to, actor=default_actor(), note=note)
        result = {"action": action, "moved": {c.document_id: c.to_status for c in changes}, "refused": {}}
    if as_json:
        emit(result)
    else:
        for doc, status in sorted(result["moved"].items()):
            stdout.print(f"document {doc}: {status}")
        for doc, why in sorted(result["refused"].items()):
            stdout.print(f"document {doc}: not confirmed: {'; '.join(why)}", highlight=False)
    if result["refused"]:
        raise typer.Exit(1)


_IDS = typer.Option(..., "--id", "-i", help="Document id (repeat for several).")
_NOTE = typer.Option(None, "--note", help="Why; kept in each document's history.")


@app.command("confirm")
@guarded
def confirm(document_ids: list[int] = _IDS, as_json: bool = JsonOption) -> None:
    """Confirm documents for export; a `confirm` extension's error message keeps one in review (exit 1)."""
    _status_command("confirm", document_ids, None, as_json)


@app.command("reject")
@guarded
def reject(document_ids: list[int] = _IDS, note: Optional[str] = _NOTE, as_json: bool = JsonOption) -> None:
    """Reject documents: they are never exported (reopen them with `docket documents reopen`)."""
    _status_command("reject", document_ids, note, as_json)


@app.command("postpone")
@guarded
def postpone(document_ids: list[int] = _IDS, note: Optional[str] = _NOTE, as_json: bool = JsonOption) -> None:
    """Put documents aside for later (`postponed`); edit, confirm or reopen them when ready."""
    _status_command("postpone", document_ids, note, as_json)


@app.command("reopen")
@guarded
def reopen(document_ids: list[int] = _IDS, note: Optional[str] = _NOTE, as_json: bool = JsonOption) -> None:
    """Put rejected, postponed or confirmed documents back into `to_review`."""
    _status_command("reopen", document_ids, note, as_json)


@app.command("extract")
@guarded
def extract(
    files: list[Path] = _FILES,
    queue_id: str = typer.Option(..., "--queue", "-q", help="The queue whose workflow and extensions process them."),
    output_format: str = typer.Option("json", "--format", "-f", help="json (one object per document) or csv."),
) -> None:
    """Upload files, wait for capture and extensions, and print the captured data.

    One by one, like an upload-poll-download client, but the wait is the flow run itself: no polling loop.

    Example: docket documents extract --queue invoices --format csv invoice.pdf > invoice.csv
    """
    if output_format not in ("json", "csv"):
        raise InputError(f"--format must be json or csv, got {output_format!r}")
    summaries, rejected = _upload(queue_id, files, as_json=True)
    ids = sorted({doc for s in summaries for doc in s.document_ids})
    documents = [_details(doc) for doc in ids]
    records = [
        {"document_id": d["document_id"], "file_name": d["file_name"], "status": d["status"], "values": d["values"],
         "messages": [{k: m.get(k) for k in ("type", "content", "source")} for m in d["messages"]]}  # fmt: skip
        for d in documents
    ]
    if output_format == "json":
        emit(records)
    else:
        _write_csv(records)
    for path, why in rejected.items():
        stderr.print(f"refused {path}: {why}", highlight=False)
    if rejected:
        raise typer.Exit(1)


def _write_csv(records: list[dict[str, Any]]) -> None:
    fields = list(dict.fromkeys(k for r in records for k in r["values"]))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["document_id", "file_name", "status", *fields, "errors"])
    for r in records:
        cells = [json.dumps(v) if isinstance(v, list) else ("" if v is None else v) for v in (r["values"].get(f) for f in fields)]
        errors = "; ".join(m["content"] for m in r["messages"] if m["type"] == "error")
        writer.writerow([r["document_id"], r["file_name"], r["status"], *cells, errors])
    sys.stdout.write(buffer.getvalue())
    sys.stdout.flush()


@app.command("review-url")
@guarded
def review_url(
    document_id: int = typer.Argument(..., help="The document to open (`docket documents list --queue Q`)."),
    return_url: Optional[str] = typer.Option(None, "--return-url", help="Where the page goes when the reviewer confirms or leaves; on an origin of DOCKET_REVIEW_FRAME_ORIGINS."),
    minutes: Optional[float] = typer.Option(None, "--minutes", min=1, help="How long the URL works (default DOCKET_REVIEW_EMBED_MINUTES)."),
    as_json: bool = JsonOption,
) -> None:
    """A URL that opens one document's review page (for another application's iframe), valid for a while.

    Whoever has the URL can review that document, and only it, until it expires. The page may be framed
    only by the origins in DOCKET_REVIEW_FRAME_ORIGINS.

    Example: docket documents review-url 42 --return-url https://erp.example.com/invoices/42
    """
    from datetime import timedelta

    from docket_core.queues.review_links import review_link

    settings = get_settings()
    ttl = timedelta(minutes=minutes or settings.review_embed_minutes)
    base = settings.public_base_url
    url = review_link(Resources.from_settings(settings).catalog(), document_id, base_url=base, ttl=ttl, return_url=return_url,
                      allowed_origins=settings.review_frame_origins)  # fmt: skip
    if as_json:
        emit({"document_id": document_id, "url": url, "expires_in_s": int(ttl.total_seconds())})
    else:
        stdout.print(url, markup=False, highlight=False, soft_wrap=True)
