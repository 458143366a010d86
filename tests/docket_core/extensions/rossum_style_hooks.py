"""Webhook handlers written the way Rossum's published example extensions are: they walk the content
tree with a find-by-schema-id helper, compare numbers through `normalized_value`, read their knobs
from `settings`, and answer `messages` and `operations`. Nothing here knows Docket."""

from __future__ import annotations

from typing import Any


def find_by_schema_id(content: list[dict[str, Any]], schema_id: str) -> list[dict[str, Any]]:
    found = []
    for node in content:
        if node.get("schema_id") == schema_id:
            found.append(node)
        elif node.get("children"):
            found += find_by_schema_id(node["children"], schema_id)
    return found


def create_message(kind: str, content: str, datapoint_id: int | None = None) -> dict[str, Any]:
    return {"content": content, "type": kind, "id": datapoint_id}


def create_replace_operation(datapoint: dict[str, Any], new_value: str) -> dict[str, Any]:
    return {"op": "replace", "id": datapoint["id"], "value": {"content": {"value": new_value}}}


def tax_checksum(payload: dict[str, Any]) -> dict[str, Any]:
    """Net + tax must make the total: the numbers are read from normalized_value, as Rossum advises."""
    content = payload["annotation"]["content"]
    (net,), (tax,), (gross,) = (find_by_schema_id(content, s) for s in ("net_total", "tax_total", "gross_total"))
    numbers = [dp["content"]["normalized_value"] for dp in (net, tax, gross)]
    if any(n in (None, "") for n in numbers):
        return {"messages": [create_message("warning", "Cannot check the tax: an amount is missing")]}
    net_value, tax_value, gross_value = (float(n) for n in numbers)
    if abs(net_value + tax_value - gross_value) > 0.01:
        return {"messages": [create_message("error", f"Tax checksum failed: {net_value} + {tax_value} != {gross_value}", gross["id"])]}
    return {"messages": [create_message("info", "Tax checksum OK", gross["id"])]}


VENDORS = [
    {"id": "V-100", "name": "Nordlicht Werkzeuge GmbH"},
    {"id": "V-200", "name": "Bergmann & Söhne KG"},
    {"id": "V-300", "name": "Harbour Lane Stationery Ltd"},
    {"id": "V-400", "name": "Quartz (Analytics) Ltd"},
]


def vendor_matching(payload: dict[str, Any]) -> dict[str, Any]:
    """Match the seller against master data: every candidate becomes an option of the enum, the best its value."""
    content = payload["annotation"]["content"]
    (seller,) = find_by_schema_id(content, "seller_name")
    (vendor,) = find_by_schema_id(content, "vendor")
    name = (seller["content"]["value"] or "").lower()
    options = [{"value": v["id"], "label": v["name"]} for v in VENDORS]
    best = next((v["id"] for v in VENDORS if v["name"].lower().split()[0] in name), None)
    operation = {"op": "replace", "id": vendor["id"], "value": {"options": options, "content": {"value": best or ""}}}
    messages = [] if best else [create_message("warning", "Vendor not found in master data", vendor["id"])]
    return {"operations": [operation], "messages": messages}


def string_manipulation(payload: dict[str, Any]) -> dict[str, Any]:
    """Rewrite the configured fields: `settings.fields` lists schema ids, `remove` characters to drop, `upper`."""
    settings = payload["settings"]
    operations = []
    for schema_id in settings.get("fields", []):
        for datapoint in find_by_schema_id(payload["annotation"]["content"], schema_id):
            value = datapoint["content"]["value"] or ""
            for character in settings.get("remove", ""):
                value = value.replace(character, "")
            if settings.get("upper"):
                value = value.upper()
            if value != datapoint["content"]["value"]:
                operations.append(create_replace_operation(datapoint, value))
    return {"operations": operations}
