"""`docket staging ...`: put files into batches and look at them (Roboflow's data-staging verbs)."""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from docket_core.cli.output import JsonOption, emit, emit_line, fail, guarded, progress_bar, stderr, stdout, table
from docket_core.cli.prefect_server import attach_prefect, without_heartbeats
from docket_core.cli.runner import start_runner
from docket_core.cli.notifications import deliver_after_flow
from docket_core.notifications.outbox import check_endpoint_url
from docket_core.resources import Resources
from docket_core.settings import get_settings
from docket_core.staging.models import IngestRequest, IngestSummary

app = typer.Typer(
    help="Stage files into named batches (from a folder, a tar bundle or a JSONL references file) and inspect them.",
    no_args_is_help=True,
)


class DataSource(str, Enum):
    local_directory = "local-directory"
    references_file = "references-file"


class NotificationCategory(str, Enum):
    ingest_status = "ingest-status"
    files_status = "files-status"


def run_ingest(request: IngestRequest, *, as_json: bool) -> IngestSummary:
    """Run the `ingest_batch` flow in this process (Prefect's ephemeral API, or PREFECT_API_URL)."""
    from docket_core.staging.plan import check_source, new_ingest_id

    check_source(request)  # a typo should not cost a Prefect start-up
    if request.notifications_url:
        check_endpoint_url(request.notifications_url)
    if request.ingest_id is None:
        request = request.model_copy(update={"ingest_id": new_ingest_id()})
    api_url = attach_prefect()  # before Prefect loads: the shared local server, not a new ephemeral API
    start_runner(get_settings(), api_url)  # so the next command need not import all this again
    from flows.ingest_batch import ingest_batch
    from tasks.resources import build_task_runner

    from docket_core.pushes import carries_urls, hold_request

    # A URL (a signed references URL, a notification URL with a token) goes to the catalog, and the
    # flow run's parameters name only the record: Prefect keeps parameters verbatim and shows them.
    params: dict[str, object] = {"request": request}
    if carries_urls(request):
        params = {"push_id": hold_request(Resources.from_settings().catalog(), request)}
    if not as_json:
        stderr.print(f"Ingest {request.ingest_id} into batch {request.batch_id} (starting Prefect)...")
    try:
        bar = progress_bar(request.ingest_id, "staging", enabled=not as_json, poll=_polled(request.ingest_id))
        with bar, without_heartbeats():
            summary = ingest_batch.with_options(task_runner=build_task_runner())(**params)
    finally:
        if request.notifications_url:  # what the ingest queued goes out now; retries later
            deliver_after_flow(as_json=as_json)
    return summary


def _polled(ingest_id: str) -> Callable[[], tuple[int, int | None]] | None:
    """In worker processes (a process pool, Dask) the shards report nowhere here: the bar asks the catalog."""
    from docket_core.staging.queries import ingest_progress

    if get_settings().batch_runner == "threads":
        return None
    catalog = Resources.from_settings().catalog()
    return lambda: ingest_progress(catalog, ingest_id)


def _print_summary(summary: IngestSummary, as_json: bool) -> None:
    if as_json:
        emit(summary)
        return
    note = " (this ingest had completed before: nothing added)" if summary.already_completed else ""
    stdout.print(
        f"Batch {summary.batch_id}: {summary.ingested} ingested, {summary.failed} failed, "
        f"{summary.duplicates} already there{note}. Ingest {summary.ingest_id} {summary.status}."
    )
    if summary.failed:
        stdout.print(f"Why files failed: docket staging list-ingest-details --batch-id {summary.batch_id}")
    if summary.flow_run_id:
        stdout.print(f"Prefect flow run: {summary.flow_run_id}")


def _create(
    media_kind: str,
    folder: Optional[Path],
    folder_flag: str,
    batch_id: str,
    data_source: DataSource,
    references: Optional[str],
    ingest_id: Optional[str],
    allow_private_network: bool,
    notifications_url: Optional[str],
    notification_category: Optional[NotificationCategory],
    as_json: bool,
) -> None:
    if data_source is DataSource.references_file:
        if not references:
            fail("--data-source references-file needs --references PATH_OR_URL (a JSONL file of {\"name\", \"url\"} lines)")
        source_kind, source = "references", references
    else:
        if folder is None:
            fail(f"expected {folder_flag} DIR (or --data-source references-file --references FILE)")
        source_kind, source = "folder", str(folder)
    request = IngestRequest(
        batch_id=batch_id,
        media_kind=media_kind,  # type: ignore[arg-type]
        source_kind=source_kind,  # type: ignore[arg-type]
        source=source,
        ingest_id=ingest_id,
        allow_private_network=allow_private_network,
        notifications_url=notifications_url,
        notification_category=notification_category.value if notification_category else None,  # type: ignore[arg-type]
    )
    _print_summary(run_ingest(request, as_json=as_json), as_json)


