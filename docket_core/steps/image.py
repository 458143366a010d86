"""The `image-metadata` workflow: dimensions, EXIF, quality measures, and near-duplicate groups.

Three per-file steps open the image with Pillow (lazily: only `image_quality` decodes pixels) and one
batch step groups near duplicates by perceptual hash across the whole job. The per-image measures
(`measure_quality`) take a PIL image, so video frames go through the same code (`docket_core.steps.video`).

Camera files are often malformed. A bad EXIF entry becomes a warning message and an empty field, never
an exception; Pillow's own warnings about a file (corrupt EXIF, a huge image) become warning messages
too. Only a file that is not an image at all raises `InputError`.
"""

from __future__ import annotations

import math
import numbers
import struct
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import imagehash
import numpy as np
from PIL import ExifTags, Image, UnidentifiedImageError

from docket_core.errors import InputError
from docket_core.workflows.model import BatchStepFn, FieldType, FileContext, Message, StepFn, StepOutput

__all__ = [
    "ANALYSIS_MAX_SIDE",
    "BLURRY_BELOW",
    "BRIGHT_ABOVE",
    "DARK_BELOW",
    "FIELDS",
    "IMAGE_BATCH_STEPS",
    "IMAGE_STEPS",
    "ImageQuality",
    "analysis_size",
    "group_near_duplicates",
    "image_quality",
    "measure_quality",
    "read_exif",
    "read_image_properties",
]

FIELDS: dict[str, FieldType] = {
    "width": "int",
    "height": "int",
    "format": "string",
    "color_mode": "string",
    "captured_at": "timestamp",
    "camera_make": "string",
    "camera_model": "string",
    "orientation": "int",
    "gps_latitude": "float",
    "gps_longitude": "float",
    "phash": "string",
    "sharpness": "float",
    "brightness": "float",
    "near_duplicate_group": "int",
}
"""Every datapoint the image steps produce, with its column type."""

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

# Pillow raises any of these on malformed EXIF, depending on where the structure breaks.
_MALFORMED_EXIF = (SyntaxError, ValueError, TypeError, KeyError, IndexError, OSError, EOFError, struct.error)
# Pillow raises these when the header was fine but the pixel data is not (truncated, corrupt).
_UNDECODABLE = (OSError, SyntaxError, EOFError, ValueError)

_WARNINGS_LOCK = threading.RLock()

# EXIF orientation -> the transpose that makes the image upright (as `ImageOps.exif_transpose`).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_DATE_FORMATS = ("%Y:%m:%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y:%m:%d %H:%M")


# --- per-image measures -------------------------------------------------------------------------


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


def _quality_messages(quality: ImageQuality) -> list[Message]:
    sharpness, brightness = quality.sharpness, quality.brightness
    findings = []
    if sharpness is not None and sharpness < BLURRY_BELOW:
        findings.append(("sharpness", f"image looks blurry: sharpness {sharpness:.1f} is below {BLURRY_BELOW:g}"))
    if brightness < DARK_BELOW:
        findings.append(("brightness", f"image is very dark: brightness {brightness:.2f} is below {DARK_BELOW:g}"))
    elif brightness > BRIGHT_ABOVE:
        findings.append(("brightness", f"image is very bright: brightness {brightness:.2f} is above {BRIGHT_ABOVE:g}"))
    return [Message("warning", content, schema_id=schema_id) for schema_id, content in findings]


# --- steps --------------------------------------------------------------------------------------


def read_image_properties(ctx: FileContext) -> StepOutput:
    """Stored pixel dimensions (before EXIF orientation), Pillow format name and mode; decodes nothing."""
    messages: list[Message] = []
    with _open_image(ctx, messages) as image:
        datapoints = {
            "width": image.width,
            "height": image.height,
            "format": image.format,
            "color_mode": image.mode,
        }
    return StepOutput(datapoints, messages)


