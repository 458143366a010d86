"""Benchmark of model steps: images/s of `onnx-detect` through a job against a plain onnxruntime loop.

Measures in one run, on the same JPEGs (640x480) and the same model (a small convolutional detector with
random fixed weights and YOLOv8's output, 320x320 input, `docket_core.models.tiny.write_conv_detector`):

1. floor: a plain loop: Pillow decode and letterbox (in a pool of DOCKET_ONNX_PREPROCESS_THREADS
   threads, as Docket does; also shown on one thread), `session.run` on batches of `--batch-size`, the
   same numpy decoding and NMS; no Prefect, no catalog, no Parquet;
2. Docket: the `process_batch` flow over the staged batch with a workflow YAML naming the model
   (after a warm-up job, so Prefect's start-up and the model's loading are not counted);
3. batching: the floor with one image per run against `--batch-size` per run.

Usage: `.venv/bin/python bench/models.py [--images 400] [--batch-size 8]`. Figures go to stdout and
`bench/out/models.json`. Runtime knobs come from `DOCKET_*` (DOCKET_ONNX_THREADS, DOCKET_SHARD_SIZE ...).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "models.json"
FLOOR_GOAL = 1.15  # a job at most this many times slower than the plain loop


def _isolate(workdir: Path) -> None:
    (workdir / "prefect").mkdir(parents=True, exist_ok=True)
    os.environ.update(
        PREFECT_HOME=str(workdir / "prefect"), DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_LEVEL="WARNING", PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="300",
        DOCKET_HOME=str(workdir / "docket"), DOCKET_STORE_URL=str(workdir / "docket" / "store"),
        DOCKET_CATALOG_URL=f"sqlite:///{workdir / 'docket' / 'catalog.db'}",
    )  # fmt: skip
    os.environ.pop("PREFECT_API_URL", None)
    sys.path.insert(0, str(ROOT))


def write_images(dest: Path, count: int) -> list[Path]:
    import numpy as np
    from PIL import Image

    dest.mkdir(parents=True)
    paths = []
    for i in range(count):
        rng = np.random.default_rng(i)
        image = Image.fromarray(rng.integers(0, 256, size=(12, 16, 3), dtype=np.uint8)).resize((640, 480), Image.Resampling.BICUBIC)
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=85)
        paths.append(dest / f"img{i:05d}.jpg")
        paths[-1].write_bytes(buf.getvalue())
    return paths


def plain_loop(model: Path, paths: list[Path], batch_size: int, threads: int = 0) -> tuple[float, int]:
    """Seconds and detections of the floor: decode, letterbox, run in batches, decode outputs; with
    `threads`, decoding and letterboxing of each batch run in a thread pool (what a careful script does)."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np
    import onnxruntime
    from PIL import Image

    from docket_core.models.detect import decode
    from docket_core.models.images import letterbox, to_batch

    options = onnxruntime.SessionOptions()
    threads = int(os.environ.get("DOCKET_ONNX_THREADS") or 0)
    if threads:
        options.intra_op_num_threads = threads
    session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    session.run(None, {"images": np.zeros((batch_size, 3, 320, 320), np.float32)})  # warm-up
    def prepare(path: Path) -> tuple[np.ndarray, object]:
        with Image.open(path) as img:
            return letterbox(img.convert("RGB"), 320, 320)

    pool = ThreadPoolExecutor(max_workers=threads) if threads else None
    found = 0
    start = time.perf_counter()
    for i in range(0, len(paths), batch_size):
        chunk = paths[i : i + batch_size]
        prepared = list(pool.map(prepare, chunk) if pool else map(prepare, chunk))
        arrays, boxes = [a for a, _ in prepared], [b for _, b in prepared]
        output = session.run(None, {"images": to_batch(arrays, np.float32)})[0]
        for placement, dets in zip(boxes, decode(output, "yolov8", conf=0.25, iou=0.45, max_det=300)):
            found += len(placement.to_original(dets.boxes))
    seconds = time.perf_counter() - start
    if pool:
        pool.shutdown()
    return seconds, found


