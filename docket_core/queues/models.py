"""A queue and the schema of the fields its documents carry.

A field is a datapoint (`string`, `number`, `date`, `enum`) or a `multivalue` table whose rows hold
scalar `columns`. Every id is a `schema_id` in the documents' content, so ids are unique across the
whole schema, columns and row ids included. `source` names the captured value that fills a field when
it differs from its id (the workflow's `tax_rate` of a line item fills the column `item_tax_rate`).

Score thresholds follow Rossum's names: the queue's `default_score_threshold` and a field's own
`score_threshold` (`docket_core.queues.automation` applies them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from docket_core.errors import InputError
from docket_core.names import check_id

__all__ = ["BASIC_SECTION", "FIELD_ID", "STATUSES", "FieldSpec", "QueueSpec", "RESERVED_FIELD_IDS", "section_id"]

STATUSES = (
    "importing", "failed_import", "to_review", "reviewing", "confirmed", "rejected",
    "exporting", "exported", "failed_export", "postponed", "deleted",
)  # fmt: skip
"""A document's statuses, as Rossum's lifecycle names them (`docket_core.queues.lifecycle` moves them)."""

FIELD_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# The export's own columns: a field with one of these ids would clash with them.
RESERVED_FIELD_IDS = frozenset(
    {"queue_id", "export_id", "document_id", "file_name", "media_type", "sha256", "status", "ready_at",
     "exported_at", "messages", "sources", "origin"}
)  # fmt: skip

BASIC_SECTION = "basic_info"
"""schema_id of the content section holding every plain field (Rossum's name for it)."""

FieldKind = Literal["string", "number", "date", "enum", "multivalue"]


class FieldSpec(BaseModel):
    """One field of a queue's schema."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="schema_id of the datapoint: ^[a-z][a-z0-9_]{0,63}$, unique in the schema.")
    type: FieldKind = Field(default="string", description="string, number, date, enum or multivalue (a table).")
    label: str | None = Field(default=None, description="What people see; defaults to the id.")
    required: bool = Field(default=False, description="The built-in field checks refuse a document without it.")
    options: tuple[str, ...] = Field(default=(), description="The allowed values of an enum.")
    source: str | None = Field(default=None, description="The captured value that fills it; defaults to the id.")
    score_threshold: float | None = Field(
        default=None, ge=0, le=1,
        description="Confidence (rir_confidence) a captured value needs for automatic confirmation, if required; "
        "default: the queue's default_score_threshold.",
    )  # fmt: skip
    row_id: str | None = Field(default=None, description="multivalue: schema_id of its rows; default <id>_row.")
    columns: tuple[FieldSpec, ...] = Field(default=(), description="multivalue: the cells of each row.")

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        if not FIELD_ID.fullmatch(value):
            raise ValueError(f"field id must match ^[a-z][a-z0-9_]{{0,63}}$, got {value!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> FieldSpec:
        if self.type == "enum" and not self.options:
            raise ValueError(f"enum field {self.id!r} needs options (the allowed values)")
        if self.type != "enum" and self.options:
            raise ValueError(f"field {self.id!r} has options but is {self.type}; options are for enum fields")
        if self.type == "multivalue":
            if not self.columns:
                raise ValueError(f"multivalue field {self.id!r} needs columns (the cells of a row)")
            nested = [c.id for c in self.columns if c.type == "multivalue"]
            if nested:
                raise ValueError(f"multivalue field {self.id!r} cannot hold tables; got multivalue columns {nested}")
            if self.row_id is not None and not FIELD_ID.fullmatch(self.row_id):
                raise ValueError(f"row_id of {self.id!r} must match ^[a-z][a-z0-9_]{{0,63}}$, got {self.row_id!r}")
        elif self.columns or self.row_id:
            raise ValueError(f"field {self.id!r} is {self.type}; only multivalue fields have columns and row_id")
        return self

    @property
    def row_schema_id(self) -> str:
        return self.row_id or f"{self.id}_row"

    @property
    def captured_as(self) -> str:
        return self.source or self.id


def section_id(table: FieldSpec) -> str:
    """schema_id of the content section holding a table."""
    return f"{table.id}_section"


class QueueSpec(BaseModel):
    """A queue: its id, the workflow capturing new documents, its schema, and how it confirms and exports."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    queue_id: str = Field(
        validation_alias=AliasChoices("queue_id", "id"), description="^[a-z0-9_-]{1,64}$, used in commands and paths."
    )
    name: str = Field(default="", description="What people call it; defaults to the id.")
    workflow_id: str | None = Field(
        default=None,
        validation_alias=AliasChoices("workflow_id", "workflow"),
        description="Workflow capturing a new document's content (`docket workflows list`).",
    )
    fields: tuple[FieldSpec, ...] = Field(
        validation_alias=AliasChoices("fields", "schema"), description="The schema: fields in document order."
    )
    auto_confirm: bool = Field(
        default=False,
        description="Confirm documents on import when no error message or automation blocker stands and every "
        "required field meets its score threshold.",
    )
    default_score_threshold: float | None = Field(
        default=None, ge=0, le=1,
        validation_alias=AliasChoices("default_score_threshold", "score_threshold"),
        description="Confidence every required captured field needs for automatic confirmation (a field's own "
        "score_threshold wins); default: DOCKET_DEFAULT_SCORE_THRESHOLD.",
    )  # fmt: skip
    export_to_review: bool = Field(
        default=False, description="Export documents waiting in to_review too, not only confirmed ones."
    )

    @field_validator("queue_id")
    @classmethod
    def _valid_queue_id(cls, value: str) -> str:
        return check_id(value, "queue id")

    @model_validator(mode="after")
    def _unique_ids(self) -> QueueSpec:
        if not self.name:
            self.name = self.queue_id
        if not self.fields:
            raise ValueError(f"queue {self.queue_id!r} needs at least one field in its schema")
        seen: dict[str, str] = {BASIC_SECTION: "the section of plain fields"}
        for field in self.fields:
            ids = [field.id]
            if field.type == "multivalue":
                ids += [section_id(field), field.row_schema_id, *(c.id for c in field.columns)]
            for schema_id in ids:
                if schema_id in seen:
                    raise ValueError(
                        f"schema ids must be unique in queue {self.queue_id!r}: {schema_id!r} appears in "
                        f"{seen[schema_id]!r} and {field.id!r}"
                    )
                seen[schema_id] = field.id
        clash = sorted(RESERVED_FIELD_IDS & {f.id for f in self.fields})
        if clash:
            raise ValueError(f"field ids {clash} are export columns of their own; rename them (e.g. doc_{clash[0]})")
        return self

    def field(self, field_id: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.id == field_id), None)

    def scalar_fields(self) -> list[FieldSpec]:
        return [f for f in self.fields if f.type != "multivalue"]

    def tables(self) -> list[FieldSpec]:
        return [f for f in self.fields if f.type == "multivalue"]

    def column(self, schema_id: str) -> tuple[FieldSpec, FieldSpec] | None:
        """The (table, column) holding cells with this schema_id, if any."""
        for table in self.tables():
            for column in table.columns:
                if column.id == schema_id:
                    return table, column
        return None

    def with_score_thresholds(self, *, default: float | None = None, fields: Mapping[str, float] | None = None) -> QueueSpec:
        """This queue with a new `default_score_threshold` (when given) and fields' own thresholds.

        Raises:
            InputError: a field id the schema does not have, or a threshold outside [0, 1].
        """
        fields = dict(fields or {})
        known = {f.id for f in self.scalar_fields()}
        unknown = sorted(set(fields) - known)
        if unknown:
            raise InputError(f"queue {self.queue_id!r} has no plain field {', '.join(map(repr, unknown))} to set a score threshold on (fields: {', '.join(sorted(known))})")
        data = self.model_dump()
        if default is not None:
            data["default_score_threshold"] = default
        for field in data["fields"]:
            if field["id"] in fields:
                field["score_threshold"] = fields[field["id"]]
        try:
            return QueueSpec.model_validate(data)
        except ValidationError as e:
            raise InputError(f"score thresholds must be in [0, 1]: {'; '.join(err['msg'] for err in e.errors())}") from e

    def to_json(self) -> dict[str, Any]:
        """The queue as JSON, each field with only what differs from the defaults."""
        shown = self.model_dump(mode="json", exclude={"fields"})
        shown["fields"] = self.fields_json()
        return shown

    def fields_json(self, *, full: bool = False) -> list[dict[str, Any]]:
        """The schema as JSON: compact (defaults left out) to store and show, `full` for extensions."""
        if full:
            return [f.model_dump(mode="json", exclude_none=True) for f in self.fields]
        return [f.model_dump(mode="json", exclude_defaults=True) for f in self.fields]
