"""The queue part of `docket demo`: invoices through a queue with ordered built-in extensions to an export.

It runs the flows themselves, so it lives with the entry points (the domain imports no flows).

`demo_queue` writes a queues file and a vendor master data file into the work folder, applies them,
imports the invoices (capture, then the `initialize` extensions in their order, then automatic
confirmation of what nothing blocks), corrects the invoice whose totals do not add up (the `updated`
extensions check it again), confirms it, and exports the queue to Parquet, saying what happened at
each step. Safe to run again: nothing is imported or exported twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["DEMO_QUEUES_FILE", "demo_queue"]

DEMO_QUEUES_FILE = """\
# Docket queues and extensions (apply with: docket queues apply docket-queues.yaml)
queues:
  - id: invoices
    name: Supplier invoices
    workflow: invoice-capture        # the schema is the workflow's fields, plus vendor_id
    auto_confirm: true               # confirm what no error message or automation blocker holds back,
    default_score_threshold: 0.9     # when every required field was read with at least this confidence
extensions:
  - name: tax-fill
    builtin: tax-fill
    events: [initialize, updated]
    queues: [invoices]
  - name: vendor-match
    builtin: vendor-match
    settings: {master_data: vendors.csv}
    events: [initialize]
    queues: [invoices]
  - name: vendor-fill
    builtin: vendor-fill
    settings: {master_data: vendors.csv}
    events: [initialize]
    queues: {invoices: [vendor-match]}
  - name: field-checks
    builtin: field-checks
    events: [initialize, updated, confirm]
    queues: {invoices: [tax-fill, vendor-fill]}
"""

_VENDORS = """\
vendor_id,name,vat_id,iban
V-100,Nordlicht Werkzeuge GmbH,,
V-200,Bergmann & Söhne KG,,
V-300,Harbour Lane Stationery Ltd,,
V-400,Quartz Analytics Ltd,,
"""


def demo_queue(workdir: Path, invoices: Sequence[Path], *, say: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the queue demo over `invoices` (PDF or XML files) with state in the current DOCKET_* settings.

    Args:
        workdir: where the queues file and vendors.csv are written.
        invoices: the files to import (e.g. `write_sample_invoices(...)`).
        say: prints one line for a person.

    Returns:
        The import, the correction, and the export summaries as JSON-able dicts.
    """
    from docket_core.extensions.registry import queue_plan
    from docket_core.queues.config_file import apply_config, load_config
    from docket_core.queues.documents import document_details
    from docket_core.queues.importing import ImportRequest, StagedFile
    from docket_core.resources import Resources
    from docket_core.settings import get_settings
    from docket_core.staging.ingest import stage_file
    from flows.document_action import document_action
    from flows.export_queue import export_queue
    from flows.import_documents import import_documents

    settings = get_settings()
    resources = Resources.from_settings(settings)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "vendors.csv").write_text(_VENDORS, encoding="utf-8")
    config_path = workdir / "docket-queues.yaml"
    config_path.write_text(DEMO_QUEUES_FILE, encoding="utf-8")
    apply_config(resources.catalog(), load_config(config_path, settings))
    with resources.catalog().read() as conn:
        plan = queue_plan(conn, "invoices", "initialize")
    say(f"Queue invoices from {config_path}; on import its extensions run in this order:")
    for line in plan.describe().splitlines():
        say(f"  {line}")

    staged = []
    for path in invoices:
        outcome = stage_file(path, path.name, batch_kind="documents", settings=settings, store=resources.store())
        if outcome.status == "ingested" and outcome.sha256:
            staged.append(StagedFile(name=path.name, sha256=outcome.sha256, media_type=outcome.media_type, size=outcome.size))
    imported = import_documents(request=ImportRequest(queue_id="invoices", source="files", files=staged, actor="demo"))
    say(f"Imported {len(imported.document_ids)} documents ({imported.created} new): {imported.confirmed} confirmed automatically, "
        f"{len(imported.blocked)} wait for review")  # fmt: skip
    fixed: dict[str, Any] = {}
    for doc_id in imported.document_ids:
        details = document_details(resources.catalog(), doc_id)
        values = details["values"]
        say(f"  {doc_id} {details['file_name']}: {details['status']}, vendor {values.get('vendor_id') or '-'}, "
            f"gross {values.get('gross_total')} {values.get('currency') or ''}")  # fmt: skip
        for reason in imported.blocked.get(doc_id, []):
            say(f"      held back by {reason}")
        totals_wrong = any("but the gross total is" in m["content"] for m in details["messages"] if m["type"] == "error")
        if details["status"] == "to_review" and totals_wrong and not fixed:
            gross = round((values.get("net_total") or 0) + (values.get("tax_total") or 0), 2)
            document_action(action="edit", document_ids=[doc_id], changes={"gross_total": f"{gross:.2f}"}, actor="demo")
            confirmed = document_action(action="confirm", document_ids=[doc_id], actor="demo")
            fixed = {"document_id": doc_id, "gross_total": gross, "moved": confirmed.moved, "refused": confirmed.refused}
            outcome_text = "confirmed" if doc_id in confirmed.moved else f"still held back: {confirmed.refused.get(doc_id)}"
            say(f"      a person sets gross_total to {gross:.2f}; the updated extensions check it again; {outcome_text}")

    exported = export_queue(queue_id="invoices", actor="demo")
    for export in exported.exports:
        if export["key"]:
            say(f"Exported {export['exported']} invoices to {resources.store().uri(export['key'])}")
            _show_part(resources.store().path(export["key"]), say)
    if not exported.exports:
        say("Nothing new to export (every confirmed invoice went out in an earlier run)")
    return {
        "import": imported.model_dump(mode="json"), "correction": fixed, "export": exported.model_dump(mode="json"),
        "queues_file": str(config_path),
    }  # fmt: skip


def _show_part(path: str, say: Callable[[str], None]) -> None:
    import pandas as pd

    frame = pd.read_parquet(path, columns=["document_id", "file_name", "invoice_number", "vendor_id", "gross_total", "tax_rate"])
    with pd.option_context("display.width", 160, "display.max_columns", 10):
        for line in frame.to_string(index=False).splitlines():
            say(f"  {line}")
