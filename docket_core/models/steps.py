"""The model steps: `onnx-detect`, `onnx-classify` and `ocr-text`, each a callable step with a chunk form.

A step object holds its parameters only; the model is fetched, verified and loaded on first use, once
per worker process (`docket_core.models.source`, `docket_core.models.session`), so loading a workflow
stays cheap. In a job the chunk form runs: the chunk's images through the model in batches
(`docket_core.models.batching`). Elsewhere (a queue's capture) the step runs over one file.

Each step adds summary fields to the documents table, named after the step (`detect` gives
`detect_count`, `detect_classes`, `detect_top_class`, `detect_top_confidence`), and rows to the
predictions table (`docket_core.predictions`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from docket_core.models.annotate import annotate
from docket_core.models.batching import Sample, run_batches, samples, wanted_frames
from docket_core.models.detect import decode, detect_layout
from docket_core.models.images import center_crop, letterbox, open_image, to_batch, video_frames
from docket_core.models.session import ModelError, ModelInfo, model_session, parse_names
from docket_core.models.source import is_url, resolve_model
from docket_core.settings import get_settings
from docket_core.workflows.model import FieldType, FileContext, Prediction, StepOutput

__all__ = ["ClassifyStep", "DetectStep", "OcrStep"]


def _outputs_of(step: Any, ctx: FileContext) -> StepOutput:
    [out] = step.run_chunk([ctx])
    if isinstance(out, Exception):
        raise out
    return out


class _ModelStep:
    """What detection and classification share: the model, its names, batching, per-file outputs."""

    task: str

    def __init__(self, name: str, params: Any, base: Path | None) -> None:
        self.name, self.params, self.base = name, params, base
        self.__name__ = self.__qualname__ = f"{type(self).__name__}[{name}]"
        self.__module__ = __name__

    def __call__(self, ctx: FileContext) -> StepOutput:
        return _outputs_of(self, ctx)

    def load(self) -> tuple[Any, ModelInfo, dict[int, str]]:
        """The session, the model's interface and its class names (from the workflow, else the model)."""
        model = resolve_model(self.params.model, self.params.sha256, base=self.base)
        session, info = model_session(model)
        names = self._names(info)
        return session, info, names

    def check(self) -> None:
        """Load the model (once per process) and fit it to the step; raises `ModelError` if it does not fit."""
        _, info, names = self.load()
        self.postprocessor(info, names)
        info.input_size(self.params.imgsz)
        _ = info.input_dtype

    def _names(self, info: ModelInfo) -> dict[int, str]:
        given = self.params.names
        if given is None:
            raw = info.metadata.get("names")
            return parse_names(raw, f"the metadata of model {self.params.model!r}") if raw else {}
        if isinstance(given, list | dict):
            return parse_names(given, f"step {self.name!r}")
        import fsspec

        location = given if is_url(given) or self.base is None or Path(given).is_absolute() else str(self.base / given)
        try:
            with fsspec.open(location, "rt", encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise ModelError(f"cannot read the class names file {location!r} of step {self.name!r}: {exc}") from exc
        return parse_names(text, f"names file {location!r}")

    def run_chunk(self, ctxs: Sequence[FileContext]) -> list[StepOutput | Exception]:
        session, info, names = self.load()
        decode_output = self.postprocessor(info, names)
        height, width = info.input_size(self.params.imgsz)
        channels_last = info.channels_last
        dtype = info.input_dtype
        input_name = info.input.name
        batch_size = self.params.batch_size if info.dynamic_batch else 1
        threads = get_settings().onnx_preprocess_threads
        failed: dict[int, Exception] = {}
        mean, std = getattr(self.params, "mean", None), getattr(self.params, "std", None)

        def run(batch: list[Sample]) -> list[list[Prediction]]:
            tensor = to_batch([s.array for s in batch], dtype, channels_last=channels_last, mean=mean, std=std)
            output = session.run(None, {input_name: tensor})[0]
            return decode_output(output, batch)

        stream = samples(ctxs, lambda image: self.prepare(image, height, width), threads=threads,
                         ahead=2 * batch_size, keep_images=self.params.annotate, failed=failed)  # fmt: skip
        found: dict[int, list[Prediction]] = defaultdict(list)
        images: dict[int, bytes] = {}
        for sample, predictions in run_batches(stream, run, batch_size, failed):
            found[sample.file].extend(predictions)
            if sample.image is not None:
                images[sample.file] = annotate(sample.image, predictions)
        outcomes: list[StepOutput | Exception] = []
        for i, ctx in enumerate(ctxs):
            if i in failed:
                outcomes.append(failed[i])
                continue
            predictions = found.get(i, [])
            outcomes.append(StepOutput(self.summary(predictions), predictions=predictions,
                                       images={".jpg": images[i]} if i in images else {}))  # fmt: skip
        return outcomes


class DetectStep(_ModelStep):
    """`onnx-detect`: YOLO-family detections, letterboxed in, boxes mapped back to original pixels."""

    task = "detect"

    def fields(self) -> dict[str, FieldType]:
        n = self.name
        return {f"{n}_count": "int", f"{n}_classes": "rows", f"{n}_top_class": "string", f"{n}_top_confidence": "float"}

    def prepare(self, image: Any, height: int, width: int) -> tuple[np.ndarray, Any]:
        return letterbox(image, height, width)

    def postprocessor(self, info: ModelInfo, names: dict[int, str]) -> Any:
        layout, _ = detect_layout(info, len(names) if names else None, self.params.layout)
        params = self.params
        keep = None
        if params.classes is not None:
            by_name = {v: k for k, v in names.items()}
            unknown = [c for c in params.classes if isinstance(c, str) and c not in by_name]
            if unknown:
                raise ModelError(f"step {self.name!r} keeps classes {unknown}, which the model does not name; "
                                 f"it names {sorted(by_name)[:20]}")  # fmt: skip
            keep = [by_name[c] if isinstance(c, str) else int(c) for c in params.classes]

        def decode_output(output: np.ndarray, batch: list[Sample]) -> list[list[Prediction]]:
            results = []
            for sample, dets in zip(batch, decode(output, layout, conf=params.conf, iou=params.iou,
                                                  max_det=params.max_det, classes=keep)):  # fmt: skip
                boxes = sample.placement.to_original(dets.boxes)
                results.append([
                    Prediction("detect", rank, float(score), int(cls), names.get(int(cls), str(int(cls))), None,
                               tuple(float(v) for v in box), sample.size, sample.frame_index, sample.timestamp_s)  # type: ignore[arg-type]
                    for rank, (box, score, cls) in enumerate(zip(boxes, dets.scores, dets.classes))
                ])  # fmt: skip
            return results

        return decode_output

    def summary(self, predictions: list[Prediction]) -> dict[str, Any]:
        n = self.name
        counts = Counter(pr.class_name for pr in predictions)
        best: dict[str | None, float] = {}
        for pr in predictions:
            best[pr.class_name] = max(best.get(pr.class_name, 0.0), pr.confidence)
        ranked = sorted(counts, key=lambda c: (-counts[c], -best[c], str(c)))
        return {
            f"{n}_count": len(predictions),
            f"{n}_classes": [{"class_name": c, "count": counts[c]} for c in ranked],
            f"{n}_top_class": ranked[0] if ranked else None,
            f"{n}_top_confidence": max((pr.confidence for pr in predictions), default=None),
        }


class ClassifyStep(_ModelStep):
    """`onnx-classify`: the top k classes of each image by softmax probability."""

    task = "classify"

    def fields(self) -> dict[str, FieldType]:
        return {f"{self.name}_top_class": "string", f"{self.name}_top_confidence": "float"}

    def prepare(self, image: Any, height: int, width: int) -> tuple[np.ndarray, Any]:
        if self.params.resize == "letterbox":
            return letterbox(image, height, width)
        if self.params.resize == "stretch":
            return np.asarray(image.resize((width, height))), None
        return center_crop(image, height, width), None

    def postprocessor(self, info: ModelInfo, names: dict[int, str]) -> Any:
        shape = info.outputs[0].shape if info.outputs else ()
        classes = shape[1] if len(shape) >= 2 and isinstance(shape[1], int) else None
        if len(shape) < 2 or any(d != 1 for d in shape[2:]) or (names and classes is not None and classes != len(names)):
            outputs = ", ".join(o.describe() for o in info.outputs)
            raise ModelError(f"a classifier's output must be [B, nc] (one score per class), got {outputs}"
                             + (f" with {len(names)} class names" if names else ""))  # fmt: skip
        top_k, softmax = self.params.top_k, self.params.softmax

        def decode_output(output: np.ndarray, batch: list[Sample]) -> list[list[Prediction]]:
            scores = output.reshape(output.shape[0], -1).astype(np.float64)
            already = bool(((scores >= 0) & (scores <= 1)).all() and np.allclose(scores.sum(axis=1), 1, atol=1e-3))
            if softmax is True or (softmax == "auto" and not already):
                shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
                scores = shifted / shifted.sum(axis=1, keepdims=True)
            order = np.argsort(-scores, axis=1, kind="stable")[:, :top_k]
            return [
                [Prediction("classify", rank, float(scores[row, c]), int(c), names.get(int(c), str(int(c))),
                            image_size=s.size, frame_index=s.frame_index, timestamp_s=s.timestamp_s)
                 for rank, c in enumerate(order[row])]
                for row, s in enumerate(batch)
            ]  # fmt: skip

        return decode_output

    def summary(self, predictions: list[Prediction]) -> dict[str, Any]:
        top = max((pr for pr in predictions if pr.rank == 0), key=lambda pr: pr.confidence, default=None)
        return {f"{self.name}_top_class": top.class_name if top else None,
                f"{self.name}_top_confidence": top.confidence if top else None}  # fmt: skip


class OcrStep:
    """`ocr-text`: lines of text with pixel boxes and confidence, by the capture engine's OCR."""

    def __init__(self, name: str, params: Any) -> None:
        self.name, self.params = name, params
        self.__name__ = self.__qualname__ = f"OcrStep[{name}]"
        self.__module__ = __name__

    def fields(self) -> dict[str, FieldType]:
        return {f"{self.name}_lines": "int", f"{self.name}_text": "string"}

    def __call__(self, ctx: FileContext) -> StepOutput:
        from docket_core.capture.ocr import read_lines

        if ctx.media_type.startswith("video/"):
            frames = ((index, ts, frame) for index, ts, frame in video_frames(ctx.path, ctx.name, wanted_frames(ctx)))
        else:
            frames = iter([(None, None, open_image(ctx.path, ctx.name))])
        predictions: list[Prediction] = []
        annotated: dict[str, bytes] = {}
        for index, timestamp, image in frames:
            lines = [line for line in read_lines(image) if line.confidence >= self.params.min_confidence]
            found = [Prediction("ocr", rank, line.confidence, text=line.text, box=line.box, image_size=image.size,
                                frame_index=index, timestamp_s=timestamp) for rank, line in enumerate(lines)]  # fmt: skip
            predictions.extend(found)
            if self.params.annotate and index is None:
                annotated[".jpg"] = annotate(image, found)
        datapoints = {f"{self.name}_lines": len(predictions), f"{self.name}_text": "\n".join(pr.text or "" for pr in predictions)}
        return StepOutput(datapoints, predictions=predictions, images=annotated)
