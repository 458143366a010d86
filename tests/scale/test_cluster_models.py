"""A detection workflow run from the `process-batch` deployment by a Prefect process worker, with the
store on S3 (moto on loopback) and the catalog on PostgreSQL: the model loads in the worker's flow run,
predictions and annotated images land in S3 and read back."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pyarrow.parquet as pq
import pytest

from docket_core.jobs.queries import job_details
from docket_core.settings import DocketSettings
from tests.docket_core.jobs.test_jobs import stage
from tests.docket_core.models.builders import solid
from tests.scale.cluster import CATALOG_BLOCK, STORE_BLOCK, Deployment, shared_deployment

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

FILES = 30


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, postgres_admin_url: str) -> Iterator[Deployment]:
    from docket_core.models.tiny import write_detector

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    root = tmp_path_factory.mktemp("cluster-models")
    write_detector(root / "tiny.onnx")
    (root / "detect.yaml").write_text(
        "workflow_id: detect\nmedia: [images]\nsteps:\n"
        "  - {name: detect, uses: onnx-detect, with: {model: tiny.onnx, batch_size: 4, annotate: true}}\n"
    )
    docket_env = {"DOCKET_SHARD_SIZE": "10", "DOCKET_WORKFLOW_PATHS": str(root / "detect.yaml"), "DOCKET_MAX_WORKERS": "2"}
    with shared_deployment(root, postgres_admin_url, docket_env) as deployment:
        deployment.start_worker("gpu-less")
        colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
        for i in range(FILES):
            solid(root / "in" / f"img{i:03d}.png", (320, 240), colours[i % 3])
        stage(root / "in", deployment.resources, DocketSettings(shard_size=10))
        deployment.wait_workers_online(1)
        yield deployment


class TestDeployment:
    def test_a_detection_job_from_the_deployment_writes_its_predictions_and_images_to_s3(self, cluster: Deployment) -> None:
        run_id = cluster.run_deployment("process_batch/process-batch", {
            "job": {"batch_id": "imgs", "workflow_id": "detect", "job_id": "deployed"},
            "store_block": STORE_BLOCK, "catalog_block": CATALOG_BLOCK, "fanout": 0,
        })  # fmt: skip
        ended = cluster.wait_flow_run(run_id)
        assert ended["state"]["type"] == "COMPLETED", cluster.logs()
        resources = cluster.resources
        details = job_details(resources.catalog(), "deployed")
        assert (details["state"], details["files_succeeded"]) == ("succeeded", FILES)
        store = resources.store()
        table = pq.read_table(store.path("jobs/deployed/predictions"), filesystem=store.fs).to_pandas()
        counts = table.groupby("class_name").size().to_dict()
        assert counts == {"red": 20, "green": 10, "blue": 10}  # two boxes per red image, one per green or blue
        first = table[(table.file_name == "img000.png") & (table["rank"] == 0)].iloc[0]
        assert (first.x0, first.y0, first.x1, first.y1) == (40.0, 20.0, 200.0, 180.0)
        images = store.list("jobs/deployed/images/detect")
        assert len(images) == FILES and store.read_bytes(images[0])[:3] == b"\xff\xd8\xff"
