"""onnx-detect on real ONNX models with fixed weights in each YOLO output layout: letterbox offsets,
confidence threshold, class-wise NMS, class names and boxes back in original pixels, checked exactly.

The tiny models (docket_core.models.tiny) give each candidate box a score of weight x colour score,
where a yellow image (red and green channels full) scores 0.5 for red and green, scaled by the share
of the model's 160x160 input the image covers after the letterbox (the grey padding cancels out).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from docket_core.errors import InputError
from docket_core.models.session import ModelError
from docket_core.models.source import ModelSourceError
from docket_core.models.tiny import write_detector
from tests.docket_core.models.builders import boxes, run, solid, workflow

YELLOW = (255, 255, 0)


@pytest.fixture
def models(tmp_path: Path) -> Path:
    for layout in ("yolov8", "yolov5", "nms"):
        write_detector(tmp_path / f"{layout}.onnx", layout)
    return tmp_path


def detect(folder: Path, model: str, **params: object) -> list[dict]:
    return [{"name": "detect", "uses": "onnx-detect", "with": {"model": model, **params}}]


class TestLayouts:
    @pytest.mark.parametrize("layout", ["yolov8", "yolov5"])
    def test_a_square_image_gives_the_known_boxes_with_the_weaker_overlap_of_a_class_suppressed(
        self, models: Path, layout: str
    ) -> None:
        wf = workflow(models, detect(models, f"{layout}.onnx", conf=0.25, iou=0.45))
        result = run(wf, [solid(models / "yellow.png", (160, 160), YELLOW)])["yellow.png"]
        found = boxes(result, "detect")
        assert [(name, box) for name, _, box in found] == [
            ("red", (20.0, 30.0, 100.0, 110.0)),
            ("green", (22.0, 32.0, 102.0, 112.0)),  # overlaps the red box: another class, so kept
            ("red", (110.0, 20.0, 150.0, 60.0)),
        ]  # the red box at (24, 34) overlaps the first red by IoU 0.82 > 0.45: suppressed; the 0.05 one is under conf
        assert [round(c, 6) for _, c, _ in found] == [0.45, 0.35, 0.3]
        assert result.datapoints == {
            "detect_count": 3, "detect_classes": [{"class_name": "red", "count": 2}, {"class_name": "green", "count": 1}],
            "detect_top_class": "red", "detect_top_confidence": pytest.approx(0.45),
        }  # fmt: skip

    def test_nms_baked_in_keeps_every_candidate_over_the_threshold_best_first(self, models: Path) -> None:
        wf = workflow(models, detect(models, "nms.onnx", conf=0.25))
        found = boxes(run(wf, [solid(models / "yellow.png", (160, 160), YELLOW)])["yellow.png"], "detect")
        assert [(n, round(c, 6), b) for n, c, b in found] == [
            ("red", 0.45, (20.0, 30.0, 100.0, 110.0)),
            ("red", 0.4, (24.0, 34.0, 104.0, 114.0)),  # the model already did NMS: nothing more is dropped
            ("green", 0.35, (22.0, 32.0, 102.0, 112.0)),
            ("red", 0.3, (110.0, 20.0, 150.0, 60.0)),
        ]

    @pytest.mark.parametrize("layout", ["yolov8", "yolov5", "nms"])
    def test_boxes_of_an_odd_sized_image_map_back_through_the_letterbox_exactly(self, models: Path, layout: str) -> None:
        # 333 x 201 in 160 x 160: gain 160/333, resized to 160 x 97, padded 31 above (round(31.5 - 0.1)) and 32 below
        wf = workflow(models, detect(models, f"{layout}.onnx", conf=0.2, iou=0.45))
        found = boxes(run(wf, [solid(models / "wide.png", (333, 201), YELLOW)])["wide.png"], "detect")
        g = 333 / 160
        first = found[0][2]
        assert first == pytest.approx((20 * g, 0.0, 100 * g, (110 - 31) * g), abs=1e-9)  # y0 (30 - 31) clipped to 0
        assert first == pytest.approx((41.625, 0.0, 208.125, 164.41875), abs=1e-9)
        assert found[0][1] == pytest.approx(0.9 * 0.5 * 97 / 160, abs=1e-4)  # float32 means
        assert all(0 <= b[0] <= b[2] <= 333 and 0 <= b[1] <= b[3] <= 201 for _, _, b in found)

    def test_a_tall_image_is_padded_left_and_right(self, models: Path) -> None:
        # 100 x 300 in 160 x 160: gain 160/300, resized to 53 x 160, padded round(53.5 - 0.1) = 53 on the left
        wf = workflow(models, detect(models, "yolov8.onnx", conf=0.01))
        found = boxes(run(wf, [solid(models / "blue.png", (100, 300), (0, 0, 255))])["blue.png"], "detect")
        name, _, box = found[0]  # the blue box (60, 120, 140, 150); the weak one is second
        assert name == "blue"
        g = 300 / 160
        assert box == pytest.approx(((60 - 53) * g, 120 * g, 100.0, 150 * g), abs=1e-9)  # x1 (140 - 53) * g clipped to 100

    def test_images_of_one_batch_each_get_their_own_detections(self, models: Path) -> None:
        wf = workflow(models, detect(models, "yolov8.onnx", batch_size=4))
        images = [solid(models / f"{i:02d}.png", (160, 160), (255, 0, 0) if i % 2 else (0, 0, 255)) for i in range(10)]
        results = run(wf, images)
        assert [results[p.name].datapoints["detect_top_class"] for p in images] == ["blue", "red"] * 5

    def test_a_model_with_a_fixed_batch_of_one_runs_image_by_image_with_the_same_results(self, models: Path) -> None:
        write_detector(models / "static.onnx", "yolov8", dynamic=False)
        images = [solid(models / f"{i}.png", (200, 120), (255, 255, 0) if i % 2 else (0, 0, 255)) for i in range(5)]
        static = run(workflow(models, detect(models, "static.onnx", batch_size=8), workflow_id="s"), images)
        dynamic = run(workflow(models, detect(models, "yolov8.onnx", batch_size=8), workflow_id="d"), images)
        assert [boxes(static[p.name], "detect") for p in images] == [boxes(dynamic[p.name], "detect") for p in images]


class TestNamesAndClasses:
    def test_names_come_from_a_names_file_when_the_model_has_none(self, models: Path) -> None:
        write_detector(models / "anon.onnx", names=None)
        (models / "names.txt").write_text("apple\nbanana\ncherry\n")
        found = run(workflow(models, detect(models, "anon.onnx", names="names.txt"), workflow_id="n"),
                    [solid(models / "y.png", (160, 160), YELLOW)])["y.png"]  # fmt: skip
        assert [p.class_name for p in found.predictions["detect"]] == ["apple", "banana", "apple"]
        bare = run(workflow(models, detect(models, "anon.onnx"), workflow_id="b"), [models / "y.png"])["y.png"]
        assert [(p.class_id, p.class_name) for p in bare.predictions["detect"]] == [(0, "0"), (1, "1"), (0, "0")]

    def test_classes_keeps_only_the_named_ones(self, models: Path) -> None:
        found = run(workflow(models, detect(models, "yolov8.onnx", classes=["green"])), [solid(models / "y.png", (160, 160), YELLOW)])
        assert [p.class_name for p in found["y.png"].predictions["detect"]] == ["green"]

    def test_a_names_file_that_does_not_fit_the_model_is_refused_with_the_shapes(self, models: Path) -> None:
        (models / "four.txt").write_text("a\nb\nc\nd\n")
        wf = workflow(models, detect(models, "yolov8.onnx", names="four.txt"))
        with pytest.raises(ModelError, match=r"output0 \[batch, 7, 10\] \(with 4 class names\) match no supported"):
            run(wf, [solid(models / "y.png", (160, 160), YELLOW)])


class TestRefusals:
    def test_a_model_whose_output_fits_no_layout_is_refused_naming_the_shapes(self, tmp_path: Path) -> None:
        from docket_core.models.tiny import write_classifier

        write_classifier(tmp_path / "cls.onnx")
        wf = workflow(tmp_path, detect(tmp_path, "cls.onnx"))
        with pytest.raises(ModelError, match=r"outputs logits \[batch, 3\] match no supported detection layout"):
            run(wf, [solid(tmp_path / "y.png", (50, 50), YELLOW)])

    def test_a_model_file_with_another_checksum_is_refused(self, models: Path) -> None:
        wf = workflow(models, detect(models, "yolov8.onnx", sha256="0" * 64))
        with pytest.raises(ModelSourceError, match="has sha256 [0-9a-f]{64}, but the workflow pins 0000"):
            run(wf, [solid(models / "y.png", (50, 50), YELLOW)])

    def test_unknown_parameters_and_steps_are_refused_when_the_workflow_is_read(self, models: Path) -> None:
        with pytest.raises(InputError, match=r"step 'detect' \(onnx-detect\): confidence: Extra inputs"):
            workflow(models, detect(models, "yolov8.onnx", confidence=0.3))
        with pytest.raises(InputError, match=r"conf: Input should be less than or equal to 1"):
            workflow(models, detect(models, "yolov8.onnx", conf=3))
        with pytest.raises(InputError, match="uses 'onnx-segment'; built-in steps are onnx-detect, onnx-classify"):
            workflow(models, [{"name": "s", "uses": "onnx-segment", "with": {}}])

    def test_an_unreadable_image_fails_that_file_only(self, models: Path) -> None:
        (models / "bad.png").write_bytes(b"not an image")
        results = run(workflow(models, detect(models, "yolov8.onnx")), [solid(models / "y.png", (160, 160), YELLOW), models / "bad.png"])
        assert results["y.png"].status == "succeeded" and results["y.png"].datapoints["detect_count"] == 3
        assert results["bad.png"].status == "failed" and "expected an image Pillow can decode" in (results["bad.png"].error_reason or "")
        assert results["bad.png"].predictions == {}


class TestAnnotations:
    def test_annotate_draws_the_boxes_on_a_copy_of_the_image(self, models: Path) -> None:
        import io

        from PIL import Image

        results = run(workflow(models, detect(models, "yolov8.onnx", annotate=True)), [solid(models / "g.png", (320, 320), (128, 128, 128))])
        plain = results["g.png"]  # grey: nothing detected, nothing drawn
        assert plain.images and Image.open(io.BytesIO(plain.images[("detect", ".jpg")])).getextrema() == Image.open(models / "g.png").getextrema()
        results = run(workflow(models, detect(models, "yolov8.onnx", annotate=True), workflow_id="y"), [solid(models / "y.png", (320, 320), YELLOW)])
        drawn = Image.open(io.BytesIO(results["y.png"].images[("detect", ".jpg")])).convert("RGB")
        assert drawn.size == (320, 320)
        r, g, b = drawn.getpixel((40, 120))  # on the left edge of the first red box (20, 30, 100, 110) x 2
        assert g < 180  # a red box line, not the yellow of the image


def info(*shapes: tuple) -> "object":
    from docket_core.models.session import ModelInfo, TensorInfo

    return ModelInfo("0" * 64, (TensorInfo("images", (1, 3, 640, 640), "tensor(float)"),),
                     tuple(TensorInfo(f"output{i}", s, "tensor(float)") for i, s in enumerate(shapes)), {}, ("CPUExecutionProvider",))  # fmt: skip


class TestLayoutRecognition:
    @pytest.mark.parametrize(
        ("shape", "classes", "expected"),
        [
            ((1, 84, 8400), None, ("yolov8", 80)),  # YOLOv8/YOLO11 COCO export
            ((1, 84, 8400), 80, ("yolov8", 80)),
            ((1, 25200, 85), None, ("yolov5", 80)),  # YOLOv5 COCO export
            (("batch", 25200, 85), 80, ("yolov5", 80)),
            ((1, 300, 6), 80, ("nms", 80)),  # YOLOv10 / export(nms=True)
            ((1, 300, 6), 1, ("nms", 1)),  # few candidates: NMS already done
            ((1, 25200, 6), 1, ("yolov5", 1)),  # a single-class YOLOv5 model also has 6 columns
            ((1, 5, 8400), 1, ("yolov8", 1)),
        ],
    )
    def test_the_layout_is_recognised_from_the_shape_and_the_class_count(self, shape: tuple, classes: int | None, expected: tuple) -> None:
        from docket_core.models.detect import detect_layout

        assert detect_layout(info(shape), classes) == expected  # type: ignore[arg-type]

    def test_an_asked_for_layout_that_does_not_fit_is_refused_with_what_it_expects(self) -> None:
        from docket_core.models.detect import detect_layout

        with pytest.raises(ModelError, match=r"layout 'yolov5' was asked for, but the model's outputs are output0 \[1, 84, 8400\]"):
            detect_layout(info((1, 84, 8400)), 80, "yolov5")  # type: ignore[arg-type]
        with pytest.raises(ModelError, match=r"outputs output0 \[1, 32, 160, 160\], output1 \[1, 116, 8400\] match no"):
            detect_layout(info((1, 32, 160, 160), (1, 116, 8400)), None)  # type: ignore[arg-type]


class TestNames:
    @pytest.mark.parametrize(
        "text",
        [
            "{0: 'cat', 1: 'dog'}",  # Ultralytics' metadata_props
            '["cat", "dog"]',
            "names:\n  0: cat\n  1: dog\nnc: 2\n",  # an Ultralytics data.yaml
            "cat\ndog\n",  # one per line
        ],
    )
    def test_class_names_are_read_from_each_usual_form(self, text: str) -> None:
        from docket_core.models.session import parse_names

        assert parse_names(text, "test") == {0: "cat", 1: "dog"}

    def test_a_video_without_a_frames_step_before_the_model_fails_that_file_saying_what_to_add(self, models: Path) -> None:
        (models / "clip.mp4").write_bytes(b"\0" * 16)
        [result] = run(workflow(models, detect(models, "yolov8.onnx"), media=("videos",)), [models / "clip.mp4"], "video/mp4").values()
        assert result.status == "failed"
        assert "add a step `uses: video-frames`" in (result.error_reason or "")


class TestInputs:
    def test_nchw_and_nhwc_inputs_give_their_size_and_a_grey_one_is_refused(self) -> None:
        from docket_core.models.session import ModelInfo, TensorInfo

        def shaped(shape: tuple) -> ModelInfo:
            return ModelInfo("0" * 64, (TensorInfo("images", shape, "tensor(float)"),), (), {}, ())

        assert shaped((1, 3, 480, 640)).input_size(320) == (480, 640)
        assert shaped(("n", 3, "h", "w")).input_size(320) == (320, 320)
        nhwc = shaped((1, 416, 512, 3))
        assert nhwc.channels_last and nhwc.input_size(320) == (416, 512)
        with pytest.raises(ModelError, match=r"expected an RGB image input .* got images \[1, 1, 64, 64\]"):
            shaped((1, 1, 64, 64)).input_size(320)
