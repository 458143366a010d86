"""onnx-classify (softmax top k with names) on a fixed-weight classifier, and ocr-text running the
OCR models rapidocr ships over a rendered image."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from docket_core.models.session import ModelError
from docket_core.models.tiny import write_classifier, write_detector
from tests.docket_core.models.builders import run, solid, workflow


def softmax(logits: list[float]) -> list[float]:
    exp = [math.exp(v) for v in logits]
    return [e / sum(exp) for e in exp]


class TestClassify:
    def test_the_top_k_classes_are_the_softmax_of_the_logits_best_first(self, tmp_path: Path) -> None:
        write_classifier(tmp_path / "cls.onnx")
        wf = workflow(tmp_path, [{"name": "colour", "uses": "onnx-classify", "with": {"model": "cls.onnx", "top_k": 2}}])
        results = run(wf, [solid(tmp_path / "g.png", (64, 48), (0, 255, 0)), solid(tmp_path / "r.png", (10, 90), (255, 0, 0))])
        green = results["g.png"].predictions["colour"]
        expected = softmax([0.0, 4.0, 0.0])  # the green channel stands out by 1: logit 4
        assert [(p.rank, p.class_id, p.class_name) for p in green] == [(0, 1, "green"), (1, 0, "red")]
        assert [p.confidence for p in green] == pytest.approx([expected[1], expected[0]], abs=1e-5)
        assert all(p.box is None and p.task == "classify" for p in green)
        assert results["g.png"].datapoints == {"colour_top_class": "green", "colour_top_confidence": pytest.approx(expected[1], abs=1e-5)}
        assert results["r.png"].datapoints["colour_top_class"] == "red"

    def test_a_detector_given_to_onnx_classify_is_refused_with_its_output_shape(self, tmp_path: Path) -> None:
        write_detector(tmp_path / "det.onnx")
        wf = workflow(tmp_path, [{"name": "c", "uses": "onnx-classify", "with": {"model": "det.onnx"}}])
        with pytest.raises(ModelError, match=r"classifier's output must be \[B, nc\].*got output0 \[batch, 7, 10\]"):
            run(wf, [solid(tmp_path / "g.png", (64, 48), (0, 255, 0))])


def rendered(path: Path) -> Path:
    image = Image.new("RGB", (900, 260), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=56)
    draw.text((40, 40), "INVOICE 2026", fill="black", font=font)
    draw.text((40, 150), "Total 123.45", fill="black", font=font)
    image.save(path, "PNG")
    return path


class TestOcrText:
    @pytest.mark.slow  # loads and runs three real OCR models: about 10 s on 2 busy cores
    def test_text_lines_come_with_pixel_boxes_and_confidence_top_to_bottom(self, tmp_path: Path) -> None:
        wf = workflow(tmp_path, [{"name": "ocr", "uses": "ocr-text", "with": {"annotate": True}}])
        result = run(wf, [rendered(tmp_path / "text.png")])["text.png"]
        assert result.status == "succeeded", result.error_reason
        lines = result.predictions["ocr"]
        texts = [p.text.replace(" ", "").upper() for p in lines]  # type: ignore[union-attr]
        assert texts == ["INVOICE2026", "TOTAL123.45"]
        first, second = (p.box for p in lines)
        assert first is not None and second is not None
        assert 20 <= first[0] <= 60 and 30 <= first[1] <= 60 and first[3] < second[1] <= 170  # where it was drawn
        assert all(0.5 < p.confidence <= 1 and p.image_size == (900, 260) for p in lines)
        assert result.datapoints["ocr_lines"] == 2 and "123.45" in result.datapoints["ocr_text"]
        assert ("ocr", ".jpg") in result.images
