"""The task runner DOCKET_TASK_RUNNER names, and a job asked to fan out where nothing is deployed."""

from __future__ import annotations

from pathlib import Path

import pytest
from prefect.task_runners import ThreadPoolTaskRunner
from prefect_dask import DaskTaskRunner

from docket_core.jobs.models import JobRequest
from docket_core.settings import DocketSettings
from tasks.resources import build_task_runner
from tests.flows.test_process_batch import stage_samples
from tests.helpers import image_folder


class TestBuildTaskRunner:
    def test_threads_are_sized_by_max_workers(self) -> None:
        runner = build_task_runner(DocketSettings(task_runner="threads", max_workers=3))
        assert isinstance(runner, ThreadPoolTaskRunner) and runner._max_workers == 3

    def test_the_default_is_threads(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("DOCKET_TASK_RUNNER")  # the suite's conftest asks for threads
        assert DocketSettings().task_runner == "threads"  # the process pool measured slower on 2 cores

    def test_dask_with_an_address_connects_to_that_scheduler(self) -> None:
        runner = build_task_runner(DocketSettings(task_runner="dask", dask_address="tcp://10.0.0.5:8786"))
        assert isinstance(runner, DaskTaskRunner) and runner.address == "tcp://10.0.0.5:8786"

    def test_dask_without_an_address_starts_a_local_cluster_of_single_threaded_processes(self) -> None:
        runner = build_task_runner(DocketSettings(task_runner="dask", dask_workers=3))
        assert isinstance(runner, DaskTaskRunner) and runner.address is None
        assert {k: runner.cluster_kwargs[k] for k in ("n_workers", "processes", "threads_per_worker")} == {
            "n_workers": 3, "processes": True, "threads_per_worker": 1}  # fmt: skip

    def test_an_unknown_runner_is_refused_by_the_settings(self) -> None:
        with pytest.raises(ValueError, match="auto.*threads.*processes.*dask"):
            DocketSettings(task_runner="ray")  # type: ignore[arg-type]


@pytest.mark.usefixtures("prefect_harness")
class TestFanOutWithoutDeployment:
    def test_a_job_asked_to_fan_out_where_nothing_is_deployed_runs_its_chunks_itself(
        self, tmp_path: Path, docket_env: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from flows.process_batch import process_batch

        monkeypatch.setenv("DOCKET_SHARD_SIZE", "3")
        stage_samples(image_folder(tmp_path / "in", 10), "fan")
        details = process_batch(job=JobRequest(batch_id="fan", workflow_id="image-metadata", job_id="fan-job"), fanout=2)
        assert (details["state"], details["files_succeeded"], details["chunks_done"]) == ("succeeded", 10, 4)
