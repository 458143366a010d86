"""Fixtures for queue tests: resources on both catalogs, an invoice queue, staged sample invoices."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from docket_core.invoice_samples.sample_set import write_sample_invoices
from docket_core.queues.defaults import schema_for_workflow
from docket_core.queues.importing import StagedFile
from docket_core.queues.models import QueueSpec
from docket_core.queues.registry import save_queue
from docket_core.resources import Resources
from docket_core.settings import DocketSettings, get_settings
from docket_core.staging.ingest import stage_file
from docket_core.workflows.registry import builtin_workflows

INVOICE = next(w for w in builtin_workflows() if w.workflow_id == "invoice-capture")


def invoice_queue(queue_id: str = "invoices", **options: object) -> QueueSpec:
    return QueueSpec(queue_id=queue_id, workflow_id="invoice-capture", fields=schema_for_workflow(INVOICE)[0], **options)


@pytest.fixture
def settings(tmp_path: Path) -> DocketSettings:
    return get_settings(home=tmp_path / "home")


@pytest.fixture
def scored_settings(tmp_path: Path) -> DocketSettings:
    """Settings that know the `scored-capture` workflow (confidences chosen by the test's files)."""
    from tests.docket_core.queues.scored_workflow import MODULE

    return get_settings(home=tmp_path / "home", workflow_modules=[MODULE])


@pytest.fixture
def resources(catalog_url: str, tmp_path: Path) -> Resources:
    return Resources(store_url=str(tmp_path / "store"), catalog_url=SecretStr(catalog_url))


@pytest.fixture
def queue(resources: Resources) -> QueueSpec:
    spec = invoice_queue()
    with resources.catalog().begin() as conn:
        save_queue(conn, spec, source="test")
    return spec


@pytest.fixture
def staged_invoices(tmp_path: Path, resources: Resources, settings: DocketSettings) -> list[StagedFile]:
    """The six sample invoices (clean, bad totals, due before issue, ...), validated and stored."""
    staged = []
    for path in write_sample_invoices(tmp_path / "invoices", count=6):
        outcome = stage_file(path, path.name, batch_kind="documents", settings=settings, store=resources.store())
        staged.append(StagedFile(name=path.name, sha256=outcome.sha256 or "", media_type=outcome.media_type, size=outcome.size))
    return staged
