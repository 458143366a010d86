"""A chunk's images through one model: decoded and preprocessed in a thread pool, run in batches.

Every file of the chunk becomes samples: an image is one sample, a video is the frames its
`video-frames` step sampled (`frames` rows: `frame_index`, `timestamp_s`). Images are decoded and
preprocessed by `DOCKET_ONNX_PREPROCESS_THREADS` threads a few batches ahead of the model (Pillow
releases the GIL while decoding and resizing), so decoding overlaps inference and memory stays
bounded to those batches. Samples run `batch_size` at a time when the model's batch axis is dynamic,
one at a time otherwise. A file that cannot be decoded fails alone; a batch that fails to run is run
again one sample at a time, so one bad input fails only its own file.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from docket_core.errors import InputError
from docket_core.models.images import open_image, video_frames
from docket_core.workflows.model import FileContext

__all__ = ["Sample", "run_batches", "samples", "wanted_frames"]


@dataclass
class Sample:
    """One image the model sees: its file (position in the chunk), frame, preprocessed array and how it
    was placed (`placement`, for mapping boxes back), and the image itself when it is to be annotated."""

    file: int
    array: np.ndarray
    size: tuple[int, int]
    placement: Any = None
    frame_index: int | None = None
    timestamp_s: float | None = None
    image: Image.Image | None = None


Prepare = Callable[[Image.Image], tuple[np.ndarray, Any]]


def _is_video(ctx: FileContext) -> bool:
    return ctx.media_type.startswith("video/")


def wanted_frames(ctx: FileContext) -> dict[int, float]:
    frames = ctx.datapoints.get("frames")
    if not isinstance(frames, list):
        raise InputError(
            f"{ctx.name!r} is a video: a model step runs over the frames a video-frames step sampled; "
            "add a step `uses: video-frames` (or function: docket_core.steps.video:sample_frames) and run_after it"
        )
    return {int(row["frame_index"]): float(row["timestamp_s"]) for row in frames}


def samples(ctxs: Sequence[FileContext], prepare: Prepare, *, threads: int, ahead: int, keep_images: bool,
            failed: dict[int, Exception]) -> Iterator[Sample]:  # fmt: skip
    """The chunk's samples in file order; a file that cannot be read is put in `failed` and skipped."""

    def one(i: int) -> Sample:
        image = open_image(ctxs[i].path, ctxs[i].name)
        array, placement = prepare(image)
        return Sample(i, array, image.size, placement, image=image if keep_images else None)

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="docket-model") as pool:
        pending: deque[tuple[int, Future[Sample]]] = deque()

        def drain(upto: int) -> Iterator[Sample]:
            while len(pending) > upto:
                i, future = pending.popleft()
                try:
                    yield future.result()
                except Exception as exc:  # noqa: BLE001 - recorded as that file's failure
                    failed[i] = exc

        for i, ctx in enumerate(ctxs):
            if not _is_video(ctx):
                pending.append((i, pool.submit(one, i)))
                yield from drain(ahead)
                continue
            yield from drain(0)  # keep file order: a video's frames come after the images before it
            try:
                for index, timestamp, frame in video_frames(ctx.path, ctx.name, wanted_frames(ctx)):
                    array, placement = prepare(frame)
                    yield Sample(i, array, frame.size, placement, index, timestamp)
            except Exception as exc:  # noqa: BLE001 - recorded as that file's failure
                failed[i] = exc
        yield from drain(0)


def run_batches(
    stream: Iterator[Sample], run: Callable[[list[Sample]], list[Any]], batch_size: int, failed: dict[int, Exception]
) -> Iterator[tuple[Sample, Any]]:
    """`run` over `batch_size` samples at a time: each sample with its result. A batch that raises is
    run again sample by sample; a sample that still raises fails its file."""
    batch: list[Sample] = []

    def flush() -> Iterator[tuple[Sample, Any]]:
        try:
            results = run(batch)
        except Exception:  # noqa: BLE001 - retried one by one below to find the bad sample
            if len(batch) == 1:
                raise
            results = None
        if results is not None:
            yield from zip(batch, results)
            return
        for sample in batch:
            try:
                [result] = run([sample])
            except Exception as exc:  # noqa: BLE001 - recorded as that file's failure
                failed[sample.file] = exc
                continue
            yield sample, result

    for sample in stream:
        if sample.file in failed:
            continue
        batch.append(sample)
        if len(batch) >= batch_size:
            yield from _guard(flush, batch, failed)
            batch = []
    if batch:
        yield from _guard(flush, batch, failed)


def _guard(flush: Callable[[], Iterator[tuple[Sample, Any]]], batch: list[Sample], failed: dict[int, Exception]) -> Iterator[tuple[Sample, Any]]:
    try:
        yield from flush()
    except Exception as exc:  # noqa: BLE001 - a lone sample that fails fails its file
        failed[batch[0].file] = exc
