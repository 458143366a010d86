"""The `image-metadata` workflow: dimensions, EXIF, quality measures, and near-duplicate groups.

Three per-file steps open the image with Pillow (lazily: only `image_quality` decodes pixels) and one
batch step groups near duplicates by perceptual hash across the whole job.

Camera files are often malformed. A bad EXIF entry becomes a warning message and an empty field, never
an exception; Pillow's own warnings about a file (corrupt EXIF, a huge image) become warning messages
too. Only a file that is not an image at all raises `InputError`.

The steps are defined here and stay thin; each concept is its own module: `pillow` (opening files,
Pillow's warnings), `exif` (EXIF and GPS), `quality` (the image measures, shared with video frames)
and `duplicates` (near-duplicate grouping). The step functions live in this module on purpose: their
qualified names are part of the workflow fingerprint (`Workflow.fingerprint`), so jobs registered
before the split keep matching.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from docket_core.steps.image.duplicates import near_duplicate_groups
from docket_core.steps.image.exif import ExifReader, camera_fields, gps_fields, gps_tags, upright
from docket_core.steps.image.pillow import UNDECODABLE, open_image, pillow_warnings
from docket_core.steps.image.quality import ANALYSIS_MAX_SIDE, measure_quality, quality_messages
from docket_core.workflows.model import BatchStepFn, FieldType, FileContext, Message, StepFn, StepOutput

__all__ = [
    "FIELDS",
    "IMAGE_BATCH_STEPS",
    "IMAGE_STEPS",
    "group_near_duplicates",
    "image_quality",
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


def read_image_properties(ctx: FileContext) -> StepOutput:
    """Stored pixel dimensions (before EXIF orientation), Pillow format name and mode; decodes nothing."""
    messages: list[Message] = []
    with open_image(ctx, messages) as image:
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
    with open_image(ctx, messages) as image, pillow_warnings(messages):
        tags = ExifReader(image, messages)
        datapoints = camera_fields(tags, messages)
        gps = gps_tags(tags)
    datapoints.update(gps_fields(gps, messages))
    return StepOutput(datapoints, messages)


def image_quality(ctx: FileContext) -> StepOutput:
    """Perceptual hash, sharpness and brightness (`measure_quality`), with warnings for blurry, very
    dark and very bright images (`BLURRY_BELOW`, `DARK_BELOW`, `BRIGHT_ABOVE`).

    Runs after `read_exif` so the hash is taken of the upright image: a photo and its rotated export
    then hash alike. Pixel data that cannot be decoded gives an error message and empty fields.
    """
    messages: list[Message] = []
    with open_image(ctx, messages) as image:
        # JPEG only: decode straight to luma at 1/2, 1/4 or 1/8 scale, still >= the analysis size.
        image.draft("L", (ANALYSIS_MAX_SIDE, ANALYSIS_MAX_SIDE))
        try:
            # Decoding runs outside `pillow_warnings`, whose lock would serialize it across threads;
            # Pillow rarely warns here, and where a host turns warnings into errors they land below.
            image.load()
            quality = measure_quality(upright(image, ctx.datapoints.get("orientation")))
        except (*UNDECODABLE, Warning) as e:
            problem = f"could not decode the image pixels ({type(e).__name__}: {e}); quality not measured"
            messages.append(Message("error", problem))
            return StepOutput({"phash": None, "sharpness": None, "brightness": None}, messages)
    datapoints = {"phash": quality.phash, "sharpness": quality.sharpness, "brightness": quality.brightness}
    return StepOutput(datapoints, messages + quality_messages(quality))


def group_near_duplicates(
    items: Iterable[tuple[str, Mapping[str, Any]]], *, max_distance: int = 4
) -> dict[str, dict[str, Any]]:
    """Group files whose perceptual hashes differ in at most `max_distance` bits, transitively.

    Scales to hundreds of thousands of hashes without comparing all pairs (see
    `docket_core.steps.image.duplicates`).

    Args:
        items: `(file_name, datapoints)` pairs; files without a 16-hex-digit `phash` are skipped.
        max_distance: The largest Hamming distance still counted as a near duplicate, 0..63.

    Returns:
        `{file_name: {"near_duplicate_group": id}}` only for files that have at least one near
        duplicate; ids count from 0 in the order of each group's first member by sorted file name.
    """
    groups = near_duplicate_groups(_phashes(items), max_distance=max_distance)
    return {name: {"near_duplicate_group": group} for name, group in groups.items()}


def _phashes(items: Iterable[tuple[str, Mapping[str, Any]]]) -> Iterator[tuple[str, int]]:
    for name, datapoints in items:
        phash = datapoints.get("phash")
        if isinstance(phash, str) and len(phash) == 16:
            try:
                value = int(phash, 16)
            except ValueError:
                continue
            yield name, value


IMAGE_STEPS: list[tuple[str, StepFn, tuple[str, ...]]] = [
    ("properties", read_image_properties, ()),
    ("exif", read_exif, ()),
    ("quality", image_quality, ("exif",)),
]
"""The `image-metadata` workflow: (step name, function, run_after)."""

IMAGE_BATCH_STEPS: list[BatchStepFn] = [group_near_duplicates]
"""Run once per job over every file's datapoints, after the steps above."""
