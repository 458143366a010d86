"""What an extension is, the events it listens to, and the checks a configuration must pass to be saved.

An extension is a `webhook` (Rossum's hook protocol over HTTP), a `function` (a Python import path
called with the same payload as a dict), or a legacy `connector` (superseded by webhooks: at most one
per queue, called to validate a document when it is imported or edited and to save it when it is
exported, never ordered). Each extension is on some queues, with its own `run_after` on each.

`check_configuration` refuses, all problems at once: unknown queues, cycles (as a path), `run_after`
names that are not on that queue, ordered connectors, and more than one connector on a queue.
`plan_for` turns one queue and event into levels.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from docket_core.dag import DAGError, describe_levels, edges, plan_levels, to_mermaid, validate_dag
from docket_core.errors import InputError
from docket_core.names import check_id
from docket_core.references import redact_url

__all__ = [
    "CONNECTOR_CALLS",
    "EVENTS",
    "ExtensionConfigError",
    "ExtensionPlan",
    "ExtensionSpec",
    "check_configuration",
    "normalize_event",
    "plan_for",
]

EVENTS = (
    "annotation_content.initialize",
    "annotation_content.started",
    "annotation_content.updated",
    "annotation_content.confirm",
    "annotation_content.export",
    "email.received",
)
"""The events extensions can listen to, as `event.action` (Rossum's names)."""

CONNECTOR_CALLS: Mapping[str, str] = {
    "annotation_content.initialize": "validate",
    "annotation_content.updated": "validate",
    "annotation_content.export": "save",
}
"""When a queue's connector is called, and which of its endpoints (`<url>/validate`, `<url>/save`)."""

ExtensionType = Literal["webhook", "function", "connector"]


def normalize_event(event: str) -> str:
    """`initialize`, `annotation_content.initialize` or `email` -> the full event name; else InputError."""
    if event in EVENTS:
        return event
    matches = [e for e in EVENTS if e.split(".")[1] == event or e.split(".")[0] == event]
    if len(matches) == 1:
        return matches[0]
    raise InputError(f"event must be one of {list(EVENTS)} (or just the action, e.g. 'initialize'), got {event!r}")


class ExtensionConfigError(DAGError):
    """Raised when saving extensions would leave a queue with a cycle, an unknown name, an unknown
    queue, an ordered connector or two connectors; `problems` lists each."""


class ExtensionSpec(BaseModel):
    """One extension as saved: from `docket extensions create` or the YAML file."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(description="^[a-z0-9_-]{1,64}$; how run_after, messages and the graph name it.")
    type: ExtensionType = Field(description="webhook, function, or the legacy connector.")
    url: str | None = Field(default=None, description="webhook/connector: the http(s) endpoint.")
    secret: SecretStr | None = Field(default=None, description="Signs requests (X-Rossum-Signature-SHA256).")
    secret_block: str | None = Field(
        default=None, description="Name of a Prefect Secret block holding the signing secret (instead of secret)."
    )
    function: str | None = Field(default=None, description="function: 'package.module:function'.")
    timeout_s: float = Field(
        default=30.0, gt=0, le=600, validation_alias=AliasChoices("timeout_s", "timeout"),
        description="Seconds one call may take before it counts as timed out.",
    )  # fmt: skip
    retries: int = Field(default=2, ge=0, le=10, description="Webhook retries after a timeout, 5xx or 429.")
    events: tuple[str, ...] = Field(default=(), description="The events it listens to, e.g. annotation_content.initialize.")
    queues: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="The queues it is on, each with the extensions it runs after there."
    )
    settings: dict[str, Any] = Field(default_factory=dict, description="Sent to it as `settings` in every request.")
    active: bool = Field(default=True, description="Inactive extensions are kept but never run.")
    description: str = Field(default="", description="What it does, for people.")

    @model_validator(mode="before")
    @classmethod
    def _queues_forms(cls, data: Any) -> Any:
        """Accept `queues: [q1, q2]` with an optional shared `run_after: [...]`, or `queues: {q1: [a, b]}`."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        shared = data.pop("run_after", None)
        queues = data.get("queues")
        if isinstance(queues, list | tuple):
            data["queues"] = {q: shared or [] for q in queues}
        elif isinstance(queues, dict):
            data["queues"] = {
                q: (spec.get("run_after", []) if isinstance(spec, dict) else (spec or shared or []))
                for q, spec in queues.items()
            }
        elif shared:
            raise ValueError("run_after needs queues: it orders the extension on the queues it is on")
        return data

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        return check_id(value, "extension name")

    @field_validator("events", mode="before")
    @classmethod
    def _valid_events(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        return tuple(normalize_event(v) for v in value or ())

    @field_validator("queues")
    @classmethod
    def _valid_queues(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for queue_id, run_after in value.items():
            check_id(queue_id, "queue id")
            if isinstance(run_after, str):
                raise ValueError(f"run_after on queue {queue_id!r} must be a list of names, got the string {run_after!r}")
        return {q: tuple(sorted(set(names))) for q, names in sorted(value.items())}

    @model_validator(mode="after")
    def _fits_its_type(self) -> ExtensionSpec:
        if self.type in ("webhook", "connector"):
            if not self.url or not self.url.lower().startswith(("http://", "https://")):
                raise ValueError(f"{self.type} extension {self.name!r} needs url starting with http:// or https://, got {self.url!r}")
            if self.function:
                raise ValueError(f"{self.type} extension {self.name!r} calls its url; function is for type function")
        else:
            if not self.function or ":" not in self.function:
                raise ValueError(f"function extension {self.name!r} needs function as 'package.module:function', got {self.function!r}")
            if self.url:
                raise ValueError(f"function extension {self.name!r} is called in-process; url is for webhooks")
        if self.secret is not None and self.secret_block:
            raise ValueError(f"extension {self.name!r}: give secret or secret_block, not both")
        if self.type == "connector":
            if self.events:
                raise ValueError(
                    f"connector {self.name!r} takes no events: it is called to validate on "
                    "initialize/updated and to save on export"
                )
        elif not self.events:
            raise ValueError(f"extension {self.name!r} needs at least one event, from {list(EVENTS)}")
        return self

    def run_after(self, queue_id: str) -> tuple[str, ...]:
        return self.queues.get(queue_id, ())

    def listens_to(self, event: str) -> bool:
        if self.type == "connector":
            return event in CONNECTOR_CALLS
        return event in self.events

    def public(self) -> dict[str, Any]:
        """As shown to people and in `--json`: the secret only as whether there is one."""
        shown = self.model_dump(mode="json", exclude={"secret"})
        shown["queues"] = {q: list(names) for q, names in self.queues.items()}
        shown["has_secret"] = self.secret is not None or bool(self.secret_block)
        if shown.get("url"):  # a query string or a webhook host's path token is a credential too
            shown["url"] = redact_url(shown["url"])
        return shown


def check_configuration(extensions: Iterable[ExtensionSpec], queue_ids: Iterable[str]) -> None:
    """Check every queue's graph; raise `ExtensionConfigError` listing every problem, or return.

    Inactive extensions count: activating one later must not be able to create a cycle.
    """
    known_queues = set(queue_ids)
    by_name = {e.name: e for e in extensions}
    problems: list[str] = []
    on_queue: dict[str, list[ExtensionSpec]] = {}
    for ext in by_name.values():
        for queue_id in ext.queues:
            if queue_id not in known_queues:
                problems.append(
                    f"extension {ext.name!r} is on unknown queue {queue_id!r} "
                    f"(queues: {', '.join(sorted(known_queues)) or 'none'}; create it first)"
                )
            on_queue.setdefault(queue_id, []).append(ext)
    for queue_id, members in sorted(on_queue.items()):
        where = f"on queue {queue_id!r}"
        connectors = sorted(e.name for e in members if e.type == "connector")
        if len(connectors) > 1:
            problems.append(f"queue {queue_id!r} has {len(connectors)} connectors ({', '.join(connectors)}); a queue takes at most one")
        spec: dict[str, tuple[str, ...]] = {}
        for ext in sorted(members, key=lambda e: e.name):
            after = ext.run_after(queue_id)
            if ext.type == "connector":
                if after:
                    problems.append(
                        f"connector {ext.name!r} {where} cannot run after {', '.join(after)}: connectors are never "
                        "ordered (make it a webhook to order it)"
                    )
                continue
            ordered_connectors = [n for n in after if n in by_name and by_name[n].type == "connector" and n in connectors]
            for connector in ordered_connectors:
                problems.append(
                    f"extension {ext.name!r} {where} runs after connector {connector!r}: connectors are never "
                    "ordered (make it a webhook to order it)"
                )
            spec[ext.name] = tuple(n for n in after if n not in ordered_connectors)
        try:
            validate_dag(spec, what="extension", context=where)
        except DAGError as e:
            problems += e.problems
    if problems:
        raise ExtensionConfigError(problems)


@dataclass(frozen=True)
class ExtensionPlan:
    """The extensions one event runs on one queue: ordered levels, and the connector called after them."""

    queue_id: str
    event: str
    spec: Mapping[str, frozenset[str]]
    levels: tuple[tuple[str, ...], ...]
    connector: str | None = None

    @property
    def empty(self) -> bool:
        return not self.levels and self.connector is None

    @property
    def names(self) -> list[str]:
        return [n for level in self.levels for n in level]

    def edges(self) -> list[tuple[str, str]]:
        return edges(self.spec)

    def describe(self) -> str:
        text = describe_levels(self.spec)
        if self.connector:
            text += f"\nthen connector {self.connector} ({CONNECTOR_CALLS[self.event]}; never ordered)"
        return text

    def mermaid(self) -> str:
        return to_mermaid(self.spec, title=f"{self.queue_id}: {self.event}")

    def to_json(self) -> dict[str, Any]:
        return {
            "queue_id": self.queue_id,
            "event": self.event,
            "levels": [list(level) for level in self.levels],
            "edges": [list(e) for e in self.edges()],
            "connector": self.connector,
        }


def plan_for(extensions: Iterable[ExtensionSpec], queue_id: str, event: str) -> ExtensionPlan:
    """Section 5, steps 1-2: the active extensions of the queue listening to the event, and the
    `run_after` edges among them, in levels sorted by name. An edge to an extension that does not run
    for this event is dropped: it orders nothing here."""
    event = normalize_event(event)
    selected = {
        e.name: e for e in extensions if queue_id in e.queues and e.active and e.listens_to(event)
    }
    connector = next((n for n, e in sorted(selected.items()) if e.type == "connector"), None)
    spec = {
        name: frozenset(n for n in ext.run_after(queue_id) if n in selected and n != connector)
        for name, ext in selected.items()
        if ext.type != "connector"
    }
    levels = plan_levels(spec, what="extension", context=f"on queue {queue_id!r}")
    return ExtensionPlan(
        queue_id=queue_id,
        event=event,
        spec={n: frozenset(p) for n, p in sorted(spec.items())},
        levels=tuple(tuple(level) for level in levels),
        connector=connector,
    )
