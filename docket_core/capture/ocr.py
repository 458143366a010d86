"""OCR: one rapidocr engine per process, lines of text with pixel boxes and confidence.

The engine (PP-OCRv4 text detection, angle classification and recognition, ONNX models shipped in
the `rapidocr-onnxruntime` wheel) runs offline on CPU through onnxruntime, or on CUDA when
onnxruntime's GPU build is installed. Loading it takes about a second, so `ocr_engine()` creates it
once per process, lazily, under a lock; `read_lines` serialises calls to it (rapidocr keeps per-call
state on the engine, and one inference already uses every core it is given).

Speed on CPU (bench/capture.py): the recogniser reads one line per call by default
(`ocr_rec_batch`), since a batch pads every line to its widest one, and a short line ("EUR", "3")
is no longer padded to rapidocr's 320-pixel minimum width: together about half the recognition
time, the same characters (a space between two words comes or goes now and then). Detection sees the image with its longest side at most `ocr_det_max_side`,
cut to the ink (a scan's blank margins are not scanned), and onnxruntime keeps its memory arena
(`ocr_memory_arena`; rapidocr turns it off): about a seventh less detection time, for memory the
process keeps at its largest page.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from importlib import import_module
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


_REC_BATCH_GPU = 6
_REC_MIN_WIDTH = 48
"""Pixels a line image is padded to at least before recognition (rapidocr's default, 320, pads "3" to
a 320 x 48 strip): one line height, so a short line costs what its own width costs."""


class _ShapeNoting:
    """The engine's text detector, noting each image's height and width for the sizing below
    (rapidocr asks for a sizing by the longest side alone; calls are serialised by `_lock`)."""

    def __init__(self, detector: Any) -> None:
        self._detector = detector

    def __call__(self, image: np.ndarray) -> Any:
        self._detector.docket_shape = image.shape[:2]
        return self._detector(image)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._detector, name)


def _bound_detection(engine: Any, max_side: int, max_pixels: int) -> None:
    """Detection on the image scaled down to at most `max_side` pixels on its longest side and
    `max_pixels` in all (lines are still cut out of the full image for recognition); smaller images
    keep rapidocr's own sizing. The area bound shrinks a whole A4 page and leaves a long narrow
    receipt alone, whose narrow side a bound on the longest side would make too small to read."""
    detector = getattr(engine, "text_det", None)
    sizing = getattr(detector, "get_preprocess", None)
    if sizing is None:  # another rapidocr release: its own sizing (longest side at most 2000)
        return
    from rapidocr_onnxruntime.ch_ppocr_det.utils import DetPreProcess

    def bounded(longest: int) -> Any:
        limit = max_side
        height, width = getattr(detector, "docket_shape", (longest, longest))
        if max_pixels and height * width > max_pixels:
            limit = min(limit, int(longest * math.sqrt(max_pixels / (height * width))))
        if longest > limit:
            return DetPreProcess(limit, "max", detector.mean, detector.std)
        return sizing(longest)

    detector.get_preprocess = bounded
    engine.text_det = _ShapeNoting(detector)


def _create(options: dict[str, Any], arena: bool) -> Any:
    """A `RapidOCR(**options)`, its onnxruntime sessions with the CPU memory arena when `arena`."""
    from rapidocr_onnxruntime import RapidOCR

    session_type = getattr(import_module("rapidocr_onnxruntime.utils"), "OrtInferSession", None)
    rapid_options = getattr(session_type, "_init_sess_opts", None)
    if not arena or rapid_options is None:  # another rapidocr release: its own session options
        return RapidOCR(**options)

    def with_arena(config: dict[str, Any]) -> Any:
        session_options = rapid_options(config)
        session_options.enable_cpu_mem_arena = True
        return session_options

    session_type._init_sess_opts = staticmethod(with_arena)  # only while this engine's sessions are made
    try:
        return RapidOCR(**options)
    finally:
        session_type._init_sess_opts = staticmethod(rapid_options)


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
                import rapidocr_onnxruntime  # noqa: F401
            except ImportError as e:
                raise OcrUnavailableError(
                    "OCR needs rapidocr-onnxruntime, which is not installed; "
                    "install Docket with its [ocr] extra: pip install 'docket[ocr]'"
                ) from e
            settings = get_settings()
            gpu = _gpu_options()
            options: dict[str, Any] = {
                "print_verbose": False,
                "rec_batch_num": settings.ocr_rec_batch or (_REC_BATCH_GPU if gpu else 1),
                "rec_img_shape": [3, 48, _REC_MIN_WIDTH],
            } | gpu
            if settings.ocr_threads:
                options["intra_op_num_threads"] = settings.ocr_threads
                options["inter_op_num_threads"] = 1
            engine = _create(options, settings.ocr_memory_arena)
            _bound_detection(engine, settings.ocr_det_max_side, settings.ocr_det_max_pixels)
            _engine = engine
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


_INK = 230
"""A pixel whose darkest channel is below this is ink (light grey print too), not paper."""
_MARGIN = 32
"""Pixels of paper kept around the ink when blank margins are cut off before OCR."""
_DET_SHORT_SIDE = 736
"""rapidocr's detector enlarges an image whose short side is below this (its `limit_side_len`)."""


def _ink_bounds(array: np.ndarray) -> tuple[int, int, int, int] | None:
    """`(top, left, bottom, right)` around every row and column with ink, plus `_MARGIN`; None for a
    blank image. On the e-invoice scans the margins are a sixth of the page, which detection would
    otherwise scan too."""
    ink = array.min(axis=2) < _INK
    rows = np.flatnonzero(np.count_nonzero(ink, axis=1) >= 2)  # a lone speck is no line
    cols = np.flatnonzero(np.count_nonzero(ink, axis=0) >= 2)
    if not len(rows) or not len(cols):
        return None
    height, width = ink.shape
    return (max(0, int(rows[0]) - _MARGIN), max(0, int(cols[0]) - _MARGIN),
            min(height, int(rows[-1]) + 1 + _MARGIN), min(width, int(cols[-1]) + 1 + _MARGIN))  # fmt: skip


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
    bounds = _ink_bounds(array)
    if bounds is None:
        return []
    top, left, bottom, right = bounds
    # Cut only where detection sees the cut image at the same scale: rapidocr enlarges an image whose
    # short side is under its detector's limit (736), so a small image stays whole.
    short = getattr(getattr(engine, "text_det", None), "limit_side_len", _DET_SHORT_SIDE)
    if min(bottom - top, right - left) >= short and (bottom - top) * (right - left) < 0.9 * array.size / 3:
        array = np.ascontiguousarray(array[top:bottom, left:right])
    else:
        top = left = 0
    with _lock:
        result, _ = engine(array)
    lines = []
    for points, text, score in result or []:
        xs = [float(p[0]) + left for p in points]
        ys = [float(p[1]) + top for p in points]
        text = str(text).strip()
        if text:
            lines.append(OcrLine(text, (min(xs), min(ys), max(xs), max(ys)), float(score)))
    lines.sort(key=lambda line: (line.box[1], line.box[0]))
    return lines
