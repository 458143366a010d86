"""The YAML file users keep in their repository: their queues and extensions, applied in one transaction.

    queues:
      - id: invoices
        workflow: invoice-capture        # schema: omitted -> the workflow's fields
        auto_confirm: true
        default_score_threshold: 0.9     # confidence each required field needs to confirm automatically
        score_thresholds:                # per field (or score_threshold: on a field of schema:)
          gross_total: 0.97
        subscriptions:                   # who is told (docket queues subscribe does the same)
          - url: https://erp.example.com/hooks/docket
            events: [exported]           # status-changed, exported (default: both)
          - url: https://tasks.example.com/hook
            events: [status-changed]
            statuses: [to_review]        # only moves to these statuses
    extensions:
      - name: tax-fill
        builtin: tax-fill                # or type: function + function: pkg.module:fn
        events: [initialize, updated]
        queues: [invoices]
      - name: vendor-match
        builtin: vendor-match
        settings: {master_data: vendors.csv}   # relative to this file
        events: [initialize]
        queues: {invoices: [tax-fill]}         # on invoices, run after tax-fill
      - name: erp
        type: webhook
        url: https://erp.example.com/hook
        secret_env: ERP_HOOK_SECRET      # the secret itself stays out of the repository
        events: [export]
        queues: [invoices]

Applying checks everything first (schemas, every queue's extension graph) and writes nothing if any
check fails; with `prune`, extensions this file created earlier and no longer lists are deleted. A
queue entry with `subscriptions:` owns the subscriptions this file made on it: one it no longer lists
is removed (those added with `docket queues subscribe` stay).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from pydantic import ValidationError

from docket_core.catalog import Catalog
from docket_core.catalog.schema_queues import extensions as extensions_table
from docket_core.errors import InputError
from docket_core.extensions.builtin import BUILTINS
from docket_core.extensions.config import ExtensionSpec
from docket_core.extensions.registry import delete_extension, save_extensions
from docket_core.notifications.outbox import endpoint_key
from docket_core.queues.defaults import schema_for_workflow
from docket_core.queues.models import QueueSpec
from docket_core.queues.registry import save_queue
from docket_core.queues.subscriptions import QueueSubscription, list_subscriptions, subscribe, unsubscribe
from docket_core.references import redact_url
from docket_core.settings import DocketSettings
from docket_core.workflows.registry import get_workflow, load_workflows

__all__ = ["Applied", "QueueConfig", "apply_config", "extension_from_mapping", "load_config"]


@dataclass
class QueueConfig:
    queues: list[QueueSpec]
    extensions: list[ExtensionSpec]
    source: str
    subscriptions: dict[str, list[QueueSubscription]] = field(default_factory=dict)  # only queues that list them


@dataclass
class Applied:
    queues_created: list[str] = field(default_factory=list)
    queues_updated: list[str] = field(default_factory=list)
    extensions: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    subscriptions: list[str] = field(default_factory=list)  # "<queue>: <url without query>"
    unsubscribed: list[str] = field(default_factory=list)


def _problem(where: str, exc: ValidationError) -> InputError:
    parts = [f"{'.'.join(str(p) for p in e['loc']) or 'entry'}: {e['msg']}" for e in exc.errors()]
    return InputError(f"{where}: {'; '.join(parts)}")


def extension_from_mapping(item: dict[str, Any], *, base: Path | None = None, where: str = "extension") -> ExtensionSpec:
    """An extension from its YAML/CLI form: `builtin:` and `secret_env:` resolved, paths made absolute."""
    item = dict(item)
    builtin = item.pop("builtin", None)
    if builtin is not None:
        if builtin not in BUILTINS:
            raise InputError(f"{where}: builtin must be one of {sorted(BUILTINS)}, got {builtin!r}")
        item["type"] = item.get("type") or "function"
        item["function"] = item.get("function") or BUILTINS[builtin]
    secret_env = item.pop("secret_env", None)
    if secret_env is not None:
        if secret_env not in os.environ:
            raise InputError(f"{where}: secret_env names {secret_env!r}, which is not set in the environment")
        item["secret"] = os.environ[secret_env]
    settings = dict(item.get("settings") or {})
    master = settings.get("master_data")
    if base is not None and isinstance(master, str) and not Path(master).expanduser().is_absolute():
        settings["master_data"] = str((base / master).resolve())
        item["settings"] = settings
    try:
        return ExtensionSpec.model_validate(item)
    except ValidationError as e:
        raise _problem(where, e) from e


def load_config(path: Path, settings: DocketSettings) -> QueueConfig:
    """Read and check a queues file; raise `InputError` naming the entry and what is wrong with it."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise InputError(f"cannot read queues file {str(path)!r}: {e}") from e
    if not isinstance(data, dict) or not set(data) <= {"queues", "extensions"}:
        raise InputError(f"{path}: expected a mapping with queues: and extensions:, got {type(data).__name__} {sorted(data) if isinstance(data, dict) else ''}")
    workflows = None
    queues: list[QueueSpec] = []
    subscriptions: dict[str, list[QueueSubscription]] = {}
    for number, item in enumerate(data.get("queues") or [], start=1):
        where = f"{path}: queues[{number}]"
        if not isinstance(item, dict):
            raise InputError(f"{where}: expected a mapping with id, workflow and schema, got {item!r:.80}")
        item = dict(item)
        listed = item.pop("subscriptions", None)
        workflow_id = item.get("workflow") or item.get("workflow_id")
        if "schema" not in item and "fields" not in item and workflow_id:
            workflows = workflows or load_workflows(settings.workflow_paths, settings.workflow_modules)
            item["schema"], _ = schema_for_workflow(get_workflow(workflow_id, workflows))
        thresholds = item.pop("score_thresholds", None)
        if thresholds is not None and not isinstance(thresholds, dict):
            raise InputError(f"{where}: score_thresholds must map field ids to thresholds in [0, 1], got {thresholds!r:.80}")
        try:
            queues.append(QueueSpec.model_validate(item))
        except ValidationError as e:
            raise _problem(where, e) from e
        if thresholds:
            try:
                queues[-1] = queues[-1].with_score_thresholds(fields=thresholds)
            except InputError as e:
                raise InputError(f"{where}: {e}") from e
        if listed is not None:
            subscriptions[queues[-1].queue_id] = _subscriptions(listed, where)
    extensions = [
        extension_from_mapping(item, base=path.parent, where=f"{path}: extensions[{n}] ({item.get('name') if isinstance(item, dict) else item!r})")
        if isinstance(item, dict)
        else _not_mapping(path, n, item)
        for n, item in enumerate(data.get("extensions") or [], start=1)
    ]
    names = [e.name for e in extensions]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(f"{path}: extension names must be unique, got {duplicates} more than once")
    return QueueConfig(queues, extensions, str(path.resolve()), subscriptions)


