"""Tiny generated ONNX models with fixed weights, for the demo, the tests and the benchmark.

They are not trained: each "sees" only the colour of an image. The mean of each channel over the
model's input goes through a fixed 3x3 matrix into three class scores (red, green, blue: how much one
channel stands out over the other two, so the grey letterbox padding cancels out), and every candidate
box of the output responds to the classes by a fixed weight. The candidate boxes themselves are
constants in the model's input pixels. So a test knows exactly which boxes, classes and scores an
image must give, in each output layout real YOLO exports have (`yolov8`, `yolov5`, `nms`); and the
classifier gives softmax-ready logits. Building needs the `onnx` package (the `test` extra).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from typing import Any

import numpy as np

from docket_core.errors import DocketError

__all__ = ["COLOUR_NAMES", "DEMO_BOXES", "colour_scores", "write_classifier", "write_conv_detector", "write_detector"]

COLOUR_NAMES = ["red", "green", "blue"]
_MIX = np.array([[1, -0.5, -0.5], [-0.5, 1, -0.5], [-0.5, -0.5, 1]], dtype=np.float32)

# (x0, y0, x1, y1) in a 160x160 input, and per class the weight of the box's score.
DEMO_BOXES: list[tuple[tuple[float, float, float, float], tuple[float, float, float]]] = [
    ((20, 30, 100, 110), (0.9, 0.0, 0.0)),   # red, kept
    ((24, 34, 104, 114), (0.8, 0.0, 0.0)),   # red, overlaps the first heavily: suppressed by NMS
    ((22, 32, 102, 112), (0.0, 0.7, 0.0)),   # green at the same place: another class, kept
    ((110, 20, 150, 60), (0.6, 0.0, 0.0)),   # red, elsewhere: kept
    ((60, 120, 140, 150), (0.0, 0.0, 0.95)),  # blue
    ((0, 0, 10, 10), (0.1, 0.1, 0.1)),       # weak everywhere: under any usual threshold
    *[((0, 0, 1, 1), (0.0, 0.0, 0.0))] * 4,  # padding, as real outputs are mostly empty candidates
]  # fmt: skip


def _onnx() -> Any:
    """The `onnx` package, which only building these models needs."""
    try:
        import onnx
    except ImportError as exc:
        raise DocketError("building the tiny models needs the onnx package: pip install 'docket[test]' (or pip install onnx)") from exc
    return onnx


def colour_scores(rgb: Sequence[float]) -> np.ndarray:
    """The three class scores the models compute for an input whose channel means are `rgb` (0-1)."""
    return np.maximum(np.asarray(rgb, dtype=np.float32) @ _MIX.T, 0)


def _graph(layout: str, size: int, boxes: Sequence[tuple[tuple[float, ...], tuple[float, ...]]], dynamic: bool,
           names: Sequence[str] | None) -> "object":  # fmt: skip
    onnx = _onnx()
    from onnx import TensorProto, helper, numpy_helper

    nc = 3
    xyxy = np.array([b for b, _ in boxes], dtype=np.float32)  # [A, 4]
    weights = np.array([w for _, w in boxes], dtype=np.float32).T  # [nc, A]
    xywh = np.concatenate([(xyxy[:, :2] + xyxy[:, 2:]) / 2, xyxy[:, 2:] - xyxy[:, :2]], axis=1)
    batch = "batch" if dynamic else 1
    consts = {
        "axes": np.array([2, 3], dtype=np.int64),
        "mix": _MIX.T.copy(),
        "zero": np.zeros((1,), dtype=np.float32),
        "weights": weights[None],  # [1, nc, A]
        "xywh": xywh.T[None].copy(),  # [1, 4, A]
        "xyxy": xyxy[None].copy(),  # [1, A, 4]
        "unsq": np.array([2], dtype=np.int64),
        "best": np.array([1], dtype=np.int64),
        "cls": np.argmax(weights, axis=0).astype(np.float32)[None, :, None],  # [1, A, 1]
        "one": np.ones((1,), dtype=np.float32),
    }
    nodes = [
        helper.make_node("ReduceMean", ["images", "axes"], ["means"], keepdims=0),  # [B, 3]
        helper.make_node("MatMul", ["means", "mix"], ["mixed"]),
        helper.make_node("Relu", ["mixed"], ["colour"]),  # [B, nc]
        helper.make_node("Unsqueeze", ["colour", "unsq"], ["colour3"]),  # [B, nc, 1]
        helper.make_node("Mul", ["colour3", "weights"], ["scores"]),  # [B, nc, A]
        # A zero of the batch's shape, so constant boxes repeat per image: [B, 1, 1]
        helper.make_node("ReduceSum", ["colour3", "best"], ["summed"], keepdims=1),
        helper.make_node("Mul", ["summed", "zero"], ["nothing"]),
    ]
    if layout == "yolov8":
        nodes += [helper.make_node("Add", ["xywh", "nothing"], ["boxes"]),
                  helper.make_node("Concat", ["boxes", "scores"], ["output0"], axis=1)]  # fmt: skip
        out_shape = [batch, 4 + nc, len(boxes)]
    elif layout == "yolov5":
        nodes += [helper.make_node("Add", ["xywh", "nothing"], ["boxes"]),
                  helper.make_node("Add", ["one", "nothing"], ["objness"]),  # objectness 1: score = class score
                  helper.make_node("Expand", ["objness", "shape1"], ["obj"]),
                  helper.make_node("Concat", ["boxes", "obj", "scores"], ["stacked"], axis=1),
                  helper.make_node("Transpose", ["stacked"], ["output0"], perm=[0, 2, 1])]  # fmt: skip
        consts["shape1"] = np.array([1, 1, len(boxes)], dtype=np.int64)
        out_shape = [batch, len(boxes), 5 + nc]
    elif layout == "nms":
        nodes += [helper.make_node("ReduceMax", ["scores", "best"], ["top"], keepdims=1),  # [B, 1, A]
                  helper.make_node("Transpose", ["top"], ["top_t"], perm=[0, 2, 1]),  # [B, A, 1]
                  helper.make_node("Add", ["xyxy", "nothing"], ["corners"]),
                  helper.make_node("Add", ["cls", "nothing"], ["classes"]),
                  helper.make_node("Concat", ["corners", "top_t", "classes"], ["output0"], axis=2)]  # fmt: skip
        out_shape = [batch, len(boxes), 6]
    else:
        raise ValueError(f"layout must be yolov8, yolov5 or nms, got {layout!r}")
    used = {i for n in nodes for i in n.input}
    consts = {k: v for k, v in consts.items() if k in used}
    graph = helper.make_graph(
        nodes, f"tiny-{layout}",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [batch, 3, size, size])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, out_shape)],
        initializer=[numpy_helper.from_array(v, k) for k, v in consts.items()],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="docket-tiny")
    model.ir_version = 9
    if names is not None:
        helper.set_model_props(model, {"names": repr(dict(enumerate(names))), "task": "detect"})
    onnx.checker.check_model(model)
    return model


def write_detector(path: Path, layout: str = "yolov8", *, size: int = 160, dynamic: bool = True,
                   boxes: Sequence[tuple[tuple[float, ...], tuple[float, ...]]] = DEMO_BOXES,
                   names: Sequence[str] | None = COLOUR_NAMES) -> Path:  # fmt: skip
    """A fixed-weight detector with `layout`'s output; names in its metadata as Ultralytics writes them."""
    onnx = _onnx()
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(_graph(layout, size, boxes, dynamic, names), str(path))  # type: ignore[arg-type]
    return path


