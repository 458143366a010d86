"""Expiry of staged data: which batches are expired, what deleting one removes and what it keeps."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from docket_core.catalog import utcnow
from docket_core.catalog.schema import batches
from docket_core.errors import NotFoundError
from docket_core.jobs.models import JobRequest
from docket_core.jobs.plan import register_job
from docket_core.resources import Resources
from docket_core.roboflow import records
from docket_core.roboflow.ingests import spool_dir, stage_image
from docket_core.settings import DocketSettings
from docket_core.staging.expiry import delete_batch, expired_batches, sweep_spool
from docket_core.staging.queries import batch_details
from docket_core.store import blob_key
from docket_core.workflows.registry import builtin_workflows
from tests.helpers import jpeg_bytes


@pytest.fixture
def setup(tmp_path: Path, catalog_url: str) -> tuple[Resources, DocketSettings]:
    settings = DocketSettings(home=tmp_path / "home")
    return Resources(store_url=str(tmp_path / "store"), catalog_url=catalog_url), settings


def age(resources: Resources, batch_id: str, days: int) -> None:
    with resources.catalog().begin() as conn:
        conn.execute(sa.update(batches).where(batches.c.batch_id == batch_id).values(created_at=utcnow() - timedelta(days=days)))


class TestExpiry:
    def test_an_expired_batch_goes_with_its_own_bytes_and_a_shared_blob_stays(self, setup: tuple[Resources, DocketSettings]) -> None:
        resources, settings = setup
        shared, own = jpeg_bytes(1), jpeg_bytes(2)
        stage_image(resources, settings, batch_id="old", file_name="shared.jpg", data=shared)
        stage_image(resources, settings, batch_id="old", file_name="own.jpg", data=own)
        stage_image(resources, settings, batch_id="new", file_name="shared.jpg", data=shared)
        age(resources, "old", 8)
        assert expired_batches(resources.catalog(), 7) == ["old"]
        assert expired_batches(resources.catalog(), 9) == []

        deleted = delete_batch(resources, "old")
        assert (deleted.files, deleted.blobs_removed) == (2, 1)
        store = resources.store()
        assert not store.exists(blob_key(hashlib.sha256(own).hexdigest()))
        assert store.read_bytes(blob_key(hashlib.sha256(shared).hexdigest())) == shared
        with pytest.raises(NotFoundError):
            batch_details(resources.catalog(), "old")
        assert batch_details(resources.catalog(), "new")["files_count"] == 1

    def test_a_batch_an_unfinished_job_reads_is_left_for_later(self, setup: tuple[Resources, DocketSettings]) -> None:
        resources, settings = setup
        stage_image(resources, settings, batch_id="busy", file_name="a.jpg", data=jpeg_bytes(3))
        [workflow] = [w for w in builtin_workflows() if w.workflow_id == "image-metadata"]
        register_job(JobRequest(batch_id="busy", workflow_id="image-metadata", job_id="job-busy"), workflow, resources)
        age(resources, "busy", 30)
        assert expired_batches(resources.catalog(), 7) == []  # job-busy is pending

    def test_the_spool_loses_uploads_whose_ingest_has_ended(self, setup: tuple[Resources, DocketSettings]) -> None:
        resources, settings = setup
        summary = stage_image(resources, settings, batch_id="spooled", file_name="a.jpg", data=jpeg_bytes(4))
        done = records.issue_upload(resources.catalog(), batch_id="spooled", workspace="w", kind="shard", file_name=None,
                                    max_bytes=10, ttl_seconds=60)  # fmt: skip
        waiting = records.issue_upload(resources.catalog(), batch_id="spooled", workspace="w", kind="shard", file_name=None,
                                       max_bytes=10, ttl_seconds=60)  # fmt: skip
        records.finish_upload(resources.catalog(), done, size=1, ingest_id=summary.ingest_id)
        spool = spool_dir(settings)
        spool.mkdir(parents=True, exist_ok=True)
        (spool / f"rf-shard-{done}.tar").write_bytes(b"x")
        (spool / f"rf-shard-{waiting}.tar").write_bytes(b"x")
        assert sweep_spool(resources, settings) == 1
        assert [p.name for p in spool.iterdir()] == [f"rf-shard-{waiting}.tar"]
