"""A detection workflow on a local Dask cluster of worker processes: the same predictions as the thread
runner, row for row, with the chunks run (and the model loaded) in the Dask workers."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from docket_core.jobs.models import JobRequest
from docket_core.resources import Resources
from docket_core.settings import get_settings
from tasks.resources import build_task_runner
from tests.docket_core.jobs.test_jobs import stage
from tests.docket_core.models.builders import solid
from tests.flows.test_model_jobs import COLOURS, detection_workflow
from tests.scale.test_dask import owners

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.usefixtures("prefect_harness")]

FILES = 40


def predictions(resources: Resources, job_id: str) -> pd.DataFrame:
    frame = pq.read_table(resources.store().path(f"jobs/{job_id}/predictions")).to_pandas().drop(columns=["job_id"])
    return frame.sort_values(["file_name", "step", "rank"]).reset_index(drop=True)


class TestDaskModels:
    def test_a_detection_job_on_dask_workers_gives_the_thread_runners_predictions(
        self, tmp_path: Path, pg_env: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from flows.process_batch import process_batch

        monkeypatch.setenv("DOCKET_SHARD_SIZE", "10")
        detection_workflow(tmp_path, monkeypatch)
        names = list(COLOURS)
        for i in range(FILES):
            solid(tmp_path / "in" / f"img{i:03d}.png", (200 + i, 150), COLOURS[names[i % 3]])
        resources = Resources.from_settings()
        stage(tmp_path / "in", resources, get_settings())
        by_threads = process_batch(job=JobRequest(batch_id="imgs", workflow_id="detect", job_id="threads"))
        by_dask = process_batch.with_options(task_runner=build_task_runner(get_settings(task_runner="dask", dask_workers=2)))(
            job=JobRequest(batch_id="imgs", workflow_id="detect", job_id="dask")
        )
        assert by_threads["state"] == by_dask["state"] == "succeeded"
        assert by_dask["files_succeeded"] == FILES
        expected = predictions(resources, "threads")
        assert len(expected) == 2 * 14 + 13 + 13  # 14 red images give two boxes each, 13 green and 13 blue one
        pd.testing.assert_frame_equal(expected, predictions(resources, "dask"))
        pids = {o.pid for o in owners(resources, "dask")}
        assert os.getpid() not in pids and pids, f"chunks ran in Dask worker processes: {pids}"