def read_exif(ctx: FileContext) -> StepOutput:
    """Capture time, camera, orientation and GPS position from EXIF; absent tags give None.

    `captured_at` is DateTimeOriginal, else DateTime, as a naive `datetime`: the camera's local clock,
    to the second, with no time zone applied (EXIF offsets are rarely present and often wrong).
    `gps_latitude`/`gps_longitude` are decimal degrees, negative for S and W. A malformed value gives a
    warning message naming the field and leaves the field empty.
    """
    messages: list[Message] = []
    with _open_image(ctx, messages) as image, _pillow_warnings(messages):
        tags = _ExifTags(image, messages)
        datapoints = {
            "captured_at": _captured_at(tags, messages),
            "camera_make": _parse(messages, "camera_make", _text, tags.get(ExifTags.Base.Make)),
            "camera_model": _parse(messages, "camera_model", _text, tags.get(ExifTags.Base.Model)),
            "orientation": _parse(messages, "orientation", _orientation, tags.get(ExifTags.Base.Orientation)),
        }
        gps = ExifTags.IFD.GPSInfo
        lat_ref, lat = tags.get(ExifTags.GPS.GPSLatitudeRef, gps), tags.get(ExifTags.GPS.GPSLatitude, gps)
        lon_ref, lon = tags.get(ExifTags.GPS.GPSLongitudeRef, gps), tags.get(ExifTags.GPS.GPSLongitude, gps)
    datapoints["gps_latitude"] = _parse(messages, "gps_latitude", _latitude, lat_ref, lat)
    datapoints["gps_longitude"] = _parse(messages, "gps_longitude", _longitude, lon_ref, lon)
    if (datapoints["gps_latitude"] is None) != (datapoints["gps_longitude"] is None):
        messages.append(Message("warning", "EXIF GPS position has only one of latitude and longitude"))
    return StepOutput(datapoints, messages)


def image_quality(ctx: FileContext) -> StepOutput:
    """Perceptual hash, sharpness and brightness (`measure_quality`), with warnings for blurry, very
    dark and very bright images (`BLURRY_BELOW`, `DARK_BELOW`, `BRIGHT_ABOVE`).

    Runs after `read_exif` so the hash is taken of the upright image: a photo and its rotated export
    then hash alike. Pixel data that cannot be decoded gives an error message and empty fields.
    """
    messages: list[Message] = []
    with _open_image(ctx, messages) as image:
        # JPEG only: decode straight to luma at 1/2, 1/4 or 1/8 scale, still >= the analysis size.
        image.draft("L", (ANALYSIS_MAX_SIDE, ANALYSIS_MAX_SIDE))
        try:
            # Decoding runs outside `_pillow_warnings`, whose lock would serialize it across threads;
            # Pillow rarely warns here, and where a host turns warnings into errors they land below.
            image.load()
            quality = measure_quality(_upright(image, ctx.datapoints.get("orientation")))
        except (*_UNDECODABLE, Warning) as e:
            problem = f"could not decode the image pixels ({type(e).__name__}: {e}); quality not measured"
            messages.append(Message("error", problem))
            return StepOutput({"phash": None, "sharpness": None, "brightness": None}, messages)
    datapoints = {"phash": quality.phash, "sharpness": quality.sharpness, "brightness": quality.brightness}
    return StepOutput(datapoints, messages + _quality_messages(quality))


def _upright(image: Image.Image, orientation: Any) -> Image.Image:
    transpose = _UPRIGHT.get(orientation) if isinstance(orientation, int) else None
    return image if transpose is None else image.transpose(transpose)


# --- opening files and Pillow's warnings --------------------------------------------------------


@contextmanager
def _open_image(ctx: FileContext, messages: list[Message]) -> Iterator[Image.Image]:
    try:
        with _pillow_warnings(messages):
            image = Image.open(ctx.path)
    except (UnidentifiedImageError, Image.DecompressionBombError) as e:
        raise InputError(f"expected an image file Pillow can read, got {ctx.name!r}: {e}") from e
    with image:
        yield image


@contextmanager
def _pillow_warnings(messages: list[Message]) -> Iterator[None]:
    """Turn Pillow's warnings about the file (corrupt EXIF, a huge image) into warning messages.

    Other warnings are passed on unchanged. `warnings.catch_warnings` swaps process-wide state, so the
    (short: headers and EXIF only) windows are serialized across threads.
    """
    findings = (UserWarning, Image.DecompressionBombWarning)
    with _WARNINGS_LOCK, warnings.catch_warnings(record=True) as caught:
        for category in findings:
            warnings.filterwarnings("always", category=category, module=r"PIL\.")
        yield
    for w in caught:
        if issubclass(w.category, findings) and "PIL" in Path(w.filename).parts:
            messages.append(Message("warning", f"Pillow: {w.message}"))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


# --- EXIF parsing -------------------------------------------------------------------------------


