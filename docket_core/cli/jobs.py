"""`docket jobs ...`: run workflows over batches and follow them (Roboflow's batch-processing verbs)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

import typer

from docket_core.cli.output import JsonOption, emit, guarded, progress_bar, stderr, stdout, table
from docket_core.cli.prefect_server import attach_prefect, without_heartbeats
from docket_core.cli.runner import start_runner
from docket_core.jobs.models import JobRequest
from docket_core.resources import Resources
from docket_core.settings import get_settings

app = typer.Typer(help="Run a workflow over a staged batch (a job) and follow, abort or restart it.", no_args_is_help=True)

_WORKFLOW = typer.Option(..., "--workflow-id", "-w", help="Workflow to run (`docket workflows list`).")
_BATCH = typer.Option(..., "--batch-id", "-b", help="The staged batch to process.")
_JOB = typer.Option(None, "--job-id", "-j", help="Idempotency key: the same id again resumes or returns the job.")
_RATE = typer.Option(None, "--max-failure-rate", min=0.0, max=1.0, help="Fail the job once more than this share of files failed (0..1).")
_NOTIFY = typer.Option(None, "--notifications-url", help="Webhook URL to notify when the job ends.")
_NO_WAIT = typer.Option(False, "--no-wait", help="Start the job in the background and return at once.")


def _details(job_id: str) -> dict[str, Any]:
    from docket_core.jobs.queries import job_details

    resources = Resources.from_settings()
    return job_details(resources.catalog(), job_id, store_uri=resources.store().uri)


def run_job(request: JobRequest, *, as_json: bool, take_over_export: bool = False) -> dict[str, Any]:
    """Run the `process_batch` flow in this process and return the job's details."""
    api_url = attach_prefect()  # before Prefect loads: the shared local server, not a new ephemeral API
    start_runner(get_settings(), api_url)  # so the next command need not import all this again
    from flows.process_batch import process_batch
    from tasks.resources import build_task_runner

    if not as_json:
        stderr.print(f"Job {request.job_id}: workflow {request.workflow_id} over batch {request.batch_id} (starting Prefect)...")
    # The job's row keeps its notification URL (`_register`, idempotent); the run's parameters, which
    # Prefect keeps and shows verbatim, do not carry it (it may hold a token).
    if request.notifications_url:
        _register(request)
    job = request.model_copy(update={"notifications_url": None})
    bar = progress_bar(request.job_id or "", "processing", enabled=not as_json, poll=_polled(request.job_id or ""))
    with bar, without_heartbeats():
        process_batch.with_options(task_runner=build_task_runner())(job=job, take_over_export=take_over_export)
    _deliver_job_notifications(request.job_id or "", as_json=as_json)
    return _details(request.job_id or "")


def _polled(job_id: str) -> Callable[[], tuple[int, int | None]] | None:
    """In worker processes (a process pool, Dask) the chunks report nowhere here: the bar asks the catalog."""
    from docket_core.jobs.queries import job_progress

    if get_settings().batch_runner == "threads":
        return None
    catalog = Resources.from_settings().catalog()
    return lambda: job_progress(catalog, job_id)


def _deliver_job_notifications(job_id: str, *, as_json: bool) -> None:
    """Send the job's notification now if it queued one (the job row keeps its URL across restarts)."""
    from docket_core.cli.notifications import deliver_after_flow
    from docket_core.notifications.queries import list_notifications
    from docket_core.notifications.subscriptions import job_resource

    if list_notifications(Resources.from_settings().catalog(), resource=job_resource(job_id), status="pending", limit=1):
        deliver_after_flow(as_json=as_json)


def _register(request: JobRequest) -> JobRequest:
    """Give the job its id and row now, so `show-job-details` works from the first second."""
    from docket_core.jobs.plan import new_job_id, register_job

    attach_prefect()  # `tasks` loads Prefect: attach to the shared local server first
    from tasks.jobs import load_workflow

    request = request.model_copy(update={"job_id": request.job_id or new_job_id()})
    register_job(request, load_workflow(request.workflow_id, get_settings()), Resources.from_settings())
    return request


_background: list[subprocess.Popen] = []  # handles kept until exit, so Python does not warn about them


def _start_background(request: JobRequest) -> Path:
    logs = get_settings().home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{request.job_id}.log"
    args = [sys.executable, "-m", "docket_core.cli", "jobs", "restart-job", "--job-id", request.job_id or "", "--json"]
    with open(log, "ab") as fh:
        # A session of its own: the job goes on after this command (and its terminal) ends.
        _background.append(
            subprocess.Popen(args, stdout=fh, stderr=fh, stdin=subprocess.DEVNULL, start_new_session=True, env=os.environ.copy())  # noqa: S603
        )
    return log


