"""Annotated copies of images: boxes and labels drawn with Pillow, one colour per class."""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

from docket_core.workflows.model import Prediction

__all__ = ["annotate"]

# Distinct colours (Ultralytics' palette, first twelve), cycled by class id.
_PALETTE = ["#FF3838", "#FF9D97", "#FF701F", "#FFB21D", "#CFD231", "#48F90A",
            "#92CC17", "#3DDB86", "#1A9334", "#00D4BB", "#2C99A8", "#00C2FF"]  # fmt: skip


def annotate(image: Image.Image, predictions: Sequence[Prediction], *, quality: int = 85) -> bytes:
    """`image` with each prediction's box and label (`name 0.87`, or the text line), as JPEG bytes.

    A classification has no box: its labels are written in the top left corner, best first.
    """
    canvas = image.convert("RGB")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default()
    width = max(1, round(max(canvas.size) / 400))
    corner = 2
    for p in predictions:
        color = _PALETTE[(p.class_id or 0) % len(_PALETTE)]
        label = p.text if p.task == "ocr" else f"{p.class_name} {p.confidence:.2f}"
        if p.box is None:
            draw.text((4, corner), label, fill=color, font=font, stroke_width=1, stroke_fill="black")
            corner += 12
            continue
        x0, y0, x1, y1 = p.box
        draw.rectangle((x0, y0, x1, y1), outline=color, width=width)
        left, top, right, bottom = draw.textbbox((x0, y0), label or "", font=font)
        lift = bottom - top + 2
        draw.rectangle((left, top - lift, right + 2, bottom - lift), fill=color)
        draw.text((x0 + 1, y0 - lift), label or "", fill="black", font=font)
    out = io.BytesIO()
    canvas.save(out, "JPEG", quality=quality)
    return out.getvalue()
