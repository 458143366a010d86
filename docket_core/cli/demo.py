"""`docket demo`: the whole path on the embedded defaults, with the project's own generated samples."""

from __future__ import annotations

from pathlib import Path

import typer

from docket_core.cli.output import guarded, stdout
from docket_core.settings import get_settings
from docket_core.staging.models import IngestRequest

__all__ = ["demo"]


SCANNED, PHOTOGRAPHED = "invoice-07-scanned.pdf", "receipt-08-photo.jpg"


def _samples(root: Path) -> tuple[Path, Path]:
    """Generate the sample images and documents once (no third-party content, so no attribution needed):
    text and e-invoices, a scanned invoice (an image-only PDF) and a phone photo of a shop receipt."""
    from docket_core.invoice_samples.sample_set import write_sample_invoices
    from docket_core.samples import write_broken_files, write_sample_images
    from docket_core.scan_samples import write_photographed_receipt, write_scanned_invoice

    images, documents = root / "images", root / "documents"
    if not images.exists():
        write_sample_images(images, count=12)
        write_broken_files(images / "broken")
    if not documents.exists():
        write_sample_invoices(documents, count=6)
    if not (documents / SCANNED).exists():
        write_scanned_invoice(documents / SCANNED, seed=7)
    if not (documents / PHOTOGRAPHED).exists():
        write_photographed_receipt(documents / PHOTOGRAPHED, seed=8)
    return images, documents


_WHERE_FILES = ("invoice-01-facturx.pdf", "invoice-02-text-en.pdf", SCANNED, PHOTOGRAPHED)
_WHERE_FIELDS = ("invoice_number", "issue_date", "seller_name", "gross_total", "tax_total", "currency")

_SHOWN = {
    "image-metadata": ["file_name", "width", "height", "camera_model", "gps_latitude", "gps_longitude", "sharpness"],
    "invoice-capture": ["file_name", "invoice_number", "seller_name", "gross_total", "currency", "source"],
}


def _show_rows(details: dict) -> None:
    """A few rows of the job's documents table, read straight from its Parquet parts with pandas."""
    import pandas as pd

    path = details["outputs"]["documents"].rsplit("/", 1)[0]
    frame = pd.read_parquet(path)
    columns = [c for c in _SHOWN[details["workflow_id"]] if c in frame.columns]
    with pd.option_context("display.width", 160, "display.max_columns", 12):
        stdout.print(frame[columns].head(10).to_string(index=False), highlight=False)
    stdout.print(f"  Parquet: {details['outputs']['documents']} (and {details['outputs']['datapoints']})")
    for name, messages in zip(frame["file_name"], frame["messages"]):
        for message in messages:
            if message["type"] in ("error", "warning"):
                stdout.print(f"  {name}: {message['type']}: {message['content']}", highlight=False)


def where_found(datapoints: str, files: tuple[str, ...] = _WHERE_FILES, fields: tuple[str, ...] = _WHERE_FIELDS) -> list[str]:
    """Lines saying where each value of these files was read (page, box relative to the page) and with
    what confidence, from a job's datapoints Parquet (a folder of parts or one file)."""
    import pyarrow.dataset as ds

    table = ds.dataset(datapoints, format="parquet").to_table(
        columns=["file_name", "schema_id", "value", "page", "box_x0", "box_y0", "box_x1", "box_y1", "confidence", "source"],
        filter=ds.field("file_name").isin(list(files)) & ds.field("schema_id").isin([*fields, "source"]) & ds.field("row_index").is_null(),
    )
    rows: dict[str, dict[str, dict]] = {}
    for r in table.to_pylist():
        rows.setdefault(r["file_name"], {})[r["schema_id"]] = r
    lines = []
    for name in files:
        found = rows.get(name, {})
        how = (found.pop("source", None) or {}).get("value")  # invoice-capture says what it read: XML, text or OCR
        lines.append(f"  {name}:" + (f" ({how})" if how else "") + ("" if any(r["value"] for r in found.values()) else " nothing captured"))
        for field in fields:
            r = found.get(field)
            if r is None or not r["value"]:
                continue
            if r["page"] is None:
                where = "exact, from the e-invoice XML" if how in ("xml-file", "embedded-xml") else "no position reported"
            else:
                box = ", ".join(f"{r[k]:.2f}" for k in ("box_x0", "box_y0", "box_x1", "box_y1"))
                where = f"page {r['page']} box ({box}) confidence {r['confidence']:.2f}"
            lines.append(f"      {field:<15}{r['value']!s:<28.28} {where}")
    return lines


