"""`docket extensions ...`: webhooks and functions that fill and check documents, in an order you can see."""

from __future__ import annotations

import json
from typing import Any, Optional

import typer

from docket_core.cli.output import JsonOption, emit, guarded, stdout, table
from docket_core.errors import InputError
from docket_core.resources import Resources

app = typer.Typer(
    help="Extensions: webhooks (Rossum's hook protocol, signed) or Python functions that fill and check documents "
    "when they are imported, edited, confirmed or exported. Order them per queue with --run-after; a cycle, an "
    "unknown name or an ordered connector is refused. `docket extensions graph` shows the order.",
    no_args_is_help=True,
)

_NAME = typer.Option(..., "--name", "-n", help="The extension's name: lowercase letters, digits, '_' and '-', at most 64.")


def _run_after(values: list[str], queues: list[str]) -> dict[str, list[str]]:
    """`--run-after a` (on every --queue) or `--run-after QUEUE=a,b` (on that queue only)."""
    shared: list[str] = []
    per_queue: dict[str, list[str]] = {}
    for value in values:
        if "=" in value:
            queue_id, _, names = value.partition("=")
            per_queue.setdefault(queue_id.strip(), []).extend(n.strip() for n in names.split(",") if n.strip())
        else:
            shared.extend(n.strip() for n in value.split(",") if n.strip())
    unknown = sorted(set(per_queue) - set(queues))
    if unknown:
        raise InputError(f"--run-after names queue {unknown[0]!r}, which is not among --queue {queues}")
    return {q: sorted(set(shared + per_queue.get(q, []))) for q in queues}


def _settings(raw: Optional[str], pairs: list[str]) -> dict[str, Any] | None:
    if raw is None and not pairs:
        return None
    settings: dict[str, Any] = {}
    if raw is not None:
        try:
            loaded = json.loads(raw)
        except json.JSONDecodeError as e:
            raise InputError(f"--settings must be a JSON object, got {raw!r}: {e}") from e
        if not isinstance(loaded, dict):
            raise InputError(f"--settings must be a JSON object, got {type(loaded).__name__}")
        settings.update(loaded)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise InputError(f"--setting takes KEY=VALUE, got {pair!r}")
        settings[key.strip()] = value
    return settings


def _save(item: dict[str, Any], as_json: bool, verb: str) -> None:
    from docket_core.extensions.registry import get_extension, save_extensions
    from docket_core.queues.config_file import extension_from_mapping

    spec = extension_from_mapping(item, where=f"extension {item.get('name')!r}")
    catalog = Resources.from_settings().catalog()
    with catalog.begin() as conn:
        save_extensions(conn, [spec], source="cli")
        saved = get_extension(conn, spec.name).public()
    if as_json:
        emit(saved)
        return
    stdout.print(f"Extension {spec.name} {verb}.")
    _print(saved)


def _print(e: dict[str, Any]) -> None:
    target = e.get("url") or e.get("function")
    stdout.print(f"{e['name']} ({e['type']}{', inactive' if not e['active'] else ''}): {target}", highlight=False)
    if e["type"] == "connector":
        stdout.print("  connector (legacy, superseded by webhooks): validate on initialize/updated, save on export; never ordered")
    else:
        stdout.print(f"  events: {', '.join(e['events'])}")
    for queue_id, after in e["queues"].items():
        stdout.print(f"  on {queue_id}" + (f", after {', '.join(after)}" if after else ""))
    if e["type"] != "function":
        signed = f"signed with Secret block {e['secret_block']}" if e.get("secret_block") else "signed" if e["has_secret"] else "unsigned"
        stdout.print(f"  timeout {e['timeout_s']:g} s, {e['retries']} retries, {signed}")
    if e["settings"]:
        stdout.print(f"  settings: {json.dumps(e['settings'])}", highlight=False)