def write_classifier(path: Path, *, size: int = 32, dynamic: bool = True, names: Sequence[str] | None = COLOUR_NAMES) -> Path:
    """A fixed-weight classifier: logits `4 * colour_scores` per image, `[B, 3]`."""
    onnx = _onnx()
    from onnx import TensorProto, helper, numpy_helper

    batch = "batch" if dynamic else 1
    nodes = [
        helper.make_node("ReduceMean", ["images", "axes"], ["means"], keepdims=0),
        helper.make_node("MatMul", ["means", "mix"], ["mixed"]),
        helper.make_node("Relu", ["mixed"], ["colour"]),
        helper.make_node("Mul", ["colour", "four"], ["logits"]),
    ]
    consts = {"axes": np.array([2, 3], dtype=np.int64), "mix": _MIX.T.copy(), "four": np.array([4.0], dtype=np.float32)}
    graph = helper.make_graph(
        nodes, "tiny-classifier",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [batch, 3, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch, 3])],
        initializer=[numpy_helper.from_array(v, k) for k, v in consts.items()],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="docket-tiny")
    model.ir_version = 9
    if names is not None:
        helper.set_model_props(model, {"names": repr(dict(enumerate(names))), "task": "classify"})
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def write_conv_detector(path: Path, *, size: int = 320, classes: int = 80, width: int = 16, seed: int = 0) -> Path:
    """A small convolutional network with random fixed weights and YOLOv8's output `[B, 4 + nc, N]`:
    four stride-2 3x3 convolutions (ReLU) then a 1x1 head over a `size / 16` grid. Its boxes mean
    nothing; it costs about what a small real detector costs per pixel, for benchmarks."""
    onnx = _onnx()
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    channels, name = 3, "images"
    for i in range(4):
        out = width * 2**i
        w = (rng.standard_normal((out, channels, 3, 3)) * (2 / (channels * 9)) ** 0.5).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(np.zeros(out, np.float32), f"b{i}")]
        nodes += [helper.make_node("Conv", [name, f"w{i}", f"b{i}"], [f"c{i}"], strides=[2, 2], pads=[1, 1, 1, 1]),
                  helper.make_node("Relu", [f"c{i}"], [f"r{i}"])]  # fmt: skip
        channels, name = out, f"r{i}"
    head = (rng.standard_normal((4 + classes, channels, 1, 1)) * 0.05).astype(np.float32)
    bias = np.concatenate([np.zeros(4), np.full(classes, -2.0)]).astype(np.float32)
    cells = size // 16
    grid = cells**2
    centres = (np.arange(cells) + 0.5) * 16
    cy, cx = np.meshgrid(centres, centres, indexing="ij")
    anchors = np.stack([cx.ravel(), cy.ravel(), np.full(grid, 48.0), np.full(grid, 48.0)])[None].astype(np.float32)
    inits += [numpy_helper.from_array(head, "wh"), numpy_helper.from_array(bias, "bh"),
              numpy_helper.from_array(np.array([0, 4 + classes, grid], np.int64), "shape"),
              numpy_helper.from_array(anchors, "anchors")]  # fmt: skip
    nodes += [helper.make_node("Conv", [name, "wh", "bh"], ["h"]),
              helper.make_node("Reshape", ["h", "shape"], ["flat"]),
              helper.make_node("Split", ["flat", "parts"], ["xywh", "logits"], axis=1)]  # fmt: skip
    inits.append(numpy_helper.from_array(np.array([4, classes], np.int64), "parts"))
    nodes += [helper.make_node("Sigmoid", ["logits"], ["scores"]),
              helper.make_node("Add", ["xywh", "anchors"], ["boxes"]),  # boxes on the grid, nudged by the image
              helper.make_node("Concat", ["boxes", "scores"], ["output0"], axis=1)]  # fmt: skip
    graph = helper.make_graph(
        nodes, "conv-detector",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, size, size])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["batch", 4 + classes, grid])],
        initializer=inits,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="docket-tiny")
    model.ir_version = 9
    helper.set_model_props(model, {"names": repr({i: f"class{i}" for i in range(classes)})})
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path
