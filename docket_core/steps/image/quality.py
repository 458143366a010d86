"""Image measures: perceptual hash, sharpness and brightness, for photos and video frames alike.

`measure_quality` takes a PIL image, so video frames go through the same code as image files
(`docket_core.steps.video`).
"""

from __future__ import annotations

from dataclasses import dataclass

import imagehash
import numpy as np
from PIL import Image

from docket_core.workflows.model import Message

__all__ = [
    "ANALYSIS_MAX_SIDE",
    "BLURRY_BELOW",
    "BRIGHT_ABOVE",
    "DARK_BELOW",
    "ImageQuality",
    "analysis_size",
    "measure_quality",
    "quality_messages",
]

ANALYSIS_MAX_SIDE = 512
"""Quality is measured on a grayscale copy at most this many pixels on its longer side, so that
sharpness means the same for a 12-megapixel photo and its web-sized copy, and stays cheap."""

BLURRY_BELOW = 100.0
"""Variance of the Laplacian (8-bit luma, at `ANALYSIS_MAX_SIDE`) under which an image looks blurry.
The usual rule of thumb; sharp camera photos score several hundred or more, a 5 px Gaussian blur of
one drops it far below 100. Flat images (blank pages, solid colours) score near 0 and are flagged too."""

DARK_BELOW = 0.1
"""Mean luma (0 black .. 1 white) under which an image is reported as very dark."""

BRIGHT_ABOVE = 0.9
"""Mean luma above which an image is reported as very bright (overexposed, or a blank page)."""


@dataclass(frozen=True)
class ImageQuality:
    """Measures of one image (or video frame); see `measure_quality`."""

    phash: str
    sharpness: float | None
    brightness: float


def analysis_size(size: tuple[int, int]) -> tuple[int, int]:
    """The size quality is measured at: `size` scaled to fit `ANALYSIS_MAX_SIDE`, never enlarged."""
    width, height = size
    scale = min(1.0, ANALYSIS_MAX_SIDE / max(width, height, 1))
    return max(1, round(width * scale)), max(1, round(height * scale))


def measure_quality(image: Image.Image) -> ImageQuality:
    """Perceptual hash, sharpness and brightness of an image, on a grayscale copy of `analysis_size`.

    Args:
        image: Any Pillow image; it is not modified. Pass it upright if orientation matters (the hash
            of a rotated image differs; sharpness and brightness do not).

    Returns:
        `phash`: 64-bit DCT perceptual hash (`imagehash.phash`) as 16 hex digits. `sharpness`: variance
        of the 4-neighbour Laplacian of 8-bit luma, None for images under 3x3 pixels. `brightness`:
        mean luma from 0 (black) to 1 (white).
    """
    gray = _grayscale(image)
    if gray.size != analysis_size(gray.size):
        gray = gray.resize(analysis_size(gray.size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    pixels = np.asarray(gray, dtype=np.float32)
    return ImageQuality(
        phash=str(imagehash.phash(gray)),
        sharpness=_laplacian_variance(pixels),
        brightness=float(pixels.mean()) / 255.0,
    )


def _grayscale(image: Image.Image) -> Image.Image:
    """8-bit luma of an image in any common mode; alpha is dropped, 16-bit samples are scaled."""
    if image.mode == "L":
        return image
    if image.mode == "I" or image.mode.startswith("I;16"):
        # Pillow's own conversion clips 16-bit samples at 255, which would make most images white.
        pixels = np.asarray(image, dtype=np.float32) / 257.0
        return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")  # what Pillow asks for before reading palette transparency
    return image.convert("L")


def _laplacian_variance(pixels: np.ndarray) -> float | None:
    if pixels.shape[0] < 3 or pixels.shape[1] < 3:
        return None
    centre = pixels[1:-1, 1:-1]
    laplacian = pixels[:-2, 1:-1] + pixels[2:, 1:-1] + pixels[1:-1, :-2] + pixels[1:-1, 2:] - 4 * centre
    return float(laplacian.var())


def quality_messages(quality: ImageQuality) -> list[Message]:
    """Warnings for a blurry, very dark or very bright image (`BLURRY_BELOW`, `DARK_BELOW`, `BRIGHT_ABOVE`)."""
    sharpness, brightness = quality.sharpness, quality.brightness
    findings = []
    if sharpness is not None and sharpness < BLURRY_BELOW:
        findings.append(("sharpness", f"image looks blurry: sharpness {sharpness:.1f} is below {BLURRY_BELOW:g}"))
    if brightness < DARK_BELOW:
        findings.append(("brightness", f"image is very dark: brightness {brightness:.2f} is below {DARK_BELOW:g}"))
    elif brightness > BRIGHT_ABOVE:
        findings.append(("brightness", f"image is very bright: brightness {brightness:.2f} is above {BRIGHT_ABOVE:g}"))
    return [Message("warning", content, schema_id=schema_id) for schema_id, content in findings]
