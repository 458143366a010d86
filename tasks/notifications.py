"""Notification stages as Prefect tasks: deliver a batch of due notifications, see when more fall due,
and report an ingest that could not start. Secrets are resolved here, never passed as parameters."""

from __future__ import annotations

import threading
import time

from prefect import task
from prefect.cache_policies import NO_CACHE

from docket_core.jobs.models import JobRequest
from docket_core.notifications.delivery import BatchReport, deliver_batch
from docket_core.notifications.keys import EndpointCredentials, Keyring
from docket_core.notifications.ledger import next_due_in
from docket_core.notifications.subscriptions import job_for_ingest as _job_for_ingest, notify_ingest_failed, requested_job
from docket_core.resources import Resources
from docket_core.safefetch.address import URLPolicy
from docket_core.settings import DocketSettings
from docket_core.settings.notify import NotifySettings
from docket_core.staging.models import IngestRequest
from tasks.retry import retry_unless_bad_input

__all__ = ["deliver_due", "endpoint_blocks", "job_for_ingest", "load_keyring", "next_due", "report_ingest_failure"]

_BLOCK_TTL = 30.0
_blocks_lock = threading.Lock()
_blocks: tuple[float, dict[str, EndpointCredentials]] | None = None


def endpoint_blocks() -> dict[str, EndpointCredentials]:
    """Credentials of every `WebhookEndpoint` block, by URL (read at most every 30 s per process)."""
    global _blocks
    with _blocks_lock:
        if _blocks is not None and time.monotonic() - _blocks[0] < _BLOCK_TTL:
            return _blocks[1]
        from prefect.client.orchestration import get_client
        from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError

        from blocks.webhook import WebhookEndpoint

        found: dict[str, EndpointCredentials] = {}
        with get_client(sync_client=True) as client:
            try:
                documents = client.read_block_documents_by_type(WebhookEndpoint.get_block_type_slug(), include_secrets=True)
            except ObjectNotFound:  # the block type was never registered: no blocks
                documents = []
            except PrefectHTTPStatusError as exc:
                if exc.response.status_code != 404:
                    raise
                documents = []  # the same, as the sync client says it
        for document in documents:
            block = WebhookEndpoint._from_block_document(document)
            found[block.url.get_secret_value()] = EndpointCredentials.from_secret(
                block.secret.get_secret_value(),
                token=block.token.get_secret_value() if block.token else None,
                timeout=block.timeout,
            )
        _blocks = (time.monotonic(), found)
        return found


def load_keyring(settings: NotifySettings) -> Keyring:
    """The default signing secret from settings, overridden per URL by `WebhookEndpoint` blocks."""
    return Keyring.from_settings(settings, endpoint_blocks())


@task(name="deliver-notifications", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2,
      retry_condition_fn=retry_unless_bad_input)  # fmt: skip
def deliver_due(resources: Resources, settings: NotifySettings, docket_settings: DocketSettings) -> BatchReport:
    """Claim, send (signed, concurrently) and record one batch of due notifications."""
    policy = URLPolicy.from_settings(docket_settings)
    return deliver_batch(resources.catalog(), load_keyring(settings), settings, policy)


@task(name="next-notification-due", cache_policy=NO_CACHE)
def next_due(resources: Resources) -> float | None:
    """Seconds until another notification may be sent; None when none waits."""
    return next_due_in(resources.catalog())


@task(name="report-ingest-failure", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def report_ingest_failure(request: IngestRequest, error_type: str, reason: str, resources: Resources) -> str | None:
    """Queue `success: false` for an ingest that could not start, when it asked for notifications.

    Args:
        error_type: the typed reason (`failure_type(exc)`), e.g. `unsafe-url-detected`.
        reason: what went wrong, as the error said it.
    """
    if not request.notifications_url or not request.ingest_id:
        return None
    with resources.catalog().begin() as conn:
        return notify_ingest_failed(
            conn, ingest_id=request.ingest_id, batch_id=request.batch_id, notifications_url=request.notifications_url,
            error_type=error_type, reason=reason,
        )  # fmt: skip


@task(name="job-for-ingest", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2, retry_condition_fn=retry_unless_bad_input)
def job_for_ingest(job: JobRequest | None, ingest_id: str, resources: Resources) -> JobRequest:
    """The job an ingest asked for: id derived from the ingest, notifications to the ingest's URL.

    Without `job` (the `docket.batch.ingested` trigger), the batch and workflow come from the
    catalog's record of the ingest (`requested_job`; NotFoundError when it asked for none).
    """
    with resources.catalog().read() as conn:
        return requested_job(conn, ingest_id) if job is None else _job_for_ingest(conn, job, ingest_id)
