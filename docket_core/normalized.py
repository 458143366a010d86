"""A captured value's normalized form, as Rossum keeps it in `normalized_value`.

Dates are ISO 8601 (`YYYY-MM-DD`; a timestamp keeps its time), numbers are text in JSON number format
without float noise or needless trailing zeros (`"1234.5"`, `"119"`), booleans `"true"`/`"false"`, and
other values their text. The job's datapoints Parquet and the queues' content trees both use it, so a
value reads the same in both; `normalize_content` sets it on a content tree from each datapoint's text
(queues after edits, the extension runner after each level), with the text parsed as the queue reads
it (`parse_number`, `parse_date`).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "json_number", "node_options", "normalize_content", "normalized_text", "normalized_value", "parse_date", "parse_number",
    "schema_kinds",
]  # fmt: skip

_DE_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


def parse_number(text: str) -> float:
    """A number written with either decimal separator: "1.234,56", "1,234.56", "12,5", "1 000".

    Raises:
        ValueError: (or `decimal.InvalidOperation`, a ValueError too) when it is no number.
    """
    compact = text.replace("\u00a0", "").replace(" ", "").replace("'", "")
    if "," in compact and "." in compact:
        # The later separator is the decimal one: "1.234,56" and "1,234.56".
        decimal_sep = "," if compact.rfind(",") > compact.rfind(".") else "."
        thousands = "." if decimal_sep == "," else ","
        compact = compact.replace(thousands, "").replace(decimal_sep, ".")
    elif "," in compact:
        compact = compact.replace(",", ".") if re.search(r",\d{1,2}$", compact) else compact.replace(",", "")
    return float(Decimal(compact))


def parse_date(text: str) -> str:
    """An ISO date (`2024-03-31`, also with a time after it) or a German one (`31.03.2024`) as ISO text.

    Raises:
        ValueError: when it is no such date.
    """
    if match := _DE_DATE.fullmatch(text):
        return datetime.date(int(match[3]), int(match[2]), int(match[1])).isoformat()
    return datetime.date.fromisoformat(text[:10] if "T" in text else text).isoformat()


def normalized_text(kind: str | None, text: Any, options: Iterable[str] = ()) -> str | None:
    """Rossum's `normalized_value` of a datapoint's text for a field of this type (number, date, enum,
    string): ISO date, JSON number, or the text; None when empty or not of the type."""
    if text is None:
        return None
    text = str(text).strip()
    if not text:
        return None
    try:
        if kind == "number":
            return json_number(parse_number(text))
        if kind == "date":
            return parse_date(text)
    except (ValueError, InvalidOperation):
        return None
    if kind == "enum" and text not in set(options):
        return None
    return text


def normalize_content(content: Iterable[dict[str, Any]], kinds: Mapping[str, tuple[str, tuple[str, ...]]]) -> None:
    """Set, in place, every datapoint's `normalized_value` from its `value`, for the datapoints whose
    schema_id `kinds` knows (`{schema_id: (type, enum options)}`); others are left as they are."""
    stack = list(content)
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        stack.extend(node.get("children") or ())
        kind = kinds.get(node.get("schema_id", "")) if node.get("category") == "datapoint" else None
        data = node.get("content")
        if kind is not None and isinstance(data, dict):  # Rossum's content may be null (a button)
            own = node_options(node)  # an enum's options a hook set on this document's datapoint win
            data["normalized_value"] = normalized_text(kind[0], data.get("value"), own if own is not None else kind[1])


def node_options(node: Mapping[str, Any]) -> list[str] | None:
    """The enum values a hook set on this datapoint (Rossum's `options`: `[{"value", "label"}]` or plain
    strings), or None when it has none of its own and the schema's options apply."""
    options = node.get("options")
    if not isinstance(options, list) or not options:
        return None
    return [str(o.get("value")) if isinstance(o, Mapping) else str(o) for o in options]


def schema_kinds(schema: Iterable[Mapping[str, Any]]) -> dict[str, tuple[str, tuple[str, ...]]]:
    """`{schema_id: (type, options)}` of a queue schema as JSON (fields and table columns)."""
    kinds: dict[str, tuple[str, tuple[str, ...]]] = {}
    for field in schema:
        for item in [field, *(field.get("columns") or ())]:
            if item.get("type", "string") != "multivalue" and "id" in item:
                kinds[str(item["id"])] = (str(item.get("type", "string")), tuple(item.get("options") or ()))
    return kinds


def json_number(value: int | float | Decimal) -> str:
    """`value` as a JSON number: `119.0` -> `"119"`, `0.125` -> `"0.125"`, `1e16` -> `"10000000000000000"`.

    Raises:
        ValueError: for NaN or an infinity, which JSON has no number for.
    """
    if isinstance(value, bool):
        raise ValueError(f"a JSON number must not be a bool, got {value!r}")
    if isinstance(value, int):
        return str(value)
    try:
        number = value if isinstance(value, Decimal) else Decimal(repr(value))
    except InvalidOperation as e:
        raise ValueError(f"a JSON number must be finite, got {value!r}") from e
    if not number.is_finite():
        raise ValueError(f"a JSON number must be finite, got {value!r}")
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def normalized_value(value: Any) -> str | None:
    """The normalized text of a typed captured value (a date, a number, a bool, text); None for None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        try:
            return json_number(value)
        except ValueError:
            return None
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return str(value)
