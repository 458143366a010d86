"""Images into model inputs: decoding, letterbox and crop preprocessing, and sampled video frames.

The letterbox follows Ultralytics' (`LetterBox(auto=False, center=True)`): scale to fit the model's
input keeping the aspect ratio, pad both sides equally with grey 114, rounding the padding the same
way, so boxes map back to the original pixels exactly as Ultralytics maps them. Images are turned
upright by their EXIF orientation first, as a person sees them (and as OpenCV reads them).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from docket_core.errors import InputError

__all__ = ["Letterbox", "center_crop", "letterbox", "open_image", "to_batch", "video_frames"]

PAD_VALUE = 114


@dataclass(frozen=True)
class Letterbox:
    """How an image of `size` (width, height) was placed in the model's input: scale then offset."""

    size: tuple[int, int]
    gain: float
    pad: tuple[int, int]
    """Left and top padding in input pixels."""

    def to_original(self, boxes: np.ndarray) -> np.ndarray:
        """`[n, 4]` x0,y0,x1,y1 in input pixels -> original pixels, clipped to the image."""
        out = boxes.astype(np.float64, copy=True)
        out[:, [0, 2]] = ((out[:, [0, 2]] - self.pad[0]) / self.gain).clip(0, self.size[0])
        out[:, [1, 3]] = ((out[:, [1, 3]] - self.pad[1]) / self.gain).clip(0, self.size[1])
        return out


def open_image(path: Path, name: str) -> Image.Image:
    """The image upright and in RGB.

    Raises:
        InputError: Pillow cannot decode the file.
    """
    try:
        with Image.open(path) as img:
            img = ImageOps.exif_transpose(img)
            return img.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise InputError(f"expected an image Pillow can decode, got {name!r}: {exc}") from exc


def letterbox(image: Image.Image, height: int, width: int) -> tuple[np.ndarray, Letterbox]:
    """`image` fitted into `height` x `width` as an `[h, w, 3]` uint8 array, and how it was placed."""
    w, h = image.size
    gain = min(height / h, width / w)
    new_w, new_h = int(round(w * gain)), int(round(h * gain))
    dw, dh = (width - new_w) / 2, (height - new_h) / 2
    left, top = int(round(dw - 0.1)), int(round(dh - 0.1))
    resized = image if (new_w, new_h) == (w, h) else image.resize((new_w, new_h), Image.Resampling.BILINEAR)
    canvas = np.full((height, width, 3), PAD_VALUE, dtype=np.uint8)
    canvas[top : top + new_h, left : left + new_w] = np.asarray(resized)
    return canvas, Letterbox((w, h), gain, (left, top))


def center_crop(image: Image.Image, height: int, width: int) -> np.ndarray:
    """The shorter side scaled to fit, then the centre cut out (the classifiers' usual preprocessing)."""
    w, h = image.size
    gain = max(height / h, width / w)
    new_w, new_h = max(width, int(round(w * gain))), max(height, int(round(h * gain)))
    resized = image.resize((new_w, new_h), Image.Resampling.BILINEAR)
    left, top = (new_w - width) // 2, (new_h - height) // 2
    return np.asarray(resized.crop((left, top, left + width, top + height)))


def to_batch(arrays: list[np.ndarray], dtype: type[np.generic], *, channels_last: bool = False,
             mean: tuple[float, ...] | None = None, std: tuple[float, ...] | None = None) -> np.ndarray:  # fmt: skip
    """`[h, w, 3]` uint8 arrays -> one model input: NCHW (or NHWC), scaled to [0, 1] unless uint8."""
    batch = np.stack(arrays)
    if dtype is not np.uint8:
        batch = batch.astype(np.float32) * np.float32(1 / 255)
        if mean is not None and std is not None:
            batch = (batch - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
        batch = batch.astype(dtype, copy=False)
    if not channels_last:
        batch = batch.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(batch)


def video_frames(path: Path, name: str, wanted: Mapping[int, float]) -> Iterator[tuple[int, float, Image.Image]]:
    """The frames of the first video stream whose decode index is in `wanted` (index -> timestamp),
    in order, as RGB images: the frames a `video-frames` step sampled.

    Raises:
        InputError: FFmpeg cannot open the file or it has no video stream.
    """
    import av

    if not wanted:
        return
    last = max(wanted)
    try:
        container = av.open(str(path))
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise InputError(f"expected a video file FFmpeg can open, got {name!r}: {exc}") from exc
    with container:
        if not container.streams.video:
            raise InputError(f"expected a file with a video stream, got {name!r} without one")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for index, frame in enumerate(container.decode(stream)):
            if index in wanted:
                yield index, wanted[index], frame.to_image()
            if index >= last:
                return
