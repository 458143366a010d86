"""Job outputs as Parquet: a documents table (one row per file) and a long datapoints table.

Each table's schema is built in one place: the documents table is `DOCUMENTS_BASE` plus one typed
column per field the workflow declares; `DATAPOINTS` is fixed. A datapoint row says where its value
came from when the step reported it (`StepOutput.evidence`): the page (from 1), the box on that page
relative to its size (`box_x0`, `box_y0`, `box_x1`, `box_y1` in [0, 1], origin top left), the text it
was read from and the engine's confidence in [0, 1]; all four are null when unknown. A part is written in row groups through
`PartWriter` and appears in the store only when complete (temporary name, then rename or one put),
so DuckDB, pandas and polars reading `documents/*.parquet` see all of a part or none of it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from docket_core.normalized import normalized_value
from docket_core.store import Store
from docket_core.workflows.model import Evidence, FieldType, Message

__all__ = ["DATAPOINTS", "DOCUMENTS_BASE", "FileResult", "PartWriter", "datapoint_rows", "documents_schema"]

MESSAGE = pa.struct(
    [("type", pa.string()), ("content", pa.string()), ("schema_id", pa.string()), ("source", pa.string())]
)

DOCUMENTS_BASE = pa.schema(
    [
        pa.field("batch_id", pa.string(), nullable=False),
        pa.field("job_id", pa.string(), nullable=False),
        pa.field("file_name", pa.string(), nullable=False),
        pa.field("media_type", pa.string()),
        pa.field("sha256", pa.string()),
        pa.field("status", pa.string(), nullable=False),  # succeeded | failed
        pa.field("error_type", pa.string()),
        pa.field("error_reason", pa.string()),
        pa.field("messages", pa.list_(MESSAGE)),
        pa.field("processed_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)

DATAPOINTS = pa.schema(
    [
        pa.field("batch_id", pa.string(), nullable=False),
        pa.field("job_id", pa.string(), nullable=False),
        pa.field("file_name", pa.string(), nullable=False),
        pa.field("schema_id", pa.string(), nullable=False),
        pa.field("row_index", pa.int32()),  # position in a multivalue section; null for a plain field
        pa.field("parent_schema_id", pa.string()),  # the multivalue section a row cell belongs to
        pa.field("value", pa.string()),  # every value as text, as a person reads it
        pa.field("number", pa.float64()),  # numeric values also as numbers, for sums in SQL
        pa.field("normalized_value", pa.string()),  # ISO date, JSON number text, or the text (as Rossum's)
        pa.field("source", pa.string()),  # the step (or batch step) that produced it
        pa.field("page", pa.int32()),  # where it was read: the page, counting from 1
        pa.field("box_x0", pa.float64()),  # the box on that page, relative to its width and height
        pa.field("box_y0", pa.float64()),
        pa.field("box_x1", pa.float64()),
        pa.field("box_y1", pa.float64()),
        pa.field("source_text", pa.string()),  # the text the value was parsed from
        pa.field("confidence", pa.float64()),  # the engine's belief that the value is right, in [0, 1]
    ]
)

_ARROW: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "rows": pa.string(),  # the section as JSON; its cells are in the datapoints table
}


def documents_schema(fields: Mapping[str, FieldType]) -> pa.Schema:
    """`DOCUMENTS_BASE` plus a typed column per captured field (prefixed `field_` never: names as given)."""
    schema = DOCUMENTS_BASE
    for name, kind in fields.items():
        if name in DOCUMENTS_BASE.names:
            raise ValueError(f"field {name!r} clashes with a base column of the documents table")
        schema = schema.append(pa.field(name, _ARROW[kind]))
    return schema


@dataclass
class FileResult:
    """One file's outcome in a job."""

    file_name: str
    media_type: str | None
    sha256: str | None
    status: str  # succeeded | failed
    datapoints: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)
    error_type: str | None = None
    error_reason: str | None = None
    evidence: dict[str, Evidence] = field(default_factory=dict)
    """Where each datapoint's value was read, by schema_id (only those the steps reported)."""


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


_NO_EVIDENCE: dict[str, Any] = {
    "page": None, "box_x0": None, "box_y0": None, "box_x1": None, "box_y1": None, "source_text": None, "confidence": None,
}  # fmt: skip


