"""EXIF: capture time, camera, orientation and GPS position, read defensively from camera files.

Camera files are often malformed. A bad EXIF entry becomes a warning message and an empty field,
never an exception.
"""

from __future__ import annotations

import math
import numbers
import struct
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from PIL import ExifTags, Image

from docket_core.workflows.model import Message

__all__ = ["ExifReader", "camera_fields", "gps_fields", "gps_tags", "upright"]

# Pillow raises any of these on malformed EXIF, depending on where the structure breaks.
_MALFORMED_EXIF = (SyntaxError, ValueError, TypeError, KeyError, IndexError, OSError, EOFError, struct.error)

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


class ExifReader:
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


def camera_fields(tags: ExifReader, messages: list[Message]) -> dict[str, Any]:
    """`captured_at`, `camera_make`, `camera_model` and `orientation`; a malformed value is a warning and None.

    `captured_at` is DateTimeOriginal, else DateTime, as a naive `datetime`: the camera's local clock,
    to the second, with no time zone applied (EXIF offsets are rarely present and often wrong).
    """
    return {
        "captured_at": _captured_at(tags, messages),
        "camera_make": _parse(messages, "camera_make", _text, tags.get(ExifTags.Base.Make)),
        "camera_model": _parse(messages, "camera_model", _text, tags.get(ExifTags.Base.Model)),
        "orientation": _parse(messages, "orientation", _orientation, tags.get(ExifTags.Base.Orientation)),
    }


def gps_tags(tags: ExifReader) -> tuple[Any, Any, Any, Any]:
    """The raw `(latitude ref, latitude, longitude ref, longitude)` of the GPS directory, for `gps_fields`."""
    gps = ExifTags.IFD.GPSInfo
    lat_ref, lat = tags.get(ExifTags.GPS.GPSLatitudeRef, gps), tags.get(ExifTags.GPS.GPSLatitude, gps)
    lon_ref, lon = tags.get(ExifTags.GPS.GPSLongitudeRef, gps), tags.get(ExifTags.GPS.GPSLongitude, gps)
    return lat_ref, lat, lon_ref, lon


def gps_fields(raw: tuple[Any, Any, Any, Any], messages: list[Message]) -> dict[str, Any]:
    """`gps_latitude` and `gps_longitude` in decimal degrees, negative for S and W, from `gps_tags`.

    A malformed value gives a warning message naming the field and leaves the field empty; so does a
    position with only one of the two.
    """
    lat_ref, lat, lon_ref, lon = raw
    datapoints = {
        "gps_latitude": _parse(messages, "gps_latitude", _latitude, lat_ref, lat),
        "gps_longitude": _parse(messages, "gps_longitude", _longitude, lon_ref, lon),
    }
    if (datapoints["gps_latitude"] is None) != (datapoints["gps_longitude"] is None):
        messages.append(Message("warning", "EXIF GPS position has only one of latitude and longitude"))
    return datapoints


def upright(image: Image.Image, orientation: Any) -> Image.Image:
    """`image` turned upright for an EXIF `orientation` (1..8); unchanged for 1 or anything else."""
    transpose = _UPRIGHT.get(orientation) if isinstance(orientation, int) else None
    return image if transpose is None else image.transpose(transpose)


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


def _captured_at(tags: ExifReader, messages: list[Message]) -> datetime | None:
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
