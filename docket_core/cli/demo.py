"""`docket demo`: the whole path on the embedded defaults, with the project's own generated samples."""

from __future__ import annotations

from pathlib import Path

import typer

from docket_core.cli.output import guarded, stdout
from docket_core.settings import get_settings
from docket_core.staging.models import IngestRequest

__all__ = ["demo"]


def _samples(root: Path) -> tuple[Path, Path]:
    """Generate the sample images and invoices once (no third-party content, so no attribution needed)."""
    from docket_core.invoice_samples import write_sample_invoices
    from docket_core.samples import write_broken_files, write_sample_images

    images, documents = root / "images", root / "documents"
    if not images.exists():
        write_sample_images(images, count=12)
        write_broken_files(images / "broken")
    if not documents.exists():
        write_sample_invoices(documents, count=6)
    return images, documents


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
        stdout.print(frame[columns].head(6).to_string(index=False), highlight=False)
    stdout.print(f"  Parquet: {details['outputs']['documents']} (and {details['outputs']['datapoints']})")
    for name, messages in zip(frame["file_name"], frame["messages"]):
        for message in messages:
            if message["type"] in ("error", "warning"):
                stdout.print(f"  {name}: {message['type']}: {message['content']}", highlight=False)


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

    from docket_core.queues.demo import demo_queue

    stdout.print("\nQueue: the invoices through a queue with ordered extensions to an export")
    demo_queue(root / "queue", sorted(p for p in documents.iterdir() if p.is_file()),
               say=lambda line: stdout.print(line, highlight=False))  # fmt: skip

    stdout.print("\nWhere to look next:")
    stdout.print("  docket staging list-batches")
    stdout.print("  docket staging show-batch-details --batch-id demo-images")
    stdout.print("  docket staging list-batch-content --batch-id demo-invoices --json")
    stdout.print("  docket jobs show-job-details --job-id demo-invoice-capture")
    stdout.print("  docket staging export-batch --batch-id demo-invoice-capture-out --target-dir ./demo-out")
    stdout.print("  prefect server start   # then open http://127.0.0.1:4200 for the flow runs and artifacts")
    stdout.print(f"State lives in {settings.home.resolve()} (store and SQLite catalog).")
