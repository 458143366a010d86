"""The predictions table of a job: one row per detection, per top-k class, per text line.

Its schema is `PREDICTIONS`. A job whose workflow has model steps writes one part per chunk
(`jobs/<job>/predictions/part-00007.parquet`, empty when nothing was found) beside its documents and
datapoints parts, through `PredictionWriter`, atomically like them; annotated images go to
`jobs/<job>/images/<step>/<file name>.jpg`. Boxes are in pixels of the image the model saw before
preprocessing (upright by EXIF orientation, or the video frame) and normalised to [0, 1] by its size.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from docket_core.store import Store
from docket_core.workflows.model import Prediction

__all__ = ["PREDICTIONS", "PredictionWriter", "image_key", "predictions_key", "prediction_row"]

PREDICTIONS = pa.schema(
    [
        pa.field("batch_id", pa.string(), nullable=False),
        pa.field("job_id", pa.string(), nullable=False),
        pa.field("file_name", pa.string(), nullable=False),
        pa.field("step", pa.string(), nullable=False),  # the workflow step that predicted it
        pa.field("task", pa.string(), nullable=False),  # detect | classify | ocr
        pa.field("frame_index", pa.int64()),  # a video's frame (decode order); null for an image
        pa.field("timestamp_s", pa.float64()),  # the frame's time from the first frame
        pa.field("rank", pa.int32(), nullable=False),  # best first per image or frame; lines top to bottom
        pa.field("class_id", pa.int32()),
        pa.field("class_name", pa.string()),
        pa.field("text", pa.string()),  # an OCR line's text
        pa.field("confidence", pa.float64(), nullable=False),
        pa.field("x0", pa.float64()),  # box in pixels, origin top left; null for a classification
        pa.field("y0", pa.float64()),
        pa.field("x1", pa.float64()),
        pa.field("y1", pa.float64()),
        pa.field("x0_norm", pa.float64()),  # the same box divided by the image's width and height
        pa.field("y0_norm", pa.float64()),
        pa.field("x1_norm", pa.float64()),
        pa.field("y1_norm", pa.float64()),
        pa.field("image_width", pa.int32()),
        pa.field("image_height", pa.int32()),
    ]
)


def predictions_key(job_id: str, seq: int) -> str:
    return f"jobs/{job_id}/predictions/part-{seq:05d}.parquet"


def image_key(job_id: str, step: str, file_name: str, suffix: str) -> str:
    return f"jobs/{job_id}/images/{step}/{file_name}{suffix}"


def prediction_row(batch_id: str, job_id: str, file_name: str, step: str, p: Prediction) -> dict[str, Any]:
    row: dict[str, Any] = {
        "batch_id": batch_id, "job_id": job_id, "file_name": file_name, "step": step, "task": p.task,
        "frame_index": p.frame_index, "timestamp_s": p.timestamp_s, "rank": p.rank, "class_id": p.class_id,
        "class_name": p.class_name, "text": p.text, "confidence": p.confidence,
        "image_width": p.image_size[0] if p.image_size else None, "image_height": p.image_size[1] if p.image_size else None,
    }  # fmt: skip
    box = p.box or (None, None, None, None)
    row.update(zip(("x0", "y0", "x1", "y1"), box))
    if p.box is not None and p.image_size:
        w, h = p.image_size
        row.update(x0_norm=box[0] / w, y0_norm=box[1] / h, x1_norm=box[2] / w, y1_norm=box[3] / h)
    else:
        row.update(x0_norm=None, y0_norm=None, x1_norm=None, y1_norm=None)
    return row


class PredictionWriter:
    """Writes one predictions part, a row group at a time."""

    def __init__(self, writer: pq.ParquetWriter, batch_id: str, job_id: str, row_group_size: int) -> None:
        self._writer, self._batch_id, self._job_id, self._size = writer, batch_id, job_id, row_group_size
        self._rows: list[dict[str, Any]] = []
        self.rows = 0

    @classmethod
    @contextmanager
    def open(cls, store: Store, key: str, *, batch_id: str, job_id: str, row_group_size: int = 16_384) -> Iterator["PredictionWriter"]:
        with store.writer(key) as fh, pq.ParquetWriter(fh, PREDICTIONS, compression="zstd") as pw:
            writer = cls(pw, batch_id, job_id, row_group_size)
            yield writer
            writer.flush()

    def add(self, file_name: str, step: str, predictions: list[Prediction]) -> None:
        self._rows.extend(prediction_row(self._batch_id, self._job_id, file_name, step, p) for p in predictions)
        self.rows += len(predictions)
        if len(self._rows) >= self._size:
            self.flush()

    def flush(self) -> None:
        # Always write a row group, even an empty one, so the part has the schema's columns.
        if self._rows or not self.rows:
            self._writer.write_table(pa.Table.from_pylist(self._rows, schema=PREDICTIONS))
            self._rows = []
