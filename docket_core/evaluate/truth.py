"""The truth JSONL of a capture corpus: what each document in a folder should yield.

One JSON object per line:
`{"file": "<path relative to the folder>", "kind": "invoice"|"receipt", "language": "de",
"fields": {<field id>: <normalized value>}}`, with field ids of `docket_core.steps.invoice.FIELDS`;
dates as "YYYY-MM-DD", amounts as decimal strings ("1234.56"), currency as its ISO code, VAT ids
and IBANs compact. A field a document does not show is absent from its `fields`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from docket_core.errors import InputError

__all__ = ["REQUIRED", "TRUTH_FIELDS", "TruthRecord", "read_truth", "write_truth"]

TRUTH_FIELDS = (
    "invoice_number", "issue_date", "due_date", "seller_name", "seller_vat_id", "buyer_name", "iban",
    "currency", "net_total", "tax_total", "gross_total",
)  # fmt: skip
"""The fields a truth record may hold, in the order reports list them."""

REQUIRED: dict[str, tuple[str, ...]] = {
    "invoice": ("invoice_number", "issue_date", "seller_name", "gross_total", "currency"),
    "receipt": ("seller_name", "issue_date", "gross_total"),
}
"""The fields that must all meet the confidence threshold for a document to be confirmed automatically."""


@dataclass(frozen=True)
class TruthRecord:
    file: str
    kind: Literal["invoice", "receipt"]
    language: str
    fields: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {"file": self.file, "kind": self.kind, "language": self.language, "fields": self.fields},
            ensure_ascii=False,
        )


def _record(raw: Any, where: str) -> TruthRecord:
    if not isinstance(raw, dict) or not isinstance(raw.get("file"), str) or not isinstance(raw.get("fields"), dict):
        raise InputError(f"{where}: expected an object with file, kind, language and fields, got {raw!r:.200}")
    kind = raw.get("kind", "invoice")
    if kind not in REQUIRED:
        raise InputError(f"{where}: kind must be 'invoice' or 'receipt', got {kind!r}")
    unknown = set(raw["fields"]) - set(TRUTH_FIELDS)
    if unknown:
        raise InputError(f"{where}: unknown field ids {sorted(unknown)}; expected some of {list(TRUTH_FIELDS)}")
    fields = {k: str(v) for k, v in raw["fields"].items() if v is not None}
    return TruthRecord(raw["file"], kind, str(raw.get("language", "")), fields)


def read_truth(path: Path) -> list[TruthRecord]:
    """The records of a truth JSONL file, in file order; blank lines are skipped."""
    records = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise InputError(f"cannot read the truth file {str(path)!r}: {e}") from e
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{path}:{number}: not JSON ({e})") from e
        records.append(_record(raw, f"{path}:{number}"))
    return records


def write_truth(path: Path, records: Iterable[TruthRecord]) -> int:
    """Write `records` as JSONL to `path`; returns how many."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(record.to_json() + "\n")
            count += 1
    return count