class _ExifTags:
    """Guarded reads of one image's EXIF: a part that cannot be read is a warning, then missing."""

    def __init__(self, image: Image.Image, messages: list[Message]) -> None:
        self._messages = messages
        self._root = self._guard("the EXIF block", image.getexif)
        self._ifds: dict[int, Mapping[int, Any]] = {}
        raw = image.info.get("exif")
        if self._root is not None and len(self._root) == 0 and isinstance(raw, bytes) and len(raw) > 6:
            # Pillow reads a block that is not a TIFF structure as "no EXIF", silently.
            problem = f"the EXIF block ({len(raw)} bytes) holds no readable tags; treated as missing"
            messages.append(Message("warning", problem))

    def get(self, tag: int, ifd: int | None = None) -> Any:
        if self._root is None:
            return None
        if ifd is None:
            return self._guard(f"EXIF tag 0x{tag:04x}", self._root.get, tag)
        if ifd not in self._ifds:
            self._ifds[ifd] = self._directory(ifd)
        return self._guard(f"EXIF tag 0x{tag:04x} in directory 0x{ifd:04x}", self._ifds[ifd].get, tag)

    def _directory(self, ifd: int) -> Mapping[int, Any]:
        pointer = self._guard(f"EXIF directory pointer 0x{ifd:04x}", self._root.get, ifd)
        if pointer is None:
            return {}
        if not isinstance(pointer, int):
            # Pillow skips such a directory silently; a person should know its tags were lost.
            problem = (
                f"EXIF directory pointer 0x{ifd:04x} should be an offset, got {type(pointer).__name__} "
                f"{_preview(pointer)}; the directory's tags are treated as missing"
            )
            self._messages.append(Message("warning", problem))
            return {}
        return self._guard(f"EXIF directory 0x{ifd:04x}", self._root.get_ifd, ifd) or {}

    def _guard(self, what: str, read: Callable[..., Any], *args: Any) -> Any:
        try:
            return read(*args)
        except _MALFORMED_EXIF as e:
            problem = f"could not read {what} ({type(e).__name__}: {e}); treated as missing"
            self._messages.append(Message("warning", problem))
            return None


