"""Built-in steps with parameters, as a workflow YAML declares them:

```yaml
steps:
  - name: frames                 # only for videos: which frames the model steps see
    uses: video-frames
    with: {max_fps: 1, max_frames: 300}
  - name: detect
    uses: onnx-detect
    run_after: [frames]
    with: {model: models/yolo11n.onnx, sha256: ..., conf: 0.25, iou: 0.45, batch_size: 8, annotate: true}
```

Each `uses:` has a pydantic model of its parameters (unknown keys are refused, values bounded); an
error names the step, the parameter and what was expected. `build_step` turns a declaration into a
`Step` and the documents-table fields it adds.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from docket_core.errors import InputError
from docket_core.workflows.model import FieldType
from docket_core.workflows.model import Step

__all__ = ["ClassifyParams", "DetectParams", "OcrParams", "USES", "VideoFramesParams", "build_step"]


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _ModelParams(_Params):
    model: str = Field(description="The ONNX file: a path (relative to the workflow file) or an fsspec URL.")
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$", description="The file's checksum, verified.")
    names: str | list[str] | dict[int, str] | None = Field(
        default=None,
        description="Class names: a file (one per line, JSON, YAML or an Ultralytics data.yaml) or inline; "
        "default: the model's metadata (`names`, as Ultralytics exports it), else class ids.",
    )
    batch_size: int = Field(default=8, ge=1, le=1024, description="Images per model run (dynamic batch axis only).")
    annotate: bool = Field(default=False, description="Also write each image with its predictions drawn.")


class DetectParams(_ModelParams):
    conf: float = Field(default=0.25, ge=0, le=1, description="Least confidence a detection needs.")
    iou: float = Field(default=0.45, gt=0, le=1, description="Overlap above which NMS drops the weaker box of a class.")
    max_det: int = Field(default=300, ge=1, le=100_000, description="Most detections kept per image.")
    imgsz: int = Field(default=640, ge=32, le=8192, description="Input size when the model's is dynamic.")
    layout: Literal["yolov8", "yolov5", "nms"] | None = Field(default=None, description="Output layout; default: recognised.")
    classes: list[int | str] | None = Field(default=None, description="Keep only these classes (ids or names).")


class ClassifyParams(_ModelParams):
    top_k: int = Field(default=5, ge=1, le=1000, description="Classes kept per image, best first.")
    imgsz: int = Field(default=224, ge=8, le=8192, description="Input size when the model's is dynamic.")
    resize: Literal["center-crop", "stretch", "letterbox"] = Field(default="center-crop", description="How an image is fitted.")
    mean: tuple[float, float, float] | None = Field(default=None, description="Per channel mean subtracted after /255.")
    std: tuple[float, float, float] | None = Field(default=None, description="Per channel std divided by after that.")
    softmax: Literal["auto"] | bool = Field(
        default="auto", description="Apply softmax to the scores; auto: unless they already sum to 1."
    )


class OcrParams(_Params):
    min_confidence: float = Field(default=0.0, ge=0, le=1, description="Least confidence a text line needs.")
    annotate: bool = Field(default=False, description="Also write each image with its text boxes drawn.")


class VideoFramesParams(_Params):
    max_fps: float = Field(default=1.0, gt=0, le=240, description="Frames kept per second of video.")
    max_frames: int = Field(default=300, ge=1, le=100_000, description="Most frames kept per video.")


USES: dict[str, type[_Params]] = {
    "onnx-detect": DetectParams,
    "onnx-classify": ClassifyParams,
    "ocr-text": OcrParams,
    "video-frames": VideoFramesParams,
}


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'with'}: {e['msg']} (got {e.get('input')!r:.80})" for e in exc.errors())


def build_step(name: str, uses: str, with_: dict[str, Any], run_after: Iterable[str], *, base: Path | None = None,
               where: str = "workflow") -> tuple[Step, dict[str, FieldType]]:  # fmt: skip
    """The step `uses` with parameters `with_`, and the fields it adds to the documents table.

    Raises:
        InputError: `uses` is not a built-in step, or a parameter is unknown or out of bounds.
    """
    kind = USES.get(uses)
    if kind is None:
        raise InputError(f"{where}: step {name!r} uses {uses!r}; built-in steps are {', '.join(USES)}")
    if not isinstance(with_, dict):
        raise InputError(f"{where}: step {name!r}: `with` must be a mapping of parameters, got {with_!r:.100}")
    try:
        params = kind(**with_)
    except ValidationError as exc:
        raise InputError(f"{where}: step {name!r} ({uses}): {_problems(exc)}") from None
    after = frozenset(run_after)
    recorded = params.model_dump(mode="json")
    if uses == "video-frames":
        from docket_core.steps.video import FIELDS, sample_frames

        fn = functools.partial(sample_frames, max_fps=params.max_fps, max_frames=params.max_frames)
        functools.update_wrapper(fn, sample_frames)
        return Step(name, fn, after, uses=uses, params=recorded), dict(FIELDS)

    from docket_core.models.steps import ClassifyStep, DetectStep, OcrStep

    if isinstance(params, OcrParams):
        step = OcrStep(name, params)
        return Step(name, step, after, uses=uses, params=recorded, predicts=True), step.fields()
    model_step = DetectStep(name, params, base) if isinstance(params, DetectParams) else ClassifyStep(name, params, base)
    step = Step(name, model_step, after, chunk_fn=model_step.run_chunk, uses=uses, params=recorded, predicts=True,
                check=model_step.check)  # fmt: skip
    return step, model_step.fields()
