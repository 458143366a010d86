"""The model part of `docket demo`: a detection workflow over the sample images with a generated model.

The model is tiny and generated here (`docket_core.models.tiny`), NOT trained: it "detects" fixed boxes
scored by how red, green or blue an image is. It shows the path a team's own YOLO export takes:
workflow YAML -> onnx-detect -> predictions Parquet and annotated images in the output batch.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import yaml

__all__ = ["demo_models"]


def _workflow(root: Path) -> Path:
    from docket_core.models.tiny import write_detector

    model = root / "tiny-detector.onnx"
    if not model.exists():
        write_detector(model, "yolov8")
    path = root / "demo-detect.yaml"
    steps = [{"name": "detect", "uses": "onnx-detect",
              "with": {"model": model.name, "conf": 0.1, "iou": 0.45, "batch_size": 8, "annotate": True}}]  # fmt: skip
    path.write_text(yaml.safe_dump({"workflow_id": "demo-detect", "media": ["images"], "steps": steps,
                                    "description": "A tiny generated (untrained) detector over the sample images"}))  # fmt: skip
    return path


def demo_models(root: Path, batch_id: str, say: Callable[[str], None]) -> None:
    """Run `demo-detect` over `batch_id` and print its predictions and where the annotated images are."""
    import pandas as pd

    from docket_core.cli.jobs import run_job
    from docket_core.jobs.models import JobRequest

    root.mkdir(parents=True, exist_ok=True)
    workflow = _workflow(root)
    paths = [p for p in os.environ.get("DOCKET_WORKFLOW_PATHS", "").split(",") if p]
    if str(workflow) not in paths:
        os.environ["DOCKET_WORKFLOW_PATHS"] = ",".join([*paths, str(workflow)])
    say("\nModels: a detection workflow (onnx-detect) over the sample images. The model is a TINY "
        "GENERATED ONE, not a trained detector: it scores fixed boxes by how red, green or blue an image is.")  # fmt: skip
    say(f"  model {root / 'tiny-detector.onnx'}, workflow {workflow}")
    details = run_job(JobRequest(batch_id=batch_id, workflow_id="demo-detect", job_id="demo-detect"), as_json=False)
    say(f"demo-detect {details['state']}: {details['files_succeeded']} images, {details['files_failed']} failed")
    outputs = details["outputs"]
    frame = pd.read_parquet(outputs["predictions"].rsplit("/", 1)[0])
    columns = ["file_name", "class_name", "confidence", "x0", "y0", "x1", "y1"]
    with pd.option_context("display.width", 160, "display.max_columns", 10, "display.precision", 3):
        say(frame.sort_values(["file_name", "rank"])[columns].head(10).to_string(index=False))
    say(f"  {len(frame)} predictions; Parquet: {outputs['predictions']}")
    say(f"  annotated images: {outputs.get('images', '(none)')}/detect/")
