"""Object detection outputs: which YOLO layout a model has, and its boxes after threshold and NMS.

Supported output layouts (first output of the model; `B` batch, `N` candidates, `nc` classes):

- `yolov8` (also YOLOv9, YOLO11 and their Ultralytics exports): `[B, 4 + nc, N]`, rows cx, cy, w, h
  then one score per class.
- `yolov5` (also YOLOv7 and Ultralytics' v5u without its transposition): `[B, N, 5 + nc]`: cx, cy, w,
  h, objectness, then class scores; a candidate's score is objectness x class score.
- `nms` (NMS baked in: YOLOv10, `export(nms=True)`, end-to-end exports): `[B, N, 6]`: x0, y0, x1, y1,
  score, class id, already suppressed; only the confidence threshold applies.

Coordinates are in the model's input pixels (after the letterbox). The layout is recognised from the
output's shape and the class count (from names when there are any); `layout:` in the workflow settles
the one ambiguous case (a single-class YOLOv5 model also has 6 columns).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from docket_core.models.session import ModelError, ModelInfo

__all__ = ["Detections", "Layout", "decode", "detect_layout", "nms"]

Layout = Literal["yolov8", "yolov5", "nms"]
LAYOUTS: tuple[Layout, ...] = ("yolov8", "yolov5", "nms")
_MAX_WH = 7680.0  # offset per class for class-wise NMS in one pass (Ultralytics' max_wh)


@dataclass(frozen=True)
class Detections:
    """One image's detections, best first: boxes `[n, 4]` x0,y0,x1,y1 in input pixels."""

    boxes: np.ndarray
    scores: np.ndarray
    classes: np.ndarray


def _supported(outputs: str) -> ModelError:
    return ModelError(
        f"the model's outputs {outputs} match no supported detection layout: yolov8 [B, 4+nc, N], "
        "yolov5 [B, N, 5+nc] or nms [B, N, 6] (x0, y0, x1, y1, score, class); export it with Ultralytics "
        "(format='onnx'), or set layout: in the step if the shape is dynamic"
    )


def detect_layout(info: ModelInfo, classes: int | None, requested: Layout | None = None) -> tuple[Layout, int]:
    """The layout of the model's first output and its class count.

    Raises:
        ModelError: The output fits none of the layouts (or not the one requested), naming the shapes.
    """
    outputs = ", ".join(o.describe() for o in info.outputs)
    shape = info.outputs[0].shape if info.outputs else ()
    if len(shape) != 3:
        raise _supported(outputs)
    rows, cols = (d if isinstance(d, int) else None for d in shape[1:])

    def fits(layout: Layout) -> int | None:
        """The class count if the output fits `layout`, else None."""
        if layout == "yolov8" and rows is not None and rows > 4 and (classes is None or rows == 4 + classes):
            return rows - 4 if cols is None or cols != rows else None
        if layout == "yolov5" and cols is not None and cols > 5 and (classes is None or cols == 5 + classes):
            return cols - 5
        if layout == "nms" and cols == 6:
            return classes or 0
        return None

    if requested is not None:
        found = fits(requested)
        if found is None:
            raise ModelError(f"layout {requested!r} was asked for, but the model's outputs are {outputs}; "
                             f"{requested} expects {_EXPECTS[requested]}{_nc(classes)}")  # fmt: skip
        return requested, found
    # A single-class YOLOv5 output also has 6 columns: NMS-baked outputs keep few candidates (<= 1000).
    order: tuple[Layout, ...] = ("yolov8", "yolov5", "nms")
    exact_v8 = classes is not None and rows == 4 + classes
    if cols == 6 and not exact_v8 and (classes != 1 or (rows is not None and rows <= 1000)):
        order = ("nms", "yolov8", "yolov5")
    for layout in order:
        found = fits(layout)
        if found is not None and (layout != "yolov8" or classes is not None or cols is None or rows is None or rows < cols):
            return layout, found
    raise _supported(outputs + _nc(classes))


_EXPECTS = {"yolov8": "[B, 4+nc, N]", "yolov5": "[B, N, 5+nc]", "nms": "[B, N, 6]"}


def _nc(classes: int | None) -> str:
    return f" (with {classes} class names)" if classes is not None else ""


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression, best first (vectorised IoU per kept box)."""
    order = np.argsort(-scores, kind="stable")
    x0, y0, x1, y1 = boxes.T
    areas = (x1 - x0).clip(0) * (y1 - y0).clip(0)
    keep = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        w = (np.minimum(x1[i], x1[rest]) - np.maximum(x0[i], x0[rest])).clip(0)
        h = (np.minimum(y1[i], y1[rest]) - np.maximum(y0[i], y0[rest])).clip(0)
        inter = w * h
        union = areas[i] + areas[rest] - inter
        overlap = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        order = rest[overlap <= iou]
    return np.asarray(keep, dtype=np.int64)


def _xywh_to_xyxy(xywh: np.ndarray) -> np.ndarray:
    half = xywh[:, 2:4] / 2
    return np.concatenate([xywh[:, 0:2] - half, xywh[:, 0:2] + half], axis=1)


def decode(output: np.ndarray, layout: Layout, *, conf: float, iou: float, max_det: int,
           classes: list[int] | None = None) -> list[Detections]:  # fmt: skip
    """Per image of the batch `output`: candidates over `conf`, class-wise NMS at `iou` (unless baked
    in), at most `max_det`, best first; `classes` keeps only those class ids."""
    found = []
    for pred in output.astype(np.float32, copy=False):
        if layout == "yolov8":
            pred = pred.T  # [N, 4 + nc]
            scores_all = pred[:, 4:]
        elif layout == "yolov5":
            scores_all = pred[:, 5:] * pred[:, 4:5]
        if layout == "nms":
            boxes, scores, cls = pred[:, :4], pred[:, 4], pred[:, 5].round().astype(np.int64)
        else:
            cls = scores_all.argmax(axis=1)
            scores = scores_all[np.arange(len(cls)), cls]
            boxes = pred[:, :4]
        mask = scores >= conf
        if classes is not None:
            mask &= np.isin(cls, classes)
        boxes, scores, cls = boxes[mask], scores[mask], cls[mask]
        if layout == "nms":
            order = np.argsort(-scores, kind="stable")[:max_det]
        else:
            boxes = _xywh_to_xyxy(boxes)
            order = nms(boxes + (cls[:, None] * _MAX_WH), scores, iou)[:max_det]
        found.append(Detections(boxes[order].astype(np.float64), scores[order].astype(np.float64), cls[order]))
    return found