def _preview(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def _parse(messages: list[Message], schema_id: str, parse: Callable[..., Any], *raw: Any) -> Any:
    """`parse(*raw)`, or None when every raw value is missing; a ValueError becomes a warning."""
    if all(value is None for value in raw):
        return None
    try:
        return parse(*raw)
    except ValueError as e:
        messages.append(Message("warning", f"{e}; {schema_id} left empty", schema_id=schema_id))
        return None


def _captured_at(tags: _ExifTags, messages: list[Message]) -> datetime | None:
    original = tags.get(ExifTags.Base.DateTimeOriginal, ExifTags.IFD.Exif)
    captured = _parse(messages, "captured_at", _timestamp, original)
    return captured or _parse(messages, "captured_at", _timestamp, tags.get(ExifTags.Base.DateTime))


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if not isinstance(value, str):
        raise ValueError(f"expected EXIF text, got {value!r}")
    return value.strip(" \t\r\n\x00") or None


def _orientation(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 8:
        raise ValueError(f"expected EXIF Orientation 1..8, got {value!r}")
    return value


def _timestamp(value: Any) -> datetime | None:
    text = _text(value)
    if text is None or not text.strip(" :-0"):
        return None  # cameras write "0000:00:00 00:00:00" or blanks for "not set"
    for date_format in _DATE_FORMATS:
        try:
            return datetime.strptime(text, date_format)
        except ValueError:
            continue
    raise ValueError(f"expected an EXIF date like '2008:05:30 15:56:01', got {text!r}")


def _latitude(ref: Any, dms: Any) -> float | None:
    return _coordinate("GPSLatitude", ref, dms, positive="N", negative="S", limit=90.0)


def _longitude(ref: Any, dms: Any) -> float | None:
    return _coordinate("GPSLongitude", ref, dms, positive="E", negative="W", limit=180.0)


def _coordinate(name: str, ref: Any, dms: Any, *, positive: str, negative: str, limit: float) -> float | None:
    """Decimal degrees from an EXIF reference letter and (degrees, minutes, seconds) rationals."""
    if dms is None:
        return None  # a reference letter alone is no position; some writers leave one behind
    ref_text = (_text(ref) or "").upper() if ref is not None else ""
    if ref_text not in (positive, negative):
        raise ValueError(f"expected EXIF {name}Ref {positive!r} or {negative!r}, got {ref!r}")
    parts = dms if isinstance(dms, tuple) else (dms,)
    if not 1 <= len(parts) <= 3:
        raise ValueError(f"expected EXIF {name} as (degrees, minutes, seconds), got {dms!r}")
    degrees, minutes, seconds = ([_number(name, part) for part in parts] + [0.0, 0.0])[:3]
    value = degrees + minutes / 60 + seconds / 3600
    if minutes >= 60 or seconds >= 60 or min(degrees, minutes, seconds) < 0 or value > limit:
        raise ValueError(f"expected EXIF {name} within {limit:g} degrees, got {dms!r}")
    return -value if ref_text == negative else value


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"expected a number in EXIF {name}, got {value!r}")
    if isinstance(value, numbers.Rational) and value.denominator == 0:
        raise ValueError(f"EXIF {name} has a rational with a zero denominator ({value.numerator}/0)")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number in EXIF {name}, got {value!r}")
    return number


# --- near duplicates ----------------------------------------------------------------------------


def group_near_duplicates(
    items: Iterable[tuple[str, Mapping[str, Any]]], *, max_distance: int = 4
) -> dict[str, dict[str, Any]]:
    """Group files whose perceptual hashes differ in at most `max_distance` bits, transitively.

    Scales to hundreds of thousands of hashes without comparing all pairs: by pigeonhole, two 64-bit
    hashes within `max_distance` bits agree exactly on at least one of `max_distance + 1` bands, so only
    hashes sharing a band value are compared. The cost grows with how many hashes share band values:
    near-linear for varied photos, worse when many images are almost alike (e.g. thousands of blank
    pages with slightly different hashes). Identical hashes are merged before banding.

    Args:
        items: `(file_name, datapoints)` pairs; files without a 16-hex-digit `phash` are skipped.
        max_distance: The largest Hamming distance still counted as a near duplicate, 0..63.

    Returns:
        `{file_name: {"near_duplicate_group": id}}` only for files that have at least one near
        duplicate; ids count from 0 in the order of each group's first member by sorted file name.
    """
    if not 0 <= max_distance < 64:
        raise InputError(f"max_distance must be within 0..63 bits of a 64-bit hash, got {max_distance!r}")
    hashes: dict[str, int] = {}
    for name, datapoints in items:
        phash = datapoints.get("phash")
        if isinstance(phash, str) and len(phash) == 16:
            try:
                hashes[name] = int(phash, 16)
            except ValueError:
                continue
    names = sorted(hashes)
    values = np.array([hashes[name] for name in names], dtype=np.uint64)
    unique, file_to_unique = np.unique(values, return_inverse=True)
    roots = _near_components(unique, max_distance)[file_to_unique]
    sizes = np.bincount(roots, minlength=len(unique))
    group_ids: dict[int, int] = {}
    groups: dict[str, dict[str, Any]] = {}
    for name, root in zip(names, roots.tolist(), strict=True):
        if sizes[root] > 1:
            groups[name] = {"near_duplicate_group": group_ids.setdefault(root, len(group_ids))}
    return groups


def _near_components(hashes: np.ndarray, max_distance: int) -> np.ndarray:
    """For distinct uint64 `hashes`, the smallest index of each one's near-duplicate component."""
    labels = np.arange(len(hashes))
    bands = max_distance + 1
    shift = 0
    for band in range(bands):
        width = 64 // bands + (1 if band < 64 % bands else 0)
        keys = (hashes >> np.uint64(shift)) & np.uint64((1 << width) - 1)
        shift += width
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        # Equal keys sit together once sorted: comparing each with the one `offset` places on finds
        # every pair within a bucket, and no pair at some offset means none at any larger one.
        for offset in range(1, len(hashes)):
            same = sorted_keys[offset:] == sorted_keys[:-offset]
            if not same.any():
                break
            left, right = order[:-offset][same], order[offset:][same]
            # Pairs already linked need no check: this keeps tight clusters of near-identical
            # images (thousands of almost blank pages) from costing a distance per pair.
            apart = labels[left] != labels[right]
            left, right = left[apart], right[apart]
            close = np.bitwise_count(hashes[left] ^ hashes[right]) <= max_distance
            labels = _link(labels, left[close], right[close])
    return labels


def _link(labels: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Union-find over arrays: merge the components of each pair; each label stays its component's
    smallest index (a root only ever points at a smaller root, so no cycles and a full compression)."""
    a, b = labels[left], labels[right]
    while (a != b).any():
        np.minimum.at(labels, np.maximum(a, b), np.minimum(a, b))
        while not np.array_equal(parents := labels[labels], labels):
            labels = parents
        a, b = labels[left], labels[right]
    return labels


IMAGE_STEPS: list[tuple[str, StepFn, tuple[str, ...]]] = [
    ("properties", read_image_properties, ()),
    ("exif", read_exif, ()),
    ("quality", image_quality, ("exif",)),
]
"""The `image-metadata` workflow: (step name, function, run_after)."""

IMAGE_BATCH_STEPS: list[BatchStepFn] = [group_near_duplicates]
"""Run once per job over every file's datapoints, after the steps above."""