def docket_job(workdir: Path, model: Path, folder: Path, batch_size: int, job_id: str) -> tuple[float, int]:
    import pandas as pd
    import yaml

    from docket_core.jobs.models import JobRequest
    from flows.ingest_batch import ingest_batch
    from flows.process_batch import process_batch
    from docket_core.staging.models import IngestRequest

    wf = workdir / f"{job_id}.yaml"
    steps = [{"name": "detect", "uses": "onnx-detect", "with": {"model": str(model), "conf": 0.25, "batch_size": batch_size}}]
    wf.write_text(yaml.safe_dump({"workflow_id": job_id, "media": ["images"], "steps": steps}))
    os.environ["DOCKET_WORKFLOW_PATHS"] = str(wf)
    batch = f"b-{job_id}"
    ingest_batch(request=IngestRequest(batch_id=batch, media_kind="images", source_kind="folder", source=str(folder)))
    start = time.perf_counter()
    details = process_batch(job=JobRequest(batch_id=batch, workflow_id=job_id, job_id=job_id))
    seconds = time.perf_counter() - start
    assert details["state"] == "succeeded", details
    rows = len(pd.read_parquet(details["outputs"]["predictions"].rsplit("/", 1)[0]))
    return seconds, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=400)
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="docket-bench-models-"))
    _isolate(workdir)
    from docket_core.models.tiny import write_conv_detector

    model = write_conv_detector(workdir / "conv.onnx")
    paths = write_images(workdir / "images", args.images)
    write_images(workdir / "warm", 16)

    docket_job(workdir, model, workdir / "warm", args.batch_size, "warm-up")
    threads = int(os.environ.get("DOCKET_ONNX_PREPROCESS_THREADS") or 4)
    plain_s, _ = plain_loop(model, paths, args.batch_size)
    floor_s, floor_n = plain_loop(model, paths, args.batch_size, threads)
    job_s, job_n = docket_job(workdir, model, workdir / "images", args.batch_size, "job")
    single_s, _ = plain_loop(model, paths, 1, threads)
    n = len(paths)
    figures = {
        "cores": os.cpu_count(), "platform": platform.platform(), "images": n, "batch_size": args.batch_size,
        "onnx_threads": int(os.environ.get("DOCKET_ONNX_THREADS") or 0),
        "plain_single_thread_images_per_s": n / plain_s, "floor_images_per_s": n / floor_s, "job_images_per_s": n / job_s, "job_over_floor": job_s / floor_s,
        "one_per_run_images_per_s": n / single_s, "batched_over_one_per_run": single_s / floor_s,
        "detections": {"floor": floor_n, "job": job_n},
    }  # fmt: skip
    print(f"{n} JPEGs 640x480, conv detector 320x320 (random fixed weights), CPU, {os.cpu_count()} cores")
    print(f"{'':<40}{'images/s':>10}{'ratio':>10}")
    print(f"{'plain loop, batch ' + str(args.batch_size) + ', one thread':<40}{n / plain_s:>10.1f}{plain_s / floor_s:>10.2f}")
    print(f"{'plain loop, batch ' + str(args.batch_size) + f', {threads} decode threads':<40}"
          f"{figures['floor_images_per_s']:>10.1f}{1.0:>10.2f}   (the floor)")  # fmt: skip
    print(f"{'docket job (process_batch)':<40}{figures['job_images_per_s']:>10.1f}{figures['job_over_floor']:>10.2f}"
          f"   (x slower than the floor; goal <= {FLOOR_GOAL})")  # fmt: skip
    print(f"{'floor, one image per run':<40}{figures['one_per_run_images_per_s']:>10.1f}"
          f"{1 / figures['batched_over_one_per_run']:>10.2f}   (batch {args.batch_size} is {figures['batched_over_one_per_run']:.2f}x one per run)")  # fmt: skip
    print(f"detections: floor {floor_n}, job {job_n} (the same model, the same images)")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
