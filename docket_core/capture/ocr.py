"""OCR: one rapidocr engine per process, lines of text with pixel boxes and confidence.

The engine (PP-OCRv4 text detection, angle classification and recognition, ONNX models shipped in
the `rapidocr-onnxruntime` wheel) runs offline on CPU through onnxruntime, or on CUDA when
onnxruntime's GPU build is installed. Loading it takes about a second, so `ocr_engine()` creates it
once per process, lazily, under a lock; `read_lines` serialises calls to it (rapidocr keeps per-call
state on the engine, and one inference already uses every core it is given).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from docket_core.errors import DocketError
from docket_core.settings import get_settings

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["OcrLine", "OcrUnavailableError", "ocr_engine", "read_lines"]

_lock = threading.Lock()
_engine: Any = None


class OcrUnavailableError(DocketError, RuntimeError):
    """Raised when OCR is needed but rapidocr-onnxruntime is not installed."""


@dataclass(frozen=True)
class OcrLine:
    """One line of text found in an image."""

    text: str
    box: tuple[float, float, float, float]
    """Pixels `(x0, y0, x1, y1)` in the image given to `read_lines`, origin top left."""
    confidence: float
    """The recogniser's score in [0, 1]."""


def _gpu_options() -> dict[str, bool]:
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        return {"det_use_cuda": True, "cls_use_cuda": True, "rec_use_cuda": True}
    return {}


def ocr_engine() -> Any:
    """The process's OCR engine (a `rapidocr_onnxruntime.RapidOCR`), created on first use.

    Raises:
        OcrUnavailableError: When rapidocr-onnxruntime is not installed.
    """
    global _engine
    if _engine is not None:
        return _engine
    with _lock:
        if _engine is None:
            try:
                from rapidocr_onnxruntime import RapidOCR
            except ImportError as e:
                raise OcrUnavailableError(
                    "OCR needs rapidocr-onnxruntime, which is not installed; "
                    "install Docket with its [ocr] extra: pip install 'docket[ocr]'"
                ) from e
            settings = get_settings()
            options: dict[str, Any] = {"print_verbose": False} | _gpu_options()
            if settings.ocr_threads:
                options["intra_op_num_threads"] = settings.ocr_threads
                options["inter_op_num_threads"] = 1
            _engine = RapidOCR(**options)
    return _engine


def _as_rgb_array(image: Image.Image | np.ndarray) -> np.ndarray:
    if isinstance(image, np.ndarray):
        array = image
    else:
        array = np.asarray(image.convert("RGB") if image.mode != "RGB" else image)
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    elif array.shape[2] == 4:
        array = array[:, :, :3]
    # rapidocr takes BGR like OpenCV; an array given here is RGB like Pillow's.
    return np.ascontiguousarray(array[:, :, ::-1])


def read_lines(image: Image.Image | np.ndarray) -> list[OcrLine]:
    """The lines of text in `image` (Pillow image, or an RGB/grey uint8 array), top to bottom.

    Boxes are axis-aligned pixel boxes around each detected (possibly slanted) line.

    Raises:
        OcrUnavailableError: When rapidocr-onnxruntime is not installed.
    """
    engine = ocr_engine()
    array = _as_rgb_array(image)
    if array.shape[0] < 8 or array.shape[1] < 8:
        return []
    with _lock:
        result, _ = engine(array)
    lines = []
    for points, text, score in result or []:
        xs = [float(p[0]) for p in points]
        ys = [float(p[1]) for p in points]
        text = str(text).strip()
        if text:
            lines.append(OcrLine(text, (min(xs), min(ys), max(xs), max(ys)), float(score)))
    lines.sort(key=lambda line: (line.box[1], line.box[0]))
    return lines
