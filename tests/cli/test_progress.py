"""Progress bars for work that runs elsewhere (Dask workers): counted from the catalog, shown as it goes."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from rich.console import Console

from docket_core.cli import output
from docket_core.errors import NotFoundError
from docket_core.jobs.models import JobRequest
from docket_core.jobs.queries import job_progress
from docket_core.resources import Resources
from docket_core.settings import DocketSettings
from docket_core.staging.ingest import ingest_shard
from docket_core.staging.models import IngestRequest
from docket_core.staging.plan import begin_ingest
from docket_core.staging.queries import ingest_progress
from docket_core.staging.record import record_shard
from docket_core.workflows.registry import get_workflow, load_workflows
from tests.docket_core.jobs.test_jobs import run
from tests.helpers import image_folder


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    screen = io.StringIO()
    monkeypatch.setattr(output, "stderr", Console(file=screen, force_terminal=True, width=100))
    return screen


class TestPolledProgressBar:
    def test_the_bar_follows_what_the_poll_reports_and_ends_on_the_final_count(self, terminal: io.StringIO) -> None:
        state: dict[str, tuple[int, int | None]] = {"now": (0, None)}
        asked = threading.Semaphore(0)

        def poll() -> tuple[int, int | None]:
            asked.release()
            return state["now"]

        with output.progress_bar("job-1", "processing", poll=poll, every=0.01):
            state["now"] = (3, 7)
            assert asked.acquire(timeout=5) and asked.acquire(timeout=5), "the bar asks while the work runs"
            state["now"] = (7, 7)
        assert "7/7" in terminal.getvalue()

    def test_work_not_registered_yet_shows_an_empty_bar_instead_of_failing(self, terminal: io.StringIO) -> None:
        def poll() -> tuple[int, int | None]:
            raise NotFoundError("no job 'x'")

        with output.progress_bar("job-x", "processing", poll=poll, every=0.01, total=3):
            pass
        assert "0/3" in terminal.getvalue()


class TestCountsFromTheCatalog:
    def test_an_ingest_counts_the_files_of_its_recorded_shards(self, tmp_path: Path, catalog_url: str) -> None:
        resources = Resources(store_url=str(tmp_path / "store"), catalog_url=catalog_url)
        settings = DocketSettings(shard_size=4)
        request = IngestRequest(batch_id="imgs", media_kind="images", source_kind="folder", source=str(image_folder(tmp_path / "in", 10)))
        plan = begin_ingest(request, resources, settings)
        assert ingest_progress(resources.catalog(), plan.ingest_id) == (0, 10)
        record_shard(resources.catalog(), plan.pending_shards[0], ingest_shard(plan.pending_shards[0], resources, settings))
        assert ingest_progress(resources.catalog(), plan.ingest_id) == (4, 10)
        assert ingest_progress(resources.catalog(), "unknown") == (0, None)

    def test_a_job_counts_the_files_of_its_finished_chunks(self, tmp_path: Path, catalog_url: str) -> None:
        from tests.docket_core.jobs.test_jobs import stage

        resources = Resources(store_url=str(tmp_path / "store"), catalog_url=catalog_url)
        settings = DocketSettings(shard_size=4)
        stage(image_folder(tmp_path / "in", 10), resources, settings)
        workflow = get_workflow("image-metadata", load_workflows())
        run(JobRequest(batch_id="imgs", workflow_id="image-metadata", job_id="half"), workflow, resources, settings, stop_after=2)
        assert job_progress(resources.catalog(), "half") == (8, 10)
        run(JobRequest(batch_id="imgs", workflow_id="image-metadata", job_id="whole"), workflow, resources, settings)
        assert job_progress(resources.catalog(), "whole") == (10, 10)
