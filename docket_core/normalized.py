"""A captured value's normalized form, as Rossum keeps it in `normalized_value`.

Dates are ISO 8601 (`YYYY-MM-DD`; a timestamp keeps its time), numbers are text in JSON number format
without float noise or needless trailing zeros (`"1234.5"`, `"119"`), booleans `"true"`/`"false"`, and
other values their text. The job's datapoints Parquet and the queues' content trees both use it, so a
value reads the same in both.
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["json_number", "normalized_value"]


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
