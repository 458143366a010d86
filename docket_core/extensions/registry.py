"""Extensions in the catalog: saved only when every queue's graph stays valid, read back as specs.

`save_extensions` checks the configuration as it would be after the save (everything already there,
with these replaced) before writing anything, so a refused save changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa

from docket_core.catalog import utcnow
from docket_core.catalog.schema_queues import extension_queues, extensions, queues
from docket_core.catalog.schema_rossum import extension_hook_options
from docket_core.errors import NotFoundError
from docket_core.extensions.config import ExtensionPlan, ExtensionSpec, check_configuration, plan_for

__all__ = ["delete_extension", "get_extension", "load_extensions", "queue_plan", "save_extensions"]


def load_extensions(conn: sa.Connection, names: Iterable[str] | None = None) -> dict[str, ExtensionSpec]:
    """The saved extensions (all, or these names), each with its queues and run_after, by name."""
    query = sa.select(extensions)
    links = sa.select(extension_queues)
    if names is not None:
        wanted = sorted(set(names))
        query = query.where(extensions.c.name.in_(wanted))
        links = links.where(extension_queues.c.extension_name.in_(wanted))
    on: dict[str, dict[str, list[str]]] = {}
    for link in conn.execute(links):
        on.setdefault(link.extension_name, {})[link.queue_id] = list(link.run_after)
    hook = {r.extension_name: r for r in conn.execute(sa.select(extension_hook_options))}
    found = {}
    for row in conn.execute(query.order_by(extensions.c.name)):
        options = hook.get(row.name)
        extra = {} if options is None else {
            "sideload": tuple(options.sideload), "token_lifetime_s": options.token_lifetime_s,
            "legacy_signature": options.legacy_signature,
        }  # fmt: skip
        found[row.name] = ExtensionSpec(
            name=row.name, type=row.type, url=row.url, secret=row.secret, secret_block=row.secret_block, function=row.function,
            timeout_s=row.timeout_s, retries=row.retries, events=tuple(row.events), queues=on.get(row.name, {}),
            settings=dict(row.settings), active=row.active, description=row.description or "", **extra,
        )  # fmt: skip
    return found


def get_extension(conn: sa.Connection, name: str) -> ExtensionSpec:
    found = load_extensions(conn, [name])
    if name not in found:
        raise NotFoundError(f"no extension {name!r}; `docket extensions list` shows the extensions there are")
    return found[name]


def _queue_ids(conn: sa.Connection) -> list[str]:
    return list(conn.execute(sa.select(queues.c.queue_id)).scalars())


def save_extensions(conn: sa.Connection, specs: Sequence[ExtensionSpec], *, source: str) -> None:
    """Create or replace these extensions (and their queues and run_after), if the result is valid.

    Raises:
        ExtensionConfigError: listing every problem of the resulting configuration; nothing is written.
    """
    current = load_extensions(conn)
    current.update({spec.name: spec for spec in specs})
    check_configuration(current.values(), _queue_ids(conn))
    now = utcnow()
    existing = set(conn.execute(sa.select(extensions.c.name)).scalars())
    for spec in specs:
        row = {
            "type": spec.type, "url": spec.url, "secret": spec.secret.get_secret_value() if spec.secret else None,
            "secret_block": spec.secret_block,
            "function": spec.function, "timeout_s": spec.timeout_s, "retries": spec.retries, "events": list(spec.events),
            "settings": spec.settings, "active": spec.active, "description": spec.description, "source": source,
            "updated_at": now,
        }  # fmt: skip
        if spec.name in existing:
            conn.execute(sa.update(extensions).where(extensions.c.name == spec.name).values(row))
        else:
            conn.execute(sa.insert(extensions).values(name=spec.name, created_at=now, **row))
        conn.execute(sa.delete(extension_queues).where(extension_queues.c.extension_name == spec.name))
        conn.execute(sa.delete(extension_hook_options).where(extension_hook_options.c.extension_name == spec.name))
        conn.execute(
            sa.insert(extension_hook_options).values(
                extension_name=spec.name, sideload=list(spec.sideload), token_lifetime_s=spec.token_lifetime_s,
                legacy_signature=spec.legacy_signature,
            )
        )
        if spec.queues:
            conn.execute(
                sa.insert(extension_queues),
                [{"extension_name": spec.name, "queue_id": q, "run_after": list(after)} for q, after in spec.queues.items()],
            )


def delete_extension(conn: sa.Connection, name: str) -> None:
    """Delete an extension, unless another one runs after it (the error names them).

    Raises:
        NotFoundError: no such extension.
        ExtensionConfigError: others run after it; take it out of their run_after first.
    """
    current = load_extensions(conn)
    if name not in current:
        raise NotFoundError(f"no extension {name!r}; `docket extensions list` shows the extensions there are")
    del current[name]
    check_configuration(current.values(), _queue_ids(conn))
    conn.execute(sa.delete(extension_queues).where(extension_queues.c.extension_name == name))
    conn.execute(sa.delete(extension_hook_options).where(extension_hook_options.c.extension_name == name))
    conn.execute(sa.delete(extensions).where(extensions.c.name == name))


def queue_plan(conn: sa.Connection, queue_id: str, event: str) -> ExtensionPlan:
    """What `event` runs on `queue_id` now: levels of the active extensions listening to it."""
    names = conn.execute(sa.select(extension_queues.c.extension_name).where(extension_queues.c.queue_id == queue_id)).scalars()
    return plan_for(load_extensions(conn, list(names)).values(), queue_id, event)
