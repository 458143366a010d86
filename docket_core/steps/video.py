"""The `video-metadata` workflow: stream properties and sampled frames measured like images.

`sample_frames` decodes the first video stream with PyAV, keeps at most `max_fps` frames per second of
presentation time, and measures each kept frame with `docket_core.steps.image.measure_quality`, so frames
and photos share one notion of sharpness, brightness and perceptual hash. Memory stays bounded: a
frame is measured as soon as it is decoded and only its row of numbers is kept.
"""

from __future__ import annotations

import math
from typing import Any

import av

from docket_core.deadline import check_deadline
from docket_core.errors import InputError
from docket_core.steps.image import analysis_size, measure_quality
from docket_core.workflows.model import FieldType, FileContext, Message, StepFn, StepOutput

__all__ = ["FIELDS", "FRAME_FIELDS", "VIDEO_STEPS", "sample_frames"]

FIELDS: dict[str, FieldType] = {
    "duration_s": "float",
    "fps": "float",
    "frame_count": "int",
    "width": "int",
    "height": "int",
    "codec": "string",
    "frames": "rows",
}
"""Every datapoint the video steps produce, with its column type."""

FRAME_FIELDS: dict[str, FieldType] = {
    "frame_index": "int",
    "timestamp_s": "float",
    "width": "int",
    "height": "int",
    "phash": "string",
    "sharpness": "float",
    "brightness": "float",
}
"""The keys of each row of `frames`."""

# Timestamps are rounded binary fractions; a frame this close before a sampling slot counts as in it.
_SLOT_TOLERANCE_S = 1e-6


def sample_frames(ctx: FileContext, *, max_fps: float = 1.0, max_frames: int = 300) -> StepOutput:
    """Stream properties and one measured row per sampled frame.

    Args:
        ctx: The video file.
        max_fps: At most this many frames are kept per second: the first frame, then the first frame
            at or after each further `1 / max_fps` seconds (timestamps relative to the first frame).
        max_frames: Decoding stops once this many frames are kept (an info message says so).

    Returns:
        `duration_s`, `fps` (average), `frame_count` (counted when the whole stream was decoded, else
        the container's figure or None), `width`, `height`, `codec` (FFmpeg decoder name) and `frames`:
        rows of `FRAME_FIELDS`. Corrupt data part way gives an error message and the rows so far.

    Raises:
        InputError: The file is not a container FFmpeg can open, or has no video stream.
    """
    if not max_fps > 0 or max_frames < 1:
        raise InputError(f"max_fps must be > 0 and max_frames >= 1, got {max_fps!r} and {max_frames!r}")
    messages: list[Message] = []
    try:
        container = av.open(str(ctx.path))
    except (av.FFmpegError, UnicodeDecodeError) as e:
        raise InputError(f"expected a video file FFmpeg can open, got {ctx.name!r}: {e}") from e
    with container:
        if not container.streams.video:
            raise InputError(f"expected a file with a video stream, got {ctx.name!r} without one")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        fps = float(stream.average_rate or stream.guessed_rate or 0) or None
        rows: list[dict[str, Any]] = []
        decoded = 0
        complete = False
        origin: float | None = None
        elapsed = 0.0  # of the last decoded frame, from the first
        last_slot = -1
        try:
            for frame in container.decode(stream):
                check_deadline()  # a job's per-file time budget (docket_core.deadline)
                index, decoded = decoded, decoded + 1
                time = frame.time if frame.time is not None else (index / fps if fps else None)
                if time is None:
                    continue  # no timestamp and no rate: nothing to place the frame by
                if origin is None:
                    origin = time
                elapsed = time - origin
                slot = math.floor(elapsed * max_fps + _SLOT_TOLERANCE_S)
                if slot <= last_slot:
                    continue
                last_slot = slot
                rows.append(_frame_row(frame, index, elapsed))
                if len(rows) == max_frames:
                    stop = f"sampled {max_frames} frames (max_frames) and stopped at {elapsed:.2f} s"
                    messages.append(Message("info", stop, schema_id="frames"))
                    break
            else:
                complete = True
        except av.FFmpegError as e:
            messages.append(Message("error", f"decoding stopped after {decoded} frames: {e}", schema_id="frames"))
        duration_s = _duration_s(container, stream)
        if complete and duration_s and fps and duration_s - elapsed > max(0.5, 2 / fps):
            # FFmpeg conceals damage and ends quietly at a cut; the container's duration tells.
            problem = (
                f"the stream ends at {elapsed:.2f} s but the container says it lasts {duration_s:.2f} s;"
                " the file may be truncated or damaged"
            )
            messages.append(Message("warning", problem, schema_id="frames"))
        datapoints = {
            "duration_s": duration_s,
            "fps": fps,
            "frame_count": decoded if complete else (stream.frames or None),
            "width": stream.codec_context.width or None,
            "height": stream.codec_context.height or None,
            "codec": stream.codec_context.name,
            "frames": rows,
        }
    return StepOutput(datapoints, messages)


def _frame_row(frame: av.VideoFrame, index: int, timestamp_s: float) -> dict[str, Any]:
    # Let FFmpeg scale straight to the analysis size: cheaper than a full-size RGB copy.
    width, height = analysis_size((frame.width, frame.height))
    quality = measure_quality(frame.to_image(width=width, height=height))
    return {
        "frame_index": index,
        "timestamp_s": round(timestamp_s, 6),
        "width": frame.width,
        "height": frame.height,
        "phash": quality.phash,
        "sharpness": quality.sharpness,
        "brightness": quality.brightness,
    }


def _duration_s(container: av.container.InputContainer, stream: av.VideoStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


VIDEO_STEPS: list[tuple[str, StepFn, tuple[str, ...]]] = [
    ("frames", sample_frames, ()),
]
"""The `video-metadata` workflow: (step name, function, run_after)."""