_BATCH = typer.Option(..., "--batch-id", "-b", help="Batch to add to (created if new): lowercase letters, digits, _ and -.")
_SOURCE = typer.Option(DataSource.local_directory, "--data-source", help="Where the files come from.")
_REFS = typer.Option(None, "--references", help="JSONL references file (path or http(s) URL), one {\"name\", \"url\"} per line.")
_INGEST = typer.Option(None, "--ingest-id", help="Idempotency key: the same id again resumes or does nothing.")
_PRIVATE = typer.Option(
    False, "--allow-private-network", help="Allow references to loopback/private addresses (testing against a local server)."
)
_NOTIFY = typer.Option(None, "--notifications-url", help="Webhook URL to notify about this ingest.")
_CATEGORY = typer.Option(None, "--notification-category", help="ingest-status (one summary) or files-status (per file).")


@app.command("create-batch-of-images")
@guarded
def create_batch_of_images(
    images_dir: Optional[Path] = typer.Option(None, "--images-dir", "-i", help="Folder of images, walked recursively."),
    batch_id: str = _BATCH,
    data_source: DataSource = _SOURCE,
    references: Optional[str] = _REFS,
    ingest_id: Optional[str] = _INGEST,
    allow_private_network: bool = _PRIVATE,
    notifications_url: Optional[str] = _NOTIFY,
    notification_category: Optional[NotificationCategory] = _CATEGORY,
    as_json: bool = JsonOption,
) -> None:
    """Stage images (JPEG, PNG, GIF, WebP, TIFF, BMP) into a batch.

    Names are paths relative to the folder, so a/x.jpg and b/x.jpg stay two files. Each image must
    decode fully; failures are recorded with a typed reason and the rest goes on.

    Example: docket staging create-batch-of-images --images-dir ./photos --batch-id photos-2024
    """
    _create("images", images_dir, "--images-dir", batch_id, data_source, references, ingest_id,
            allow_private_network, notifications_url, notification_category, as_json)  # fmt: skip


@app.command("create-batch-of-documents")
@guarded
def create_batch_of_documents(
    documents_dir: Optional[Path] = typer.Option(None, "--documents-dir", "-d", help="Folder of documents, walked recursively."),
    batch_id: str = _BATCH,
    data_source: DataSource = _SOURCE,
    references: Optional[str] = _REFS,
    ingest_id: Optional[str] = _INGEST,
    allow_private_network: bool = _PRIVATE,
    notifications_url: Optional[str] = _NOTIFY,
    notification_category: Optional[NotificationCategory] = _CATEGORY,
    as_json: bool = JsonOption,
) -> None:
    """Stage documents (PDF, e-invoice XML, scanned images) into a batch.

    Example: docket staging create-batch-of-documents --documents-dir ./invoices --batch-id invoices-nov
    """
    _create("documents", documents_dir, "--documents-dir", batch_id, data_source, references, ingest_id,
            allow_private_network, notifications_url, notification_category, as_json)  # fmt: skip


@app.command("create-batch-of-videos")
@guarded
def create_batch_of_videos(
    videos_dir: Optional[Path] = typer.Option(None, "--videos-dir", "-v", help="Folder of videos, walked recursively."),
    batch_id: str = _BATCH,
    data_source: DataSource = _SOURCE,
    references: Optional[str] = _REFS,
    ingest_id: Optional[str] = _INGEST,
    allow_private_network: bool = _PRIVATE,
    notifications_url: Optional[str] = _NOTIFY,
    notification_category: Optional[NotificationCategory] = _CATEGORY,
    as_json: bool = JsonOption,
) -> None:
    """Stage videos (MP4, MOV, WebM, MKV, AVI) into a batch.

    Example: docket staging create-batch-of-videos --videos-dir ./clips --batch-id clips
    """
    _create("videos", videos_dir, "--videos-dir", batch_id, data_source, references, ingest_id,
            allow_private_network, notifications_url, notification_category, as_json)  # fmt: skip


@app.command("create-batch-from-archive")
@guarded
def create_batch_from_archive(
    archive: Path = typer.Option(..., "--archive", "-a", help="Tar bundle (.tar, .tar.gz, ...) of at most 500 files."),
    batch_id: str = _BATCH,
    media_kind: str = typer.Option("images", "--media", help="What the bundle holds: images, documents or videos."),
    ingest_id: Optional[str] = _INGEST,
    notifications_url: Optional[str] = _NOTIFY,
    notification_category: Optional[NotificationCategory] = _CATEGORY,
    as_json: bool = JsonOption,
) -> None:
    """Stage the files of one tar bundle into a batch.

    Members with absolute paths, '..', links or devices are refused one by one; a bundle of more
    than 500 files is refused whole (split it).

    Example: docket staging create-batch-from-archive --archive part-001.tar --batch-id scans
    """
    request = IngestRequest(
        batch_id=batch_id,
        media_kind=media_kind,  # type: ignore[arg-type]
        source_kind="archive",
        source=str(archive),
        ingest_id=ingest_id,
        notifications_url=notifications_url,
        notification_category=notification_category.value if notification_category else None,  # type: ignore[arg-type]
    )
    _print_summary(run_ingest(request, as_json=as_json), as_json)


