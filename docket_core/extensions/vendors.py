"""Vendor master data: matching a document's seller, then filling fields from the match.

Master data is a CSV or Parquet file with a row per vendor: `vendor_id`, `name`, `vat_id`, `iban`
(other column names via `settings.columns`). It is read once per process and again when the file
changes. `match_vendor` tries the VAT id, then the IBAN, exactly (ignoring spaces, dots and dashes),
then the name with rapidfuzz; it writes the vendor id, or says that nothing or several vendors match
and adds an automation blocker so a person decides. `fill_from_vendor` fills empty seller fields
from the matched vendor, marks those the master data confirms (`validation_sources: data_matching`),
and warns where the document disagrees with the master data.
"""

from __future__ import annotations

import csv
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from rapidfuzz import fuzz, process, utils

from docket_core.errors import InputError
from docket_core.extensions.hookdoc import HookDocument

__all__ = ["MasterData", "Vendor", "fill_from_vendor", "load_master_data", "match_vendor"]

_COLUMNS = {"vendor_id": "vendor_id", "name": "name", "vat_id": "vat_id", "iban": "iban"}
_FIELDS = {"seller_name": "seller_name", "seller_vat_id": "seller_vat_id", "iban": "iban"}


_LEGAL_FORMS = frozenset(
    "gmbh ag kg ohg ek ek gbr ug mbh co ltd limited plc llc llp inc incorporated corp corporation company sa sas sarl "
    "srl spa bv nv ab as oy aps sro spzoo".split()
)  # fmt: skip


def _compact(text: Any) -> str:
    return re.sub(r"[\s.\-]", "", str(text or "")).upper()


def _name_key(name: str) -> str:
    """A company name for fuzzy matching: lower case, no punctuation, no legal form ("GmbH", "Ltd").

    Every German vendor ends in "GmbH": left in, it alone would make unrelated names look alike.
    """
    words = re.sub(r"[^\w\s]", " ", utils.default_process(name)).split()
    kept = [w for w in words if w not in _LEGAL_FORMS]
    return " ".join(kept or words)


@dataclass(frozen=True)
class Vendor:
    vendor_id: str
    name: str
    vat_id: str
    iban: str
    row: Mapping[str, Any] = field(hash=False, compare=False)


@dataclass
class MasterData:
    """Vendors by id, by compact VAT id and IBAN, and their names for fuzzy matching."""

    vendors: list[Vendor]
    by_id: dict[str, Vendor] = field(default_factory=dict)
    by_vat: dict[str, list[Vendor]] = field(default_factory=dict)
    by_iban: dict[str, list[Vendor]] = field(default_factory=dict)
    name_keys: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.name_keys = [_name_key(v.name) for v in self.vendors]
        for vendor in self.vendors:
            self.by_id[vendor.vendor_id] = vendor
            if vendor.vat_id:
                self.by_vat.setdefault(_compact(vendor.vat_id), []).append(vendor)
            if vendor.iban:
                self.by_iban.setdefault(_compact(vendor.iban), []).append(vendor)


_cache: dict[tuple[Any, ...], MasterData] = {}
_cache_lock = threading.Lock()


def load_master_data(path: str | Path, columns: Mapping[str, str] | None = None) -> MasterData:
    """Read a vendors file (`.csv` or `.parquet`), cached until the file changes.

    Raises:
        InputError: the file is missing, of another kind, or lacks the id or name column.
    """
    path = Path(path).expanduser()
    names = {**_COLUMNS, **(columns or {})}
    try:
        stat = path.stat()
    except OSError as e:
        raise InputError(f"vendor master data {str(path)!r} cannot be read: {e}; set settings.master_data to a CSV or Parquet file") from e
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, tuple(sorted(names.items())))
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    if path.suffix.lower() == ".csv":
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    elif path.suffix.lower() in (".parquet", ".pq"):
        rows = pq.read_table(path).to_pylist()
    else:
        raise InputError(f"vendor master data must be a .csv or .parquet file, got {str(path)!r}")
    present = set(rows[0]) if rows else set()
    missing = [names[k] for k in ("vendor_id", "name") if names[k] not in present]
    if rows and missing:
        raise InputError(f"vendor master data {str(path)!r} needs columns {missing}, got {sorted(present)} (map them in settings.columns)")
    vendors = [
        Vendor(str(r[names["vendor_id"]]), str(r.get(names["name"]) or ""), str(r.get(names["vat_id"]) or ""),
               str(r.get(names["iban"]) or ""), r)  # fmt: skip
        for r in rows
        if r.get(names["vendor_id"]) not in (None, "")
    ]
    data = MasterData(vendors)
    with _cache_lock:
        _cache[key] = data
    return data


def _master(settings: Mapping[str, Any]) -> MasterData:
    if not settings.get("master_data"):
        raise InputError("settings.master_data must name the vendors file (CSV or Parquet)")
    return load_master_data(settings["master_data"], settings.get("columns"))


def _describe(vendors: list[Vendor]) -> str:
    return ", ".join(f"{v.vendor_id} {v.name!r}" for v in vendors)