_TYPE = typer.Option(None, "--type", "-t", help="webhook, function, or connector (legacy; superseded by webhooks).")
_URL = typer.Option(None, "--url", help="webhook/connector: the http(s) endpoint.")
_FUNCTION = typer.Option(None, "--function", help="function: 'package.module:function', called with the request as a dict.")
_BUILTIN = typer.Option(None, "--builtin", help="A built-in function: tax-fill, vendor-match, vendor-fill, field-checks.")
_SECRET = typer.Option(None, "--secret", help="Signs webhook requests (X-Rossum-Signature-SHA256); never shown again.")
_SECRET_ENV = typer.Option(None, "--secret-env", help="Read the secret from this environment variable instead.")
_SECRET_BLOCK = typer.Option(None, "--secret-block", help="Or name a Prefect Secret block holding it (read at each run).")
_EVENTS = typer.Option([], "--event", "-e", help="Event to listen to, e.g. initialize, updated, confirm, export, email (repeat).")
_QUEUES = typer.Option([], "--queue", "-q", help="A queue it is on (repeat).")
_AFTER = typer.Option([], "--run-after", help="Run after these (comma separated) on every --queue, or QUEUE=a,b on one.")
_SETTINGS = typer.Option(None, "--settings", help="JSON object sent to it as `settings`.")
_SETTING = typer.Option([], "--setting", help="KEY=VALUE added to settings (repeat).")


@app.command("create")
@guarded
def create(
    name: str = _NAME, type_: Optional[str] = _TYPE, url: Optional[str] = _URL, function: Optional[str] = _FUNCTION,
    builtin: Optional[str] = _BUILTIN, secret: Optional[str] = _SECRET, secret_env: Optional[str] = _SECRET_ENV,
    secret_block: Optional[str] = _SECRET_BLOCK, events: list[str] = _EVENTS, queues: list[str] = _QUEUES, run_after: list[str] = _AFTER,
    settings: Optional[str] = _SETTINGS, setting: list[str] = _SETTING,
    timeout: float = typer.Option(30.0, "--timeout", help="Seconds a call may take before it counts as timed out."),
    retries: int = typer.Option(2, "--retries", help="Webhook retries after a timeout, a 5xx or a 429."),
    inactive: bool = typer.Option(False, "--inactive", help="Save it without running it yet."),
    description: str = typer.Option("", "--description", help="What it does, for people."),
    as_json: bool = JsonOption,
) -> None:  # fmt: skip
    """Create an extension (or replace one with the same name).

    Example: docket extensions create -n tax-fill --builtin tax-fill -e initialize -e updated -q invoices

    Example: docket extensions create -n erp --type webhook --url https://erp/hook --secret-env ERP_SECRET -e export -q invoices --run-after tax-fill
    """
    from docket_core.extensions.registry import load_extensions

    with Resources.from_settings().catalog().read() as conn:
        exists = name in load_extensions(conn, [name])
    item: dict[str, Any] = {
        "name": name, "url": url, "function": function, "events": events, "queues": _run_after(run_after, queues),
        "settings": _settings(settings, setting) or {}, "timeout_s": timeout, "retries": retries, "active": not inactive,
        "description": description,
    }  # fmt: skip
    given = (("type", type_), ("builtin", builtin), ("secret", secret), ("secret_env", secret_env), ("secret_block", secret_block))
    item.update({k: v for k, v in given if v is not None})
    if "type" not in item and "builtin" not in item:
        item["type"] = "function" if function else "webhook"
    _save({k: v for k, v in item.items() if v is not None}, as_json, "replaced" if exists else "created")


@app.command("update")
@guarded
def update(
    name: str = _NAME, url: Optional[str] = _URL, function: Optional[str] = _FUNCTION, secret: Optional[str] = _SECRET,
    secret_env: Optional[str] = _SECRET_ENV, secret_block: Optional[str] = _SECRET_BLOCK, events: list[str] = _EVENTS,
    queues: list[str] = _QUEUES,
    run_after: list[str] = _AFTER, settings: Optional[str] = _SETTINGS, setting: list[str] = _SETTING,
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Seconds a call may take."),
    retries: Optional[int] = typer.Option(None, "--retries", help="Webhook retries."),
    active: Optional[bool] = typer.Option(None, "--active/--inactive", help="Run it, or keep it without running it."),
    description: Optional[str] = typer.Option(None, "--description", help="What it does."),
    as_json: bool = JsonOption,
) -> None:  # fmt: skip
    """Change some of an extension's options; the others stay. --queue replaces its queues; --run-after
    alone changes its order on the queues it is on.

    Example: docket extensions update -n vendor-fill --run-after invoices=vendor-match
    """
    from docket_core.extensions.registry import get_extension

    with Resources.from_settings().catalog().read() as conn:
        current = get_extension(conn, name)
    item = current.model_dump(mode="python")
    item["secret"] = current.secret.get_secret_value() if current.secret else None
    item["queues"] = {q: list(a) for q, a in current.queues.items()}
    if queues or run_after:
        targets = queues or list(current.queues)
        item["queues"] = _run_after(run_after, targets) if run_after else {q: item["queues"].get(q, []) for q in targets}
    extra = _settings(settings, setting)
    if extra is not None:
        item["settings"] = {**item["settings"], **extra}
    for key, value in (("url", url), ("function", function), ("timeout_s", timeout), ("retries", retries),
                       ("active", active), ("description", description)):  # fmt: skip
        if value is not None:
            item[key] = value
    if events:
        item["events"] = events
    if secret_env is not None or secret_block is not None or secret is not None:
        item["secret"], item["secret_block"] = secret, secret_block
        if secret_env is not None:
            item["secret_env"] = secret_env
    _save(item, as_json, "updated")