@app.command("list-batches")
@guarded
def list_batches(as_json: bool = JsonOption) -> None:
    """List every batch with its file counts."""
    from docket_core.staging.queries import list_batches as query

    rows = query(Resources.from_settings().catalog())
    if as_json:
        emit(rows)
        return
    table("Batches", ["batch", "kind", "files", "failed", "bytes", "created"],
          [[r["batch_id"], r["media_kind"], r["files_count"], r["failed_count"], r["bytes"], r["created_at"]] for r in rows])  # fmt: skip


@app.command("show-batch-details")
@guarded
def show_batch_details(batch_id: str = _BATCH, as_json: bool = JsonOption) -> None:
    """Counts by status and content type, total size, errors by type, and the batch's ingests."""
    from docket_core.staging.queries import batch_details

    details = batch_details(Resources.from_settings().catalog(), batch_id)
    if as_json:
        emit(details)
        return
    stdout.print(f"{details['batch_id']} ({details['media_kind']}, created {details['created_at']})")
    stdout.print(f"  ingested: {details['files_count']}  failed: {details['failed_count']}  bytes: {details['bytes']}")
    for media_type, n in details["content_types"].items():
        stdout.print(f"  {media_type}: {n}")
    for error_type, n in details["errors_by_type"].items():
        stdout.print(f"  failed, {error_type}: {n}")
    stdout.print(f"  ingests: {', '.join(i['ingest_id'] + ' (' + i['status'] + ')' for i in details['ingests'])}")


@app.command("list-ingest-details")
@guarded
def list_ingest_details(
    batch_id: str = _BATCH,
    ingest_id: Optional[str] = typer.Option(None, "--ingest-id", help="Only this ingest's shards."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the JSON lines to this file."),
    as_json: bool = JsonOption,
) -> None:
    """One record per shard: status, file counts, and every failed file with its type and reason."""
    from docket_core.staging.queries import ingest_details

    records = ingest_details(Resources.from_settings().catalog(), batch_id, ingest_id)
    if output is not None:
        count = 0
        with open(output, "w", encoding="utf-8") as fh:
            for record in records:
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
                count += 1
        stderr.print(f"wrote {count} shard records to {output}")
        return
    if as_json:
        for record in records:
            emit_line(record)
        return
    for record in records:
        stdout.print(
            f"{record['shard_id']} {record['status']}: {record['ingested_files']} ingested, "
            f"{record['duplicates']} already there, {record['failed_count']} failed"
        )
        for failed in record["failed_files"]:
            stdout.print(f"  {failed['file_name']}: {failed['type']}: {failed['reason']}", highlight=False)


@app.command("list-batch-content")
@guarded
def list_batch_content(
    batch_id: str = _BATCH,
    status: Optional[str] = typer.Option(None, "--status", help="Only files with this status: ingested or failed."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="At most this many files (a page)."),
    after: Optional[str] = typer.Option(None, "--after", help="Start after this file name (the last of the previous page)."),
    as_json: bool = JsonOption,
) -> None:
    """The files of a batch, by name: one JSON line per file with --json; page with --limit and --after."""
    from docket_core.staging.queries import batch_content

    if status not in (None, "ingested", "failed"):
        fail(f"--status must be ingested or failed, got {status!r}")
    items = batch_content(Resources.from_settings().catalog(), batch_id, status=status, after=after, limit=limit)
    if as_json:
        for item in items:
            emit_line(item)
        return
    table(f"Files of {batch_id}", ["name", "status", "type", "size", "error"],
          [[i["name"], i["status"], i["media_type"], i["size"], i["error_type"]] for i in items])  # fmt: skip


@app.command("export-batch")
@guarded
def export_batch(
    batch_id: str = _BATCH,
    target_dir: Path = typer.Option(..., "--target-dir", "-t", help="Folder to copy the files into (created if needed)."),
    as_json: bool = JsonOption,
) -> None:
    """Copy a batch's files out under their names. Resumable: files already there are skipped."""
    from docket_core.staging.export import export_batch as run
    from docket_core.staging.queries import batch_details

    resources = Resources.from_settings()
    total = batch_details(resources.catalog(), batch_id)["files_count"]
    key = f"export:{batch_id}"
    with progress_bar(key, "exporting", enabled=not as_json, total=total):
        result = run(resources, batch_id, target_dir, progress_key=key)
    if as_json:
        emit(result.__dict__)
    else:
        failed = f", {len(result.failed)} failed" if result.failed else ""
        stdout.print(f"{result.copied} files copied, {result.skipped} already there{failed}, into {result.target_dir}")
        for item in result.failed:
            stdout.print(f"  {item['reason']}")
    if result.failed:
        raise typer.Exit(1)