def _subscriptions(listed: Any, where: str) -> list[QueueSubscription]:
    if not isinstance(listed, list):
        raise InputError(f"{where}: subscriptions must be a list of {{url, events, statuses}}, got {type(listed).__name__}")
    found = []
    for number, entry in enumerate(listed, start=1):
        try:
            found.append(QueueSubscription.model_validate(entry))
        except ValidationError as e:
            raise _problem(f"{where}.subscriptions[{number}]", e) from e
    return found


def _not_mapping(path: Path, number: int, item: Any) -> ExtensionSpec:
    raise InputError(f"{path}: extensions[{number}] must be a mapping with name, type and events, got {item!r:.80}")


def apply_config(catalog: Catalog, config: QueueConfig, *, prune: bool = False) -> Applied:
    """Save the file's queues and extensions in one transaction (all or nothing)."""
    applied = Applied()
    with catalog.begin() as conn:
        for queue in config.queues:
            (applied.queues_created if save_queue(conn, queue, source=config.source) else applied.queues_updated).append(queue.queue_id)
        for queue_id, listed in config.subscriptions.items():
            _apply_subscriptions(conn, queue_id, listed, config.source, applied)
        if config.extensions:
            save_extensions(conn, config.extensions, source=config.source)
            applied.extensions = [e.name for e in config.extensions]
        if prune:
            listed = set(applied.extensions)
            ours = conn.execute(sa.select(extensions_table.c.name).where(extensions_table.c.source == config.source)).scalars()
            for name in sorted(set(ours) - listed):
                delete_extension(conn, name)
                applied.pruned.append(name)
    return applied


def _apply_subscriptions(conn: sa.Connection, queue_id: str, listed: list[QueueSubscription], source: str, applied: Applied) -> None:
    """The queue's subscriptions from this file become exactly `listed`; others' stay as they are."""
    for subscription in listed:
        subscribe(conn, queue_id, subscription, source=source)
        applied.subscriptions.append(f"{queue_id}: {redact_url(subscription.url)}")
    keep = {endpoint_key(s.url) for s in listed}
    for row in list_subscriptions(conn, queue_id):
        if row["source"] == source and row["endpoint_key"] not in keep:
            unsubscribe(conn, queue_id, row["endpoint_key"])
            applied.unsubscribed.append(f"{queue_id}: {row['url']}")
