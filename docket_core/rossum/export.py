"""Rossum's export formats of annotations (`GET|POST /queues/{id}/export`): JSON, CSV and XML.

JSON carries, per annotation, the annotation object (what `rossum-api` reads an export result as) with
`arrived_at`, the document object with the reference's `file_name` and `file`, and the content as
sections of datapoints (`schema_id`, `value`, `type`, `rir_confidence`) and multivalues of tuples. The
reference's example shows `schema` as `{"url": ...}`; Rossum's own client reads it as the URL, which
is what Docket sends. XML follows the reference's example (`<annotation url=...><status>...`). CSV has one row per
annotation, or per row of its first table (the header fields repeated), columns the schema's datapoint
ids (or `columns`, `prepend_columns`, `append_columns`, with Rossum's `meta_*` columns).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any
from xml.etree import ElementTree as ET

from docket_core.queues.models import QueueSpec

__all__ = ["META_COLUMNS", "export_csv", "export_json_results", "export_xml"]

META_COLUMNS = ("meta_arrived_at", "meta_file", "meta_file_name", "meta_status", "meta_url", "meta_automated",
                "meta_modified_at", "meta_assigned_at")  # fmt: skip


def _types(queue: QueueSpec) -> dict[str, str]:
    found = {}
    for field in queue.fields:
        found[field.id] = field.type
        for column in field.columns:
            found[column.id] = column.type
    return found


def _export_node(node: Mapping[str, Any], types: Mapping[str, str]) -> dict[str, Any]:
    if node.get("category") == "datapoint":
        content = node.get("content") or {}
        return {"category": "datapoint", "schema_id": node["schema_id"], "value": content.get("value", ""),
                "type": types.get(node["schema_id"], "string"), "rir_confidence": content.get("rir_confidence")}  # fmt: skip
    return {"category": node["category"], "schema_id": node["schema_id"],
            "children": [_export_node(child, types) for child in node.get("children") or []]}  # fmt: skip


def export_json_results(
    annotations: Sequence[Mapping[str, Any]], queues: Mapping[str, QueueSpec], queue_of: Mapping[int, str],
    documents: Mapping[int, Mapping[str, Any]],
) -> list[dict[str, Any]]:  # fmt: skip
    """Each annotation (rendered with its content) in Rossum's export form."""
    results = []
    for annotation in annotations:
        types = _types(queues[queue_of[annotation["id"]]])
        document = documents[annotation["id"]]
        results.append({
            **{k: v for k, v in annotation.items() if not k.startswith("_")},
            "arrived_at": annotation["created_at"],
            "document": {**document, "file_name": document["original_file_name"], "file": document["content"]},
            "content": [_export_node(section, types) for section in annotation["content"]],
        })  # fmt: skip
    return results


def _datapoints(section_nodes: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {n["schema_id"]: (n.get("content") or {}).get("value", "") for n in section_nodes if n.get("category") == "datapoint"}


def _meta(annotation: Mapping[str, Any], name: str) -> Any:
    return {
        "meta_arrived_at": annotation["created_at"], "meta_file": f"{annotation['document']}/content",
        "meta_file_name": annotation.get("_file_name"), "meta_status": annotation["status"], "meta_url": annotation["url"],
        "meta_automated": annotation["automated"], "meta_modified_at": annotation["modified_at"],
        "meta_assigned_at": annotation["assigned_at"],
    }[name]  # fmt: skip


def export_csv(
    annotations: Sequence[Mapping[str, Any]], queue: QueueSpec, *, columns: Sequence[str] = (), prepend: Sequence[str] = (),
    append: Sequence[str] = (), delimiter: str = ",",
) -> str:  # fmt: skip
    """The annotations of one queue as Rossum's CSV: a header of labels, then the rows."""
    plain = [f.id for f in queue.scalar_fields()]
    table = queue.tables()[0] if queue.tables() else None
    cells = [c.id for c in table.columns] if table else []
    chosen = list(columns) or [*plain, *cells]
    chosen = [*prepend, *chosen, *append]
    labels = {f.id: f.label or f.id for f in queue.fields} | ({c.id: c.label or c.id for c in table.columns} if table else {})
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow([labels.get(c, c) for c in chosen])
    for annotation in annotations:
        header: dict[str, Any] = {}
        rows: list[dict[str, Any]] = []
        for section in annotation["content"]:
            for node in section.get("children") or []:
                if node.get("category") == "datapoint":
                    header[node["schema_id"]] = (node.get("content") or {}).get("value", "")
                elif table is not None and node.get("schema_id") == table.id:
                    rows = [_datapoints(row.get("children") or []) for row in node.get("children") or []]
        for row in rows or [{}]:
            writer.writerow([_meta(annotation, c) if c in META_COLUMNS else {**header, **row}.get(c, "") for c in chosen])
    return buffer.getvalue()


def _xml_node(parent: ET.Element, node: Mapping[str, Any]) -> None:
    if node["category"] == "datapoint":
        element = ET.SubElement(parent, "datapoint", schema_id=node["schema_id"], type=node["type"])
        if node.get("rir_confidence") is not None:
            element.set("rir_confidence", str(node["rir_confidence"]))
        element.text = str(node.get("value") or "")
        return
    element = ET.SubElement(parent, node["category"], schema_id=node["schema_id"])
    for child in node.get("children") or []:
        _xml_node(element, child)


def export_xml(results: Sequence[Mapping[str, Any]], pagination: Mapping[str, Any]) -> str:
    """The export JSON results as Rossum's XML (`<export><results><annotation url=...>...`)."""
    root = ET.Element("export")
    listing = ET.SubElement(root, "results")
    for result in results:
        annotation = ET.SubElement(listing, "annotation", url=result["url"])
        for key in ("status", "arrived_at", "exported_at"):
            ET.SubElement(annotation, key).text = result.get(key) or None
        document = ET.SubElement(annotation, "document", url=result["document"]["url"])
        ET.SubElement(document, "file_name").text = result["document"]["file_name"]
        ET.SubElement(document, "file").text = result["document"]["file"]
        modifier = ET.SubElement(annotation, "modifier")
        if result.get("modifier"):
            modifier.set("url", result["modifier"])
        ET.SubElement(annotation, "schema", url=result["schema"])
        ET.SubElement(annotation, "metadata")
        content = ET.SubElement(annotation, "content")
        for section in result["content"]:
            _xml_node(content, section)
    paging = ET.SubElement(root, "pagination")
    for key in ("next", "previous", "total", "total_pages"):
        value = pagination.get(key)
        ET.SubElement(paging, key).text = None if value is None else str(value)
    return '<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(root, encoding="unicode")