def _print(details: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit(details)
        return
    stdout.print(
        f"Job {details['job_id']} {details['state']} ({details['stage']}): {details['files_succeeded']} succeeded, "
        f"{details['files_failed']} failed of {details['files_total']}"
    )
    for error_type, n in details["errors_by_type"].items():
        stdout.print(f"  {error_type}: {n}")
    if details.get("error"):
        stdout.print(f"  error: {details['error']}")
    stdout.print(f"  output batch: {details['output_batch_id']}")
    if details.get("outputs"):
        stdout.print(f"  documents: {details['outputs']['documents']}")
        stdout.print(f"  datapoints: {details['outputs']['datapoints']}")
    if details.get("flow_run_id"):
        stdout.print(f"  Prefect flow run: {details['flow_run_id']}")


def _process(workflow_id: str, batch_id: str, job_id: Optional[str], rate: Optional[float], notify: Optional[str], no_wait: bool, as_json: bool) -> None:
    if notify:
        from docket_core.notifications.outbox import check_endpoint_url

        check_endpoint_url(notify)
    request = _register(
        JobRequest(batch_id=batch_id, workflow_id=workflow_id, job_id=job_id, max_failure_rate=rate, notifications_url=notify)
    )
    if no_wait:
        log = _start_background(request)
        details = _details(request.job_id or "")
        if not as_json:
            stderr.print(f"Started in the background; its log: {log}")
        _print(details, as_json)
        return
    details = run_job(request, as_json=as_json)
    _print(details, as_json)
    if details["state"] not in ("succeeded",):
        raise typer.Exit(1)


@app.command("process-images-with-workflow")
@guarded
def process_images(workflow_id: str = _WORKFLOW, batch_id: str = _BATCH, job_id: Optional[str] = _JOB,
                   max_failure_rate: Optional[float] = _RATE, notifications_url: Optional[str] = _NOTIFY,
                   no_wait: bool = _NO_WAIT, as_json: bool = JsonOption) -> None:  # fmt: skip
    """Run a workflow over a batch of images.

    Example: docket jobs process-images-with-workflow --workflow-id image-metadata --batch-id photos
    """
    _process(workflow_id, batch_id, job_id, max_failure_rate, notifications_url, no_wait, as_json)


@app.command("process-documents-with-workflow")
@guarded
def process_documents(workflow_id: str = _WORKFLOW, batch_id: str = _BATCH, job_id: Optional[str] = _JOB,
                      max_failure_rate: Optional[float] = _RATE, notifications_url: Optional[str] = _NOTIFY,
                      no_wait: bool = _NO_WAIT, as_json: bool = JsonOption) -> None:  # fmt: skip
    """Run a workflow over a batch of documents.

    Example: docket jobs process-documents-with-workflow --workflow-id invoice-capture --batch-id invoices
    """
    _process(workflow_id, batch_id, job_id, max_failure_rate, notifications_url, no_wait, as_json)


@app.command("process-videos-with-workflow")
@guarded
def process_videos(workflow_id: str = _WORKFLOW, batch_id: str = _BATCH, job_id: Optional[str] = _JOB,
                   max_failure_rate: Optional[float] = _RATE, notifications_url: Optional[str] = _NOTIFY,
                   no_wait: bool = _NO_WAIT, as_json: bool = JsonOption) -> None:  # fmt: skip
    """Run a workflow over a batch of videos.

    Example: docket jobs process-videos-with-workflow --workflow-id video-frames --batch-id clips
    """
    _process(workflow_id, batch_id, job_id, max_failure_rate, notifications_url, no_wait, as_json)


@app.command("list")
@guarded
def list_jobs(batch_id: Optional[str] = typer.Option(None, "--batch-id", help="Only jobs over this batch."), as_json: bool = JsonOption) -> None:
    """List jobs with their state and counts."""
    from docket_core.jobs.queries import list_jobs as query

    rows = query(Resources.from_settings().catalog(), batch_id=batch_id)
    if as_json:
        emit(rows)
        return
    table("Jobs", ["job", "batch", "workflow", "state", "succeeded", "failed", "total"],
          [[r["job_id"], r["batch_id"], r["workflow_id"], r["state"], r["files_succeeded"], r["files_failed"], r["files_total"]] for r in rows])  # fmt: skip


@app.command("show-job-details")
@guarded
def show_job_details(job_id: str = typer.Option(..., "--job-id", "-j", help="The job."), as_json: bool = JsonOption) -> None:
    """State, stage, progress, counts, errors by type, the output batch and the Prefect flow run."""
    _print(_details(job_id), as_json)


@app.command("abort-job")
@guarded
def abort_job(job_id: str = typer.Option(..., "--job-id", "-j", help="The job."), as_json: bool = JsonOption) -> None:
    """Stop a job: chunks not yet started are skipped and the job ends `aborted`. Restart it later to finish."""
    from docket_core.jobs.finish import request_abort

    request_abort(Resources.from_settings().catalog(), job_id)
    _print(_details(job_id), as_json)


@app.command("restart-job")
@guarded
def restart_job(
    job_id: str = typer.Option(..., "--job-id", "-j", help="The job."),
    take_over_export: bool = typer.Option(False, "--take-over-export",
                                          help="Export it again although another run began exporting it (that run died)."),  # fmt: skip
    as_json: bool = JsonOption,
) -> None:
    """Run a job again: only files without a result are processed (after a crash, abort or failure).

    A job another run is exporting is left to that run; if that run died mid-export (the job stays
    running at stage export), add --take-over-export.
    """
    details = _details(job_id)
    request = JobRequest(batch_id=details["batch_id"], workflow_id=details["workflow_id"], job_id=job_id,
                         max_failure_rate=details["max_failure_rate"])  # fmt: skip
    details = run_job(request, as_json=as_json, take_over_export=take_over_export)
    _print(details, as_json)
    if (details["state"], details.get("stage")) == ("running", "export"):
        stderr.print(f"Job {job_id} is being exported by another run (flow run {details.get('flow_run_id')}); if that run "
                     f"died, run `docket jobs restart-job --job-id {job_id} --take-over-export`.")  # fmt: skip
    if details["state"] != "succeeded":
        raise typer.Exit(1)