@app.command("delete")
@guarded
def delete(name: str = _NAME, as_json: bool = JsonOption) -> None:
    """Delete an extension, unless another one runs after it (take it out of their --run-after first)."""
    from docket_core.extensions.registry import delete_extension

    with Resources.from_settings().catalog().begin() as conn:
        delete_extension(conn, name)
    if as_json:
        emit({"name": name, "deleted": True})
    else:
        stdout.print(f"Extension {name} deleted.")


@app.command("list")
@guarded
def list_extensions(queue_id: Optional[str] = typer.Option(None, "--queue", "-q", help="Only those on this queue."), as_json: bool = JsonOption) -> None:
    """Every extension: type, events, queues with their run_after, active or not."""
    from docket_core.extensions.registry import load_extensions

    with Resources.from_settings().catalog().read() as conn:
        found = [e.public() for e in load_extensions(conn).values() if queue_id is None or queue_id in e.queues]
    if as_json:
        emit(found)
        return
    table("Extensions", ["name", "type", "active", "events", "queues (run after)"], [
        [e["name"], e["type"], "yes" if e["active"] else "no", ", ".join(e["events"]) or "(connector)",
         "; ".join(f"{q}" + (f" after {', '.join(a)}" if a else "") for q, a in e["queues"].items())]
        for e in found
    ])  # fmt: skip


@app.command("show")
@guarded
def show(name: str = _NAME, as_json: bool = JsonOption) -> None:
    """One extension's configuration (the secret only as whether there is one)."""
    from docket_core.extensions.registry import get_extension

    with Resources.from_settings().catalog().read() as conn:
        shown = get_extension(conn, name).public()
    if as_json:
        emit(shown)
        return
    _print(shown)


@app.command("graph")
@guarded
def graph(
    queue_id: str = typer.Option(..., "--queue", "-q", help="The queue."),
    event: Optional[str] = typer.Option(None, "--event", "-e", help="Only this event (default: every event something listens to)."),
    mermaid: bool = typer.Option(False, "--mermaid", help="Print Mermaid flowcharts (as the Prefect artifact shows them)."),
    as_json: bool = JsonOption,
) -> None:
    """The order extensions run in on a queue, per event: levels (parallel within a level) and edges.

    Example: docket extensions graph --queue invoices --event initialize
    """
    from docket_core.extensions.config import EVENTS, normalize_event
    from docket_core.extensions.registry import queue_plan
    from docket_core.queues.registry import get_queue

    events = [normalize_event(event)] if event else list(EVENTS)
    with Resources.from_settings().catalog().read() as conn:
        get_queue(conn, queue_id)
        plans = [queue_plan(conn, queue_id, e) for e in events]
    plans = [p for p in plans if event or not p.empty]
    if as_json:
        emit({p.event: {**p.to_json(), "mermaid": p.mermaid()} for p in plans})
        return
    if not plans:
        stdout.print(f"No active extension is on queue {queue_id}.")
    for plan in plans:
        stdout.print(f"{plan.event} on {queue_id}:")
        if mermaid:
            stdout.print(plan.mermaid(), highlight=False, markup=False)
            continue
        stdout.print("  " + plan.describe().replace("\n", "\n  ") if not plan.empty else "  nothing listens", highlight=False)
        for before, after in plan.edges():
            stdout.print(f"  {before} -> {after}", highlight=False)