def match_vendor(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Write the id of the vendor that sent the document into `settings.target` (default `vendor_id`).

    Settings: `master_data` (path), `target`, `fields` (schema_ids of seller_name, seller_vat_id, iban),
    `threshold` (fuzzy score 0-100, default 85), `margin` (how far ahead the best name must be, 5).
    """
    doc = HookDocument(payload)
    settings = doc.settings
    target = str(settings.get("target", "vendor_id"))
    fields = {**_FIELDS, **(settings.get("fields") or {})}
    current = doc.text(target)
    if current is None:
        return doc.answer(messages=[doc.message("error", f"vendor matching needs a datapoint {target!r} in the queue schema; add a string field {target}")])
    master = _master(settings)
    if current and current in master.by_id:
        return doc.answer()  # matched before, or set by a person: theirs stands
    if current:
        return _undecided(doc, target, f"{target} {current!r} is not in the vendor master data")

    vat, iban, name = (doc.text(fields[k]) or "" for k in ("seller_vat_id", "iban", "seller_name"))
    for label, value, index in (("VAT id", vat, master.by_vat), ("IBAN", iban, master.by_iban)):
        found = index.get(_compact(value), []) if value else []
        if len(found) == 1:
            return _matched(doc, target, found[0], f"by {label} {value}")
        if len(found) > 1:
            return _undecided(doc, target, f"several vendors share {label} {value}: {_describe(found)}")
    if name:
        threshold = float(settings.get("threshold", 85))
        margin = float(settings.get("margin", 5))
        scored = process.extract(
            _name_key(name), master.name_keys, scorer=fuzz.token_sort_ratio, limit=5, score_cutoff=threshold
        )
        if scored:
            best = scored[0][1]
            close = [master.vendors[index] for _, score, index in scored if best - score <= margin]
            if len(close) == 1:
                return _matched(doc, target, close[0], f"by name {name!r} (score {best:.0f})")
            return _undecided(doc, target, f"several vendors match the name {name!r}: {_describe(close)}")
    seller = ", ".join(f"{k} {v!r}" for k, v in (("name", name), ("VAT id", vat), ("IBAN", iban)) if v) or "no seller fields"
    return _undecided(doc, target, f"no vendor in the master data matches the seller ({seller})")


def _matched(doc: HookDocument, target: str, vendor: Vendor, how: str) -> dict[str, Any]:
    return doc.answer(
        operations=[doc.replace(target, vendor.vendor_id)],
        messages=[doc.message("info", f"vendor {vendor.vendor_id} ({vendor.name}) matched {how}", target)],
    )


def _undecided(doc: HookDocument, target: str, why: str) -> dict[str, Any]:
    text = f"{why}; enter {target} by hand"
    blocker = {"content": text}
    node = doc.datapoint(target)
    if node is not None:
        blocker["id"] = node["id"]
    return doc.answer(messages=[doc.message("warning", text, target)], automation_blockers=[blocker])


def fill_from_vendor(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Fill empty fields from the matched vendor's master data; warn where they disagree.

    Settings: `master_data`, `target` (default `vendor_id`), `fill` (schema_id -> master data column,
    default seller_name <- name, seller_vat_id <- vat_id, iban <- iban).
    """
    doc = HookDocument(payload)
    settings = doc.settings
    target = str(settings.get("target", "vendor_id"))
    vendor_id = doc.text(target)
    if not vendor_id:
        return doc.answer()
    master = _master(settings)
    vendor = master.by_id.get(vendor_id)
    if vendor is None:
        return doc.answer(messages=[doc.message("warning", f"vendor {vendor_id!r} is not in the vendor master data", target)])
    fill = settings.get("fill") or {"seller_name": "name", "seller_vat_id": "vat_id", "iban": "iban"}
    operations, messages = [], []
    for schema_id, column in fill.items():
        known = vendor.row.get(column)
        current = doc.text(schema_id)
        if current is None or known in (None, ""):
            continue
        if current == "":
            operations.append(doc.replace(schema_id, str(known)))
            messages.append(doc.message("info", f"{schema_id} filled from vendor {vendor_id}", schema_id))
        elif _compact(current) == _compact(known):
            operations.append(_validated(doc, schema_id))
        elif not (column == "name" and fuzz.token_sort_ratio(_name_key(current), _name_key(str(known))) >= 90):
            messages.append(doc.message("warning", f"{schema_id} {current!r} differs from vendor {vendor_id}'s {str(known)!r}", schema_id))
    return doc.answer(operations=[o for o in operations if o is not None], messages=messages)


def _validated(doc: HookDocument, schema_id: str) -> dict[str, Any] | None:
    """Mark a captured value the master data confirms as Rossum does: `data_matching` among its
    `validation_sources` (automatic confirmation then no longer waits on capture's confidence in it)."""
    node = doc.datapoint(schema_id)
    sources = list((node or {}).get("validation_sources") or [])
    if node is None or "data_matching" in sources:
        return None
    return {"op": "replace", "id": node["id"], "value": {"validation_sources": [*sources, "data_matching"]}}