def _evidence(evidence: Evidence | None) -> dict[str, Any]:
    if evidence is None:
        return _NO_EVIDENCE
    x0, y0, x1, y1 = evidence.box
    return {
        "page": evidence.page, "box_x0": x0, "box_y0": y0, "box_x1": x1, "box_y1": y1,
        "source_text": evidence.text, "confidence": evidence.confidence,
    }  # fmt: skip


def datapoint_rows(batch_id: str, job_id: str, result: FileResult) -> Iterator[dict[str, Any]]:
    for schema_id, value in result.datapoints.items():
        source = result.sources.get(schema_id)
        if isinstance(value, list):
            for index, row in enumerate(value):
                for cell, cell_value in (row.items() if isinstance(row, dict) else [("value", row)]):
                    yield {
                        "batch_id": batch_id, "job_id": job_id, "file_name": result.file_name,
                        "schema_id": cell, "row_index": index, "parent_schema_id": schema_id,
                        "value": _text(cell_value), "number": _number(cell_value),
                        "normalized_value": normalized_value(cell_value), "source": source, **_NO_EVIDENCE,
                    }  # fmt: skip
        else:
            yield {
                "batch_id": batch_id, "job_id": job_id, "file_name": result.file_name,
                "schema_id": schema_id, "row_index": None, "parent_schema_id": None,
                "value": _text(value), "number": _number(value), "normalized_value": normalized_value(value),
                "source": source, **_evidence(result.evidence.get(schema_id)),
            }  # fmt: skip


def _coerce(value: Any, kind: FieldType) -> Any:
    if value is None:
        return None
    if kind == "rows":
        return json.dumps(value, default=_json_default, ensure_ascii=False)
    if kind == "timestamp" and isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    if kind == "float" and isinstance(value, int | float):
        return float(value)
    return value


class PartWriter:
    """Writes one documents part and one datapoints part, a row group at a time."""

    def __init__(self, docs: pq.ParquetWriter, points: pq.ParquetWriter, schema: pa.Schema, fields: Mapping[str, FieldType],
                 batch_id: str, job_id: str, row_group_size: int) -> None:  # fmt: skip
        self._docs, self._points, self._schema, self._fields = docs, points, schema, fields
        self._batch_id, self._job_id, self._size = batch_id, job_id, row_group_size
        self._doc_rows: list[dict[str, Any]] = []
        self._point_rows: list[dict[str, Any]] = []
        self.rows = 0

    @classmethod
    @contextmanager
    def open(
        cls, store: Store, docs_key: str, points_key: str, *, fields: Mapping[str, FieldType],
        batch_id: str, job_id: str, row_group_size: int = 256,
    ) -> Iterator["PartWriter"]:  # fmt: skip
        schema = documents_schema(fields)
        with store.writer(docs_key) as docs_fh, store.writer(points_key) as points_fh:
            with pq.ParquetWriter(docs_fh, schema, compression="zstd") as docs, pq.ParquetWriter(
                points_fh, DATAPOINTS, compression="zstd"
            ) as points:
                writer = cls(docs, points, schema, fields, batch_id, job_id, row_group_size)
                yield writer
                writer.flush()

    def add(self, result: FileResult) -> None:
        row: dict[str, Any] = {
            "batch_id": self._batch_id, "job_id": self._job_id, "file_name": result.file_name,
            "media_type": result.media_type, "sha256": result.sha256, "status": result.status,
            "error_type": result.error_type, "error_reason": result.error_reason,
            "messages": [
                {"type": m.type, "content": m.content, "schema_id": m.schema_id, "source": m.source}
                for m in result.messages
            ],
            "processed_at": datetime.now(timezone.utc),
        }  # fmt: skip
        for name, kind in self._fields.items():
            row[name] = _coerce(result.datapoints.get(name), kind)
        self._doc_rows.append(row)
        self._point_rows.extend(datapoint_rows(self._batch_id, self._job_id, result))
        self.rows += 1
        if len(self._doc_rows) >= self._size:
            self.flush()

    def flush(self) -> None:
        if self._doc_rows:
            self._docs.write_table(pa.Table.from_pylist(self._doc_rows, schema=self._schema))
            self._doc_rows = []
        if self._point_rows:
            self._points.write_table(pa.Table.from_pylist(self._point_rows, schema=DATAPOINTS))
            self._point_rows = []