@guarded
def demo(
    workdir: Path = typer.Option(None, "--workdir", help="Where to generate the samples (default: <DOCKET_HOME>/demo)."),
) -> None:
    """Stage generated samples, run the image and invoice workflows, then the invoices through a queue to an export.

    Safe to run again: the same ingest ids resume or do nothing.
    """
    from docket_core.cli.staging import run_ingest
    from docket_core.resources import Resources
    from docket_core.staging.queries import batch_details, ingest_details

    settings = get_settings()
    root = (workdir or settings.home / "demo").resolve()
    images, documents = _samples(root / "samples")
    stdout.print(f"Samples in {root / 'samples'} (generated, no third-party content)")

    for batch_id, kind, folder in (("demo-images", "images", images), ("demo-invoices", "documents", documents)):
        request = IngestRequest(
            batch_id=batch_id, media_kind=kind, source_kind="folder", source=str(folder), ingest_id=f"{batch_id}-samples"  # type: ignore[arg-type]
        )
        summary = run_ingest(request, as_json=False)
        stdout.print(
            f"{batch_id}: {summary.ingested} ingested, {summary.failed} failed, "
            f"{summary.duplicates} already there (flow run {summary.flow_run_id})"
        )
    catalog = Resources.from_settings(settings).catalog()
    details = batch_details(catalog, "demo-images")
    stdout.print(f"demo-images holds {details['files_count']} images ({details['bytes']} bytes): {details['content_types']}")
    for shard in ingest_details(catalog, "demo-images"):
        for failed in shard["failed_files"]:
            stdout.print(f"  failed as expected: {failed['file_name']}: {failed['type']}", highlight=False)

    from docket_core.cli.jobs import run_job
    from docket_core.jobs.models import JobRequest

    for job_id, batch_id, workflow_id in (("demo-image-metadata", "demo-images", "image-metadata"),
                                          ("demo-invoice-capture", "demo-invoices", "invoice-capture")):  # fmt: skip
        details = run_job(JobRequest(batch_id=batch_id, workflow_id=workflow_id, job_id=job_id), as_json=False)
        stdout.print(
            f"{job_id} {details['state']}: {details['files_succeeded']} files processed, "
            f"{details['files_failed']} failed; output batch {details['output_batch_id']}"
        )
        _show_rows(details)
        if workflow_id == "invoice-capture":
            stdout.print("Where the values were found (box: x0, y0, x1, y1 relative to the page) and with what confidence:")
            for line in where_found(details["outputs"]["datapoints"].rsplit("/", 1)[0]):
                stdout.print(line, highlight=False)

    from docket_core.cli.demo_models import demo_models

    demo_models(root / "models", "demo-images", lambda line: stdout.print(line, highlight=False))

    from docket_core.cli.queue_demo import demo_queue

    stdout.print("\nQueue: the invoices through a queue with ordered extensions to an export")
    demo_queue(root / "queue", sorted(p for p in documents.iterdir() if p.is_file()),
               say=lambda line: stdout.print(line, highlight=False))  # fmt: skip

    stdout.print("\nWhere to look next:")
    stdout.print("  docket staging list-batches")
    stdout.print("  docket staging show-batch-details --batch-id demo-images")
    stdout.print("  docket staging list-batch-content --batch-id demo-invoices --json")
    stdout.print("  docket jobs show-job-details --job-id demo-invoice-capture")
    stdout.print("  docket staging export-batch --batch-id demo-invoice-capture-out --target-dir ./demo-out")
    stdout.print("  docket server status   # the Prefect UI of every run above (the local server keeps running; docket server stop)")
    stdout.print(f"State lives in {settings.home.resolve()} (store and SQLite catalog).")
