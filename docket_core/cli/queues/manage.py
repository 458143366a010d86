"""`docket queues create|update|list|show|apply`: queues, their schema of fields and their YAML file."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
import yaml

from docket_core.cli.output import JsonOption, emit, guarded, stderr, stdout, table
from docket_core.cli.queues.common import QUEUE_OPTION as _QUEUE
from docket_core.cli.queues.common import app, events_text
from docket_core.errors import InputError
from docket_core.resources import Resources
from docket_core.settings import get_settings

__all__ = ["apply", "create", "list_queues", "show", "update"]


def _schema_file(path: Path) -> list[dict[str, Any]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise InputError(f"cannot read schema file {str(path)!r}: {e}") from e
    fields = data.get("schema", data.get("fields")) if isinstance(data, dict) else data
    if not isinstance(fields, list):
        raise InputError(f"schema file {str(path)!r} must hold a list of fields (or schema: [...]), got {type(data).__name__}")
    return fields


def _field_thresholds(given: list[str]) -> dict[str, float]:
    """`--field-threshold gross_total=0.97` options as {field: threshold}."""
    found: dict[str, float] = {}
    for item in given:
        name, sep, raw = item.partition("=")
        try:
            found[name.strip()] = float(raw)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise InputError(f"--field-threshold must be FIELD=THRESHOLD like gross_total=0.97, got {item!r}")
    return found


def _print_queue(details: dict[str, Any]) -> None:
    threshold = details.get("default_score_threshold")
    stdout.print(f"{details['queue_id']} ({details['name']}): workflow {details['workflow_id'] or 'none'}, "
                 f"auto_confirm {details['auto_confirm']}, export_to_review {details['export_to_review']}, "
                 f"score threshold {threshold if threshold is not None else 'default (DOCKET_DEFAULT_SCORE_THRESHOLD)'}")  # fmt: skip
    table("Fields", ["id", "type", "required", "score threshold", "options / columns"], [
        [f["id"], f.get("type", "string"), "yes" if f.get("required") else "", f.get("score_threshold", ""),
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
        stdout.print(f"  subscription {sub['endpoint_key'][:12]}: {sub['url']} <- {events_text(sub)}")


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
    score_threshold: Optional[float] = typer.Option(None, "--score-threshold", min=0, max=1,
                                                    help="Confidence each required field needs to confirm automatically "
                                                    "(default: DOCKET_DEFAULT_SCORE_THRESHOLD)."),  # fmt: skip
    field_threshold: list[str] = typer.Option([], "--field-threshold", help="A field's own threshold, FIELD=0.97; repeatable."),
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
    spec = spec.with_score_thresholds(default=score_threshold, fields=_field_thresholds(field_threshold))
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


@app.command("update")
@guarded
def update(
    queue_id: str = _QUEUE,
    auto_confirm: Optional[bool] = typer.Option(None, "--auto-confirm/--no-auto-confirm", help="Confirm imported documents nothing blocks."),
    score_threshold: Optional[float] = typer.Option(None, "--score-threshold", min=0, max=1,
                                                    help="Confidence each required field needs to confirm automatically."),  # fmt: skip
    field_threshold: list[str] = typer.Option([], "--field-threshold", help="A field's own threshold, FIELD=0.97; repeatable."),
    as_json: bool = JsonOption,
) -> None:
    """Change a queue's automation (automatic confirmation, score thresholds), keeping its schema.

    Example: docket queues update --queue invoices --score-threshold 0.95 --field-threshold gross_total=0.99
    """
    from docket_core.queues.registry import get_queue, queue_details, save_queue

    catalog = Resources.from_settings().catalog()
    source = queue_details(catalog, queue_id)["source"]  # a queue from a YAML file stays that file's
    with catalog.begin() as conn:
        spec = get_queue(conn, queue_id).with_score_thresholds(default=score_threshold, fields=_field_thresholds(field_threshold))
        if auto_confirm is not None:
            spec = spec.model_copy(update={"auto_confirm": auto_confirm})
        save_queue(conn, spec, source=source)
    details = queue_details(catalog, queue_id)
    if as_json:
        emit(details)
        return
    stdout.print(f"Queue {queue_id} updated.")
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
