"""A detection workflow through the `process_batch` flow: a few hundred images, the predictions table
read back with DuckDB, pandas and polars, summary columns in the documents table, annotated images in
the output batch, and a video's sampled frames through the same model."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pytest
import yaml

from docket_core.jobs.models import JobRequest
from docket_core.models.tiny import write_detector
from docket_core.resources import Resources
from docket_core.staging.models import IngestRequest
from docket_core.staging.queries import batch_content
from tests.docket_core.models.builders import solid

pytestmark = pytest.mark.usefixtures("prefect_harness")

COLOURS = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255)}
IMAGES = 300


def detection_workflow(folder: Path, monkeypatch: pytest.MonkeyPatch, *, annotate: bool = False) -> None:
    write_detector(folder / "models" / "tiny.onnx")
    steps = [
        {"name": "frames", "uses": "video-frames", "with": {"max_fps": 2}},
        {"name": "detect", "uses": "onnx-detect", "run_after": ["frames"],
         "with": {"model": "models/tiny.onnx", "conf": 0.25, "batch_size": 8, "annotate": annotate}},
    ]  # fmt: skip
    (folder / "detect.yaml").write_text(yaml.safe_dump({"workflow_id": "detect", "media": ["images", "videos"], "steps": steps}))
    monkeypatch.setenv("DOCKET_WORKFLOW_PATHS", str(folder / "detect.yaml"))


def stage(folder: Path, batch_id: str, kind: str = "images") -> None:
    from flows.ingest_batch import ingest_batch

    ingest_batch(request=IngestRequest(batch_id=batch_id, media_kind=kind, source_kind="folder", source=str(folder)))  # type: ignore[arg-type]


class TestDetectionJob:
    @pytest.mark.slow
    def test_predictions_of_a_few_hundred_images_land_in_parquet_that_duckdb_pandas_and_polars_read(
        self, tmp_path: Path, docket_env: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from flows.process_batch import process_batch

        monkeypatch.setenv("DOCKET_SHARD_SIZE", "64")
        detection_workflow(tmp_path, monkeypatch, annotate=True)
        names = list(COLOURS)
        for i in range(IMAGES):
            solid(tmp_path / "in" / f"img{i:04d}.png", (320, 240), COLOURS[names[i % 3]])
        stage(tmp_path / "in", "pics")
        details = process_batch(job=JobRequest(batch_id="pics", workflow_id="detect", job_id="det"))
        assert (details["state"], details["files_succeeded"]) == ("succeeded", IMAGES)

        predictions = details["outputs"]["predictions"]
        by_duckdb = duckdb.sql(
            f"SELECT class_name, count(*), count(DISTINCT file_name) FROM read_parquet('{predictions}') GROUP BY 1 ORDER BY 1"
        ).fetchall()
        # red images: the red box and the other red one; green: one; blue: one (and never a box across classes)
        assert by_duckdb == [("blue", 100, 100), ("green", 100, 100), ("red", 200, 100)]
        by_pandas = pd.read_parquet(predictions.rsplit("/", 1)[0])
        by_polars = pl.read_parquet(predictions)
        assert len(by_pandas) == by_polars.height == 400
        first = by_pandas[(by_pandas.file_name == "img0000.png") & (by_pandas["rank"] == 0)].iloc[0]
        # (20, 30, 100, 110) in the 160x160 input; the 320x240 image sits at gain 0.5 under 20 px of padding
        assert (first.x0, first.y0, first.x1, first.y1) == (40.0, 20.0, 200.0, 180.0)
        assert (first.x0_norm, first.y1_norm, first.image_width, first.image_height) == (0.125, 0.75, 320, 240)
        assert first.confidence == pytest.approx(0.9 * 0.75, abs=1e-4) and first.step == "detect" and first.task == "detect"

        docs = pd.read_parquet(details["outputs"]["documents"].rsplit("/", 1)[0]).set_index("file_name")
        assert docs.loc["img0000.png", "detect_count"] == 2 and docs.loc["img0000.png", "detect_top_class"] == "red"
        assert docs.loc["img0002.png", "detect_classes"] == '[{"class_name": "blue", "count": 1}]'

        content = {f["name"] for f in batch_content(Resources.from_settings().catalog(), "det-out")}
        assert sum(n.startswith("predictions/part-") for n in content) == 5  # one part per chunk of 64
        assert sum(n.startswith("images/detect/") for n in content) == IMAGES
        image = Path(details["outputs"]["images"]) / "detect" / "img0001.png.jpg"
        assert image.read_bytes()[:3] == b"\xff\xd8\xff"

    def test_a_job_whose_model_fits_no_detection_layout_fails_before_any_chunk_naming_the_shapes(
        self, tmp_path: Path, docket_env: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from docket_core.models.session import ModelError
        from docket_core.models.tiny import write_classifier
        from flows.process_batch import process_batch

        detection_workflow(tmp_path, monkeypatch)
        write_classifier(tmp_path / "models" / "tiny.onnx")  # a classifier where the detector should be
        for i in range(3):
            solid(tmp_path / "in" / f"img{i}.png", (64, 64), (255, 0, 0))
        stage(tmp_path / "in", "few")
        with pytest.raises(ModelError, match=r"outputs logits \[batch, 3\] match no supported detection layout"):
            process_batch(job=JobRequest(batch_id="few", workflow_id="detect", job_id="wrong-model"))
        assert not Resources.from_settings().store().list("jobs/wrong-model")

    def test_a_videos_sampled_frames_go_through_the_model_with_their_index_and_time(
        self, tmp_path: Path, docket_env: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import av
        import numpy as np

        from flows.process_batch import process_batch

        detection_workflow(tmp_path, monkeypatch)
        (tmp_path / "vid").mkdir()
        with av.open(str(tmp_path / "vid" / "clip.mp4"), "w") as container:
            stream = container.add_stream("mpeg4", rate=10)
            stream.width, stream.height, stream.pix_fmt = 160, 160, "yuv420p"
            for i in range(20):  # one second red, one second blue
                pixels = np.zeros((160, 160, 3), np.uint8)
                pixels[..., 0 if i < 10 else 2] = 255
                for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        stage(tmp_path / "vid", "clips", "videos")
        details = process_batch(job=JobRequest(batch_id="clips", workflow_id="detect", job_id="clip"))
        assert details["state"] == "succeeded" and details["files_succeeded"] == 1
        rows = duckdb.sql(
            f"SELECT frame_index, timestamp_s, class_name FROM read_parquet('{details['outputs']['predictions']}') "
            "WHERE rank = 0 ORDER BY frame_index"
        ).fetchall()
        assert [(f, round(t, 2), c) for f, t, c in rows] == [(0, 0.0, "red"), (5, 0.5, "red"), (10, 1.0, "blue"), (15, 1.5, "blue")]
