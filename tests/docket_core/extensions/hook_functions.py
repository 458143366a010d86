"""Function extensions for tests, named by import path (`tests.docket_core.extensions.hook_functions:...`)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from docket_core.extensions.hookdoc import HookDocument

FIXTURES = Path(__file__).parents[2] / "fixtures" / "rossum"
SEEN: list[dict[str, Any]] = []
_lock = threading.Lock()


def fixture(prefix: str) -> Any:
    (path,) = FIXTURES.glob(f"{prefix}_*.json")
    return json.loads(path.read_text())


def record(payload: dict[str, Any]) -> dict[str, Any]:
    """Remember the request; answer nothing."""
    with _lock:
        SEEN.append(payload)
    return {}


def set_field(payload: dict[str, Any]) -> dict[str, Any]:
    """settings {"field": schema_id, "value": text}: replace it, and say so; also records the request."""
    record(payload)
    doc = HookDocument(payload)
    field, value = payload["settings"]["field"], payload["settings"]["value"]
    return doc.answer(operations=[doc.replace(field, value)], messages=[doc.message("info", f"set {field}", field)])


def error_if_empty(payload: dict[str, Any]) -> dict[str, Any]:
    """settings {"field": schema_id}: an error message when it is empty."""
    record(payload)
    doc = HookDocument(payload)
    field = payload["settings"]["field"]
    if not doc.text(field):
        return doc.answer(messages=[doc.message("error", f"{field} is empty", field)])
    return doc.answer()


def always_error(payload: dict[str, Any]) -> dict[str, Any]:
    record(payload)
    return {"messages": [{"type": "error", "content": "the ERP refused it"}]}


def raises(payload: dict[str, Any]) -> dict[str, Any]:
    raise RuntimeError("boom in the extension")


def sleeps(payload: dict[str, Any]) -> dict[str, Any]:
    time.sleep(float(payload["settings"].get("seconds", 5)))
    return {}


def blockers(payload: dict[str, Any]) -> dict[str, Any]:
    """Rossum's example 09: automation blockers."""
    return fixture("09")


def keep_pdf_files(payload: dict[str, Any]) -> dict[str, Any]:
    """An e-mail hook keeping only PDF files, with a value on each."""
    record(payload)
    kept = [{"id": f["id"], "values": [{"id": "email:kind", "value": "invoice"}]} for f in payload["files"] if f["mime_type"] == "application/pdf"]
    return {"files": kept}


def rossum_email_answer(payload: dict[str, Any]) -> dict[str, Any]:
    """Rossum's example 05 answer to its example 04 request: keeps file 3 only."""
    return fixture("05")


def not_a_dict(payload: dict[str, Any]) -> Any:
    return ["not", "a", "response"]


def vendor_options(payload: dict[str, Any]) -> dict[str, Any]:
    """In the manner of Rossum's vendor-matching examples: the matches become the enum's options and the
    best match its value."""
    (node,) = [n for s in payload["annotation"]["content"] for n in s.get("children") or [] if n["schema_id"] == "vendor"]
    options = [{"value": "V-7", "label": "Nordlicht Werkzeuge GmbH"}]
    return {"operations": [{"op": "replace", "id": node["id"], "value": {"content": {"value": "V-7"}, "options": options}}]}
